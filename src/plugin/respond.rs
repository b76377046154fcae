//! Answers: diagnostics into any tfplugin6 response, and the panic guard every handler runs in, which turns a panic
//! into an error diagnostic for that call while the plugin keeps serving.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tonic::{Response, Status};

use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::proto::tfplugin6 as pb;

/// Responses that carry a list of diagnostics, so the panic guard and the helpers can add to any of them.
pub(crate) trait WithDiagnostics: Default {
    fn diagnostics(&mut self) -> &mut Vec<pb::Diagnostic>;
}

macro_rules! with_diagnostics {
    ($($t:ty),* $(,)?) => {
        $(impl WithDiagnostics for $t {
            fn diagnostics(&mut self) -> &mut Vec<pb::Diagnostic> {
                &mut self.diagnostics
            }
        })*
    };
}

with_diagnostics!(
    pb::get_metadata::Response,
    pb::get_provider_schema::Response,
    pb::validate_provider_config::Response,
    pb::validate_resource_config::Response,
    pb::validate_data_resource_config::Response,
    pb::upgrade_resource_state::Response,
    pb::get_resource_identity_schemas::Response,
    pb::upgrade_resource_identity::Response,
    pb::configure_provider::Response,
    pb::read_resource::Response,
    pb::plan_resource_change::Response,
    pb::apply_resource_change::Response,
    pb::import_resource_state::Response,
    pb::move_resource_state::Response,
    pb::read_data_source::Response,
    pb::generate_resource_config::Response,
    pb::validate_ephemeral_resource_config::Response,
    pb::open_ephemeral_resource::Response,
    pb::renew_ephemeral_resource::Response,
    pb::close_ephemeral_resource::Response,
    pb::validate_list_resource_config::Response,
    pb::get_functions::Response,
    pb::validate_state_store::Response,
    pb::configure_state_store::Response,
    pb::write_state_bytes::Response,
    pb::lock_state::Response,
    pb::unlock_state::Response,
    pb::get_states::Response,
    pb::delete_state::Response,
    pb::plan_action::Response,
    pb::validate_action_config::Response,
);

/// `r` with `diags` added.
pub(crate) fn respond<R: WithDiagnostics>(diags: Diagnostics, mut r: R) -> R {
    r.diagnostics().extend(diags.to_proto());
    r
}

/// Runs a handler body of the provider named `provider`; a panic becomes an error diagnostic in an otherwise empty
/// response.
pub(crate) async fn guarded<R, F>(
    provider: &str,
    rpc: &'static str,
    body: F,
) -> Result<Response<R>, Status>
where
    R: WithDiagnostics,
    F: Future<Output = R>,
{
    match AssertUnwindSafe(body).catch_unwind().await {
        Ok(r) => Ok(Response::new(r)),
        Err(_) => {
            // The payload is not logged or shown: a panic message could carry a value from a config.
            tracing::error!(rpc, "handler panicked");
            let d = Diagnostic::error(
                format!("Internal error in the {provider} provider"),
                format!(
                    "The provider hit a bug while handling {rpc} and stopped that call. Nothing else was \
affected. Please report it with the Terraform version and the steps that led here (TF_LOG=debug output is safe to \
share: it holds no secrets)."
                ),
            );
            Ok(Response::new(respond(d.into(), R::default())))
        }
    }
}
