//! The HTTP plumbing under every call: sending a request and reading its whole answer within `request_timeout`, the
//! critical send that a stop can't cut short once it is on the wire, turning an answer or a transport failure into
//! an [`Error`] scrubbed of the secrets in play, and the waits a stop cancels.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::answer::success_body;
use super::client::Client;
use super::error::{Error, TransportError, clean, parse_error_body};
use super::network::classify;
use super::retry::parse_retry_after;

/// The largest answer body read; anything bigger is not a ThingSpace answer.
const MAX_BODY: usize = 1 << 20;

/// A call's failure, with the `Retry-After` the answer carried.
pub(super) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
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

impl Client {
    /// The secrets in play for a call: `extra` (passwords, the bearer and session tokens), the client secret, the
    /// base64 `Basic` form of the client credentials, and the proxy's password, if its URL has one. Every string taken from an answer is scrubbed of all of them.
    pub(super) fn secrets<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = extra.to_vec();
        all.push(self.inner.client_secret.expose_secret());
        all.push(self.inner.basic_credentials.expose_secret());
        if let Some(proxy_password) = &self.inner.proxy_password {
            all.push(proxy_password.expose_secret());
        }
        all
    }

    /// Sends a log-in or a reset. The stop signal only keeps it from being sent: once on the wire, its answer is read
    /// to the end (within `request_timeout`), and a [`crate::shutdown::Shutdown::critical`] guard keeps the process
    /// alive meanwhile.
    pub(super) async fn send_critical(
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
    pub(super) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer, Failure> {
        let mut response = request
            .timeout(self.inner.request_timeout)
            .send()
            .await
            .map_err(|e| Failure::from(self.transport(e, secrets)))?;
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
            error: self.transport(e, secrets),
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
    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        field: &str,
        secrets: &[&str],
    ) -> Result<T, Failure> {
        if !(200..300).contains(&answer.status) {
            return Err(self.error_of(answer, secrets));
        }
        let shown = answer.shown_content_type(secrets);
        success_body(answer.status, shown.as_deref(), &answer.body, field).map_err(|error| {
            Failure {
                error,
                retry_after: answer.retry_after,
            }
        })
    }

    pub(super) fn error_of(&self, answer: &Answer, secrets: &[&str]) -> Failure {
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
    pub(super) async fn cancellable<T>(
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
    pub(super) async fn sleep(&self, delay: Duration) -> Result<(), Error> {
        tokio::select! {
            biased;
            () = self.inner.cancel.stopped() => Err(Error::Cancelled),
            () = tokio::time::sleep(delay) => Ok(()),
        }
    }

    /// Classifies a reqwest error. A connect failure (including DNS and TLS) sent nothing; anything later may have
    /// delivered the request. The text drops the URL (the message names the base URL and its source instead) and
    /// keeps only the error chain, which never includes a body; it is scrubbed of `secrets` all the same, since the
    /// chain may quote what the server sent.
    fn transport(&self, error: reqwest::Error, secrets: &[&str]) -> Error {
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
            route: self.inner.route.clone(),
            attempts: 0,
            elapsed: Duration::ZERO,
        })
    }
}
