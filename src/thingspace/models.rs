//! The JSON bodies the client sends and receives. Secrets stay in borrowed `&str` on the way out and are wrapped in
//! `SecretString` as soon as they come in; none of these types derives `Debug`.

use serde::{Deserialize, Serialize};

/// `POST /api/ts/v1/oauth2/token` answer.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    /// Seconds the token lives; ThingSpace says 3599. Kept loose because some gateways send it as a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenResponse {
    /// The token's lifetime in seconds, if the answer gave a usable one.
    pub fn expires_in(&self) -> Option<u64> {
        match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// `POST /api/m2m/v1/session/login` body.
#[derive(Serialize)]
pub(crate) struct LoginRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

/// `POST /api/m2m/v1/session/login` answer.
#[derive(Deserialize)]
pub(crate) struct LoginResponse {
    #[serde(rename = "sessionToken")]
    pub session_token: String,
}

/// `PUT /api/m2m/v1/session/password/actions/reset` body.
#[derive(Serialize)]
pub(crate) struct ResetRequest<'a> {
    #[serde(rename = "oldPassword")]
    pub old_password: &'a str,
}

/// `PUT /api/m2m/v1/session/password/actions/reset` answer. Optional so a 200 without it is told apart from garbage.
#[derive(Deserialize)]
pub(crate) struct ResetResponse {
    #[serde(rename = "newPassword", default)]
    pub new_password: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn bodies_use_the_documented_field_names() {
        let login = serde_json::to_value(LoginRequest {
            username: "u",
            password: "p",
        })
        .unwrap();
        assert_eq!(login, serde_json::json!({"username": "u", "password": "p"}));
        let reset = serde_json::to_value(ResetRequest { old_password: "p" }).unwrap();
        assert_eq!(reset, serde_json::json!({"oldPassword": "p"}));
        let r: ResetResponse = serde_json::from_str(r#"{"newPassword":"Wh0a1545a84d"}"#).unwrap();
        assert_eq!(r.new_password.as_deref(), Some("Wh0a1545a84d"));
        let r: ResetResponse = serde_json::from_str("{}").unwrap();
        assert!(r.new_password.is_none());
        let t: TokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3599,"scope":"x"}"#,
        )
        .unwrap();
        assert_eq!((t.access_token.as_str(), t.expires_in()), ("a", Some(3599)));
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"60"}"#).unwrap();
        assert_eq!(t.expires_in(), Some(60));
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(t.expires_in(), None);
        let s: LoginResponse = serde_json::from_str(r#"{"sessionToken":"bcce3ea6"}"#).unwrap();
        assert_eq!(s.session_token, "bcce3ea6");
    }
}
