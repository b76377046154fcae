//! The ThingSpace API client and the rotation flow: one HTTP session and one shared OAuth token per client; a
//! rotation logs in, resets and logs out, and never loses a password ThingSpace handed out. The only `impl Client`.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use tracing::debug;
use url::Url;

use super::attempts::{Attempts, CallFailure};
use super::calls::Api;
use super::config::{ClientConfig, validate_base_url};
use super::endpoints::{Call, Endpoints};
use super::error::Error;
use super::network::Route;
use super::policy::Policy;
use super::rotate_error::{Effect, RotateError, login_error, reset_error, token_error};
use super::token::Tokens;
use super::transport::Transport;
use crate::shutdown::Shutdown;

/// A new password, and anything that went wrong after ThingSpace handed it out.
pub struct Rotation {
    /// The password ThingSpace generated; it is already in effect.
    pub new_password: SecretString,
    /// What a log-in with the new password proved, when one was asked for.
    pub verification: Verification,
    /// Problems after the reset (a failed, slow or cancelled log-out). Show them as warnings: the rotation succeeded.
    pub warnings: Vec<String>,
}

/// What one log-in with a password ThingSpace has just issued proved (the AWS Secrets Manager `testSecret` step).
#[derive(Debug)]
pub enum Verification {
    /// None was asked for.
    Skipped,
    /// The log-in succeeded: the password works. Its session was ended (or ends by itself).
    Verified,
    /// ThingSpace refused the log-in: a counted failed log-in with that password, or a locked user.
    Rejected(RotateError),
    /// The outcome is unknown (5xx, timeout, a stop) or the log-in was not processed: the password is unproven.
    Unknown(RotateError),
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("new_password", &"[redacted]")
            .field("verification", &self.verification)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The ThingSpace API client. Cheap to clone; clones share the HTTP connection pool and the OAuth token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
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
struct Inner {
    api: Api,
    base_url: Url,
    client_id: String,
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
        let transport = Transport::new(&cfg, &base_url, cancel)?;
        let endpoints = Endpoints::new(&base_url);
        Ok(Client {
            inner: Arc::new(Inner {
                api: Api {
                    attempts: Attempts { transport, policy },
                    tokens: Tokens::new(endpoints.url(Call::Token)),
                    endpoints,
                },
                base_url,
                client_id: cfg.client_id,
            }),
        })
    }

    /// Where this client's requests go: the base URL, where it came from, and the proxy, if one applies.
    pub fn route(&self) -> &Route {
        self.transport().route()
    }

    /// The app key (OAuth2 client ID) this client authenticates with; not a secret.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    fn transport(&self) -> &Transport {
        &self.inner.api.attempts.transport
    }

    /// Checks the connection and the client credentials by obtaining the OAuth token, and logs in as no user, so it
    /// can never cost a failed log-in. The token is the one every rotation of this client then shares.
    pub async fn check_connection(&self) -> Result<(), RotateError> {
        let api = &self.inner.api;
        match api.tokens.get(&api.attempts).await {
            Ok(_) => Ok(()),
            Err(f) => Err(token_error(Call::Token, f.error, self.route())),
        }
    }

    /// Logs in once as `username` with `password`, a password ThingSpace has just issued, and logs out: whether it
    /// works. One log-in at most, never retried once it may have been processed (the same rule as every log-in), so a
    /// verification costs at most one failed log-in, on a password nobody else has yet. Problems with the log-out
    /// come back as warnings.
    pub async fn verify(
        &self,
        username: &str,
        password: &SecretString,
    ) -> (Verification, Vec<String>) {
        let api = &self.inner.api;
        let route = self.transport().route();
        let session = match api.login(username, password).await {
            Ok(session) => session,
            Err(f) => {
                let e = login_error(username, f, route);
                return match e.effect() {
                    Effect::LoginRejected | Effect::UserLocked => {
                        (Verification::Rejected(e), Vec::new())
                    }
                    _ => (Verification::Unknown(e), Vec::new()),
                };
            }
        };
        let mut warnings = Vec::new();
        if !self.transport().is_stopped()
            && let Err(f) = api.logout(username, &session, password, password).await
        {
            warnings.push(format!(
                "The new password for user {username:?} was verified by a log-in, but the log-out after it failed: {}. \
                 The session ends by itself after 20 idle minutes.",
                f.error
            ));
        }
        (Verification::Verified, warnings)
    }

    /// Rotates `username`'s password: log in with `current`, reset, log out; no verification (see
    /// [`Client::rotate_and_verify`]).
    pub async fn rotate(
        &self,
        username: &str,
        current: &SecretString,
    ) -> Result<Rotation, RotateError> {
        self.rotate_and_verify(username, current, false).await
    }

    /// Rotates `username`'s password: log in with `current`, reset, log out; then, with `verify`, log in once with
    /// the new password and log out ([`Client::verify`]).
    ///
    /// Returns as soon as ThingSpace handed out the new password; whatever fails after that (the log-out, a cancel)
    /// becomes a warning in the [`Rotation`]. A failure says through [`RotateError::effect`] what it did at
    /// ThingSpace. See [`super::policy`] for what is retried: a log-in or a reset is sent again only after an answer
    /// that proves the earlier send was not processed, and never once it may have counted or taken effect.
    ///
    /// The stop signal cancels waits and keeps the next log-in or reset from being sent; one already sent is read to
    /// its end (within `request_timeout`), holding a [`Shutdown::critical`] guard meanwhile.
    pub async fn rotate_and_verify(
        &self,
        username: &str,
        current: &SecretString,
        verify: bool,
    ) -> Result<Rotation, RotateError> {
        let user = username;
        debug!(
            username = user,
            step = "rotate",
            "password rotation started"
        );
        let api = &self.inner.api;
        let route = self.transport().route();
        let session = api
            .login(user, current)
            .await
            .map_err(|f| login_error(user, f, route))?;
        let (new_password, session) = api
            .reset(user, current, session)
            .await
            .map_err(|f| reset_error(user, f, route))?;

        // The password is in hand: from here on nothing may turn into an error.
        let mut warnings = Vec::new();
        if self.transport().is_stopped() {
            warnings.push(format!(
                "ThingSpace reset the password for user {user:?} and the new password is saved, but the provider \
                 was asked to stop, so it skipped the log-out. The session ends by itself after 20 idle minutes."
            ));
        } else {
            match api.logout(user, &session, current, &new_password).await {
                Ok(()) => {}
                Err(CallFailure {
                    error: Error::Cancelled,
                    ..
                }) => warnings.push(format!(
                    "ThingSpace reset the password for user {user:?} and the new password is saved, but the \
                     provider was asked to stop during the log-out. The session ends by itself after 20 idle minutes."
                )),
                Err(f) => warnings.push(format!(
                    "ThingSpace reset the password for user {user:?} and the new password is saved, but the log-out \
                     failed: {}. The session ends by itself after 20 idle minutes.",
                    f.error
                )),
            }
        }
        let verification = if !verify {
            Verification::Skipped
        } else if self.transport().is_stopped() {
            // Asked to stop: the verification log-in is not sent, and the next plan offers it again.
            Verification::Unknown(RotateError::Cancelled {
                username: user.to_owned(),
                step: Call::Login,
            })
        } else {
            let (v, more) = self.verify(user, &new_password).await;
            warnings.extend(more);
            v
        };
        debug!(
            username = user,
            step = "rotate",
            warnings = warnings.len(),
            verified = matches!(verification, Verification::Verified),
            "password rotation finished"
        );
        Ok(Rotation {
            new_password,
            verification,
            warnings,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            verification: Verification::Verified,
            warnings: vec!["w".into()],
        };
        assert!(!format!("{rotation:?}").contains("NewPass123"));
        assert!(format!("{:?}", client.transport().basic_auth()).contains("Sensitive"));
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
        assert!(client.transport().secrets(&[]).contains(&"p@ss-w0rd"));
        assert_eq!(
            client.route().to_string(),
            "https://h.example (from the default, as neither base_url nor THINGSPACE_BASE_URL is set), through \
             the proxy http://proxy.corp:3128 (from HTTPS_PROXY)"
        );
        assert!(!format!("{client:?}").contains("p%40ss"));
    }
}
