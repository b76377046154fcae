//! The provider: its address, the provider block's schema and validation, `ConfigureProvider` (configuration and
//! environment to the one API client every resource instance of this process shares), and the resource types it
//! serves, which share the process-wide view of each user ([`Users`]).

use crate::data_sources::connection::Connection;
use crate::plugin::adapter::{self, ServedResource};
use crate::plugin::cty::Attr;
use crate::plugin::cty::Type;
use crate::plugin::data_source::{ServedDataSource, serve_data_source};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::provider::Provider;
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::plugin::secret::Secret;
use crate::resources::alternating::AlternatingRotation;
use crate::resources::password_rotation::PasswordRotation;
use crate::resources::users::Users;
use crate::shutdown::Shutdown;
use crate::thingspace::{
    BaseUrlSource, CaBundle, Client, ClientConfig, ProxyConfig, validate_base_url,
};
use crate::timefmt::parse_duration;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The registry address Terraform knows the provider by; `--debug` sessions print it in `TF_REATTACH_PROVIDERS`.
pub const ADDRESS: &str = "registry.terraform.io/verizon/thingspace";

/// Production ThingSpace.
pub const DEFAULT_BASE_URL: &str = "https://thingspace.verizon.com";
/// Applies to each HTTP request, so a hung server cannot hang an apply.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The crates whose `tracing` events are this provider's own (logged at the level the user asks for; any other
/// crate is capped at warn): the library, the binary, and the emulator some tests run in the same process.
pub const LOG_CRATES: &[&str] = &[
    "thingspace_provider",
    "terraform_provider_thingspace",
    "thingspace_emulator",
];
/// Sent on every API request so ThingSpace can tell this client apart.
pub const USER_AGENT: &str = concat!("terraform-provider-thingspace/", env!("CARGO_PKG_VERSION"));

/// The provider block as Terraform sends it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderModel {
    pub base_url: Attr<String>,
    pub client_id: Attr<String>,
    pub client_secret: Attr<Secret>,
    pub request_timeout: Attr<String>,
    pub ca_file: Attr<String>,
}

/// The provider block's schema.
pub fn schema() -> Schema {
    use Presence::Optional;
    Schema {
        version: 0,
        description: "The ThingSpace provider rotates the passwords of Verizon ThingSpace Connectivity Management \
API users. It authenticates with a ThingSpace project's app key and secret (OAuth2 client credentials).",
        attributes: vec![
            Attribute::new(
                "base_url",
                Type::String,
                Optional,
                "ThingSpace API base URL. Defaults to the `THINGSPACE_BASE_URL` environment variable, then \
`https://thingspace.verizon.com`. Must be `https://`, except `http://` to a loopback host (for an emulator).",
            ),
            Attribute::new(
                "client_id",
                Type::String,
                Optional,
                "ThingSpace app key (OAuth2 client ID). Defaults to the `THINGSPACE_CLIENT_ID` environment variable.",
            ),
            Attribute::new(
                "client_secret",
                Type::String,
                Optional,
                "ThingSpace app secret (OAuth2 client secret). Defaults to the `THINGSPACE_CLIENT_SECRET` \
environment variable.",
            )
            .sensitive(),
            Attribute::new(
                "request_timeout",
                Type::String,
                Optional,
                "Time limit for each HTTP request to ThingSpace, as a Go duration (`\"30s\"`, `\"1m\"`). Default `30s`.",
            ),
            Attribute::new(
                "ca_file",
                Type::String,
                Optional,
                "Path to a PEM file of certificate authorities to trust beside the built-in (Mozilla) roots, for a \
network whose proxy or gateway presents its own certificate. Defaults to the `THINGSPACE_CA_FILE` environment \
variable. The operating system's trust store is not used.",
            ),
        ],
    }
}

fn timeout_attr(s: &str) -> Result<Duration, Diagnostic> {
    match parse_duration(s) {
        Ok(d) if d.is_zero() => Err(Diagnostic::error(
            "Invalid request_timeout",
            "request_timeout must be longer than zero, for example \"30s\".",
        )
        .at("request_timeout")),
        Ok(d) => Ok(d),
        Err(e) => {
            Err(Diagnostic::error("Invalid request_timeout", format!("{e}.")).at("request_timeout"))
        }
    }
}

fn base_url_attr(s: &str) -> Result<url::Url, Diagnostic> {
    validate_base_url(s)
        .map_err(|e| Diagnostic::error("Invalid base_url", format!("{e}")).at("base_url"))
}

/// Checks what can be checked without the environment: the formats of known values.
pub fn validate(m: &ProviderModel) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Attr::Known(u) = &m.base_url
        && let Err(d) = base_url_attr(u)
    {
        diags.push(d);
    }
    if let Attr::Known(t) = &m.request_timeout
        && let Err(d) = timeout_attr(t)
    {
        diags.push(d);
    }
    diags
}

/// Resolves one setting: the configuration wins, then the environment variable. Empty counts as unset.
fn resolve(attr: &Attr<String>, env_value: Option<String>) -> Attr<String> {
    match attr {
        Attr::Known(v) if !v.is_empty() => Attr::Known(v.clone()),
        Attr::Unknown => Attr::Unknown,
        _ => match env_value {
            Some(v) if !v.is_empty() => Attr::Known(v),
            _ => Attr::Null,
        },
    }
}

/// Builds the API client from configuration and environment. Makes no network call.
///
/// Returns `Ok(None)` when a value is still unknown (it comes from another resource): Terraform configures the
/// provider again at apply with known values, and planning needs no API call.
pub fn configure(
    m: &ProviderModel,
    env: impl Fn(&str) -> Option<String>,
    shutdown: Shutdown,
) -> Result<Option<Client>, Diagnostics> {
    let mut diags = validate(m);
    let base_url_source = match (&m.base_url, env("THINGSPACE_BASE_URL")) {
        (Attr::Known(v), _) if !v.is_empty() => BaseUrlSource::Attribute,
        (_, Some(v)) if !v.is_empty() => BaseUrlSource::Environment,
        _ => BaseUrlSource::Default,
    };
    let base_url = resolve(&m.base_url, env("THINGSPACE_BASE_URL"));
    let ca_file = resolve(&m.ca_file, env(CA_FILE_VAR));
    let ca = match &ca_file {
        Attr::Known(path) => {
            match read_ca_file(path, matches!(&m.ca_file, Attr::Known(v) if !v.is_empty())) {
                Ok(ca) => Some(ca),
                Err(d) => {
                    diags.push(d);
                    None
                }
            }
        }
        _ => None,
    };
    let proxy = match ProxyConfig::from_env(&env) {
        Ok(proxy) => proxy,
        Err(e) => {
            diags.push(Diagnostic::error(
                "Invalid proxy setting",
                format!(
                    "{e}. Fix or unset it; NO_PROXY lists the hosts reached without the proxy."
                ),
            ));
            None
        }
    };
    let client_id = resolve(&m.client_id, env("THINGSPACE_CLIENT_ID"));
    let client_secret = match &m.client_secret {
        Attr::Known(s) if !s.is_empty() => Attr::Known(s.clone()),
        Attr::Unknown => Attr::Unknown,
        _ => match env("THINGSPACE_CLIENT_SECRET") {
            Some(v) if !v.is_empty() => Attr::Known(Secret::new(v)),
            _ => Attr::Null,
        },
    };
    if client_id.is_null() {
        diags.push(
            Diagnostic::error(
                "Missing client_id",
                "Set client_id in the provider block or the THINGSPACE_CLIENT_ID environment variable to the \
ThingSpace project's app key.",
            )
            .at("client_id"),
        );
    }
    if client_secret.is_null() {
        diags.push(
            Diagnostic::error(
                "Missing client_secret",
                "Set client_secret in the provider block or the THINGSPACE_CLIENT_SECRET environment variable to \
the ThingSpace project's app secret.",
            )
            .at("client_secret"),
        );
    }
    let base_url = match base_url {
        Attr::Known(u) if m.base_url.is_known() => Attr::Known(u),
        // The environment's value was not checked by `validate`.
        Attr::Known(u) => match base_url_attr(&u) {
            Ok(_) => Attr::Known(u),
            Err(d) => {
                diags.push(d.at("base_url"));
                Attr::Null
            }
        },
        Attr::Null => Attr::Known(DEFAULT_BASE_URL.to_string()),
        Attr::Unknown => Attr::Unknown,
    };
    if diags.has_errors() {
        return Err(diags);
    }
    let (Attr::Known(base_url), Attr::Known(client_id), Attr::Known(client_secret)) =
        (base_url, client_id, client_secret)
    else {
        return Ok(None);
    };
    if ca_file.is_unknown() {
        return Ok(None);
    }
    let request_timeout = match &m.request_timeout {
        Attr::Known(t) => timeout_attr(t)?,
        Attr::Unknown => return Ok(None),
        Attr::Null => DEFAULT_REQUEST_TIMEOUT,
    };
    let base_url = base_url_attr(&base_url).map_err(Diagnostics::from)?;
    let offset = crate::clock::configure(&base_url, env(crate::clock::TEST_OFFSET_VAR).as_deref());
    if offset != 0 {
        tracing::debug!(
            offset_secs = offset,
            "test clock offset in effect (emulator base_url)"
        );
    }
    let cfg = ClientConfig {
        base_url,
        client_id,
        client_secret: client_secret.secret().clone(),
        request_timeout,
        user_agent: USER_AGENT.to_string(),
        base_url_source,
        proxy,
        ca,
    };
    // The server's shutdown waits for a log-in or reset on the wire; it must know how long one may take.
    shutdown.record_request_timeout(request_timeout);
    Client::new(cfg, shutdown).map(Some).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Could not set up the ThingSpace client",
            format!("{e}"),
        ))
    })
}

/// The environment variable `ca_file` defaults to.
pub const CA_FILE_VAR: &str = "THINGSPACE_CA_FILE";

/// Reads and checks the `ca_file` bundle; a diagnostic on the attribute says which file, from where, and why.
fn read_ca_file(path: &str, from_attribute: bool) -> Result<CaBundle, Diagnostic> {
    let source = if from_attribute {
        "the ca_file attribute".to_owned()
    } else {
        format!("the {CA_FILE_VAR} environment variable")
    };
    let fail = |why: String| {
        Diagnostic::error(
            "Invalid ca_file",
            format!(
                "The CA bundle {path:?} (from {source}) is not usable: {why}. Set ca_file (or {CA_FILE_VAR}) to a PEM \
                 file holding the certificate authorities to trust, such as the one of your network's TLS-inspecting \
                 proxy, or unset it to trust only the built-in roots."
            ),
        )
        .at("ca_file")
    };
    let pem = std::fs::read(path).map_err(|e| fail(format!("it could not be read ({e})")))?;
    CaBundle::from_pem(&pem).map_err(fail)
}

/// The ThingSpace provider: what one plugin process holds beside its configured API client.
#[derive(Debug)]
pub struct ThingSpace {
    /// What this process knows about each user, across the resource instances of every rotation resource.
    users: Arc<Users>,
    /// The process lifecycle: the API client's calls watch it, and the drain at exit waits for them.
    shutdown: Shutdown,
}

impl ThingSpace {
    /// The provider of a process whose lifecycle is `shutdown`.
    pub fn new(shutdown: Shutdown) -> Self {
        Self {
            users: Arc::default(),
            shutdown,
        }
    }
}

impl Provider for ThingSpace {
    type Config = ProviderModel;
    type Data = Client;

    fn address(&self) -> &'static str {
        ADDRESS
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &ProviderModel) -> Diagnostics {
        validate(config)
    }

    fn configure(&self, config: &ProviderModel) -> Result<Option<Client>, Diagnostics> {
        configure(config, |k| std::env::var(k).ok(), self.shutdown.clone())
    }

    fn resource_types(&self) -> Vec<ServedResource<Client>> {
        vec![
            adapter::serve(PasswordRotation::new(self.users.clone())),
            adapter::serve(AlternatingRotation::new(self.users.clone())),
        ]
    }

    fn data_sources(&self) -> Vec<ServedDataSource<Client>> {
        vec![serve_data_source(Connection)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::cty;
    use crate::plugin::proto::tfplugin6 as pb;
    use crate::plugin::proto::tfplugin6::provider_server::Provider as _;
    use crate::plugin::service::ProviderService;
    use crate::resources::password_rotation as rotation;
    use tonic::Request;

    fn known(v: &str) -> Attr<String> {
        Attr::Known(v.to_string())
    }

    fn attrs(d: &Diagnostics) -> Vec<String> {
        d.0.iter().map(|d| format!("{:?}", d.attribute)).collect()
    }

    #[test]
    fn missing_credentials_name_the_attribute_and_env_var() {
        let err = configure(&ProviderModel::default(), |_| None, Shutdown::new()).unwrap_err();
        assert_eq!(err.0.len(), 2, "{err:?}");
        assert!(err.0[0].detail.contains("THINGSPACE_CLIENT_ID"));
        assert!(err.0[1].detail.contains("THINGSPACE_CLIENT_SECRET"));
        assert!(attrs(&err)[0].contains("client_id"));
        assert!(attrs(&err)[1].contains("client_secret"));
    }

    #[test]
    fn environment_fills_what_configuration_leaves_out() {
        let env = |k: &str| match k {
            "THINGSPACE_CLIENT_ID" => Some("id".to_string()),
            "THINGSPACE_CLIENT_SECRET" => Some("secret".to_string()),
            "THINGSPACE_BASE_URL" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        };
        let c = configure(&ProviderModel::default(), env, Shutdown::new()).unwrap();
        assert!(c.is_some());
    }

    #[test]
    fn unknown_values_are_accepted_and_configure_nothing() {
        let m = ProviderModel {
            client_id: Attr::Unknown,
            client_secret: Attr::Known(Secret::new("s")),
            ..ProviderModel::default()
        };
        assert!(configure(&m, |_| None, Shutdown::new()).unwrap().is_none());
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let m = ProviderModel {
            base_url: known("http://thingspace.example.com"),
            client_id: known("id"),
            client_secret: Attr::Known(Secret::new("s")),
            ..ProviderModel::default()
        };
        let err = configure(&m, |_| None, Shutdown::new()).unwrap_err();
        assert!(attrs(&err)[0].contains("base_url"), "{err:?}");
        let env_bad = |k: &str| (k == "THINGSPACE_BASE_URL").then(|| "http://10.0.0.1".to_string());
        let m2 = ProviderModel {
            base_url: Attr::Null,
            ..m.clone()
        };
        let err = configure(&m2, env_bad, Shutdown::new()).unwrap_err();
        assert!(attrs(&err)[0].contains("base_url"), "{err:?}");
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:2",
            "https://thingspace.verizon.com",
        ] {
            let m3 = ProviderModel {
                base_url: known(ok),
                ..m.clone()
            };
            assert!(
                configure(&m3, |_| None, Shutdown::new()).unwrap().is_some(),
                "{ok}"
            );
        }
    }

    #[test]
    fn request_timeout_is_validated() {
        for bad in ["0s", "soon", "-1s"] {
            let d = validate(&ProviderModel {
                request_timeout: known(bad),
                ..ProviderModel::default()
            });
            assert!(d.has_errors(), "{bad}");
            assert!(attrs(&d)[0].contains("request_timeout"));
        }
        assert!(
            validate(&ProviderModel {
                request_timeout: known("45s"),
                ..ProviderModel::default()
            })
            .is_empty()
        );
    }

    /// A state of `thingspace_password_rotation` for `username` as Terraform sends it.
    fn rotation_value(username: &str) -> Option<pb::DynamicValue> {
        let ty = <rotation::Model as crate::resources::rotating::Rotating>::schema().value_type();
        let m = rotation::Model {
            id: known(username),
            username: known(username),
            current_password: Attr::Known(Secret::new("seed")),
            ..rotation::Model::default()
        };
        let v = cty::to_value(&m, &ty).unwrap();
        Some(pb::DynamicValue {
            msgpack: cty::encode_msgpack(&v, &ty).unwrap(),
            json: Vec::new(),
        })
    }

    #[tokio::test]
    async fn the_service_serves_the_rotation_and_a_new_username_replaces_it() {
        let svc = ProviderService::new(ThingSpace::new(Shutdown::new()), Shutdown::new());
        let schema = svc
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap()
            .into_inner();
        // A protobuf map: no order.
        let mut names: Vec<_> = schema.resource_schemas.keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                crate::resources::alternating::TYPE_NAME,
                rotation::TYPE_NAME
            ]
        );
        let plan = |prior: &str, config: &str| {
            svc.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: rotation::TYPE_NAME.into(),
                prior_state: rotation_value(prior),
                proposed_new_state: rotation_value(config),
                config: rotation_value(config),
                ..Default::default()
            }))
        };
        let renamed = plan("alice", "bob").await.unwrap().into_inner();
        let paths: Vec<_> = renamed
            .requires_replace
            .iter()
            .map(|p| format!("{:?}", p.steps))
            .collect();
        assert_eq!(paths.len(), 1);
        assert!(
            paths[0].contains("AttributeName(\"username\")"),
            "{paths:?}"
        );
        let same = plan("carol", "carol").await.unwrap().into_inner();
        assert!(same.requires_replace.is_empty());
        let other = svc
            .import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: "thingspace_other".into(),
                id: "x".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            other.diagnostics[0].detail,
            "The thingspace provider has no resource named \"thingspace_other\". It serves the resource types \
[\"thingspace_alternating_password_rotation\", \"thingspace_password_rotation\"]."
        );
    }

    fn with_credentials() -> ProviderModel {
        ProviderModel {
            client_id: known("id"),
            client_secret: Attr::Known(Secret::new("s")),
            ..ProviderModel::default()
        }
    }

    #[test]
    fn base_url_source_is_the_attribute_then_the_environment_then_the_default() {
        use crate::thingspace::BaseUrlSource;
        let env = |k: &str| (k == "THINGSPACE_BASE_URL").then(|| "https://env.example".to_string());
        let source = |m: &ProviderModel, env: &dyn Fn(&str) -> Option<String>| {
            let c = configure(m, env, Shutdown::new()).unwrap().unwrap();
            (c.route().base_url.clone(), c.route().source)
        };
        let attr = ProviderModel {
            base_url: known("https://attr.example"),
            ..with_credentials()
        };
        assert_eq!(
            source(&attr, &env),
            ("https://attr.example".into(), BaseUrlSource::Attribute)
        );
        assert_eq!(
            source(&with_credentials(), &env),
            ("https://env.example".into(), BaseUrlSource::Environment)
        );
        assert_eq!(
            source(&with_credentials(), &|_| None),
            (DEFAULT_BASE_URL.into(), BaseUrlSource::Default)
        );
    }

    #[test]
    fn ca_file_problems_name_the_attribute_the_file_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem").display().to_string();
        let m = ProviderModel {
            ca_file: known(&missing),
            ..with_credentials()
        };
        let err = configure(&m, |_| None, Shutdown::new()).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err:?}");
        assert!(attrs(&err)[0].contains("ca_file"), "{err:?}");
        assert_eq!(err.0[0].summary, "Invalid ca_file");
        let detail = &err.0[0].detail;
        assert!(
            detail.contains(&missing)
                && detail.contains("the ca_file attribute")
                && detail.contains("could not be read"),
            "{detail}"
        );

        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let not_pem = not_pem.display().to_string();
        let env = |k: &str| (k == CA_FILE_VAR).then(|| not_pem.clone());
        let err = configure(&with_credentials(), env, Shutdown::new()).unwrap_err();
        assert!(attrs(&err)[0].contains("ca_file"), "{err:?}");
        let detail = &err.0[0].detail;
        assert!(
            detail.contains("THINGSPACE_CA_FILE environment variable")
                && detail.contains("no PEM certificate"),
            "{detail}"
        );

        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        std::fs::write(&ca, params.self_signed(&key).unwrap().pem()).unwrap();
        let m = ProviderModel {
            ca_file: known(&ca.display().to_string()),
            ..with_credentials()
        };
        assert!(configure(&m, |_| None, Shutdown::new()).unwrap().is_some());
    }

    #[test]
    fn proxy_comes_from_the_environment_and_a_bad_one_is_named_not_shown() {
        let env =
            |k: &str| (k == "HTTPS_PROXY").then(|| "http://u:hunter2@proxy.corp:3128".to_string());
        let c = configure(&with_credentials(), env, Shutdown::new())
            .unwrap()
            .unwrap();
        assert_eq!(
            c.route().proxy,
            Some(("http://proxy.corp:3128".to_owned(), "HTTPS_PROXY"))
        );
        let bypass = |k: &str| match k {
            "HTTPS_PROXY" => Some("http://proxy.corp:3128".to_string()),
            "NO_PROXY" => Some("verizon.com".to_string()),
            _ => None,
        };
        let c = configure(&with_credentials(), bypass, Shutdown::new())
            .unwrap()
            .unwrap();
        assert_eq!(c.route().proxy, None);
        let bad = |k: &str| (k == "https_proxy").then(|| "http://u:hunter2@".to_string());
        let err = configure(&with_credentials(), bad, Shutdown::new()).unwrap_err();
        assert_eq!(err.0[0].summary, "Invalid proxy setting");
        assert!(err.0[0].detail.contains("https_proxy"), "{err:?}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }
}
