//! Every path the emulator serves, named once: the emulated ThingSpace API and the control API.

/// OAuth2 token endpoint (`POST`, Basic app key:secret, form `grant_type=client_credentials`).
pub const TOKEN_PATH: &str = "/api/ts/v1/oauth2/token";
/// OAuth2 token revocation (`POST`, Basic auth, form `token=`).
pub const REVOKE_PATH: &str = "/api/ts/v1/oauth2/revoke";
/// M2M session log-in (`POST`, JSON `{"username","password"}`).
pub const LOGIN_PATH: &str = "/api/m2m/v1/session/login";
/// M2M password reset (`PUT`, `VZ-M2M-Token`, JSON `{"oldPassword"}`).
pub const RESET_PATH: &str = "/api/m2m/v1/session/password/actions/reset";
/// M2M session log-out (`POST`, `VZ-M2M-Token`).
pub const LOGOUT_PATH: &str = "/api/m2m/v1/session/logout";

/// The four API steps of a rotation, in the order a rotation makes them.
pub const ROTATION_STEPS: [&str; 4] = [TOKEN_PATH, LOGIN_PATH, RESET_PATH, LOGOUT_PATH];

/// Everything under this prefix is the control API, never logged as an API request.
pub const CONTROL_PREFIX: &str = "/_emulator/";
/// `POST` creates or replaces a user; `GET` lists them. `GET {USERS_PATH}/{name}` reads one.
pub const USERS_PATH: &str = "/_emulator/users";
/// `GET` the request log; `DELETE` clears it.
pub const REQUESTS_PATH: &str = "/_emulator/requests";
/// `GET` request counts per API step.
pub const STATS_PATH: &str = "/_emulator/stats";
/// `GET` every secret handed out since start.
pub const ISSUED_PATH: &str = "/_emulator/issued";
/// `POST` registers a fault; `GET` the pending count; `DELETE` clears them.
pub const FAULTS_PATH: &str = "/_emulator/faults";
/// `GET` emulator time; `POST` moves it forward.
pub const CLOCK_PATH: &str = "/_emulator/clock";
/// `POST` ends OAuth tokens and/or sessions now.
pub const EXPIRE_PATH: &str = "/_emulator/expire";
/// `GET` the requests waiting under a `hold` fault.
pub const HELD_PATH: &str = "/_emulator/held";
/// `POST` releases one held request (`{"seq": n}`) or all of them (`{}`).
pub const RELEASE_PATH: &str = "/_emulator/release";

/// The control path of one user, with the name percent-encoded so any user name round-trips.
pub fn user_path(username: &str) -> String {
    let mut out = format!("{USERS_PATH}/");
    for b in username.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_path_encodes_everything_but_unreserved_characters() {
        assert_eq!(user_path("svc-ci_1.x~"), "/_emulator/users/svc-ci_1.x~");
        assert_eq!(user_path("a b/c%"), "/_emulator/users/a%20b%2Fc%25");
    }
}
