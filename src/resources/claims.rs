//! The claim protocol: within one plan, each ThingSpace user is managed by one resource instance, and a user whose
//! object is destroyed at one address is not created at another with the configured seed. [`Claims`] is one user's
//! claims; the process-wide registry (`users.rs`) keeps one per user.

use crate::plugin::diagnostics::{Diagnostic, quote};

/// Why a claim on a user name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Another instance in this plan already manages the user.
    Duplicate,
    /// The user's object is destroyed at one address and created at another in this plan.
    Renamed,
}

impl Conflict {
    /// The plan error for this conflict on `username`.
    pub fn diagnostic(self, username: &str) -> Diagnostic {
        match self {
            Conflict::Duplicate => Diagnostic::error(
                "Duplicate ThingSpace user name",
                format!(
                    "User {} is managed by more than one resource instance in this configuration. Each ThingSpace \
user must be managed by exactly one rotation resource: a second one would log in with a password the first has \
already replaced, and ThingSpace locks a user after 5 failed log-ins. Remove the duplicate (check count, for_each \
and modules). No API call was made.",
                    quote(username)
                ),
            )
            .at("username"),
            Conflict::Renamed => Diagnostic::error(
                "ThingSpace user moves to another resource address",
                format!(
                    "In this plan the object for user {} is destroyed at one address and created at another. The \
new object would log in with the configured seed, but the current password is the one in the old object's state. \
If you renamed the resource, add a moved block (moved {{ from = <old address>, to = <new address> }}) so the new \
address keeps the password. If you really mean to start over, first apply the removal, then create the new \
resource with a re-seed. No API call was made.",
                    quote(username)
                ),
            )
            .at("username"),
        }
    }
}

/// How a planned instance will manage its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    /// An update of an object in state: it logs in (if at all) with that object's own password or a re-seed.
    Update,
    /// A create that logs in with the password of an object it takes over (a replacement).
    CreateWithHandoff,
    /// A create that logs in with the configured seed.
    CreateWithSeed,
}

#[derive(Clone, Copy, Debug)]
struct Claim {
    nonce: u64,
    kind: ClaimKind,
    /// A create whose rotation succeeded: the user's current password is in its state now.
    settled: bool,
}

/// The claims on one user in this process, and whether a destroy of one of its objects was planned.
#[derive(Debug, Default)]
pub struct Claims {
    claims: Vec<Claim>,
    released: bool,
}

impl Claims {
    /// Claims the user for one planned instance. `nonce` is the claim carried from the update half of a replacement
    /// to its create half; it is the same instance, not a second claim. Returns the nonce to carry.
    ///
    /// Refused: a second instance for the user, and a create that logs in with the configured seed while an object of
    /// the user is destroyed in this plan (its password is the current one; a `moved` block keeps it).
    pub fn claim(&mut self, nonce: Option<u64>, kind: ClaimKind) -> Result<u64, Conflict> {
        if let Some(c) = self.claims.iter_mut().find(|c| Some(c.nonce) == nonce) {
            c.kind = kind;
            return Ok(c.nonce);
        }
        if !self.claims.is_empty() {
            return Err(Conflict::Duplicate);
        }
        if self.released && kind == ClaimKind::CreateWithSeed {
            return Err(Conflict::Renamed);
        }
        let nonce = loop {
            let n = fastrand::u64(1..);
            if !self.claims.iter().any(|c| c.nonce == n) {
                break n;
            }
        };
        self.claims.push(Claim {
            nonce,
            kind,
            settled: false,
        });
        Ok(nonce)
    }

    /// Records that an object of the user is destroyed in this plan (or leaves it by a change of user name).
    pub fn release(&mut self) -> Result<(), Conflict> {
        self.released = true;
        if self
            .claims
            .iter()
            .any(|c| c.kind == ClaimKind::CreateWithSeed)
        {
            Err(Conflict::Renamed)
        } else {
            Ok(())
        }
    }

    /// Records that the create with claim `nonce` rotated the password: it holds the current one now.
    pub fn settle(&mut self, nonce: Option<u64>) {
        for c in self.claims.iter_mut().filter(|c| Some(c.nonce) == nonce) {
            c.settled = true;
        }
    }

    /// Whether an object of the user may leave state now. Not while a create of the same user in this apply logs in
    /// with the configured seed and has not yet rotated: Terraform does not order the two when their addresses
    /// differ, and if that create fails, the object being destroyed holds the only copy of the current password.
    pub fn may_delete(&self) -> bool {
        !self
            .claims
            .iter()
            .any(|c| c.kind == ClaimKind::CreateWithSeed && !c.settled)
    }
}
