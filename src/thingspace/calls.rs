//! The three M2M calls of a rotation, each a [`Hook`] for the shared retry loop: the log-in and the reset go over a
//! fresh connection and are read to their end once sent (critical); the log-out is cancelled by a stop even on the
//! wire, since it changes no password. The reset's hook carries its special decisions: a new log-in after an expired
//! session, and the shared token taken anew before every send.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tracing::debug;

use super::answer::{header_text, new_password, session_header};
use super::attempts::{Attempts, CallFailure, Hook};
use super::endpoints::{Call, Endpoints, SESSION_HEADER};
use super::error::Error;
use super::models::{LoginRequest, LoginResponse, ResetRequest, ResetResponse};
use super::token::{Token, Tokens};
use super::transport::SendError;

/// What the calls of one client share: the retry loop with its transport, the shared token, the URLs.
pub(super) struct Api {
    pub attempts: Attempts,
    pub tokens: Tokens,
    pub endpoints: Endpoints,
}

/// An M2M session as a ready `VZ-M2M-Token` header.
pub(super) struct Session {
    header: HeaderValue,
}

impl Api {
    /// Logs `user` in with `password`: the session for the reset.
    pub async fn login(&self, user: &str, password: &SecretString) -> Result<Session, CallFailure> {
        self.attempts
            .run(&mut LoginCall {
                api: self,
                user,
                password,
            })
            .await
    }

    /// Resets `user`'s password from `old` in `session`: the new password, and the session it was reset in (a new
    /// one when the first expired), for the log-out.
    pub async fn reset(
        &self,
        user: &str,
        old: &SecretString,
        session: Session,
    ) -> Result<(SecretString, Session), CallFailure> {
        let mut call = ResetCall {
            api: self,
            user,
            old,
            session,
        };
        let new = self.attempts.run(&mut call).await?;
        Ok((new, call.session))
    }

    /// Ends `session` after a reset from `old` to `new`.
    pub async fn logout(
        &self,
        user: &str,
        session: &Session,
        old: &SecretString,
        new: &SecretString,
    ) -> Result<(), CallFailure> {
        self.attempts
            .run(&mut LogoutCall {
                api: self,
                user,
                session,
                old,
                new,
            })
            .await
    }

    /// The bearer token of a call that keeps it between sends: the shared one before the first send, then the one
    /// it sent last, or that token's renewal.
    async fn kept_token(&self, last: Option<Token>) -> Result<Token, CallFailure> {
        match last {
            Some(token) => Ok(token),
            None => self.tokens.get(&self.attempts).await,
        }
    }
}

/// The log-in, under the log-in rules.
struct LoginCall<'a> {
    api: &'a Api,
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

    async fn bearer(&mut self, last: Option<Token>) -> Result<Token, CallFailure> {
        self.api.kept_token(last).await
    }

    /// Critical: once on the wire it is read to its end.
    async fn send(&mut self, token: Token) -> Result<Session, SendError> {
        let transport = &self.api.attempts.transport;
        let body = serde_json::to_vec(&LoginRequest {
            username: self.user,
            password: self.password.expose_secret(),
        })
        .map_err(|e| Error::Build(e.to_string()))?;
        let request = transport
            .critical_request(Method::POST, self.api.endpoints.url(Call::Login))
            .header(AUTHORIZATION, token.header.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let secrets =
            transport.secrets(&[self.password.expose_secret(), header_text(&token.header)]);
        let answer = transport.send_critical(request, &secrets).await?;
        debug!(
            username = self.user,
            step = "log-in",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: LoginResponse = transport.parse(&answer, "sessionToken", &secrets)?;
        let shown = answer.shown_content_type(&secrets);
        let header = session_header(parsed, answer.status, shown.as_deref())?;
        Ok(Session { header })
    }

    async fn renew(&mut self, stale: &Token) -> Result<Token, CallFailure> {
        self.api.tokens.renew(&self.api.attempts, stale).await
    }
}

/// The reset, under the reset rules, with the session it runs in (a new one after the old expired).
struct ResetCall<'a> {
    api: &'a Api,
    user: &'a str,
    old: &'a SecretString,
    session: Session,
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
    async fn bearer(&mut self, _last: Option<Token>) -> Result<Token, CallFailure> {
        self.api.tokens.get(&self.api.attempts).await
    }

    /// Critical: once sent, its answer may hold the only copy of the new password, so it is read to the end
    /// (within `request_timeout`) whatever the stop signal says.
    async fn send(&mut self, token: Token) -> Result<SecretString, SendError> {
        let transport = &self.api.attempts.transport;
        let body = serde_json::to_vec(&ResetRequest {
            old_password: self.old.expose_secret(),
        })
        .map_err(|e| Error::Build(e.to_string()))?;
        let request = transport
            .critical_request(Method::PUT, self.api.endpoints.url(Call::Reset))
            .header(AUTHORIZATION, token.header.clone())
            .header(SESSION_HEADER, self.session.header.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let secrets = transport.secrets(&[
            self.old.expose_secret(),
            header_text(&token.header),
            header_text(&self.session.header),
        ]);
        let answer = transport.send_critical(request, &secrets).await?;
        debug!(
            username = self.user,
            step = "reset",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: ResetResponse = transport.parse(&answer, "newPassword", &secrets)?;
        let shown = answer.shown_content_type(&secrets);
        Ok(new_password(
            parsed,
            answer.status,
            shown.as_deref(),
            &secrets,
        )?)
    }

    async fn renew(&mut self, stale: &Token) -> Result<Token, CallFailure> {
        self.api.tokens.renew(&self.api.attempts, stale).await
    }

    /// The session expired, so the reset was not applied: a new log-in (under the log-in rules, its failure the
    /// log-in's), then the reset once more.
    async fn login_again(&mut self, _expired: CallFailure) -> Result<(), CallFailure> {
        self.session = self.api.login(self.user, self.old).await?;
        Ok(())
    }
}

/// The log-out. Not critical: it changes no password, so the stop signal cancels it even on the wire.
struct LogoutCall<'a> {
    api: &'a Api,
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

    async fn bearer(&mut self, last: Option<Token>) -> Result<Token, CallFailure> {
        self.api.kept_token(last).await
    }

    async fn send(&mut self, token: Token) -> Result<(), SendError> {
        let transport = &self.api.attempts.transport;
        let request = transport
            .request(Method::POST, self.api.endpoints.url(Call::Logout))
            .header(AUTHORIZATION, token.header.clone())
            .header(SESSION_HEADER, self.session.header.clone());
        let secrets = transport.secrets(&[
            header_text(&token.header),
            header_text(&self.session.header),
            self.old.expose_secret(),
            self.new.expose_secret(),
        ]);
        let answer = transport
            .cancellable(transport.send(request, &secrets))
            .await?;
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
            Err(transport.error_of(&answer, &secrets))
        }
    }

    async fn renew(&mut self, stale: &Token) -> Result<Token, CallFailure> {
        self.api.tokens.renew(&self.api.attempts, stale).await
    }
}
