//! The typed interface of a provider: its address, the provider block's schema and configuration, and the list of
//! the resource types it serves. The service (`service.rs`) serves any implementation.

use crate::plugin::adapter::ServedResource;
use crate::plugin::data_source::ServedDataSource;
use crate::plugin::diagnostics::Diagnostics;
use crate::plugin::schema::Schema;
use crate::plugin::wire::Model;

/// A provider. Ephemeral resource types, once there are any, are listed beside
/// [`resource_types`](Self::resource_types) the same way, each through its own adapter.
pub trait Provider: Send + Sync + 'static {
    /// The provider block as Terraform sends it.
    type Config: Model;
    /// What [`configure`](Self::configure) produces and every resource operation receives (an API client, say).
    type Data: Send + Sync + 'static;

    /// The registry address Terraform knows the provider by, `<host>/<namespace>/<type>`; its last segment names
    /// the provider in messages.
    fn address(&self) -> &'static str;

    /// The provider block's schema.
    fn schema(&self) -> Schema;

    /// Checks the provider block before anything else. Unknown values are not errors.
    fn validate(&self, config: &Self::Config) -> Diagnostics;

    /// Turns the provider block into the data every resource type gets. `Ok(None)` when a value is not known yet
    /// (it comes from another resource): Terraform configures the provider again at apply, with known values.
    /// Terraform configures each provider process once; should it call again, the first data is kept.
    fn configure(&self, config: &Self::Config) -> Result<Option<Self::Data>, Diagnostics>;

    /// The resource types served, each wrapped by [`adapter::serve`](crate::plugin::adapter::serve).
    fn resource_types(&self) -> Vec<ServedResource<Self::Data>>;

    /// The data source types served, each wrapped by
    /// [`data_source::serve_data_source`](crate::plugin::data_source::serve_data_source).
    fn data_sources(&self) -> Vec<ServedDataSource<Self::Data>> {
        Vec::new()
    }
}
