//! The private bytes Terraform keeps for `thingspace_password_rotation` beside its state and its plans.
//!
//! They carry what must travel between calls but is no attribute: the plan's rotation decision (plan to apply), the
//! time of the last refresh (read to plan), the block (apply to every later call, until a re-seed succeeds), and the
//! hand-off of a replacement (the update half of a plan to its create half, and on to the create's apply).
//!
//! Private bytes are stored in state and in saved plans, which hold the password as an attribute anyway, so carrying
//! the current password here for a replacement exposes nothing new; the bytes an apply leaves in state never hold
//! one.

use serde::{Deserialize, Serialize};

use super::decide::Reason;
use super::model::Model;
use crate::plugin::secret::Secret;
use crate::resources::block::{Block, BlockKind, Seed};
use crate::resources::rotating::PrivateState;

/// What travels in Terraform's private bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Private {
    /// Plan to apply: the rotation the plan decided; `None` when it decided there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<PlannedRotation>,
    /// Read to plan: when `ReadResource` last looked, in Unix seconds (see `plan::plan_in_run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<i64>,
    /// The evidence that the seed in the object's attributes must not be used to log in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<Block>,
    /// Update plan to the create half of a replacement: the object's current password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_password: Option<Secret>,
    /// Create plan to its apply: log in with this password, not the configured seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Secret>,
    /// The seed the object's block applies to: the seed configured when it was recorded. Kept beside the block,
    /// because the object's own seed attributes follow the configuration, and a seed removed and later set again
    /// to the same value must not lift the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_seed: Option<Seed>,
    /// Pairs the update half and the create half of one replacement (see `users::Users::claim`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<u64>,
    /// Plan to apply: a moved `retry_stored_password_version` lifts the object's block (`block`, carried as evidence)
    /// for this rotation's one log-in with the stored password (see [`Block::retry_lifts`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
    /// In state: the stored password was issued but its verification log-in gave no usable answer, so the next plan
    /// offers the verification again. Plan to apply: verify the stored password (no reset).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify: bool,
    /// Create plan to its apply: the create replaces an object of this user seen in state (see
    /// `Users::was_deleted`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces: bool,
}

/// How the apply must treat a planned rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedRotation {
    /// The plan decided a rotation is due, for this reason.
    Due(Reason),
    /// The plan could not decide (an input was unknown); the apply decides with the known values.
    Decide,
}

/// Provider 0.1's private bytes: `{"rotation":"none"|"due"|"decide","reason":...,"blocked":bool,"observed_at":...}`.
#[derive(Deserialize)]
struct Legacy {
    rotation: String,
    reason: Option<String>,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    observed_at: Option<i64>,
}

impl PrivateState for Private {
    const VERSION: u8 = 2;

    fn observed_at(&self) -> Option<i64> {
        self.observed_at
    }

    /// Bytes without a version were written by provider 0.1 ([`Legacy`]). Bytes that can't be read at all mean
    /// "decide at apply", which re-checks everything, and keep no block; a block is also kept in the
    /// `blocked_reason` attribute.
    fn from_other(bytes: &[u8]) -> Self {
        if let Ok(l) = serde_json::from_slice::<Legacy>(bytes) {
            let reason = l.reason.as_deref().and_then(Reason::from_legacy);
            return Private {
                rotation: match (l.rotation.as_str(), reason) {
                    ("none", _) => None,
                    ("due", Some(r)) => Some(PlannedRotation::Due(r)),
                    _ => Some(PlannedRotation::Decide),
                },
                observed_at: l.observed_at,
                // 0.1 blocked only after a reset whose outcome was unknown, and did not record when.
                block: l.blocked.then_some(Block {
                    kind: BlockKind::ResetUnknown,
                    at: 0,
                    login: None,
                    retry: None,
                    retried: None,
                }),
                ..Private::default()
            };
        }
        Private {
            rotation: Some(PlannedRotation::Decide),
            ..Private::default()
        }
    }
}

impl Private {
    /// The private bytes an apply or read leaves in state: only the block (and the refresh time for a read).
    pub fn settled(block: Option<Block>, observed_at: Option<i64>) -> Self {
        Private {
            block,
            observed_at,
            ..Private::default()
        }
    }

    /// The same bytes, noting (`pending`) that the stored password still awaits its verification.
    pub fn verifying(mut self, pending: bool) -> Self {
        self.verify = pending;
        self
    }

    /// The same bytes with the seed the block applies to; nothing without a block.
    pub fn blocked_on(mut self, seed: Option<Seed>) -> Self {
        self.blocked_seed = if self.block.is_some() { seed } else { None };
        self
    }

    /// The seed this object's block applies to: the recorded one, else (a block recorded before the seed was
    /// kept in private bytes) the seed in the object's attributes.
    pub fn block_seed(&self, object: &Model) -> Seed {
        self.blocked_seed.clone().unwrap_or_else(|| object.seed())
    }
}

/// The block of `object`, as evidence: the one in its private bytes, else one known only from its `blocked_reason`
/// (private bytes lost, or written by an older provider), waiting for a retry value other than the object's own.
pub fn recorded_block(object: &Model, private: &Private) -> Option<Block> {
    private.block.clone().or_else(|| {
        object
            .blocked_reason
            .is_known()
            .then(|| Block::unrecorded(object.retry().cloned()))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_empty_as_nothing() {
        assert_eq!(Private::default().to_bytes(), Vec::<u8>::new());
        assert_eq!(Private::from_bytes(b""), Private::default());
        let full = Private {
            rotation: Some(PlannedRotation::Due(Reason::TriggersChanged)),
            observed_at: Some(42),
            block: Some(Block {
                kind: BlockKind::LoginUnknown,
                at: 7,
                login: Some(crate::resources::block::LoginWith::Stored),
                retry: Some(crate::plugin::cty::Number::from(3i64)),
                retried: Some(BlockKind::ResetUnknown),
            }),
            prior_password: Some(Secret::new("P\"1")),
            login: Some(Secret::new("P2")),
            blocked_seed: Some(Seed {
                current_password: Some(Secret::new("s\"eed")),
                version: None,
            }),
            claim: Some(99),
            retry: true,
            verify: true,
            replaces: true,
        };
        assert_eq!(Private::from_bytes(&full.to_bytes()), full);
        let decide = Private {
            rotation: Some(PlannedRotation::Decide),
            ..Private::default()
        };
        assert_eq!(Private::from_bytes(&decide.to_bytes()), decide);
    }

    #[test]
    fn garbage_means_decide_at_apply() {
        for junk in [
            &b"not json"[..],
            b"{}",
            b"[1,2]",
            br#"{"v":99}"#,
            b"\xff\xfe",
        ] {
            let p = Private::from_bytes(junk);
            assert_eq!(p.rotation, Some(PlannedRotation::Decide), "{junk:?}");
            assert_eq!(p.block, None);
        }
    }

    #[test]
    fn provider_0_1_bytes_keep_their_decision_and_block() {
        let p = Private::from_bytes(
            br#"{"rotation":"due","reason":"current_password_wo_version_changed","blocked":true,"observed_at":5}"#,
        );
        assert_eq!(
            p.rotation,
            Some(PlannedRotation::Due(Reason::WriteOnlyVersionChanged))
        );
        assert_eq!(p.block.map(|b| b.kind), Some(BlockKind::ResetUnknown));
        assert_eq!(p.observed_at, Some(5));
        let p = Private::from_bytes(br#"{"rotation":"none","reason":null,"blocked":false}"#);
        assert_eq!(p, Private::default());
        let p = Private::from_bytes(br#"{"rotation":"due","reason":"bogus"}"#);
        assert_eq!(p.rotation, Some(PlannedRotation::Decide));
    }
}
