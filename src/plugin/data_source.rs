//! Data sources: the typed interface a data source implements, and the one adapter that serves any of them through
//! `ValidateDataResourceConfig` and `ReadDataSource`, decoding the configuration into the typed model and encoding
//! the read state back, as the resource adapter does for resources.

use futures_util::future::BoxFuture;

use crate::plugin::cty::Type;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::respond::respond;
use crate::plugin::schema::Schema;
use crate::plugin::wire::{Model, decode, encode_value, value_of};

/// A data source type of a provider whose configured data is `Data`.
pub trait DataSource: Send + Sync + 'static {
    /// The data source's configuration and state, one typed model as for a resource.
    type Model: Model;
    /// The provider's configured data (its API client).
    type Data: Send + Sync + 'static;

    /// The type name configurations use.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Checks the configuration before anything else. Unknown values are not errors.
    fn validate(&self, config: &Self::Model) -> Diagnostics;
    /// Reads the data: the configuration with every computed attribute filled in, or the error diagnostics.
    fn read<'a>(
        &'a self,
        data: &'a Self::Data,
        config: Self::Model,
    ) -> BoxFuture<'a, Result<(Self::Model, Diagnostics), Diagnostics>>;
}

/// A data source type as the service serves it, for a provider whose data is `D`.
pub trait AnyDataSource<D>: Send + Sync {
    /// The type name configurations use.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> &Schema;
    /// `ValidateDataResourceConfig`.
    fn validate(
        &self,
        request: pb::validate_data_resource_config::Request,
    ) -> pb::validate_data_resource_config::Response;
    /// `ReadDataSource`.
    fn read<'a>(
        &'a self,
        data: Option<&'a D>,
        request: pb::read_data_source::Request,
    ) -> BoxFuture<'a, pb::read_data_source::Response>;
}

/// A served data source type of a provider whose data is `D`.
pub type ServedDataSource<D> = Box<dyn AnyDataSource<D>>;

/// Serves `source` through the adapter.
pub fn serve_data_source<S: DataSource>(source: S) -> ServedDataSource<S::Data> {
    let schema = source.schema();
    Box::new(DataAdapter {
        ty: schema.value_type(),
        schema,
        source,
    })
}

struct DataAdapter<S: DataSource> {
    source: S,
    schema: Schema,
    ty: Type,
}

impl<S: DataSource> AnyDataSource<S::Data> for DataAdapter<S> {
    fn type_name(&self) -> &'static str {
        self.source.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(
        &self,
        req: pb::validate_data_resource_config::Request,
    ) -> pb::validate_data_resource_config::Response {
        let diags = match decode::<S::Model>(req.config.as_ref(), &self.ty, "configuration") {
            Ok(m) => self.source.validate(&m.unwrap_or_default()),
            Err(d) => d,
        };
        respond(diags, Default::default())
    }

    fn read<'a>(
        &'a self,
        data: Option<&'a S::Data>,
        req: pb::read_data_source::Request,
    ) -> BoxFuture<'a, pb::read_data_source::Response> {
        Box::pin(async move {
            let config = match decode::<S::Model>(req.config.as_ref(), &self.ty, "configuration") {
                Ok(m) => m.unwrap_or_default(),
                Err(d) => return respond(d, Default::default()),
            };
            // Terraform reads a data source only with a configured provider; answer clearly should it not.
            let Some(data) = data else {
                return respond(
                    Diagnostic::error(
                        "Provider not configured",
                        format!(
                            "{} was read before the provider was configured. Make every provider argument known \
at plan time (not taken from a resource created in the same apply).",
                            self.source.type_name()
                        ),
                    )
                    .into(),
                    Default::default(),
                );
            };
            let (state, diags) = match self.source.read(data, config).await {
                Ok(read) => read,
                Err(d) => return respond(d, Default::default()),
            };
            let encoded = value_of(Some(&state), &self.ty, "data source state")
                .and_then(|v| encode_value(&v, &self.ty, "data source state"));
            match encoded {
                Ok(state) => respond(
                    diags,
                    pb::read_data_source::Response {
                        state: Some(state),
                        ..Default::default()
                    },
                ),
                Err(d) => respond(d, Default::default()),
            }
        })
    }
}
