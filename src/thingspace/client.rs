//! The ThingSpace API client and the rotation flow: one reqwest client and one shared OAuth token per process; a
//! rotation logs in, resets and logs out, applies the retry policy, and never loses a password ThingSpace handed out.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tracing::debug;
use url::Url;

use super::calls::ResetCall;
use super::config::{
    ClientConfig, LOGIN_PATH, LOGOUT_PATH, RESET_PATH, TOKEN_PATH, endpoint, is_loopback,
    validate_base_url,
};
use super::error::Error;
use super::network::{Route, shown_proxy};
use super::retry::{Call, Outcome, Policy, Verdict};
use super::retrying::Failed;
use super::rotate_error::{RotateError, Step};
use super::token::TokenSlot;
use crate::shutdown::Shutdown;

/// A new password, and anything that went wrong after ThingSpace handed it out.
pub struct Rotation {
    /// The password ThingSpace generated; it is already in effect.
    pub new_password: SecretString,
    /// Problems after the reset (a failed, slow or cancelled log-out). Show them as warnings: the rotation succeeded.
    pub warnings: Vec<String>,
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("new_password", &"[redacted]")
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The ThingSpace API client. Cheap to clone; clones share the HTTP connection pool and the OAuth token.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

/// What every clone of a [`Client`] shares.
pub(super) struct Inner {
    /// Token and log-out requests, over pooled connections.
    pub http: reqwest::Client,
    /// Log-ins and resets, each over a fresh connection.
    pub critical_http: reqwest::Client,
    pub base_url: Url,
    /// The base URL, its source and the proxy, as network failures name them.
    pub route: Arc<Route>,
    pub token_url: Url,
    pub login_url: Url,
    pub reset_url: Url,
    pub logout_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `Basic base64(id:secret)`, marked sensitive.
    pub basic_auth: HeaderValue,
    /// `base64(id:secret)` alone: a secret a server may echo.
    pub basic_credentials: SecretString,
    /// The password in the proxy URL (`HTTPS_PROXY=http://user:password@host`), decoded.
    pub proxy_password: Option<SecretString>,
    pub request_timeout: Duration,
    pub policy: Policy,
    pub cancel: Shutdown,
    pub tokens: tokio::sync::Mutex<TokenSlot>,
    /// Completed token fetches, successful or not; lets callers that queued behind a failed fetch share its error
    /// instead of each retrying for the whole budget.
    pub fetches: AtomicU64,
}

impl Client {
    /// Builds the client. Makes no network call: the token is fetched at first need.
    pub fn new(cfg: ClientConfig, cancel: Shutdown) -> Result<Client, Error> {
        Self::with_retry_policy(cfg, cancel, Policy::default())
    }

    /// Like [`Client::new`] with another retry policy (tests use short delays).
    pub fn with_retry_policy(
        cfg: ClientConfig,
        cancel: Shutdown,
        policy: Policy,
    ) -> Result<Client, Error> {
        let base_url =
            validate_base_url(cfg.base_url.as_str()).map_err(|e| Error::Build(e.to_string()))?;
        if cfg.request_timeout.is_zero() {
            return Err(Error::Build(
                "request_timeout must be longer than zero".to_owned(),
            ));
        }
        let loopback = base_url.host().is_some_and(|h| is_loopback(&h));
        // An emulator on this machine is never reached through a proxy; anything else is, unless NO_PROXY says not.
        let proxy = cfg
            .proxy
            .as_ref()
            .filter(|p| !loopback && p.applies_to(&base_url));
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
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                critical_http,
                token_url: endpoint(&base_url, TOKEN_PATH),
                login_url: endpoint(&base_url, LOGIN_PATH),
                reset_url: endpoint(&base_url, RESET_PATH),
                logout_url: endpoint(&base_url, LOGOUT_PATH),
                base_url,
                route,
                client_id: cfg.client_id,
                client_secret: cfg.client_secret,
                basic_auth,
                basic_credentials,
                proxy_password: proxy.and_then(|p| p.url.password()).map(|pw| {
                    SecretString::from(
                        percent_encoding::percent_decode_str(pw)
                            .decode_utf8_lossy()
                            .into_owned(),
                    )
                }),
                request_timeout: cfg.request_timeout,
                policy,
                cancel,
                tokens: tokio::sync::Mutex::new(TokenSlot::default()),
                fetches: AtomicU64::new(0),
            }),
        })
    }

    /// Where this client's requests go: the base URL, where it came from, and the proxy, if one applies.
    pub fn route(&self) -> &Route {
        &self.inner.route
    }

    /// Rotates `username`'s password: log in with `current`, reset, log out.
    ///
    /// Returns as soon as ThingSpace handed out the new password; whatever fails after that (the log-out, a cancel)
    /// becomes a warning in the [`Rotation`]. A failure says through [`RotateError::effect`] what it did at
    /// ThingSpace. See [`super::retry`] for what is retried: a log-in or a reset is sent again only after an answer
    /// that proves the earlier send was not processed, and never once it may have counted or taken effect.
    ///
    /// The stop signal cancels waits and keeps the next log-in or reset from being sent; one already sent is read to
    /// its end (within `request_timeout`), holding a [`Shutdown::critical`] guard meanwhile.
    pub async fn rotate(
        &self,
        username: &str,
        current: &SecretString,
    ) -> Result<Rotation, RotateError> {
        let user = username;
        debug!(
            username = user,
            step = "rotate",
            "password rotation started"
        );
        let session = self
            .login(user, current)
            .await
            .map_err(|e| login_error(user, e, &self.inner.route))?;
        let mut reset = ResetCall {
            user,
            old: current,
            session,
        };
        let new_password = self
            .with_retries(&mut reset)
            .await
            .map_err(|e| reset_error(user, e, &self.inner.route))?;

        // The password is in hand: from here on nothing may turn into an error.
        let mut warnings = Vec::new();
        if self.inner.cancel.is_stopped() {
            warnings.push(format!(
                "ThingSpace reset the password for user {user:?} and the new password is saved, but the provider \
                 was asked to stop, so it skipped the log-out. The session ends by itself after 20 idle minutes."
            ));
        } else {
            match self
                .logout(user, &reset.session, current, &new_password)
                .await
            {
                Ok(()) => {}
                Err(Failed::Call(Error::Cancelled) | Failed::Token(Error::Cancelled)) => warnings.push(format!(
                    "ThingSpace reset the password for user {user:?} and the new password is saved, but the \
                     provider was asked to stop during the log-out. The session ends by itself after 20 idle minutes."
                )),
                Err(f) => warnings.push(format!(
                    "ThingSpace reset the password for user {user:?} and the new password is saved, but the log-out \
                     failed: {}. The session ends by itself after 20 idle minutes.",
                    f.into_error()
                )),
            }
        }
        debug!(
            username = user,
            step = "rotate",
            warnings = warnings.len(),
            "password rotation finished"
        );
        Ok(Rotation {
            new_password,
            warnings,
        })
    }
}

/// A failed log-in, told apart by what its last outcome proves (see [`Outcome::verdict`]).
fn login_error(user: &str, failed: Failed, route: &Route) -> RotateError {
    let error = match failed {
        Failed::Token(error) => return token_error(user, Step::Login, error, route),
        Failed::Call(Error::Cancelled) => return cancelled(user, Step::Login),
        Failed::Call(error) => error,
        // A log-in makes no log-in of its own; were it ever to, it would be judged the same way.
        Failed::Relogin(failed) => return login_error(user, *failed, route),
    };
    let username = user.to_owned();
    match (Outcome::of(&error, None).verdict(Call::Login), error) {
        (Verdict::Refused, Error::Api(error)) if error.is_user_locked() => {
            RotateError::UserLocked { username, error }
        }
        (Verdict::Refused, Error::Api(error)) => RotateError::LoginRejected { username, error },
        (Verdict::NotProcessed, error) => RotateError::Login { username, error },
        (_, error) => RotateError::LoginUnknown { username, error },
    }
}

/// A failed reset: unknown when it may have taken effect, otherwise a clean failure. A failure of the new log-in
/// after an expired session is judged as a log-in, except that a token failure or a stop then means a reset that was
/// not applied.
fn reset_error(user: &str, failed: Failed, route: &Route) -> RotateError {
    let error = match failed {
        Failed::Token(error) => return token_error(user, Step::Reset, error, route),
        Failed::Call(Error::Cancelled) => return cancelled(user, Step::Reset),
        Failed::Relogin(failed) => {
            return match *failed {
                Failed::Token(error) => token_error(user, Step::Reset, error, route),
                Failed::Call(Error::Cancelled) => cancelled(user, Step::Reset),
                failed => login_error(user, failed, route),
            };
        }
        Failed::Call(error) => error,
    };
    let username = user.to_owned();
    match Outcome::of(&error, None).verdict(Call::Reset) {
        Verdict::Unknown => RotateError::ResetUnknown { username, error },
        Verdict::NotProcessed | Verdict::Refused => RotateError::ResetFailed { username, error },
    }
}

/// The token needed before `step` could not be had, so `step` never reached the session service.
fn token_error(user: &str, step: Step, error: Error, route: &Route) -> RotateError {
    match error {
        Error::Cancelled => cancelled(user, step),
        error => RotateError::Token {
            step,
            error,
            route: Route::clone(route),
        },
    }
}

fn cancelled(user: &str, step: Step) -> RotateError {
    RotateError::Cancelled {
        username: user.to_owned(),
        step,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let cfg = ClientConfig {
            base_url: validate_base_url("https://h.example").unwrap(),
            client_id: "app-key".into(),
            client_secret: SecretString::from("app-secret-value"),
            request_timeout: Duration::from_secs(1),
            user_agent: "ua".into(),
            base_url_source: Default::default(),
            proxy: None,
            ca: None,
        };
        let text = format!("{cfg:?}");
        assert!(
            text.contains("app-key") && !text.contains("app-secret-value"),
            "{text}"
        );
        let client = Client::new(cfg, Shutdown::new()).unwrap();
        assert!(!format!("{client:?}").contains("app-secret-value"));
        let rotation = Rotation {
            new_password: SecretString::from("NewPass123"),
            warnings: vec!["w".into()],
        };
        assert!(!format!("{rotation:?}").contains("NewPass123"));
        assert!(format!("{:?}", client.inner.basic_auth).contains("Sensitive"));
    }

    #[test]
    fn client_rejects_an_insecure_base_url_and_zero_timeout() {
        let cfg = |url: &str, timeout| ClientConfig {
            base_url: Url::parse(url).unwrap(),
            client_id: "id".into(),
            client_secret: SecretString::from("s"),
            request_timeout: timeout,
            user_agent: "ua".into(),
            base_url_source: Default::default(),
            proxy: None,
            ca: None,
        };
        assert!(
            Client::new(
                cfg("http://example.com", Duration::from_secs(1)),
                Shutdown::new()
            )
            .is_err()
        );
        assert!(Client::new(cfg("https://example.com", Duration::ZERO), Shutdown::new()).is_err());
    }

    #[test]
    fn a_proxy_password_is_a_secret_in_play() {
        let cfg = ClientConfig {
            base_url: validate_base_url("https://h.example").unwrap(),
            client_id: "id".into(),
            client_secret: SecretString::from("s"),
            request_timeout: Duration::from_secs(1),
            user_agent: "ua".into(),
            base_url_source: Default::default(),
            proxy: Some(crate::thingspace::ProxyConfig {
                url: Url::parse("http://corp%5Cme:p%40ss-w0rd@proxy.corp:3128").unwrap(),
                variable: "HTTPS_PROXY",
                no_proxy: None,
            }),
            ca: None,
        };
        let client = Client::new(cfg, Shutdown::new()).unwrap();
        assert!(client.secrets(&[]).contains(&"p@ss-w0rd"));
        assert_eq!(
            client.route().to_string(),
            "https://h.example (from the default, as neither base_url nor THINGSPACE_BASE_URL is set), through \
             the proxy http://proxy.corp:3128 (from HTTPS_PROXY)"
        );
        assert!(!format!("{client:?}").contains("p%40ss"));
    }
}
