//! The three M2M calls of a rotation, each a [`Hook`] for the shared retry loop: the log-in and the reset go over a
//! fresh connection and are read to their end once sent (critical); the log-out is cancelled by a stop even on the
//! wire, since it changes no password. The reset's hook carries its special decisions: a new log-in after an expired
//! session, and the shared token taken anew before every send.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tracing::debug;

use super::answer::{header_text, new_password, session_header};
use super::client::Client;
use super::config::SESSION_HEADER;
use super::error::Error;
use super::http::Failure;
use super::models::{LoginRequest, LoginResponse, ResetRequest, ResetResponse};
use super::retry::Call;
use super::retrying::{Failed, Hook};
use super::token::Token;

/// An M2M session as a ready `VZ-M2M-Token` header.
pub(super) struct Session {
    header: HeaderValue,
}

/// The bearer token of a call that keeps it between sends: the shared one before the first send, then the one it
/// sent last, or that token's renewal.
async fn kept_token(client: &Client, last: Option<Token>) -> Result<Token, Error> {
    match last {
        Some(token) => Ok(token),
        None => client.token().await,
    }
}

/// The log-in, under the log-in rules.
struct LoginCall<'a> {
    user: &'a str,
    password: &'a SecretString,
}

impl Hook for LoginCall<'_> {
    type Value = Session;
    type Bearer = Token;
    const CALL: Call = Call::Login;

    fn user(&self) -> Option<&str> {
        Some(self.user)
    }

    async fn bearer(&mut self, client: &Client, last: Option<Token>) -> Result<Token, Error> {
        kept_token(client, last).await
    }

    /// Critical: once on the wire it is read to its end.
    async fn send(&mut self, client: &Client, token: Token) -> Result<Session, Failure> {
        let body = serde_json::to_vec(&LoginRequest {
            username: self.user,
            password: self.password.expose_secret(),
        })
        .map_err(|e| Error::Build(e.to_string()))?;
        let request = client
            .inner
            .critical_http
            .post(client.inner.login_url.clone())
            .header(AUTHORIZATION, token.header.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let secrets = client.secrets(&[self.password.expose_secret(), header_text(&token.header)]);
        let answer = client.send_critical(request, &secrets).await?;
        debug!(
            username = self.user,
            step = "log-in",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: LoginResponse = client.parse(&answer, "sessionToken", &secrets)?;
        let shown = answer.shown_content_type(&secrets);
        let header = session_header(parsed, answer.status, shown.as_deref())?;
        Ok(Session { header })
    }

    async fn renew(&mut self, client: &Client, stale: &Token) -> Result<Token, Error> {
        client.renew_token(stale).await
    }
}

/// The reset, under the reset rules, with the session it runs in (a new one after the old expired).
pub(super) struct ResetCall<'a> {
    pub user: &'a str,
    pub old: &'a SecretString,
    pub session: Session,
}

impl Hook for ResetCall<'_> {
    type Value = SecretString;
    type Bearer = Token;
    const CALL: Call = Call::Reset;

    fn user(&self) -> Option<&str> {
        Some(self.user)
    }

    /// Always the shared token, whatever the last send carried: a new log-in after an expired session may have
    /// renewed it meanwhile.
    async fn bearer(&mut self, client: &Client, _last: Option<Token>) -> Result<Token, Error> {
        client.token().await
    }

    /// Critical: once sent, its answer may hold the only copy of the new password, so it is read to the end
    /// (within `request_timeout`) whatever the stop signal says.
    async fn send(&mut self, client: &Client, token: Token) -> Result<SecretString, Failure> {
        let body = serde_json::to_vec(&ResetRequest {
            old_password: self.old.expose_secret(),
        })
        .map_err(|e| Error::Build(e.to_string()))?;
        let request = client
            .inner
            .critical_http
            .put(client.inner.reset_url.clone())
            .header(AUTHORIZATION, token.header.clone())
            .header(SESSION_HEADER, self.session.header.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let secrets = client.secrets(&[
            self.old.expose_secret(),
            header_text(&token.header),
            header_text(&self.session.header),
        ]);
        let answer = client.send_critical(request, &secrets).await?;
        debug!(
            username = self.user,
            step = "reset",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: ResetResponse = client.parse(&answer, "newPassword", &secrets)?;
        let shown = answer.shown_content_type(&secrets);
        Ok(new_password(
            parsed,
            answer.status,
            shown.as_deref(),
            &secrets,
        )?)
    }

    async fn renew(&mut self, client: &Client, stale: &Token) -> Result<Token, Error> {
        client.renew_token(stale).await
    }

    /// The session expired, so the reset was not applied: a new log-in (under the log-in rules), then the reset once
    /// more.
    async fn login_again(&mut self, client: &Client, _expired: Error) -> Result<(), Failed> {
        self.session = client
            .login(self.user, self.old)
            .await
            .map_err(|failed| Failed::Relogin(Box::new(failed)))?;
        Ok(())
    }
}

/// The log-out. Not critical: it changes no password, so the stop signal cancels it even on the wire.
struct LogoutCall<'a> {
    user: &'a str,
    session: &'a Session,
    /// The passwords before and after the reset, scrubbed from whatever the answer says.
    old: &'a SecretString,
    new: &'a SecretString,
}

impl Hook for LogoutCall<'_> {
    type Value = ();
    type Bearer = Token;
    const CALL: Call = Call::Logout;

    fn user(&self) -> Option<&str> {
        Some(self.user)
    }

    async fn bearer(&mut self, client: &Client, last: Option<Token>) -> Result<Token, Error> {
        kept_token(client, last).await
    }

    async fn send(&mut self, client: &Client, token: Token) -> Result<(), Failure> {
        let request = client
            .inner
            .http
            .post(client.inner.logout_url.clone())
            .header(AUTHORIZATION, token.header.clone())
            .header(SESSION_HEADER, self.session.header.clone());
        let secrets = client.secrets(&[
            header_text(&token.header),
            header_text(&self.session.header),
            self.old.expose_secret(),
            self.new.expose_secret(),
        ]);
        let answer = client.cancellable(client.send(request, &secrets)).await?;
        debug!(
            username = self.user,
            step = "log-out",
            status = answer.status,
            "thingspace answered"
        );
        if (200..300).contains(&answer.status) {
            // The body only echoes the session token; nothing in it matters.
            Ok(())
        } else {
            Err(client.error_of(&answer, &secrets))
        }
    }

    async fn renew(&mut self, client: &Client, stale: &Token) -> Result<Token, Error> {
        client.renew_token(stale).await
    }
}

impl Client {
    /// Logs `user` in with `password`: the session for the reset.
    pub(super) async fn login(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<Session, Failed> {
        self.with_retries(&mut LoginCall { user, password }).await
    }

    /// Ends `session` after a reset from `old` to `new`.
    pub(super) async fn logout(
        &self,
        user: &str,
        session: &Session,
        old: &SecretString,
        new: &SecretString,
    ) -> Result<(), Failed> {
        self.with_retries(&mut LogoutCall {
            user,
            session,
            old,
            new,
        })
        .await
    }
}
