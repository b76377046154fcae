//! `thingspace_connection`: checks the provider's base URL and client credentials by obtaining an OAuth token, and
//! reports where requests go. It logs in as no user, so a plan that reads it can never cost a failed log-in, which
//! lets a pull request's plan catch an expired client secret or a wrong base URL before the scheduled apply does.

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::plugin::cty::{Attr, Type};
use crate::plugin::data_source::DataSource;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::thingspace::{BaseUrlSource, Client};

/// The type name configurations use.
pub const TYPE_NAME: &str = "thingspace_connection";

/// The data source's configuration and state: every attribute is computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionModel {
    pub id: Attr<String>,
    pub base_url: Attr<String>,
    pub base_url_source: Attr<String>,
    pub client_id: Attr<String>,
    pub proxy: Attr<String>,
}

/// The `thingspace_connection` data source.
#[derive(Debug, Default)]
pub struct Connection;

/// How `base_url_source` names each source.
fn source_name(source: BaseUrlSource) -> &'static str {
    match source {
        BaseUrlSource::Attribute => "attribute",
        BaseUrlSource::Environment => "environment",
        BaseUrlSource::Default => "default",
    }
}

impl DataSource for Connection {
    type Model = ConnectionModel;
    type Data = Client;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        use Presence::Computed;
        Schema {
            version: 0,
            description: "Checks the provider's connection to ThingSpace: obtains an OAuth access token with the \
provider's client credentials and reports where requests go. It never logs in as a ThingSpace user, so reading it \
(at every plan) can never cost a failed log-in. An expired or wrong client secret, or a wrong `base_url`, fails the \
plan that reads it: use it in a pull request's plan to catch them before the scheduled apply does.",
            attributes: vec![
                Attribute::new("id", Type::String, Computed, "The effective base URL."),
                Attribute::new(
                    "base_url",
                    Type::String,
                    Computed,
                    "The base URL requests go to, after the provider block and `THINGSPACE_BASE_URL` are applied.",
                ),
                Attribute::new(
                    "base_url_source",
                    Type::String,
                    Computed,
                    "Where `base_url` came from: `attribute` (the provider block), `environment` \
(`THINGSPACE_BASE_URL`) or `default` (production ThingSpace).",
                ),
                Attribute::new(
                    "client_id",
                    Type::String,
                    Computed,
                    "The app key (OAuth2 client ID) the token was obtained with. The client secret is never shown.",
                ),
                Attribute::new(
                    "proxy",
                    Type::String,
                    Computed,
                    "The proxy requests go through (scheme, host and port, from `HTTPS_PROXY` and the like), or null \
for a direct connection.",
                ),
            ],
        }
    }

    fn validate(&self, _config: &ConnectionModel) -> Diagnostics {
        Diagnostics::new()
    }

    fn read<'a>(
        &'a self,
        client: &'a Client,
        _config: ConnectionModel,
    ) -> BoxFuture<'a, Result<(ConnectionModel, Diagnostics), Diagnostics>> {
        Box::pin(async move {
            client
                .check_connection()
                .await
                .map_err(|e| Diagnostics::from(Diagnostic::error(e.summary(), e.detail())))?;
            let route = client.route();
            let state = ConnectionModel {
                id: Attr::Known(route.base_url.clone()),
                base_url: Attr::Known(route.base_url.clone()),
                base_url_source: Attr::Known(source_name(route.source).to_owned()),
                client_id: Attr::Known(client.client_id().to_owned()),
                proxy: route
                    .proxy
                    .as_ref()
                    .map_or(Attr::Null, |(proxy, _)| Attr::Known(proxy.clone())),
            };
            Ok((state, Diagnostics::new()))
        })
    }
}
