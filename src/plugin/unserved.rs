//! The RPCs a provider does not serve (data sources, ephemeral and list resource types, functions, state stores,
//! actions, moves, generated configuration, identity of a type without one) and the diagnostics they answer with.
//! Terraform tolerates `Unimplemented` only for `GetResourceIdentitySchemas`, so every other one answers with a clear
//! error.

use std::pin::Pin;

use tonic::{Response, Status};

use crate::plugin::diagnostics::{Diagnostic, Diagnostics};

/// A server stream, as tonic's generated trait wants it.
pub(crate) type Stream<T> =
    Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream of exactly `item`.
pub(crate) fn one<T: Send + 'static>(item: T) -> Result<Response<Stream<T>>, Status> {
    Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
        item,
    )]))))
}

/// Methods of the `tfplugin6.Provider` trait that answer with diagnostics only, inside the service's panic guard:
/// `name(module) "RpcName": |service, request| diagnostics;` where `module` is the RPC's message module in
/// `tfplugin6`. They are written in the form `#[tonic::async_trait]` gives trait methods, because that attribute
/// rewrites only the `async fn`s it sees before macros expand.
macro_rules! unserved {
    ($($method:ident($module:ident) $rpc:literal: |$this:pat_param, $req:pat_param| $diags:expr;)*) => {$(
        fn $method<'life0, 'async_trait>(
            &'life0 self,
            request: tonic::Request<$crate::plugin::proto::tfplugin6::$module::Request>,
        ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<
            Output = Result<tonic::Response<$crate::plugin::proto::tfplugin6::$module::Response>, tonic::Status>,
        > + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            use tracing::Instrument as _;
            let span = tracing::info_span!(stringify!($method), rpc = $rpc);
            Box::pin(
                async move {
                    let $req = request.into_inner();
                    self.guarded($rpc, async {
                        let $this = self;
                        $crate::plugin::respond::respond($diags, Default::default())
                    })
                    .await
                }
                .instrument(span),
            )
        }
    )*};
}

pub(crate) use unserved;

/// `kind` (resource, data source...) `name` is not one `provider` serves; `served` are its resource type names.
pub(crate) fn unknown_type(provider: &str, served: &[&str], kind: &str, name: &str) -> Diagnostics {
    let serves = match served {
        [] => "no resource types".to_owned(),
        [one] => format!("the resource {one:?}"),
        many => format!("the resource types {many:?}"),
    };
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("The {provider} provider has no {kind} named {name:?}. It serves {serves}."),
    )
    .into()
}

/// `UpgradeResourceIdentity` for type `name`, which has no identity.
pub(crate) fn no_identity(name: &str) -> Diagnostics {
    Diagnostic::error(
        "Resource identity not supported",
        format!("{name:?} has no resource identity; import it by its ID."),
    )
    .into()
}

/// `MoveResourceState` into type `target`.
pub(crate) fn no_move(target: &str) -> Diagnostics {
    Diagnostic::error(
        "Moving state is not supported",
        format!(
            "{target:?} cannot take over state from another resource type; import the object instead."
        ),
    )
    .into()
}

/// `GenerateResourceConfig` for type `name`, whose configuration needs the attributes `required`.
pub(crate) fn no_generation(name: &str, required: &[&str]) -> Diagnostics {
    let needs = match required {
        [] => String::new(),
        [one] => format!(": it needs only {one}"),
        many => format!(": it needs {}", many.join(", ")),
    };
    Diagnostic::error(
        "Configuration generation is not supported",
        format!("Write the configuration for {name:?} by hand{needs}."),
    )
    .into()
}
