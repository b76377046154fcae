//! The OAuth access token, one per process and shared by every call: fetched at first need, renewed a little before
//! it expires or after the gateway refused it, and fetched once for a burst of callers, who share its result, failed
//! or not.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::time::Instant;
use tracing::debug;

use super::answer::bearer_header;
use super::client::Client;
use super::error::Error;
use super::http::Failure;
use super::models::TokenResponse;
use super::retry::Call;
use super::retrying::{Failed, Hook};

/// The shared token and what the last fetch did.
#[derive(Default)]
pub(super) struct TokenSlot {
    current: Option<Token>,
    generation: u64,
    last_failure: Option<(u64, Error)>,
}

/// An OAuth access token as a ready `Authorization` header.
#[derive(Clone)]
pub(super) struct Token {
    pub header: HeaderValue,
    generation: u64,
    renew_at: Instant,
}

/// The token request itself, in the shared retry loop. It carries no bearer token (`()`), so there is none to
/// renew, and the policy never asks it to log in.
struct TokenCall {
    generation: u64,
}

impl Hook for TokenCall {
    type Value = Token;
    type Bearer = ();
    const CALL: Call = Call::Token;

    fn user(&self) -> Option<&str> {
        None
    }

    async fn bearer(&mut self, _client: &Client, _last: Option<()>) -> Result<(), Error> {
        Ok(())
    }

    async fn send(&mut self, client: &Client, (): ()) -> Result<Token, Failure> {
        client.token_request(self.generation).await
    }

    async fn renew(&mut self, _client: &Client, (): &()) -> Result<(), Error> {
        Ok(())
    }
}

impl Client {
    /// The shared token, fetched if there is none or it is about to expire. Callers that arrive while a fetch runs
    /// wait for it and share its result, so a burst of rotations makes one token request.
    pub(super) async fn token(&self) -> Result<Token, Error> {
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
    pub(super) async fn renew_token(&self, stale: &Token) -> Result<Token, Error> {
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
        let result = self
            .with_retries(&mut TokenCall {
                generation: slot.generation + 1,
            })
            .await
            .map_err(Failed::into_error);
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
        let shown = answer.shown_content_type(&secrets);
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
}
