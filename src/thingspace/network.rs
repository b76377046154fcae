//! Where the client goes and what stood in the way: the base URL with where it came from, the proxy taken from the
//! environment, and a transport failure read from reqwest's error chain (a name that does not resolve, a refused
//! connection, a TLS handshake or certificate failure...), so a message can say where, how, and whether a retry
//! can help.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use url::Url;

/// Where `base_url` came from, so a message about the network can say what to change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaseUrlSource {
    /// The provider block's `base_url` attribute.
    Attribute,
    /// The `THINGSPACE_BASE_URL` environment variable.
    Environment,
    /// Neither was set: production ThingSpace.
    #[default]
    Default,
}

impl fmt::Display for BaseUrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BaseUrlSource::Attribute => "the base_url attribute",
            BaseUrlSource::Environment => "the THINGSPACE_BASE_URL environment variable",
            BaseUrlSource::Default => {
                "the default, as neither base_url nor THINGSPACE_BASE_URL is set"
            }
        })
    }
}

/// An HTTPS proxy from the environment (`HTTPS_PROXY` and friends), with the hosts that bypass it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The proxy URL; it may carry credentials, so it is only ever shown through [`shown_proxy`].
    pub url: Url,
    /// The variable it came from, e.g. `HTTPS_PROXY`.
    pub variable: &'static str,
    /// The `NO_PROXY` list, as the variable has it.
    pub no_proxy: Option<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("url", &shown_proxy(&self.url))
            .field("variable", &self.variable)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// The variables a proxy is taken from, in order: the first one set (and not empty) wins. Only HTTPS goes out
/// (plain http is allowed only to loopback, which is never proxied), so `HTTP_PROXY` does not apply.
pub const PROXY_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The variables the proxy bypass list is taken from.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

impl ProxyConfig {
    /// The proxy the environment asks for, if any. A value that is not a URL is an error naming its variable
    /// (without the value, which may hold a password). A bare `host:port` means `http://host:port`, as curl reads it.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<ProxyConfig>, String> {
        let Some((variable, value)) = PROXY_VARIABLES
            .iter()
            .find_map(|v| env(v).filter(|s| !s.trim().is_empty()).map(|s| (*v, s)))
        else {
            return Ok(None);
        };
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = Url::parse(&with_scheme)
            .ok()
            .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
            .filter(|u| matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h"))
            .ok_or_else(|| {
                format!(
                    "the {variable} environment variable is not a proxy URL such as http://proxy.example.com:3128"
                )
            })?;
        if url.scheme().starts_with("socks") {
            return Err(format!(
                "the {variable} environment variable names a SOCKS proxy, which this provider does not support; \
                 use an HTTP proxy (http://host:port) that accepts CONNECT"
            ));
        }
        let no_proxy = NO_PROXY_VARIABLES
            .iter()
            .find_map(|v| env(v).filter(|s| !s.trim().is_empty()));
        Ok(Some(ProxyConfig {
            url,
            variable,
            no_proxy,
        }))
    }

    /// Whether a request to `base` goes through this proxy (its host is not in `NO_PROXY`).
    pub fn applies_to(&self, base: &Url) -> bool {
        let Some(host) = base.host_str() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        !self.no_proxy.as_deref().is_some_and(|list| {
            list.split(',').map(str::trim).any(|entry| {
                let entry = entry.split(':').next().unwrap_or(entry);
                entry == "*"
                    || host.eq_ignore_ascii_case(entry.trim_start_matches('.'))
                    || (!entry.is_empty()
                        && host.to_ascii_lowercase().ends_with(&format!(
                            ".{}",
                            entry.trim_start_matches('.').to_ascii_lowercase()
                        )))
            })
        })
    }
}

/// A proxy URL fit for a message: scheme, host and port, never its user name or password.
pub fn shown_proxy(url: &Url) -> String {
    let port = url
        .port_or_known_default()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    match url.host_str() {
        Some(host) => format!("{}://{host}{port}", url.scheme()),
        None => url.scheme().to_owned(),
    }
}

/// Where a request went: what a network failure message names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The base URL as configured (it never holds credentials: `validate_base_url` refuses them).
    pub base_url: String,
    /// Where the base URL came from.
    pub source: BaseUrlSource,
    /// The proxy the request went through, as [`shown_proxy`] shows it, with its variable.
    pub proxy: Option<(String, &'static str)>,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {})", self.base_url, self.source)?;
        if let Some((proxy, variable)) = &self.proxy {
            write!(f, ", through the proxy {proxy} (from {variable})")?;
        }
        Ok(())
    }
}

/// What a transport failure was, read from the error chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetCause {
    /// The host name does not resolve. Retrying cannot fix it.
    NameNotFound,
    /// Nothing listens at the port (or a firewall said so).
    Refused,
    /// The TLS handshake failed for a reason other than the certificate: often https to a plain-http port.
    Tls,
    /// The server's certificate is not trusted or not valid for the host.
    Certificate,
    /// Any other failure to connect (unreachable network, a temporary DNS failure, a proxy's refusal...).
    #[default]
    Connect,
    /// After the connection was up: a timeout, a dropped connection, a body that broke off.
    AfterConnect,
}

impl NetCause {
    /// Whether sending again cannot help: the same name, handshake or certificate fails the same way.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            NetCause::NameNotFound | NetCause::Tls | NetCause::Certificate
        )
    }
}

/// Reads what went wrong from a transport error's chain. `connect` says whether the HTTP stack reported a failure to
/// connect (nothing sent); anything later is [`NetCause::AfterConnect`].
pub fn classify(error: &(dyn StdError + 'static), connect: bool) -> NetCause {
    if !connect {
        return NetCause::AfterConnect;
    }
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return tls_cause(tls);
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionRefused {
                return NetCause::Refused;
            }
            // `io::Error::source` skips the error it wraps (it returns that error's source), and tokio-rustls
            // wraps the rustls error in one, so look inside.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        // hyper-util's connector labels a resolver failure "dns error", whichever resolver is in use.
        if cause.to_string().starts_with("dns error") {
            return dns_cause(cause);
        }
        next = cause.source();
    }
    NetCause::Connect
}

fn tls_cause(error: &rustls::Error) -> NetCause {
    match error {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType => NetCause::Certificate,
        _ => NetCause::Tls,
    }
}

/// A temporary resolver failure (EAI_AGAIN) may pass; a name that does not exist does not.
fn dns_cause(error: &(dyn StdError + 'static)) -> NetCause {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        text.push_str(&cause.to_string().to_ascii_lowercase());
        text.push(' ');
        next = cause.source();
    }
    if text.contains("temporary failure")
        || text.contains("try again")
        || text.contains("timed out")
    {
        NetCause::Connect
    } else {
        NetCause::NameNotFound
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn proxy_comes_from_the_first_set_variable_and_never_shows_its_password() {
        assert_eq!(ProxyConfig::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            ProxyConfig::from_env(env(&[("HTTPS_PROXY", " ")])).unwrap(),
            None
        );
        let p = ProxyConfig::from_env(env(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://user:s3cret@proxy.corp:3128"),
            ("ALL_PROXY", "http://all:2"),
            ("no_proxy", "internal.corp"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(p.variable, "HTTPS_PROXY");
        assert_eq!(p.no_proxy.as_deref(), Some("internal.corp"));
        assert_eq!(shown_proxy(&p.url), "http://proxy.corp:3128");
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("http://proxy.corp:3128"),
            "{debug}"
        );
        assert_eq!(
            shown_proxy(&Url::parse("https://u:p@secure.corp").unwrap()),
            "https://secure.corp:443"
        );
        assert_eq!(
            shown_proxy(&Url::parse("x-proxy://u:p@h").unwrap()),
            "x-proxy://h"
        );
        assert_eq!(
            shown_proxy(&Url::parse("x-proxy:opaque").unwrap()),
            "x-proxy"
        );
        let bare = ProxyConfig::from_env(env(&[("all_proxy", "proxy:8080")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (bare.variable, bare.url.as_str()),
            ("all_proxy", "http://proxy:8080/")
        );
        let bad = ProxyConfig::from_env(env(&[("HTTPS_PROXY", "http://u:pw@")])).unwrap_err();
        assert!(bad.contains("HTTPS_PROXY") && !bad.contains("pw"), "{bad}");
        let socks = ProxyConfig::from_env(env(&[("ALL_PROXY", "socks5://p:1080")])).unwrap_err();
        assert!(socks.contains("SOCKS"), "{socks}");
    }

    #[test]
    fn no_proxy_matches_hosts_and_domains() {
        let p = |list: &str| ProxyConfig {
            url: Url::parse("http://proxy:1").unwrap(),
            variable: "HTTPS_PROXY",
            no_proxy: Some(list.to_owned()),
        };
        let base = |s: &str| Url::parse(s).unwrap();
        let ts = base("https://thingspace.verizon.com");
        assert!(p("example.com").applies_to(&ts));
        assert!(!p("example.com, verizon.com").applies_to(&ts));
        assert!(!p(".verizon.com").applies_to(&ts));
        assert!(!p("thingspace.verizon.com:443").applies_to(&ts));
        assert!(!p("*").applies_to(&ts));
        assert!(p("izon.com").applies_to(&ts));
        assert!(p("").applies_to(&ts));
    }

    #[test]
    fn route_names_the_base_url_its_source_and_the_proxy() {
        let route = Route {
            base_url: "https://h.example".into(),
            source: BaseUrlSource::Environment,
            proxy: Some(("http://proxy:3128".into(), "HTTPS_PROXY")),
        };
        assert_eq!(
            route.to_string(),
            "https://h.example (from the THINGSPACE_BASE_URL environment variable), through the proxy \
             http://proxy:3128 (from HTTPS_PROXY)"
        );
        assert!(
            BaseUrlSource::Attribute
                .to_string()
                .contains("base_url attribute")
        );
        assert!(BaseUrlSource::Default.to_string().contains("default"));
    }

    #[derive(Debug)]
    struct Labelled(&'static str, Option<Box<dyn StdError + Send + Sync>>);
    impl fmt::Display for Labelled {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Labelled {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn causes_are_read_through_io_errors_and_labels() {
        let wrap = |e: Box<dyn StdError + Send + Sync>| Labelled("client error (Connect)", Some(e));
        let refused = wrap(Box::new(Labelled(
            "tcp connect error",
            Some(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused))),
        )));
        assert_eq!(classify(&refused, true), NetCause::Refused);
        assert_eq!(classify(&refused, false), NetCause::AfterConnect);
        let cert = wrap(Box::new(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        )));
        assert_eq!(classify(&cert, true), NetCause::Certificate);
        let tls = wrap(Box::new(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        )));
        assert_eq!(classify(&tls, true), NetCause::Tls);
        let dns = |text: &'static str| {
            wrap(Box::new(Labelled(
                "dns error",
                Some(Box::new(io::Error::other(text))),
            )))
        };
        assert_eq!(
            classify(
                &dns("failed to lookup address information: Name or service not known"),
                true
            ),
            NetCause::NameNotFound
        );
        for temporary in [
            "failed to lookup address information: Temporary failure in name resolution",
            "Try again",
            "request timed out",
        ] {
            assert_eq!(
                classify(&dns(temporary), true),
                NetCause::Connect,
                "{temporary}"
            );
        }
        assert_eq!(
            classify(
                &dns("no record found for Query { name: Name(\"x.invalid.\") }"),
                true
            ),
            NetCause::NameNotFound
        );
        let other = wrap(Box::new(io::Error::from(io::ErrorKind::NetworkUnreachable)));
        assert_eq!(classify(&other, true), NetCause::Connect);
        assert!(NetCause::Certificate.is_permanent() && NetCause::NameNotFound.is_permanent());
        assert!(NetCause::Tls.is_permanent() && !NetCause::Refused.is_permanent());
        assert!(!NetCause::Connect.is_permanent() && !NetCause::AfterConnect.is_permanent());
    }
}
