//! What every rotation apply shares: its process-wide inputs ([`ApplyContext`]), its result ([`Applied`]), and how
//! a value Terraform must store is settled.

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::resource::Outcome;
use crate::resources::users::Users;
use crate::thingspace::Client;

/// The shared, process-wide inputs to an apply.
pub struct ApplyContext<'a> {
    /// The configured API client, or `None` when the provider configuration was still unknown.
    pub client: Option<&'a Client>,
    /// What this process knows about each user.
    pub users: &'a Users,
}

impl<'a> ApplyContext<'a> {
    /// The client, or the error for an apply whose provider configuration was not known.
    pub fn client(&self) -> Result<&'a Client, Diagnostics> {
        self.client.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Provider not configured",
                "The thingspace provider configuration was not known when this resource was applied. Make base_url, \
client_id and client_secret known values.",
            ))
        })
    }
}

/// What an apply returns: the new state (null to remove it), the private bytes to store with it, and diagnostics.
#[derive(Debug)]
pub struct Applied<M> {
    pub new_state: Option<M>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl<M> Applied<M> {
    /// An apply that stores nothing.
    pub fn failed(diagnostics: Diagnostics) -> Self {
        Self {
            new_state: None,
            private: Vec::new(),
            diagnostics,
        }
    }
}

impl<M> From<Applied<M>> for Outcome<Option<M>> {
    fn from(a: Applied<M>) -> Self {
        Outcome {
            state: a.new_state,
            private: a.private,
            diagnostics: a.diagnostics,
        }
    }
}

/// A value for a state Terraform must store: unknowns become null.
pub fn known_or_null<T>(a: Attr<T>) -> Attr<T> {
    match a {
        Attr::Unknown => Attr::Null,
        other => other,
    }
}
