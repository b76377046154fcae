//! `thingspace-emulator`: a local, faithful emulator of the ThingSpace API calls the provider makes, with a
//! control API and fault injection for tests, the quickstart and the benchmarks. One implementation serves all
//! of them: in-process through [`spawn`] / [`start`], or as the `thingspace-emulator` binary.
//!
//! # Rust API
//! ```no_run
//! use thingspace_emulator::{Config, Fault, LOGIN_PATH};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = thingspace_emulator::spawn_with(Config::default().user("alice", "Pa55"))?;
//! emu.fault(&Fault::status(LOGIN_PATH, 504, "").after())?; // counted, then answered 504
//! // ... point a client at emu.base_url() ...
//! let alice = emu.user("alice").ok_or("no alice")?;
//! assert!(alice.failed_login_attempts.len() <= 1);
//! # Ok(()) }
//! ```
//! [`spawn`] runs the server on a thread of its own; [`start`] on the caller's Tokio runtime. Both bind
//! `127.0.0.1:0` unless told otherwise and return an [`Emulator`] handle (base URL, the control API as methods);
//! dropping it stops the server. The control API's JSON types ([`User`], [`Request`], [`Fault`]...) and the
//! paths ([`TOKEN_PATH`]...) are defined here once, for the server and for every client of it.
//!
//! # CLI
//! ```text
//! thingspace-emulator [--listen ADDR] [--client ID:SECRET]... [--user NAME:PASSWORD]...
//!                     [--tls-cert PEM_FILE --tls-key PEM_FILE] [--exit-on-stdin-eof]
//! ```
//! - `--listen` defaults to `127.0.0.1:0` (the OS picks the port). Once bound, the emulator prints exactly one
//!   line to stdout, its base URL (`http://127.0.0.1:40123`), and nothing else ever goes to stdout. Logs go to
//!   stderr, at the level in `THINGSPACE_EMULATOR_LOG` (`error`..`trace`, default `warn`; `debug` logs one line
//!   per API request, never a secret).
//! - `--client` registers an OAuth app key and secret (repeatable); with none, the app is
//!   `emulator-client:emulator-secret`. `--user` creates a user (repeatable). Both split at the first `:`, so
//!   secrets and passwords may contain colons.
//! - `--tls-cert` (a certificate chain, leaf first) with `--tls-key` serves HTTPS instead of plain HTTP, and the
//!   base URL starts with `https://` ([`Config::tls`] in Rust). For tests of trust (`ca_file`), proxies and TLS
//!   failures, with a test-made certificate authority.
//! - It runs until SIGINT or SIGTERM, or with `--exit-on-stdin-eof` until stdin reaches EOF, so a test that dies
//!   never leaves an orphan behind.
//!
//! # Emulated API (see `api.rs` for the error codes the emulator chose)
//! - `POST /api/ts/v1/oauth2/token` (Basic app key:secret, form `grant_type=client_credentials`, optional
//!   `scope`): the same token for its whole hour, per client; `expires_in` is the seconds left.
//!   `POST /api/ts/v1/oauth2/revoke` (form `token=`) revokes one.
//! - `POST /api/m2m/v1/session/login`, `PUT /api/m2m/v1/session/password/actions/reset`,
//!   `POST /api/m2m/v1/session/logout`: bearer token checked by the "gateway" (401 fault 900902 missing, 900901
//!   unknown or expired), sessions expire after 20 idle minutes, a user locks after 5 consecutive failed
//!   log-ins, a reset makes a new random 12-character password.
//! - Unknown path: 404 with a gateway fault body; wrong method: 405 with an `Allow` header.
//!
//! # Control API (no auth, JSON in and out)
//! - `POST /_emulator/users {"username","password"}` → 201 user view; creates or replaces the user, unlocked,
//!   counters zeroed. `GET /_emulator/users` → all user views.
//! - `GET /_emulator/users/{username}` → 200 `{"username","password","locked","consecutive_failed_logins",
//!   "failed_logins","successful_logins","resets","logouts","failed_login_attempts"}`, or 404. `failed_logins`
//!   also counts attempts refused because the user was locked. `failed_login_attempts` lists every failed
//!   log-in in order as `{"password","at_ms","locked"}`: the password that was tried, the emulator time it was
//!   processed, and whether the user was already locked (refused whatever the password). A log-in processed
//!   under an `after` or `late` fault counts like any other.
//! - `GET /_emulator/requests` → every API request served since the last clear, in order: `{"seq","method",
//!   "path","status","username","outcome" ("ok"|"failed_login"|"locked"|"error"|"fault"),"effect","fault",
//!   "user_agent","at_ms","connection","error_code","processed_at_ms"}`. `status` is null when no answer was
//!   delivered (dropped, or the client gave up during a delay). `connection` numbers the connections from 1 in
//!   the order they were accepted (requests over one kept-alive connection share it). `error_code` is the code in
//!   the answer delivered (`errorCode`, a gateway fault's `code`, or an OAuth `error`), as sent. `processed_at_ms`
//!   is the emulator time the request was processed (its effect, if any, happened then), null if it never was.
//!   `DELETE` clears the log.
//! - `GET /_emulator/stats` → `{"token","login","reset","logout","tokens_issued"}`, counted over the request log
//!   (so `DELETE /_emulator/requests` zeroes them too).
//! - `GET /_emulator/issued` → `{"access_tokens","session_tokens","passwords"}`: every OAuth access token minted,
//!   session token issued and password generated by a reset since start (never cleared), so tests can search
//!   logs and output for leaked secrets.
//! - `POST /_emulator/faults` (see below) → 201 `{"pending":n}`; `GET` → pending count; `DELETE` clears.
//! - `GET /_emulator/clock` → `{"now_ms"}`; `POST /_emulator/clock {"advance_secs": n}` moves emulator time
//!   forward (token hours and session idle time follow it).
//! - `POST /_emulator/expire {"tokens":bool,"sessions":bool}` → ends all OAuth tokens and/or sessions; answers
//!   `{"tokens_expired","sessions_expired"}`.
//! - `GET /_emulator/held` → `[{"seq","path"}]`, the requests waiting under a `hold` fault; `POST
//!   /_emulator/release {"seq": n}` (or `{}` for all) lets them go on → `{"released": n}`.
//! - Errors: `{"error": "..."}` with 400 (bad body or fault), 404 (no such user or endpoint) or 405.
//!
//! # Faults
//! `{"path","count":1,"when":"before"|"after"|"late","delay_ms":0,"status","body":"",
//! "content_type":"application/json","headers":{},"drop":false,"hold":false,"refuse":false,
//! "on_success_only":false,"skip":0}`: after letting `skip` requests through, the next `count` requests to `path` (any
//! method) draw the fault; faults queue per
//! path in registration order. `status`, `drop` and `refuse` are exclusive; with none of them, the fault is only
//! a delay or a hold and the request is answered normally.
//! - `before` (default): wait `delay_ms`, then answer the fault (or drop the connection) without processing: no
//!   effect. With only a delay, the request is processed after it, unless the client gave up first.
//! - `after`: process (the request takes effect: a log-in is counted as failed or successful, a reset changes
//!   the password), wait `delay_ms`, then answer the fault or drop.
//! - `late` (needs `delay_ms`): the request is processed after `delay_ms` *even if the client has given up*
//!   (timed out or closed the connection), detached from the connection; the client, if still there, then gets
//!   the normal answer, or the fault status, or a dropped connection. A reset that times out but applies late.
//!   If the client left, its log entry keeps `status: null` and gets its effect and `processed_at_ms` when the
//!   delay ends.
//! - `drop: true` closes the connection without any HTTP response. A `status` of 200 with a garbled `body` makes
//!   a malformed answer; with `on_success_only` (and `after` or `late`) only a success is replaced, and an error
//!   answer goes through as it is.
//! - `hold: true` keeps the request waiting (before processing, or after it with `after`; not with `late`) until
//!   it is released through the control API or [`Emulator::release`], so a test can act while a request is on
//!   the wire; a client that gives up ends the wait, and a hold never released is a hung request.
//!   [`Emulator::in_flight`] counts the requests still being served, `late` ones included.
//! - `refuse: true` processes the request as the service refuses a wrong credential, with that refusal's effect:
//!   a log-in is a counted failed log-in (with the password it sent), a token request `invalid_client`, a reset a
//!   wrong `oldPassword`, a log-out an expired session.
//! - Echoes: `body` and header values may repeat the request: `{{body}}`, `{{query}}`, `{{header:NAME}}`,
//!   `{{field:NAME}}`, each with optional encodings `|json`, `|url`, `|form`, `|html`, `|htmlnum`, `|base64`,
//!   `|raw` (see `echo.rs`). Example: `{"path":"/api/m2m/v1/session/login","status":400,
//!   "body":"{\"errorCode\":\"X\",\"errorMessage\":\"bad {{field:password|json}}\"}"}`. An echoed header value
//!   HTTP can't carry (a newline) is left out.
//! - Faulted requests are logged with `"fault": true`, and `"outcome": "fault"` when the answer was replaced.
//!
//! # Layout
//! - `paths`: every path, named once. `model`: the control API's JSON types.
//! - `handle`: [`spawn`], [`start`] and the [`Emulator`] handle ([`Config::token_lifetime`] shortens token
//!   hours). `server`: connections, faults in time. `holds`: the requests a `hold` fault keeps waiting.
//! - `api`: the emulated ThingSpace endpoints. `control`: the control API. `state`: the synchronous state
//!   machine (tokens, users, sessions, clock, log). `faults` and `echo`: fault checks and echo templates.
//! - `cli`: the binary's flags; `main.rs` is the binary.

mod api;
pub mod cli;
mod control;
mod echo;
mod faults;
mod handle;
mod holds;
pub mod model;
pub mod paths;
mod reply;
mod server;
mod state;

pub use handle::{Config, Emulator, spawn, spawn_with, start};
pub use model::{
    AdvanceClock, Cleared, Clock, ControlError, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Expire,
    Expired, FailedLogin, Fault, Held, Issued, NewUser, Outcome, Pending, Release, Released,
    Request, Stats, User, When,
};
pub use paths::{LOGIN_PATH, LOGOUT_PATH, RESET_PATH, REVOKE_PATH, ROTATION_STEPS, TOKEN_PATH};
pub use server::Tls;
pub use state::LOCKOUT_THRESHOLD;
