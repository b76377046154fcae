//! The HTTP session under every call, which knows no API call above it: the two reqwest clients (pooled for token
//! and log-out requests, a fresh connection for log-ins and resets), `request_timeout`, the stop signal, the secrets
//! every scrubbed message leaves out; sending a request and reading its whole answer, the critical send that a stop
//! can't cut short once it is on the wire, and turning an answer or a transport failure into an [`Error`] scrubbed of
//! the secrets in play. Whether a failure may have been sent is decided here, once, in [`Error::Transport`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::answer::{parse_error_body, success_body};
use super::config::{ClientConfig, is_loopback};
use super::error::{Error, TransportError};
use super::network::{Route, classify, shown_proxy};
use super::policy::parse_retry_after;
use super::redact::clean;
use crate::shutdown::Shutdown;

/// The largest answer body read; anything bigger is not a ThingSpace answer.
const MAX_BODY: usize = 1 << 20;

/// A send's error, with the `Retry-After` its answer carried (the policy honours it for a throttle).
pub(super) struct SendError {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for SendError {
    fn from(error: Error) -> Self {
        SendError {
            error,
            retry_after: None,
        }
    }
}

/// An answer read in full.
pub(super) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The content type as a message about a success answer may show it: scrubbed of the secrets in play (error
    /// answers get the same from [`parse_error_body`]).
    pub fn shown_content_type(&self, secrets: &[&str]) -> Option<String> {
        self.content_type
            .as_deref()
            .map(|ct| clean(ct, secrets, 80))
    }
}

/// The HTTP session one client's calls share.
pub(super) struct Transport {
    /// Token and log-out requests, over pooled connections.
    http: reqwest::Client,
    /// Log-ins and resets, each over a fresh connection.
    critical_http: reqwest::Client,
    /// The base URL, its source and the proxy, as network failures name them.
    route: Arc<Route>,
    request_timeout: Duration,
    cancel: Shutdown,
    client_secret: SecretString,
    /// `base64(id:secret)` alone: a secret a server may echo.
    basic_credentials: SecretString,
    /// `Basic base64(id:secret)`, marked sensitive, for the token request.
    basic_auth: HeaderValue,
    /// The password in the proxy URL (`HTTPS_PROXY=http://user:password@host`), decoded.
    proxy_password: Option<SecretString>,
}

impl Transport {
    /// Builds the two HTTP clients for `base_url` (already checked) from the configuration.
    pub fn new(cfg: &ClientConfig, base_url: &Url, cancel: Shutdown) -> Result<Transport, Error> {
        let loopback = base_url.host().is_some_and(|h| is_loopback(&h));
        // An emulator on this machine is never reached through a proxy; anything else is, unless NO_PROXY says not.
        let proxy = cfg
            .proxy
            .as_ref()
            .filter(|p| !loopback && p.applies_to(base_url));
        let roots = match &cfg.ca {
            Some(ca) => ca.reqwest_certificates().map_err(Error::Build)?,
            None => Vec::new(),
        };
        let route = Arc::new(Route {
            base_url: base_url.as_str().trim_end_matches('/').to_owned(),
            source: cfg.base_url_source,
            proxy: proxy.map(|p| (shown_proxy(&p.url), p.variable)),
        });
        let build = |pooled: bool| {
            let mut builder = reqwest::Client::builder()
                .use_rustls_tls()
                .user_agent(cfg.user_agent.as_str())
                // A redirect could carry the password body to another host; ThingSpace does not redirect API calls.
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(cfg.request_timeout)
                .pool_idle_timeout(Duration::from_secs(15))
                .timeout(cfg.request_timeout);
            if !pooled {
                // A pooled connection the server has just closed turns a sent request into "no answer", which for
                // a log-in or a reset is an unknown outcome that blocks the resource. On a fresh connection, every
                // failure before the request leaves is a connect error, which proves nothing was sent.
                builder = builder.pool_max_idle_per_host(0);
            }
            // The proxy comes from the provider's reading of the environment (ProxyConfig::from_env), so that what
            // a message names is what was used; reqwest's own reading of the same variables is off.
            builder = builder.no_proxy();
            if let Some(p) = proxy {
                let proxy = reqwest::Proxy::all(p.url.as_str()).map_err(|_| {
                    Error::Build(format!("the {} proxy URL is not usable", p.variable))
                })?;
                builder = builder.proxy(proxy);
            }
            for root in &roots {
                builder = builder.add_root_certificate(root.clone());
            }
            builder
                .build()
                .map_err(|e| Error::Build(e.without_url().to_string()))
        };
        let http = build(true)?;
        let critical_http = build(false)?;
        let credentials = format!("{}:{}", cfg.client_id, cfg.client_secret.expose_secret());
        let basic_credentials =
            SecretString::from(base64::engine::general_purpose::STANDARD.encode(credentials));
        let mut basic_auth =
            HeaderValue::from_str(&format!("Basic {}", basic_credentials.expose_secret()))
                .map_err(|_| {
                    Error::Build("client credentials do not form a valid header".to_owned())
                })?;
        basic_auth.set_sensitive(true);
        let credentials = format!("{}:{}", cfg.client_id, cfg.client_secret.expose_secret());
        let basic_credentials =
            SecretString::from(base64::engine::general_purpose::STANDARD.encode(credentials));
        let mut basic_auth =
            HeaderValue::from_str(&format!("Basic {}", basic_credentials.expose_secret()))
                .map_err(|_| {
                    Error::Build("client credentials do not form a valid header".to_owned())
                })?;
        basic_auth.set_sensitive(true);
        Ok(Transport {
            http,
            critical_http,
            route,
            request_timeout: cfg.request_timeout,
            cancel,
            client_secret: cfg.client_secret.clone(),
            basic_credentials,
            basic_auth,
            proxy_password: proxy.and_then(|p| p.url.password()).map(|pw| {
                SecretString::from(
                    percent_encoding::percent_decode_str(pw)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            }),
        })
    }

    /// Where requests go: the base URL, where it came from, and the proxy, if one applies.
    pub fn route(&self) -> &Arc<Route> {
        &self.route
    }

    /// A request over pooled connections (token, log-out).
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    /// A request over a fresh connection (log-in, reset): see [`Transport::send_critical`].
    pub fn critical_request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.critical_http.request(method, url)
    }

    /// The `Authorization: Basic` header of the client credentials.
    pub fn basic_auth(&self) -> HeaderValue {
        self.basic_auth.clone()
    }

    /// Whether the provider was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.cancel.is_stopped()
    }

    /// The secrets in play for a call: `extra` (passwords, the bearer and session tokens), the client secret, the
    /// base64 `Basic` form of the client credentials, and the proxy's password, if its URL has one. Every string taken from an answer is scrubbed of all of them.
    pub fn secrets<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = extra.to_vec();
        all.push(self.client_secret.expose_secret());
        all.push(self.basic_credentials.expose_secret());
        if let Some(proxy_password) = &self.proxy_password {
            all.push(proxy_password.expose_secret());
        }
        all
    }

    /// Sends a log-in or a reset. The stop signal only keeps it from being sent: once on the wire, its answer is read
    /// to the end (within `request_timeout`), and a [`crate::shutdown::Shutdown::critical`] guard keeps the process
    /// alive meanwhile.
    pub async fn send_critical(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer, SendError> {
        // Taken before the check: a stop that comes after the check finds this request counted and waits for it.
        let _on_the_wire = self.cancel.critical();
        if self.cancel.is_stopped() {
            return Err(Error::Cancelled.into());
        }
        self.send(request, secrets).await
    }

    /// Sends a request and reads the whole answer (at most [`MAX_BODY`]), within `request_timeout`.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer, SendError> {
        let mut response = request
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| SendError::from(self.wire_error(e, secrets)))?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let content_type = header(CONTENT_TYPE).map(str::to_owned);
        let retry_after = parse_retry_after(header(RETRY_AFTER));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| SendError {
            error: self.wire_error(e, secrets),
            retry_after,
        })? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(SendError {
                    error: Error::UnexpectedBody {
                        status,
                        content_type: clean(content_type.as_deref().unwrap_or("none"), secrets, 80),
                        what: format!("body longer than {MAX_BODY} bytes"),
                        excerpt: None,
                    },
                    retry_after,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            content_type,
            retry_after,
            body,
        })
    }

    /// Parses a success answer into `T`, or turns an error answer into its [`Error`].
    pub fn parse<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        field: &str,
        secrets: &[&str],
    ) -> Result<T, SendError> {
        if !(200..300).contains(&answer.status) {
            return Err(self.error_of(answer, secrets));
        }
        let shown = answer.shown_content_type(secrets);
        success_body(answer.status, shown.as_deref(), &answer.body, field).map_err(|error| {
            SendError {
                error,
                retry_after: answer.retry_after,
            }
        })
    }

    pub fn error_of(&self, answer: &Answer, secrets: &[&str]) -> SendError {
        SendError {
            error: parse_error_body(
                answer.status,
                answer.content_type.as_deref(),
                &answer.body,
                secrets,
            ),
            retry_after: answer.retry_after,
        }
    }

    /// Runs `fut` unless the provider is asked to stop first.
    pub async fn cancellable<T>(
        &self,
        fut: impl Future<Output = Result<T, SendError>>,
    ) -> Result<T, SendError> {
        tokio::select! {
            biased;
            () = self.cancel.stopped() => Err(Error::Cancelled.into()),
            result = fut => result,
        }
    }

    /// Sleeps a backoff delay, or returns [`Error::Cancelled`] as soon as the provider is asked to stop.
    pub async fn sleep(&self, delay: Duration) -> Result<(), Error> {
        tokio::select! {
            biased;
            () = self.cancel.stopped() => Err(Error::Cancelled),
            () = tokio::time::sleep(delay) => Ok(()),
        }
    }

    /// Classifies a reqwest error. A connect failure (including DNS and TLS) sent nothing; anything later may have
    /// delivered the request. The text drops the URL (the message names the base URL and its source instead) and
    /// keeps only the error chain, which never includes a body; it is scrubbed of `secrets` all the same, since the
    /// chain may quote what the server sent.
    fn wire_error(&self, error: reqwest::Error, secrets: &[&str]) -> Error {
        if error.is_builder() {
            return Error::Build(clean(&error.without_url().to_string(), secrets, 300));
        }
        let connect = error.is_connect();
        let timed_out = error.is_timeout();
        let error = error.without_url();
        let cause = classify(&error, connect);
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            source = cause.source();
        }
        Error::Transport(TransportError {
            maybe_sent: !connect,
            timed_out,
            detail: clean(&detail, secrets, 300),
            cause,
            route: self.route.clone(),
            attempts: 0,
            elapsed: Duration::ZERO,
        })
    }
}
