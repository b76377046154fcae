//! The API's four calls: the one [`Call`] enumeration every layer names them by, their paths, and the URLs built
//! from `base_url`.

use std::fmt;

use url::Url;

/// The session-token header of the M2M API.
pub(super) const SESSION_HEADER: &str = "VZ-M2M-Token";

/// One of the four calls a rotation makes. The policy, the log, the answer reader and the rotation error all name
/// a call by this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `POST /api/ts/v1/oauth2/token`: the OAuth access token.
    Token,
    /// `POST /api/m2m/v1/session/login`: the session log-in.
    Login,
    /// `PUT /api/m2m/v1/session/password/actions/reset`: the password reset.
    Reset,
    /// `POST /api/m2m/v1/session/logout`: the session log-out.
    Logout,
}

impl Call {
    /// The call's name in logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Token => "token",
            Call::Login => "log-in",
            Call::Reset => "reset",
            Call::Logout => "log-out",
        }
    }

    /// The path appended to `base_url`.
    pub fn path(self) -> &'static str {
        match self {
            Call::Token => "/api/ts/v1/oauth2/token",
            Call::Login => "/api/m2m/v1/session/login",
            Call::Reset => "/api/m2m/v1/session/password/actions/reset",
            Call::Logout => "/api/m2m/v1/session/logout",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four URLs of one `base_url`, built once, in the order of [`Call`].
pub(super) struct Endpoints([Url; 4]);

impl Endpoints {
    pub fn new(base: &Url) -> Endpoints {
        Endpoints(
            [Call::Token, Call::Login, Call::Reset, Call::Logout].map(|c| endpoint(base, c.path())),
        )
    }

    pub fn url(&self, call: Call) -> Url {
        self.0[call as usize].clone()
    }
}

/// `base` with `path` appended to whatever path prefix it has, with or without a trailing slash.
fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::thingspace::config::validate_base_url;

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
            assert_eq!(endpoint(&base, Call::Login.path()).as_str(), want);
        }
    }
}
