//! The ThingSpace HTTP client: one reqwest client and one shared OAuth token per process, and the rotation flow
//! (log in, reset, log out) that applies the retry policy and never loses a password ThingSpace handed out.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::debug;
use url::{Host, Url};

use super::error::{BaseUrlError, Error, RotateError, Step, TransportError};
use super::error::{clean, parse_error_body};
use super::models::{LoginRequest, LoginResponse, ResetRequest, ResetResponse, TokenResponse};
use super::retry::{Attempt, Call, Decision, Outcome, Policy, Verdict, parse_retry_after};
use crate::shutdown::Shutdown;

/// Paths appended to `base_url`.
const TOKEN_PATH: &str = "/api/ts/v1/oauth2/token";
const LOGIN_PATH: &str = "/api/m2m/v1/session/login";
const RESET_PATH: &str = "/api/m2m/v1/session/password/actions/reset";
const LOGOUT_PATH: &str = "/api/m2m/v1/session/logout";

/// The session-token header of the M2M API.
const SESSION_HEADER: &str = "VZ-M2M-Token";

/// The largest answer body read; anything bigger is not a ThingSpace answer.
const MAX_BODY: usize = 1 << 20;

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
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
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

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// `base` with `path` appended to whatever path prefix it has, with or without a trailing slash.
fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

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

struct Inner {
    /// Token and log-out requests, over pooled connections.
    http: reqwest::Client,
    /// Log-ins and resets, each over a fresh connection.
    critical_http: reqwest::Client,
    base_url: Url,
    token_url: Url,
    login_url: Url,
    reset_url: Url,
    logout_url: Url,
    client_id: String,
    client_secret: SecretString,
    /// `Basic base64(id:secret)`, marked sensitive.
    basic_auth: HeaderValue,
    /// `base64(id:secret)` alone: a secret a server may echo.
    basic_credentials: SecretString,
    request_timeout: Duration,
    policy: Policy,
    cancel: Shutdown,
    tokens: tokio::sync::Mutex<TokenSlot>,
    /// Completed token fetches, successful or not; lets callers that queued behind a failed fetch share its error
    /// instead of each retrying for the whole budget.
    fetches: AtomicU64,
}

#[derive(Default)]
struct TokenSlot {
    current: Option<Token>,
    generation: u64,
    last_failure: Option<(u64, Error)>,
}

/// An OAuth access token as a ready `Authorization` header.
#[derive(Clone)]
struct Token {
    header: HeaderValue,
    generation: u64,
    renew_at: Instant,
}

/// An M2M session as a ready `VZ-M2M-Token` header.
struct Session {
    header: HeaderValue,
}

/// A call's failure, with the `Retry-After` the answer carried.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Why a token-authenticated call failed: getting the token, or the call itself.
enum Failed {
    Token(Error),
    Call(Error),
}

impl Failed {
    fn into_error(self) -> Error {
        match self {
            Failed::Token(e) | Failed::Call(e) => e,
        }
    }
}

/// An answer read in full.
struct Answer {
    status: u16,
    content_type: Option<String>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
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
            if loopback {
                // An emulator on this machine is never reached through a proxy.
                builder = builder.no_proxy();
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
                client_id: cfg.client_id,
                client_secret: cfg.client_secret,
                basic_auth,
                basic_credentials,
                request_timeout: cfg.request_timeout,
                policy,
                cancel,
                tokens: tokio::sync::Mutex::new(TokenSlot::default()),
                fetches: AtomicU64::new(0),
            }),
        })
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
        let mut session = self
            .login(user, current)
            .await
            .map_err(|e| login_error(user, e))?;

        let started = Instant::now();
        let mut attempt = Attempt::default();
        let new_password = loop {
            let token = self
                .token()
                .await
                .map_err(|e| token_error(user, Step::Reset, e))?;
            attempt.number += 1;
            let failure = match self.reset(user, &token, &session, current).await {
                Ok(password) => break password,
                Err(failure) => failure,
            };
            if failure.error == Error::Cancelled {
                return Err(cancelled(user, Step::Reset));
            }
            attempt.elapsed = started.elapsed();
            let outcome = Outcome::of(&failure.error, failure.retry_after);
            let decision =
                self.inner
                    .policy
                    .decide(Call::Reset, &outcome, &attempt, fastrand::f64());
            debug!(username = user, step = "reset", attempt = attempt.number, decision = ?decision, "reset failed");
            match decision {
                Decision::RetryAfter(delay) => {
                    if self.sleep(delay).await.is_err() {
                        return Err(cancelled(user, Step::Reset));
                    }
                }
                Decision::RenewTokenThenRetry => {
                    attempt.token_renewed = true;
                    self.renew_token(&token)
                        .await
                        .map_err(|e| token_error(user, Step::Reset, e))?;
                }
                Decision::LoginThenRetry => {
                    // The session expired, so the reset was not applied; the new log-in follows the log-in rules.
                    attempt.logged_in_again = true;
                    session = self
                        .login(user, current)
                        .await
                        .map_err(|e| relogin_error(user, e))?;
                }
                Decision::Stop => return Err(reset_error(user, failure.error, &outcome)),
            }
        };

        // The password is in hand: from here on nothing may turn into an error.
        let mut warnings = Vec::new();
        if self.inner.cancel.is_stopped() {
            warnings.push(format!(
                "ThingSpace reset the password for user {user:?} and the new password is saved, but the provider \
                 was asked to stop, so it skipped the log-out. The session ends by itself after 20 idle minutes."
            ));
        } else {
            match self.logout(user, &session, current, &new_password).await {
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

    // ----- the three M2M calls -----

    /// The log-in, under the log-in rules. Each send is critical: once on the wire it is read to its end.
    async fn login(&self, user: &str, password: &SecretString) -> Result<Session, Failed> {
        self.with_retries(Call::Login, user, |token: Token| async move {
            let body = serde_json::to_vec(&LoginRequest {
                username: user,
                password: password.expose_secret(),
            })
            .map_err(|e| Error::Build(e.to_string()))?;
            let request = self
                .inner
                .critical_http
                .post(self.inner.login_url.clone())
                .header(AUTHORIZATION, token.header.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body);
            let secrets = self.secrets(&[password.expose_secret(), header_text(&token.header)]);
            let answer = self.send_critical(request, &secrets).await?;
            debug!(
                username = user,
                step = "log-in",
                status = answer.status,
                "thingspace answered"
            );
            let parsed: LoginResponse = self.parse(&answer, "sessionToken", &secrets)?;
            let shown = shown_content_type(&answer, &secrets);
            let header = session_header(parsed, answer.status, shown.as_deref())?;
            Ok(Session { header })
        })
        .await
    }

    /// One reset request. Critical: once sent, its answer may hold the only copy of the new password, so it is read
    /// to the end (within `request_timeout`) whatever the stop signal says.
    async fn reset(
        &self,
        user: &str,
        token: &Token,
        session: &Session,
        old: &SecretString,
    ) -> Result<SecretString, Failure> {
        let body = serde_json::to_vec(&ResetRequest {
            old_password: old.expose_secret(),
        })
        .map_err(|e| Error::Build(e.to_string()))?;
        let request = self
            .inner
            .critical_http
            .put(self.inner.reset_url.clone())
            .header(AUTHORIZATION, token.header.clone())
            .header(SESSION_HEADER, session.header.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let secrets = self.secrets(&[
            old.expose_secret(),
            header_text(&token.header),
            header_text(&session.header),
        ]);
        let answer = self.send_critical(request, &secrets).await?;
        debug!(
            username = user,
            step = "reset",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: ResetResponse = self.parse(&answer, "newPassword", &secrets)?;
        let shown = shown_content_type(&answer, &secrets);
        Ok(new_password(parsed, answer.status, shown.as_deref())?)
    }

    /// The log-out. Not critical: it changes no password, so the stop signal cancels it even on the wire.
    async fn logout(
        &self,
        user: &str,
        session: &Session,
        old: &SecretString,
        new: &SecretString,
    ) -> Result<(), Failed> {
        self.with_retries(Call::Logout, user, |token: Token| async move {
            let request = self
                .inner
                .http
                .post(self.inner.logout_url.clone())
                .header(AUTHORIZATION, token.header.clone())
                .header(SESSION_HEADER, session.header.clone());
            let secrets = self.secrets(&[
                header_text(&token.header),
                header_text(&session.header),
                old.expose_secret(),
                new.expose_secret(),
            ]);
            let answer = self.cancellable(self.send(request, &secrets)).await?;
            debug!(
                username = user,
                step = "log-out",
                status = answer.status,
                "thingspace answered"
            );
            if (200..300).contains(&answer.status) {
                // The body only echoes the session token; nothing in it matters.
                Ok(())
            } else {
                Err(self.error_of(&answer, &secrets))
            }
        })
        .await
    }

    /// Runs a token-authenticated call under the retry policy: waits and repeats it, or renews the token once.
    ///
    /// `send` takes the token by value so its future borrows nothing per call, which keeps the future `Send` for the
    /// gRPC handlers that await a rotation.
    async fn with_retries<T, F, Fut>(&self, call: Call, user: &str, send: F) -> Result<T, Failed>
    where
        F: Fn(Token) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let mut token = self.token().await.map_err(Failed::Token)?;
        loop {
            attempt.number += 1;
            let failure = match send(token.clone()).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if failure.error == Error::Cancelled {
                return Err(Failed::Call(Error::Cancelled));
            }
            attempt.elapsed = started.elapsed();
            let outcome = Outcome::of(&failure.error, failure.retry_after);
            let decision = self
                .inner
                .policy
                .decide(call, &outcome, &attempt, fastrand::f64());
            debug!(username = user, step = call_name(call), attempt = attempt.number, decision = ?decision, "call failed");
            match decision {
                Decision::RetryAfter(delay) => self.sleep(delay).await.map_err(Failed::Call)?,
                Decision::RenewTokenThenRetry => {
                    attempt.token_renewed = true;
                    token = self.renew_token(&token).await.map_err(Failed::Token)?;
                }
                Decision::LoginThenRetry | Decision::Stop => {
                    return Err(Failed::Call(failure.error));
                }
            }
        }
    }

    // ----- the OAuth token -----

    /// The shared token, fetched if there is none or it is about to expire. Callers that arrive while a fetch runs
    /// wait for it and share its result, so a burst of rotations makes one token request.
    async fn token(&self) -> Result<Token, Error> {
        let seen = self.inner.fetches.load(Ordering::Acquire);
        let mut slot = self
            .cancellable(async { Ok(self.inner.tokens.lock().await) })
            .await
            .map_err(|f| f.error)?;
        if let Some(token) = slot
            .current
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at)
        {
            return Ok(token.clone());
        }
        if let Some((at, error)) = &slot.last_failure
            && *at > seen
        {
            return Err(error.clone());
        }
        self.fetch_into(&mut slot).await
    }

    /// A new token after the gateway rejected `stale`, unless another caller already replaced it.
    async fn renew_token(&self, stale: &Token) -> Result<Token, Error> {
        let seen = self.inner.fetches.load(Ordering::Acquire);
        let mut slot = self
            .cancellable(async { Ok(self.inner.tokens.lock().await) })
            .await
            .map_err(|f| f.error)?;
        if let Some(token) = slot
            .current
            .as_ref()
            .filter(|t| t.generation != stale.generation)
        {
            return Ok(token.clone());
        }
        if let Some((at, error)) = &slot.last_failure
            && *at > seen
        {
            return Err(error.clone());
        }
        slot.current = None;
        self.fetch_into(&mut slot).await
    }

    async fn fetch_into(&self, slot: &mut TokenSlot) -> Result<Token, Error> {
        let result = self.fetch_token(slot.generation + 1).await;
        let done = self.inner.fetches.fetch_add(1, Ordering::AcqRel) + 1;
        match &result {
            Ok(token) => {
                slot.generation = token.generation;
                slot.current = Some(token.clone());
                slot.last_failure = None;
            }
            Err(error) => {
                slot.current = None;
                slot.last_failure = Some((done, error.clone()));
            }
        }
        result
    }

    async fn fetch_token(&self, generation: u64) -> Result<Token, Error> {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        loop {
            attempt.number += 1;
            let failure = match self.token_request(generation).await {
                Ok(token) => return Ok(token),
                Err(failure) => failure,
            };
            if failure.error == Error::Cancelled {
                return Err(Error::Cancelled);
            }
            attempt.elapsed = started.elapsed();
            let outcome = Outcome::of(&failure.error, failure.retry_after);
            let decision =
                self.inner
                    .policy
                    .decide(Call::Token, &outcome, &attempt, fastrand::f64());
            debug!(step = "token", attempt = attempt.number, decision = ?decision, "call failed");
            match decision {
                Decision::RetryAfter(delay) => self.sleep(delay).await?,
                _ => return Err(failure.error),
            }
        }
    }

    async fn token_request(&self, generation: u64) -> Result<Token, Failure> {
        let request = self
            .inner
            .http
            .post(self.inner.token_url.clone())
            .header(AUTHORIZATION, self.inner.basic_auth.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        let secrets = self.secrets(&[]);
        let asked_at = Instant::now();
        let answer = self.cancellable(self.send(request, &secrets)).await?;
        debug!(
            step = "token",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: TokenResponse = self.parse(&answer, "access_token", &secrets)?;
        let shown = shown_content_type(&answer, &secrets);
        let (header, expires_in) = bearer_header(parsed, answer.status, shown.as_deref())?;
        // Renew a little before ThingSpace's own expiry, so a token never dies between check and use.
        let lifetime = Duration::from_secs(expires_in.unwrap_or(300));
        let margin = (lifetime / 4).min(Duration::from_secs(60));
        Ok(Token {
            header,
            generation,
            renew_at: asked_at + lifetime.saturating_sub(margin),
        })
    }

    // ----- plumbing -----

    /// The secrets in play for a call: `extra` (passwords, the bearer and session tokens), the client secret and the
    /// base64 `Basic` form of the client credentials. Every string taken from an answer is scrubbed of all of them.
    fn secrets<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = extra.to_vec();
        all.push(self.inner.client_secret.expose_secret());
        all.push(self.inner.basic_credentials.expose_secret());
        all
    }

    /// Sends a log-in or a reset. The stop signal only keeps it from being sent: once on the wire, its answer is read
    /// to the end (within `request_timeout`), and a [`Shutdown::critical`] guard keeps the process alive meanwhile.
    async fn send_critical(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer, Failure> {
        // Taken before the check: a stop that comes after the check finds this request counted and waits for it.
        let _on_the_wire = self.inner.cancel.critical();
        if self.inner.cancel.is_stopped() {
            return Err(Error::Cancelled.into());
        }
        self.send(request, secrets).await
    }

    /// Sends a request and reads the whole answer (at most [`MAX_BODY`]), within `request_timeout`.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer, Failure> {
        let mut response = request
            .timeout(self.inner.request_timeout)
            .send()
            .await
            .map_err(|e| Failure::from(transport(e, secrets)))?;
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
        while let Some(chunk) = response.chunk().await.map_err(|e| Failure {
            error: transport(e, secrets),
            retry_after,
        })? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Failure {
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
    fn parse<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        field: &str,
        secrets: &[&str],
    ) -> Result<T, Failure> {
        if !(200..300).contains(&answer.status) {
            return Err(self.error_of(answer, secrets));
        }
        let shown = shown_content_type(answer, secrets);
        success_body(answer.status, shown.as_deref(), &answer.body, field).map_err(|error| {
            Failure {
                error,
                retry_after: answer.retry_after,
            }
        })
    }

    fn error_of(&self, answer: &Answer, secrets: &[&str]) -> Failure {
        Failure {
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
    async fn cancellable<T>(
        &self,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        tokio::select! {
            biased;
            () = self.inner.cancel.stopped() => Err(Error::Cancelled.into()),
            result = fut => result,
        }
    }

    /// Sleeps a backoff delay, or returns [`Error::Cancelled`] as soon as the provider is asked to stop.
    async fn sleep(&self, delay: Duration) -> Result<(), Error> {
        tokio::select! {
            biased;
            () = self.inner.cancel.stopped() => Err(Error::Cancelled),
            () = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

/// The answer's content type as a message about a success answer may show it: scrubbed of the secrets in play
/// (error answers get the same from [`parse_error_body`]).
fn shown_content_type(answer: &Answer, secrets: &[&str]) -> Option<String> {
    answer
        .content_type
        .as_deref()
        .map(|ct| clean(ct, secrets, 80))
}

/// Which of ThingSpace's answers a body is read as, for [`parse_answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// The OAuth token answer, carrying `access_token`.
    Token,
    /// The session log-in answer, carrying `sessionToken`.
    Login,
    /// The password reset answer, carrying `newPassword`.
    Reset,
    /// The log-out answer, whose body does not matter.
    Logout,
}

/// Reads one complete answer exactly as the client does: an error status becomes its [`Error`] (see
/// [`parse_error_body`], with `secrets` scrubbed), and a success status yields the secret the answer must carry (the
/// access token, the session token or the new password; nothing for a log-out), or [`Error::UnexpectedBody`] when it
/// does not carry a usable one. The rotation flow uses the same functions; this entry point exists for fuzzing and
/// property tests of hostile answers.
pub fn parse_answer(
    kind: AnswerKind,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> Result<Option<SecretString>, Error> {
    if !(200..300).contains(&status) {
        return Err(parse_error_body(status, content_type, body, secrets));
    }
    // A message about a success answer shows its content type, never its body; scrub the former too.
    let shown = content_type.map(|ct| clean(ct, secrets, 80));
    let content_type = shown.as_deref();
    match kind {
        AnswerKind::Token => {
            let parsed: TokenResponse = success_body(status, content_type, body, "access_token")?;
            let (header, _) = bearer_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        AnswerKind::Login => {
            let parsed: LoginResponse = success_body(status, content_type, body, "sessionToken")?;
            let header = session_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        AnswerKind::Reset => {
            let parsed: ResetResponse = success_body(status, content_type, body, "newPassword")?;
            new_password(parsed, status, content_type).map(Some)
        }
        AnswerKind::Logout => Ok(None),
    }
}

/// Parses a success answer's body into `T`. The error never quotes the body: a success answer may hold a token or a
/// password.
fn success_body<T: DeserializeOwned>(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    field: &str,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if body.iter().all(u8::is_ascii_whitespace) {
            "empty body".to_owned()
        } else if e.is_data() {
            format!("JSON body without a usable {field}")
        } else {
            "body that is not JSON".to_owned()
        };
        unusable(status, content_type, what)
    })
}

/// An answer with a success status that lacks what it must carry.
fn unusable(status: u16, content_type: Option<&str>, what: String) -> Error {
    Error::UnexpectedBody {
        status,
        content_type: content_type_of(content_type),
        what,
        excerpt: None,
    }
}

/// The token answer as a ready, sensitive `Authorization` header, and the lifetime it announced.
fn bearer_header(
    parsed: TokenResponse,
    status: u16,
    content_type: Option<&str>,
) -> Result<(HeaderValue, Option<u64>), Error> {
    let expires_in = parsed.expires_in();
    // An empty token would make a header the gateway can only reject.
    let header = Some(&parsed.access_token)
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| sensitive_header(&format!("Bearer {t}")))
        .ok_or_else(|| {
            unusable(
                status,
                content_type,
                "access_token that is not a valid header value".to_owned(),
            )
        })?;
    Ok((header, expires_in))
}

/// The log-in answer as a ready, sensitive `VZ-M2M-Token` header.
fn session_header(
    parsed: LoginResponse,
    status: u16,
    content_type: Option<&str>,
) -> Result<HeaderValue, Error> {
    Some(&parsed.session_token)
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| sensitive_header(t))
        .ok_or_else(|| {
            unusable(
                status,
                content_type,
                "sessionToken that is not a valid header value".to_owned(),
            )
        })
}

/// The reset answer's new password, which must be present and non-empty.
fn new_password(
    parsed: ResetResponse,
    status: u16,
    content_type: Option<&str>,
) -> Result<SecretString, Error> {
    match parsed.new_password {
        Some(p) if !p.is_empty() => Ok(SecretString::from(p)),
        _ => Err(unusable(
            status,
            content_type,
            "JSON body without newPassword".to_owned(),
        )),
    }
}

/// A failed log-in, told apart by what its last outcome proves (see [`Outcome::verdict`]).
fn login_error(user: &str, failed: Failed) -> RotateError {
    let error = match failed {
        Failed::Token(error) => return token_error(user, Step::Login, error),
        Failed::Call(Error::Cancelled) => return cancelled(user, Step::Login),
        Failed::Call(error) => error,
    };
    let username = user.to_owned();
    match (Outcome::of(&error, None).verdict(Call::Login), error) {
        (Verdict::Refused, Error::Api(error)) => RotateError::LoginRejected { username, error },
        (Verdict::NotProcessed, error) => RotateError::Login { username, error },
        (_, error) => RotateError::LoginUnknown { username, error },
    }
}

/// A failed log-in after the first one succeeded and the session expired before the reset: a token failure or a
/// stop is a reset that was not applied; anything else is a log-in failure like any other.
fn relogin_error(user: &str, failed: Failed) -> RotateError {
    match failed {
        Failed::Token(error) => token_error(user, Step::Reset, error),
        Failed::Call(Error::Cancelled) => cancelled(user, Step::Reset),
        failed => login_error(user, failed),
    }
}

/// A failed reset: unknown when it may have taken effect, otherwise a clean failure.
fn reset_error(user: &str, error: Error, outcome: &Outcome) -> RotateError {
    let username = user.to_owned();
    match outcome.verdict(Call::Reset) {
        Verdict::Unknown => RotateError::ResetUnknown { username, error },
        Verdict::NotProcessed | Verdict::Refused => RotateError::ResetFailed { username, error },
    }
}

/// The token needed before `step` could not be had, so `step` never reached the session service.
fn token_error(user: &str, step: Step, error: Error) -> RotateError {
    match error {
        Error::Cancelled => cancelled(user, step),
        error => RotateError::Token { step, error },
    }
}

fn cancelled(user: &str, step: Step) -> RotateError {
    RotateError::Cancelled {
        username: user.to_owned(),
        step,
    }
}

fn call_name(call: Call) -> &'static str {
    match call {
        Call::Token => "token",
        Call::Login => "log-in",
        Call::Reset => "reset",
        Call::Logout => "log-out",
    }
}

fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// A header's secret part, for scrubbing echoes from error messages.
fn header_text(header: &HeaderValue) -> &str {
    let text = header.to_str().unwrap_or("");
    text.strip_prefix("Bearer ").unwrap_or(text)
}

/// The `Content-Type` for a message: `none` when absent, and never longer than a line's worth.
fn content_type_of(content_type: Option<&str>) -> String {
    content_type.unwrap_or("none").chars().take(80).collect()
}

/// Classifies a reqwest error. A connect failure (including TLS) sent nothing; anything later may have delivered the
/// request. The text drops the URL and keeps only the error chain, which never includes a body; it is scrubbed of
/// `secrets` all the same, since the chain may quote what the server sent.
fn transport(error: reqwest::Error, secrets: &[&str]) -> Error {
    if error.is_builder() {
        return Error::Build(clean(&error.without_url().to_string(), secrets, 300));
    }
    let maybe_sent = !error.is_connect();
    let timed_out = error.is_timeout();
    let error = error.without_url();
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
        maybe_sent,
        timed_out,
        detail: clean(&detail, secrets, 300),
    })
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

    #[test]
    fn endpoints_join_with_or_without_slash_and_prefix() {
        let cases = [
            (
                "https://h.example",
                "https://h.example/api/m2m/v1/session/login",
            ),
            (
                "https://h.example/",
                "https://h.example/api/m2m/v1/session/login",
            ),
            (
                "https://h.example/gw",
                "https://h.example/gw/api/m2m/v1/session/login",
            ),
            (
                "https://h.example/gw/",
                "https://h.example/gw/api/m2m/v1/session/login",
            ),
        ];
        for (base, want) in cases {
            let base = validate_base_url(base).unwrap();
            assert_eq!(endpoint(&base, LOGIN_PATH).as_str(), want);
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let cfg = ClientConfig {
            base_url: validate_base_url("https://h.example").unwrap(),
            client_id: "app-key".into(),
            client_secret: SecretString::from("app-secret-value"),
            request_timeout: Duration::from_secs(1),
            user_agent: "ua".into(),
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
}
