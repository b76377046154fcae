//! The OAuth access token, one per client and shared by every call: fetched at first need, renewed a little before
//! it expires or after the gateway refused it, and fetched once for a burst of callers, who share its result, failed
//! or not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;
use tracing::debug;
use url::Url;

use super::answer::bearer_header;
use super::attempts::{Attempts, CallFailure, Hook};
use super::endpoints::Call;
use super::models::TokenResponse;
use super::transport::{SendError, Transport};

/// The shared token of one client.
pub(super) struct Tokens {
    url: Url,
    slot: Mutex<Slot>,
    /// Completed token fetches, successful or not; lets callers that queued behind a failed fetch share its failure
    /// instead of each retrying for the whole budget.
    fetches: AtomicU64,
}

/// The token and what the last fetch did.
#[derive(Default)]
struct Slot {
    current: Option<Token>,
    generation: u64,
    last_failure: Option<(u64, CallFailure)>,
}

impl Slot {
    /// The failure of a fetch that completed while this caller waited (`seen` fetches had completed before): shared,
    /// not retried again.
    fn shared_failure(&self, seen: u64) -> Result<(), CallFailure> {
        match &self.last_failure {
            Some((at, failure)) if *at > seen => Err(failure.clone()),
            _ => Ok(()),
        }
    }
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
struct TokenCall<'a> {
    transport: &'a Transport,
    url: &'a Url,
    generation: u64,
}

impl Hook for TokenCall<'_> {
    type Value = Token;
    type Bearer = ();
    const CALL: Call = Call::Token;

    fn user(&self) -> Option<&str> {
        None
    }

    async fn bearer(&mut self, _last: Option<()>) -> Result<(), CallFailure> {
        Ok(())
    }

    async fn send(&mut self, (): ()) -> Result<Token, SendError> {
        let transport = self.transport;
        let request = transport
            .request(Method::POST, self.url.clone())
            .header(AUTHORIZATION, transport.basic_auth())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        let secrets = transport.secrets(&[]);
        let asked_at = Instant::now();
        let answer = transport
            .cancellable(transport.send(request, &secrets))
            .await?;
        debug!(
            step = "token",
            status = answer.status,
            "thingspace answered"
        );
        let parsed: TokenResponse = transport.parse(&answer, "access_token", &secrets)?;
        let shown = answer.shown_content_type(&secrets);
        let (header, expires_in) = bearer_header(parsed, answer.status, shown.as_deref())?;
        // Renew a little before ThingSpace's own expiry, so a token never dies between check and use.
        let lifetime = Duration::from_secs(expires_in.unwrap_or(300));
        let margin = (lifetime / 4).min(Duration::from_secs(60));
        Ok(Token {
            header,
            generation: self.generation,
            renew_at: asked_at + lifetime.saturating_sub(margin),
        })
    }

    async fn renew(&mut self, (): &()) -> Result<(), CallFailure> {
        Ok(())
    }
}

impl Tokens {
    pub fn new(url: Url) -> Tokens {
        Tokens {
            url,
            slot: Mutex::new(Slot::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// The shared token, fetched if there is none or it is about to expire. Callers that arrive while a fetch runs
    /// wait for it and share its result, so a burst of rotations makes one token request.
    pub async fn get(&self, attempts: &Attempts) -> Result<Token, CallFailure> {
        let (seen, mut slot) = self.lock(attempts).await?;
        if let Some(token) = slot
            .current
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at)
        {
            return Ok(token.clone());
        }
        slot.shared_failure(seen)?;
        self.fetch_into(attempts, &mut slot).await
    }

    /// A new token after the gateway rejected `stale`, unless another caller already replaced it.
    pub async fn renew(&self, attempts: &Attempts, stale: &Token) -> Result<Token, CallFailure> {
        let (seen, mut slot) = self.lock(attempts).await?;
        if let Some(token) = slot
            .current
            .as_ref()
            .filter(|t| t.generation != stale.generation)
        {
            return Ok(token.clone());
        }
        slot.shared_failure(seen)?;
        slot.current = None;
        self.fetch_into(attempts, &mut slot).await
    }

    /// The slot, and how many fetches had completed before waiting for it. A stop ends the wait: no token call was
    /// sent by this caller.
    async fn lock(&self, attempts: &Attempts) -> Result<(u64, MutexGuard<'_, Slot>), CallFailure> {
        let seen = self.fetches.load(Ordering::Acquire);
        let slot = attempts
            .transport
            .cancellable(async { Ok(self.slot.lock().await) })
            .await
            .map_err(|f| CallFailure::unsent(Call::Token, f.error))?;
        Ok((seen, slot))
    }

    async fn fetch_into(&self, attempts: &Attempts, slot: &mut Slot) -> Result<Token, CallFailure> {
        let result = attempts
            .run(&mut TokenCall {
                transport: &attempts.transport,
                url: &self.url,
                generation: slot.generation + 1,
            })
            .await;
        let done = self.fetches.fetch_add(1, Ordering::AcqRel) + 1;
        match &result {
            Ok(token) => {
                slot.generation = token.generation;
                slot.current = Some(token.clone());
                slot.last_failure = None;
            }
            Err(failure) => {
                slot.current = None;
                slot.last_failure = Some((done, failure.clone()));
            }
        }
        result
    }
}
