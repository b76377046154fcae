//! The private bytes Terraform keeps for `thingspace_alternating_password_rotation` beside its state and its plans:
//! the plan's decision (which users to reset, logging in with what), the time of the last refresh, the block of the
//! one user whose log-in or reset went wrong, the passwords the update half of a replacement hands to its create
//! half, and the claims on both user names.
//!
//! Private bytes are stored in state and in saved plans, which hold the passwords as attributes anyway; the bytes an
//! apply leaves in state never hold one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decide::Step;
use crate::plugin::diagnostics::quote;
use crate::plugin::secret::Secret;
use crate::resources::common::{private_from_bytes, private_to_bytes};
use crate::resources::users::{Block, Seed};

/// The format version written today.
const VERSION: u8 = 1;

/// A block, and the user it is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserBlock {
    pub user: String,
    pub block: Block,
    /// The user's seed when the block was recorded. The seeds in the object's attributes follow the configuration,
    /// so without this a seed removed and later set again to the same value would count as a re-seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<Seed>,
}

impl UserBlock {
    /// The `blocked_reason` text: the user, then what happened and the fix.
    pub fn reason(&self) -> String {
        format!("{}{}", reason_prefix(&self.user), self.block.reason())
    }
}

/// How `blocked_reason` names its user; [`blocked_users`] reads it back from a state without private bytes.
fn reason_prefix(user: &str) -> String {
    format!("User {}: ", quote(user))
}

/// The users a `blocked_reason` applies to: the one it names, or both when it names neither (a state edited by
/// hand): a block is only ever lifted by a re-seed, never by doubt.
pub fn blocked_users(reason: &str, names: &[String; 2]) -> Vec<String> {
    let named: Vec<String> = names
        .iter()
        .filter(|n| reason.starts_with(&reason_prefix(n)))
        .cloned()
        .collect();
    if named.is_empty() {
        names.to_vec()
    } else {
        named
    }
}

/// What the plan decided for the apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Planned {
    /// Reset these users, in this order.
    Steps(Vec<Step>),
    /// An input was unknown; the apply decides with the known values.
    Decide,
}

/// What travels in Terraform's private bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Private {
    /// Plan to apply: the rotation the plan decided; `None` when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Planned>,
    /// Read to plan: when `ReadResource` last looked, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<i64>,
    /// The evidence that the named user's seed in the object's attributes must not be used to log in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<UserBlock>,
    /// Update plan to the create half of a replacement: the object's current passwords, per user.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prior_passwords: BTreeMap<String, Secret>,
    /// Create plan to its apply: log in as these users with these passwords, not the configured seeds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub logins: BTreeMap<String, Secret>,
    /// The claim nonce per user name (see `users::Users::claim`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, u64>,
}

impl Private {
    /// The bytes Terraform stores; empty when there is nothing to carry.
    pub fn to_bytes(&self) -> Vec<u8> {
        private_to_bytes(self, VERSION)
    }

    /// Reads the bytes back. Empty means nothing was carried; unreadable bytes mean "decide at apply", which
    /// re-checks everything (a block is also kept in the `blocked_reason` attribute).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Private::default();
        }
        private_from_bytes(bytes, VERSION).unwrap_or_else(|| Private {
            rotation: Some(Planned::Decide),
            ..Private::default()
        })
    }

    /// The private bytes an apply or read leaves in state: only the block (and the refresh time for a read).
    pub fn settled(block: Option<UserBlock>, observed_at: Option<i64>) -> Self {
        Private {
            block,
            observed_at,
            ..Private::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::resources::alternating::decide::Login;
    use crate::resources::users::BlockKind;

    #[test]
    fn round_trips_and_reads_garbage_as_decide() {
        assert_eq!(Private::default().to_bytes(), Vec::<u8>::new());
        let full = Private {
            rotation: Some(Planned::Steps(vec![Step {
                user: "a".into(),
                login: Login::Stored,
            }])),
            observed_at: Some(4),
            block: Some(UserBlock {
                user: "b".into(),
                block: Block {
                    kind: BlockKind::LoginRejected,
                    at: 9,
                },
                seed: None,
            }),
            prior_passwords: [("a".to_owned(), Secret::new("P"))].into(),
            logins: [("b".to_owned(), Secret::new("Q"))].into(),
            claims: [("a".to_owned(), 7)].into(),
        };
        assert_eq!(Private::from_bytes(&full.to_bytes()), full);
        for junk in [&b"x"[..], b"{}", br#"{"v":9}"#] {
            assert_eq!(Private::from_bytes(junk).rotation, Some(Planned::Decide));
            assert_eq!(Private::from_bytes(junk).block, None);
        }
    }

    #[test]
    fn a_reason_names_its_user_and_is_read_back() {
        let names = ["blue".to_owned(), "green".to_owned()];
        let b = UserBlock {
            user: "green".into(),
            block: Block {
                kind: BlockKind::ResetUnknown,
                at: 0,
            },
            seed: None,
        };
        assert_eq!(blocked_users(&b.reason(), &names), vec!["green".to_owned()]);
        assert_eq!(blocked_users("edited by hand", &names), names.to_vec());
    }
}
