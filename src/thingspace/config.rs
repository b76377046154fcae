//! What the provider configuration gives the client: the settings, and the `base_url` check (https, or plain http
//! only to a loopback emulator) with its error.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::{Host, Url};

use super::network::{BaseUrlSource, ProxyConfig};
use super::trust::CaBundle;

/// What the provider configuration gives the client.
pub struct ClientConfig {
    /// Where the API lives; check it with [`validate_base_url`].
    pub base_url: Url,
    /// The ThingSpace project's app key.
    pub client_id: String,
    /// The ThingSpace project's app secret.
    pub client_secret: SecretString,
    /// Bounds every single HTTP request, from connecting to the end of the answer.
    pub request_timeout: Duration,
    /// The `User-Agent` header, e.g. `terraform-provider-thingspace/0.1.0`.
    pub user_agent: String,
    /// Where `base_url` came from, for messages about the network.
    pub base_url_source: BaseUrlSource,
    /// The HTTPS proxy, if the environment names one (see [`ProxyConfig::from_env`]). A loopback `base_url` never
    /// goes through it.
    pub proxy: Option<ProxyConfig>,
    /// Certificate authorities trusted beside the built-in roots (`ca_file`).
    pub ca: Option<CaBundle>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("base_url_source", &self.base_url_source)
            .field("proxy", &self.proxy)
            .field("ca", &self.ca.as_ref().map(CaBundle::len))
            .finish()
    }
}

/// Checks a `base_url`: https, or plain http only to a loopback host (127.0.0.0/8, ::1, `localhost`) for emulators.
pub fn validate_base_url(s: &str) -> Result<Url, BaseUrlError> {
    let url = Url::parse(s.trim()).map_err(|e| BaseUrlError::Invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    let host = url.host().ok_or(BaseUrlError::NoHost)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        scheme => {
            return Err(BaseUrlError::Insecure {
                scheme: scheme.to_owned(),
                host: host.to_string(),
            });
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError::QueryOrFragment);
    }
    Ok(url)
}

pub(super) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// An invalid `base_url`.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum BaseUrlError {
    /// Not a URL at all.
    #[error("base_url is not a valid URL: {0}")]
    Invalid(String),
    /// Not `https` (or `http` to a loopback host).
    #[error(
        "base_url must use https (plain http is only allowed to a loopback host such as 127.0.0.1, ::1 or localhost, \
         for an emulator); got scheme \"{scheme}\" with host \"{host}\""
    )]
    Insecure {
        /// The URL's scheme.
        scheme: String,
        /// The URL's host.
        host: String,
    },
    /// No host.
    #[error("base_url must name a host, such as https://thingspace.verizon.com")]
    NoHost,
    /// A user name or password in the URL: credentials belong in client_id / client_secret, and a URL ends up in
    /// error messages.
    #[error("base_url must not contain a user name or password; use client_id and client_secret")]
    Credentials,
    /// A query or fragment, which the API paths appended to base_url would silently drop.
    #[error("base_url must not contain a query (?...) or fragment (#...)")]
    QueryOrFragment,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn base_url_accepts_https_and_loopback_http_only() {
        for ok in [
            "https://thingspace.verizon.com",
            "https://thingspace.verizon.com/",
            "https://example.com/prefix/",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://[::1]:9000/",
            "http://localhost:1234",
            "http://LOCALHOST",
        ] {
            assert!(validate_base_url(ok).is_ok(), "{ok}");
        }
        let insecure = validate_base_url("http://thingspace.verizon.com").unwrap_err();
        assert!(
            matches!(&insecure, BaseUrlError::Insecure { scheme, host } if scheme == "http" && host == "thingspace.verizon.com")
        );
        assert!(
            insecure.to_string().contains("base_url must use https"),
            "{insecure}"
        );
        assert!(matches!(
            validate_base_url("http://10.0.0.1"),
            Err(BaseUrlError::Insecure { .. })
        ));
        assert!(matches!(
            validate_base_url("http://[::2]"),
            Err(BaseUrlError::Insecure { .. })
        ));
        assert!(matches!(
            validate_base_url("http://localhost.evil.com"),
            Err(BaseUrlError::Insecure { .. })
        ));
        assert!(matches!(
            validate_base_url("ftp://127.0.0.1"),
            Err(BaseUrlError::Insecure { .. })
        ));
        assert!(matches!(
            validate_base_url("not a url"),
            Err(BaseUrlError::Invalid(_))
        ));
        assert!(matches!(
            validate_base_url("https://u:p@example.com"),
            Err(BaseUrlError::Credentials)
        ));
        assert!(matches!(
            validate_base_url("https://example.com/?a=b"),
            Err(BaseUrlError::QueryOrFragment)
        ));
        let e = validate_base_url("https://u:hunter2@example.com").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }
}
