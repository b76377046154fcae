//! The HTTP server: accepts connections, reads each request, applies any injected fault, and hands the request
//! to the control API or the emulated ThingSpace API.
//!
//! The state lives behind one std mutex that is only held for the synchronous state-machine step, never across a
//! delay or an await. Every task the server starts (connections, and the detached processing of `late` faults)
//! ends when the stop token is cancelled, so a stopped emulator leaves nothing running on a shared runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiRequest};
use crate::control;
use crate::echo::Echoed;
use crate::faults::{Armed, Dropped};
use crate::model::{Outcome, When};
use crate::paths::CONTROL_PREFIX;
use crate::reply::Reply;
use crate::state::State;

/// A server certificate chain and its private key, both PEM. The emulator's own test identity, never a real one.
#[derive(Clone, PartialEq, Eq)]
pub struct Tls {
    /// The certificate chain, leaf first.
    pub cert_chain_pem: String,
    /// The leaf's private key.
    pub key_pem: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// Requests larger than this are refused; nothing the API takes comes close.
const MAX_BODY: usize = 1024 * 1024;

/// The shared emulator: its state and the real clock that emulator time is built on.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    started: Instant,
    start_unix_ms: u64,
    /// Woken whenever held requests may have been released.
    released: Notify,
    /// API requests being served, counting `late` processing that outlives its connection.
    in_flight: AtomicUsize,
}

impl Shared {
    pub fn new(state: State) -> Self {
        let start_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            state: Mutex::new(state),
            started: Instant::now(),
            start_unix_ms,
            released: Notify::new(),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Wakes the held requests so they look whether they were released.
    pub fn wake_held(&self) {
        self.released.notify_waiters();
    }

    /// API requests being served now, including `late` ones still waiting to be processed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Wall-clock ms, advanced monotonically so emulator time never goes backwards.
    pub fn real_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.start_unix_ms.saturating_add(elapsed)
    }

    /// Locks the state. A panic while holding the lock can only come from a bug, and the state is still
    /// consistent between steps, so a poisoned lock is used as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The TLS acceptor for `tls`, or none for plain HTTP. A bad certificate or key is an `InvalidInput` error.
pub fn tls_acceptor(tls: Option<&Tls>) -> std::io::Result<Option<TlsAcceptor>> {
    use pki_types::pem::PemObject;
    let Some(tls) = tls else {
        return Ok(None);
    };
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let chain = pki_types::CertificateDer::pem_slice_iter(tls.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("TLS certificate", &e))?;
    let key = pki_types::PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| invalid("TLS key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid("TLS certificate and key", &e))?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// Serves connections from `listener` (over TLS with `tls`) until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut connections = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    // Usually EMFILE under load; back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Small JSON answers: without this, Nagle plus delayed ACKs add ~40 ms per request.
        let _ = stream.set_nodelay(true);
        connections += 1;
        let connection = connections;
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let conn_stop = stop.clone();
            let served = async move {
                match tls {
                    None => serve_connection(stream, shared, stop, connection).await,
                    Some(tls) => match tls.accept(stream).await {
                        Ok(stream) => serve_connection(stream, shared, stop, connection).await,
                        Err(error) => tracing::debug!(%error, "TLS handshake failed"),
                    },
                }
            };
            tokio::select! {
                () = conn_stop.cancelled() => {}
                () = served => {}
            }
            tracing::trace!(%peer, "connection closed");
        });
    }
}

/// Serves the HTTP/1 requests of one connection, plain or TLS.
async fn serve_connection<IO>(io: IO, shared: Arc<Shared>, stop: CancellationToken, connection: u64)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&shared), stop.clone(), connection, req));
    if let Err(error) = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service)
        .await
    {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// One API request, owned, so that a `late` fault can process it after its connection is gone.
#[derive(Debug)]
struct ApiCall {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl ApiCall {
    fn api(&self, refuse: bool) -> ApiRequest<'_> {
        ApiRequest {
            method: &self.method,
            path: &self.path,
            headers: &self.headers,
            body: &self.body,
            refuse,
        }
    }

    fn echoed(&self) -> Echoed<'_> {
        Echoed {
            body: &self.body,
            query: &self.query,
            headers: &self.headers,
        }
    }
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = reply.status;
    for (name, value) in reply.headers {
        resp.headers_mut().append(name, value);
    }
    resp
}

/// Counts an API request as in flight until dropped, whichever way its serving ends.
struct Serving(Arc<Shared>);

impl Serving {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(shared))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends a hold when its request goes away unreleased (the client gave up, or the emulator stopped).
struct Holding<'a> {
    shared: &'a Shared,
    seq: u64,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.shared.lock().holds.release(self.seq);
    }
}

/// Keeps request `seq` waiting until it is released, or the emulator stops.
async fn hold(
    shared: &Shared,
    stop: &CancellationToken,
    seq: u64,
    path: &str,
) -> Result<(), Dropped> {
    shared.lock().holds.hold(seq, path);
    let _holding = Holding { shared, seq };
    loop {
        // Registered before the check, so a release between the check and the wait still wakes it.
        let released = shared.released.notified();
        tokio::pin!(released);
        released.as_mut().enable();
        if !shared.lock().holds.is_held(seq) {
            return Ok(());
        }
        tokio::select! {
            () = stop.cancelled() => return Err(Dropped),
            () = released => {}
        }
    }
}

/// The error code of an answer's body in any of the three error shapes, as sent.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    [
        value.get("errorCode"),
        value.get("fault").and_then(|f| f.get("code")),
        value.get("error"),
    ]
    .into_iter()
    .flatten()
    .find_map(text)
}

async fn handle(
    shared: Arc<Shared>,
    stop: CancellationToken,
    connection: u64,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(to_response(Reply::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &serde_json::json!({ "error": "request body unreadable or too large" }),
            )));
        }
    };
    let path = parts.uri.path().to_owned();

    if path.starts_with(CONTROL_PREFIX) {
        let reply = {
            let mut state = shared.lock();
            let now = state.now(shared.real_ms());
            control::handle(&mut state, now, &parts.method, &path, &body)
        };
        // The call may have released held requests.
        shared.wake_held();
        return Ok(to_response(reply));
    }

    let _serving = Serving::new(&shared);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (seq, fault) = {
        let mut state = shared.lock();
        let now = state.now(shared.real_ms());
        let fault = state.faults.take(&path);
        let seq = state.log_start(
            parts.method.as_str(),
            &path,
            user_agent,
            fault.is_some(),
            now,
        );
        if let Some(entry) = state.log_entry(seq) {
            entry.connection = connection;
        }
        (seq, fault)
    };

    let call = Arc::new(ApiCall {
        method: parts.method,
        path,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    });
    // If the client goes away before this completes, hyper drops this future here and the log entry keeps
    // `status: null`: no answer was delivered.
    let result = run_api(&shared, &stop, seq, fault, Arc::clone(&call)).await;

    let status = result.as_ref().ok().map(|r| r.status.as_u16());
    let mut state = shared.lock();
    if let Some(entry) = state.log_entry(seq) {
        entry.status = status;
        entry.error_code = result.as_ref().ok().and_then(|r| error_code(&r.body));
        tracing::debug!(
            seq,
            method = %call.method,
            path = %call.path,
            status = ?status,
            outcome = ?entry.outcome,
            effect = entry.effect,
            fault = entry.fault,
            "api request"
        );
    }
    drop(state);
    result.map(to_response)
}

/// Runs the emulated API on `call` under `fault` and records what it did in the log entry `seq`.
fn process(shared: &Shared, seq: u64, fault: Option<&Armed>, call: &ApiCall) -> Reply {
    let mut state = shared.lock();
    let now = state.now(shared.real_ms());
    let refuse = fault.is_some_and(|f| f.refuse);
    let handled = api::handle(&mut state, now, &call.api(refuse));
    if let Some(entry) = state.log_entry(seq) {
        entry.username.clone_from(&handled.username);
        entry.effect = handled.effect;
        entry.processed_at_ms = Some(now);
        entry.outcome = if fault.is_some_and(|f| f.replaces(&handled.reply)) {
            Outcome::Fault
        } else {
            handled.outcome
        };
    }
    handled.reply
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Processes one API request under an optional fault.
async fn run_api(
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    seq: u64,
    fault: Option<Armed>,
    call: Arc<ApiCall>,
) -> Result<Reply, Dropped> {
    let Some(fault) = fault else {
        return Ok(process(shared, seq, None, &call));
    };
    let real = match fault.when {
        When::Before => {
            if fault.hold {
                hold(shared, stop, seq, &call.path).await?;
            }
            sleep_ms(fault.delay_ms).await;
            if let Some(answer) = fault.answer(&call.echoed()) {
                return answer;
            }
            process(shared, seq, Some(&fault), &call)
        }
        When::After => {
            let reply = process(shared, seq, Some(&fault), &call);
            if fault.hold {
                hold(shared, stop, seq, &call.path).await?;
            }
            sleep_ms(fault.delay_ms).await;
            reply
        }
        When::Late => {
            // Detached from this connection: the effect happens after the delay even if the client is gone, and
            // the request counts as in flight until then.
            let (tx, rx) = tokio::sync::oneshot::channel();
            let serving = Serving::new(shared);
            let (shared, stop, detached) = (Arc::clone(shared), stop.clone(), Arc::clone(&call));
            let late = fault.clone();
            tokio::spawn(async move {
                let _serving = serving;
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = sleep_ms(late.delay_ms) => {
                        let reply = process(&shared, seq, Some(&late), &detached);
                        tracing::debug!(seq, path = %detached.path, "late request processed");
                        let _ = tx.send(reply);
                    }
                }
            });
            // Only a stopping emulator drops the sender; there is nobody left to answer then.
            rx.await.map_err(|_| Dropped)?
        }
    };
    fault.answer_after(real, &call.echoed())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_identity_that_is_not_pem_is_refused_with_what_was_wrong() {
        assert!(tls_acceptor(None).unwrap().is_none());
        let bad = Tls {
            cert_chain_pem: "not a certificate".into(),
            key_pem: "not a key".into(),
        };
        let error = tls_acceptor(Some(&bad)).err().unwrap();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("TLS"), "{error}");
    }
}
