//! The private bytes Terraform keeps for `thingspace_alternating_password_rotation` beside its state and its plans:
//! the plan's decision (which users to reset, logging in with what), the time of the last refresh, the block of each
//! user whose log-in or reset went wrong, the passwords the update half of a replacement hands to its create half,
//! and the claims on both user names.
//!
//! Private bytes are stored in state and in saved plans, which hold the passwords as attributes anyway; the bytes an
//! apply leaves in state never hold one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reset::Reset;
use crate::plugin::diagnostics::quote;
use crate::plugin::private;
use crate::plugin::secret::Secret;
use crate::resources::block::{Block, Remedy, Seed};
use crate::resources::rotating::PrivateState;

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
    /// The `blocked_reason` text: the user, then what happened and the fix, in this resource's words.
    pub fn reason(&self) -> String {
        format!(
            "{}{}",
            reason_prefix(&self.user),
            self.block.reason(&remedy(&self.user))
        )
    }
}

/// How this resource's messages say to re-seed one user.
pub fn remedy(user: &str) -> Remedy {
    let key = quote(user);
    Remedy {
        reseed: format!(
            "set current_passwords_wo[{key}] (or current_passwords[{key}]) to that user's current password and \
change current_passwords_wo_version; the other user, whose password in state still works, is not logged in with its \
seed"
        ),
    }
}

/// How `blocked_reason` names its user; [`blocked_users`] reads it back from a state without private bytes.
fn reason_prefix(user: &str) -> String {
    format!("User {}: ", quote(user))
}

/// `blocked_reason` for the blocks of a state: each user's reason, in the order of `blocks`; null without one.
pub fn joined_reasons(blocks: &[UserBlock]) -> Option<String> {
    (!blocks.is_empty()).then(|| {
        blocks
            .iter()
            .map(UserBlock::reason)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The users a `blocked_reason` applies to: the ones it names, or both when it names neither (a state edited by
/// hand): a block is only ever lifted by a re-seed or a retry, never by doubt.
pub fn blocked_users(reason: &str, names: &[String; 2]) -> Vec<String> {
    let named: Vec<String> = names
        .iter()
        .filter(|n| reason.contains(&reason_prefix(n)))
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
    Steps(Vec<Reset>),
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
    /// The evidence, per user, that the user's seed in the object's attributes must not be used to log in again.
    /// A plan carries every block of the prior object, lifted or not, so its apply judges them exactly as it did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<UserBlock>,
    /// Version 1's single block; read, then moved to `blocks`.
    #[serde(default, skip_serializing)]
    pub(super) block: Option<UserBlock>,
    /// Update plan to the create half of a replacement: the object's current passwords, per user.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prior_passwords: BTreeMap<String, Secret>,
    /// Create plan to its apply: log in as these users with these passwords, not the configured seeds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub logins: BTreeMap<String, Secret>,
    /// The claim nonce per user name (see `users::Users::claim`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, u64>,
    /// In state: the users whose new password was issued but whose verification log-in gave no usable answer, so
    /// the next plan offers it again. Plan to apply: verify these users' stored passwords (no reset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
}

impl PrivateState for Private {
    const VERSION: u8 = 2;

    fn observed_at(&self) -> Option<i64> {
        self.observed_at
    }

    /// Version 1 kept one block (`block`), moved to `blocks` here. Unreadable bytes mean "decide at apply", which
    /// re-checks everything (a block is also kept in the `blocked_reason` attribute).
    fn from_other(bytes: &[u8]) -> Self {
        let read = private::from_bytes::<Private>(bytes, 1);
        match read {
            Some(mut p) => {
                if let Some(b) = p.block.take() {
                    p.blocks.push(b);
                }
                p
            }
            None => Private {
                rotation: Some(Planned::Decide),
                ..Private::default()
            },
        }
    }
}

impl Private {
    /// The same bytes, noting the users whose stored password still awaits its verification.
    pub fn verifying(mut self, pending: Vec<String>) -> Self {
        self.verify = pending;
        self
    }

    /// The private bytes an apply or read leaves in state: only the blocks (and the refresh time for a read).
    pub fn settled(blocks: Vec<UserBlock>, observed_at: Option<i64>) -> Self {
        Private {
            blocks,
            observed_at,
            ..Private::default()
        }
    }

    /// The recorded block of `user`, if any.
    pub fn block_of(&self, user: &str) -> Option<&UserBlock> {
        self.blocks.iter().find(|b| b.user == user)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::resources::alternating::reset::Login;
    use crate::resources::block::{BlockKind, LoginWith};

    fn block(user: &str, kind: BlockKind) -> UserBlock {
        UserBlock {
            user: user.into(),
            block: Block {
                kind,
                at: 9,
                login: Some(LoginWith::Stored),
                retry: None,
                retried: None,
            },
            seed: None,
        }
    }

    #[test]
    fn round_trips_and_reads_garbage_as_decide() {
        assert_eq!(Private::default().to_bytes(), Vec::<u8>::new());
        let full = Private {
            rotation: Some(Planned::Steps(vec![Reset {
                user: "a".into(),
                login: Login::Stored,
            }])),
            observed_at: Some(4),
            blocks: vec![
                block("b", BlockKind::LoginRejected),
                block("a", BlockKind::ResetUnknown),
            ],
            prior_passwords: [("a".to_owned(), Secret::new("P"))].into(),
            logins: [("b".to_owned(), Secret::new("Q"))].into(),
            claims: [("a".to_owned(), 7)].into(),
            block: None,
            verify: vec!["a".to_owned()],
        };
        assert_eq!(Private::from_bytes(&full.to_bytes()), full);
        for junk in [&b"x"[..], b"{}", br#"{"v":9}"#] {
            assert_eq!(Private::from_bytes(junk).rotation, Some(Planned::Decide));
            assert!(Private::from_bytes(junk).blocks.is_empty());
        }
    }

    #[test]
    fn version_1_bytes_keep_their_one_block() {
        let v1 = br#"{"v":1,"block":{"user":"b","block":{"kind":"reset_unknown","at":3}}}"#;
        let p = Private::from_bytes(v1);
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(
            p.block_of("b").map(|b| b.block.kind),
            Some(BlockKind::ResetUnknown)
        );
        let written: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
        assert!(written.get("block").is_none(), "{written}");
        assert_eq!(written["v"], 2);
    }

    #[test]
    fn reasons_name_their_users_and_are_read_back() {
        let names = ["blue".to_owned(), "green".to_owned()];
        let green = block("green", BlockKind::ResetUnknown);
        assert_eq!(
            blocked_users(&green.reason(), &names),
            vec!["green".to_owned()]
        );
        let both =
            joined_reasons(&[block("blue", BlockKind::LoginUnknown), green.clone()]).unwrap();
        assert_eq!(blocked_users(&both, &names), names.to_vec());
        assert_eq!(blocked_users("edited by hand", &names), names.to_vec());
        assert_eq!(joined_reasons(&[]), None);
        // The steps name this resource's arguments for that user, never the single resource's.
        let text = green.reason();
        assert!(text.contains("current_passwords_wo[\"green\"]"), "{text}");
        assert!(text.contains("current_passwords_wo_version"), "{text}");
        assert!(!text.contains("current_password_wo "), "{text}");
    }
}
