//! The control API under `/_emulator/`: tests and the quickstart create users, read what
//! happened, inject faults and move the clock. JSON in and out, no authentication.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::model::{
    AdvanceClock, Cleared, Clock, ControlError, Expire, Fault, NewUser, Pending, Release, Released,
};
use crate::paths::CONTROL_PREFIX;
use crate::reply::Reply;
use crate::state::State;

fn error(status: StatusCode, message: &str) -> Reply {
    to_json(status, &ControlError::new(message))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))
}

fn to_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_value(value) {
        Ok(v) => Reply::json(status, &v),
        Err(e) => Reply::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({ "error": e.to_string() }),
        ),
    }
}

/// Emulator time `advance_secs` from now, refusing what can't be a duration.
pub fn advance_ms(advance: AdvanceClock) -> Result<u64, ControlError> {
    if !advance.advance_secs.is_finite() || advance.advance_secs < 0.0 {
        return Err(ControlError::new(
            "advance_secs must be a non-negative number",
        ));
    }
    // Float to integer `as` saturates, so a huge value can't wrap.
    Ok((advance.advance_secs * 1000.0).round() as u64)
}

/// Serves one control request. `now` is the emulator time.
pub fn handle(state: &mut State, now: u64, method: &Method, path: &str, body: &[u8]) -> Reply {
    let rest = path.strip_prefix(CONTROL_PREFIX).unwrap_or_default();
    let result = match (method, rest) {
        (&Method::POST, "users") => {
            parse::<NewUser>(body).map(|u| match state.add_user(&u.username, &u.password) {
                Ok(view) => to_json(StatusCode::CREATED, &view),
                Err(e) => to_json(StatusCode::BAD_REQUEST, &e),
            })
        }
        (&Method::GET, "users") => Ok(to_json(StatusCode::OK, &state.user_views())),
        (&Method::GET, r) if r.starts_with("users/") => {
            let name = percent_decode(&r["users/".len()..]);
            Ok(match state.user_view(&name) {
                Some(view) => to_json(StatusCode::OK, &view),
                None => error(StatusCode::NOT_FOUND, "no such user"),
            })
        }
        (&Method::GET, "requests") => Ok(to_json(StatusCode::OK, &state.log())),
        (&Method::DELETE, "requests") => {
            state.clear_log();
            Ok(to_json(StatusCode::OK, &Cleared { cleared: true }))
        }
        (&Method::GET, "stats") => Ok(to_json(StatusCode::OK, &state.stats())),
        (&Method::GET, "issued") => Ok(to_json(StatusCode::OK, state.issued())),
        (&Method::POST, "faults") => {
            parse::<Fault>(body).map(|spec| match state.add_fault(&spec) {
                Ok(pending) => to_json(StatusCode::CREATED, &pending),
                Err(e) => to_json(StatusCode::BAD_REQUEST, &e),
            })
        }
        (&Method::GET, "faults") => Ok(to_json(StatusCode::OK, &state.pending_faults())),
        (&Method::DELETE, "faults") => {
            state.faults.clear();
            Ok(to_json(StatusCode::OK, &Pending { pending: 0 }))
        }
        (&Method::GET, "clock") => Ok(to_json(StatusCode::OK, &Clock { now_ms: now })),
        (&Method::POST, "clock") => parse::<AdvanceClock>(body).map(|a| match advance_ms(a) {
            Ok(ms) => {
                state.advance(ms);
                to_json(
                    StatusCode::OK,
                    &Clock {
                        now_ms: now.saturating_add(ms),
                    },
                )
            }
            Err(e) => to_json(StatusCode::BAD_REQUEST, &e),
        }),
        (&Method::POST, "expire") => {
            parse::<Expire>(body).map(|e| to_json(StatusCode::OK, &state.expire(e)))
        }
        (&Method::GET, "held") => Ok(to_json(StatusCode::OK, &state.holds.list())),
        (&Method::POST, "release") => parse::<Release>(body).map(|r| {
            let released = match r.seq {
                Some(seq) => u64::from(state.holds.release(seq)),
                None => state.holds.release_all(),
            };
            to_json(StatusCode::OK, &Released { released })
        }),
        (
            _,
            "users" | "requests" | "stats" | "issued" | "faults" | "clock" | "expire" | "held"
            | "release",
        ) => Ok(error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")),
        _ => Ok(error(StatusCode::NOT_FOUND, "no such control endpoint")),
    };
    result.unwrap_or_else(|reply| reply)
}

/// Decodes `%XX` escapes in a path segment; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn call(state: &mut State, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let reply = handle(state, 5_000, &method, path, body.as_bytes());
        (reply.status, serde_json::from_slice(&reply.body).unwrap())
    }

    #[test]
    fn users_are_created_read_and_replaced() {
        let mut s = State::new(&[], &[]);
        let (st, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/users",
            r#"{"username":"a b","password":"p1"}"#,
        );
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(v["password"], "p1");
        for _ in 0..5 {
            assert!(s.login("a b", "bad", 0).is_err());
        }
        let (st, v) = call(&mut s, Method::GET, "/_emulator/users/a%20b", "");
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["locked"], true);
        assert_eq!(v["consecutive_failed_logins"], 5);
        assert_eq!(v["failed_logins"], 5);

        call(
            &mut s,
            Method::POST,
            "/_emulator/users",
            r#"{"username":"a b","password":"p2"}"#,
        );
        let (_, v) = call(&mut s, Method::GET, "/_emulator/users/a%20b", "");
        assert_eq!(v["locked"], false);
        assert_eq!(v["failed_logins"], 0);
        assert_eq!(v["password"], "p2");

        let (st, _) = call(&mut s, Method::GET, "/_emulator/users/nobody", "");
        assert_eq!(st, StatusCode::NOT_FOUND);
    }

    #[test]
    fn clock_advances_and_reports() {
        let mut s = State::new(&[], &[]);
        let (st, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/clock",
            r#"{"advance_secs":1.5}"#,
        );
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["now_ms"], 6_500);
        assert_eq!(s.now(5_000), 6_500);
        let (st, _) = call(
            &mut s,
            Method::POST,
            "/_emulator/clock",
            r#"{"advance_secs":-1}"#,
        );
        assert_eq!(st, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn bad_input_is_400_and_unknown_is_404() {
        let mut s = State::new(&[], &[]);
        assert_eq!(
            call(&mut s, Method::POST, "/_emulator/users", "{").0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(
                &mut s,
                Method::POST,
                "/_emulator/faults",
                r#"{"path":"/x"}"#
            )
            .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(&mut s, Method::GET, "/_emulator/nope", "").0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&mut s, Method::PUT, "/_emulator/stats", "").0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn faults_are_registered_and_cleared() {
        let mut s = State::new(&[], &[]);
        let (st, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/faults",
            r#"{"path":"/api/m2m/v1/session/login","status":429,"count":2,"headers":{"Retry-After":"1"}}"#,
        );
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(v["pending"], 2);
        let (st, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/faults",
            r#"{"path":"/p","status":400,"body":"{{field:nope|bogus}}"}"#,
        );
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("bogus"), "{v}");
        call(&mut s, Method::DELETE, "/_emulator/faults", "");
        assert!(s.faults.take("/api/m2m/v1/session/login").is_none());
    }

    #[test]
    fn expire_reports_what_it_ended() {
        let mut s = State::new(&[("c".into(), "s".into())], &[("u".into(), "p".into())]);
        s.issue_token("c", 0);
        s.login("u", "p", 0).unwrap();
        let (_, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/expire",
            r#"{"sessions":true}"#,
        );
        assert_eq!(v, json!({"tokens_expired": 0, "sessions_expired": 1}));
        let (_, v) = call(
            &mut s,
            Method::POST,
            "/_emulator/expire",
            r#"{"tokens":true}"#,
        );
        assert_eq!(v, json!({"tokens_expired": 1, "sessions_expired": 0}));
    }

    #[test]
    fn issued_lists_tokens_sessions_and_generated_passwords() {
        let mut s = State::new(&[("c".into(), "s".into())], &[("u".into(), "p".into())]);
        let token = s.issue_token("c", 0).access_token;
        let session = s.login("u", "p", 0).unwrap();
        let new = s.reset_password("u", "p").unwrap();
        let (st, v) = call(&mut s, Method::GET, "/_emulator/issued", "");
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            v,
            json!({"access_tokens": [token], "session_tokens": [session], "passwords": [new]})
        );
        assert_eq!(
            call(&mut s, Method::DELETE, "/_emulator/issued", "").0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn held_requests_are_listed_and_released_one_or_all() {
        let mut s = State::new(&[], &[]);
        s.holds.hold(4, "/api/m2m/v1/session/login");
        s.holds.hold(9, "/api/m2m/v1/session/logout");
        let (st, v) = call(&mut s, Method::GET, "/_emulator/held", "");
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            v,
            json!([{"seq": 4, "path": "/api/m2m/v1/session/login"}, {"seq": 9, "path": "/api/m2m/v1/session/logout"}])
        );
        let (_, v) = call(&mut s, Method::POST, "/_emulator/release", r#"{"seq":4}"#);
        assert_eq!(v, json!({"released": 1}));
        let (_, v) = call(&mut s, Method::POST, "/_emulator/release", r#"{"seq":4}"#);
        assert_eq!(v, json!({"released": 0}));
        let (_, v) = call(&mut s, Method::POST, "/_emulator/release", "{}");
        assert_eq!(v, json!({"released": 1}));
        assert!(s.holds.list().is_empty());
        let (st, _) = call(&mut s, Method::POST, "/_emulator/release", r#"{"sq":1}"#);
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _) = call(&mut s, Method::DELETE, "/_emulator/held", "");
        assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn percent_decoding_handles_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb%zz%"), "a/b%zz%");
    }
}
