//! Tests of the state machine with emulator time as a parameter: token hours, lock-out, sessions, resets, the log.

use super::*;

const MIN: u64 = 60 * 1000;

fn state() -> State {
    State::new(
        &[
            ("app".into(), "secret".into()),
            ("other".into(), "s2".into()),
        ],
        &[("alice".into(), "pw-alice".into())],
    )
}

#[test]
fn token_is_reused_within_its_hour_and_renewed_after() {
    let mut s = state();
    let t0 = 1_000_000;
    let first = s.issue_token("app", t0);
    assert!(first.minted);
    assert_eq!(first.expires_in, 3600);

    let again = s.issue_token("app", t0 + 59 * MIN + 30_000);
    assert_eq!(again.access_token, first.access_token);
    assert!(!again.minted);
    assert_eq!(again.expires_in, 30);

    // Another client gets its own token.
    let other = s.issue_token("other", t0);
    assert_ne!(other.access_token, first.access_token);

    let auth = format!("Bearer {}", first.access_token);
    assert_eq!(s.check_bearer(Some(&auth), t0 + 60 * MIN - 1), Ok(()));
    assert_eq!(
        s.check_bearer(Some(&auth), t0 + 60 * MIN),
        Err(BearerError::Invalid)
    );

    let next = s.issue_token("app", t0 + 60 * MIN);
    assert!(next.minted);
    assert_ne!(next.access_token, first.access_token);
    assert_eq!(
        s.check_bearer(Some(&auth), t0 + 60 * MIN),
        Err(BearerError::Invalid)
    );
    let next_auth = format!("bearer {}", next.access_token);
    assert_eq!(s.check_bearer(Some(&next_auth), t0 + 60 * MIN), Ok(()));
}

#[test]
fn bearer_header_missing_or_malformed_is_missing_credentials() {
    let s = state();
    for header in [
        None,
        Some(""),
        Some("Bearer"),
        Some("Bearer  "),
        Some("Basic abc"),
    ] {
        assert_eq!(
            s.check_bearer(header, 0),
            Err(BearerError::Missing),
            "{header:?}"
        );
    }
    assert_eq!(
        s.check_bearer(Some("Bearer nope"), 0),
        Err(BearerError::Invalid)
    );
}

#[test]
fn expire_tokens_invalidates_and_next_request_mints() {
    let mut s = state();
    let t = s.issue_token("app", 0);
    assert_eq!(s.expire_tokens(), 1);
    assert_eq!(
        s.check_bearer(Some(&format!("Bearer {}", t.access_token)), 1),
        Err(BearerError::Invalid)
    );
    let t2 = s.issue_token("app", 1);
    assert!(t2.minted);
    assert_ne!(t2.access_token, t.access_token);
}

#[test]
fn revoke_only_works_for_the_owning_client() {
    let mut s = state();
    let t = s.issue_token("app", 0);
    assert!(!s.revoke_token("other", &t.access_token));
    assert!(s.revoke_token("app", &t.access_token));
    assert!(s.issue_token("app", 1).minted);
}

#[test]
fn client_secret_must_match_exactly() {
    let s = state();
    assert!(s.client_secret_matches("app", "secret"));
    assert!(!s.client_secret_matches("app", "secret2"));
    assert!(!s.client_secret_matches("app", "Secret"));
    assert!(!s.client_secret_matches("nobody", "secret"));
}

#[test]
fn lockout_after_exactly_five_consecutive_failures() {
    let mut s = state();
    for i in 1..=4 {
        assert_eq!(
            s.login("alice", "wrong", 0),
            Err(LoginError::InvalidCredentials)
        );
        let u = s.user_view("alice").unwrap();
        assert_eq!(u.consecutive_failed_logins, i);
        assert!(!u.locked, "locked after only {i} failures");
    }
    assert_eq!(
        s.login("alice", "wrong", 0),
        Err(LoginError::InvalidCredentials)
    );
    assert!(s.user_view("alice").unwrap().locked);

    // The right password no longer helps.
    assert_eq!(s.login("alice", "pw-alice", 0), Err(LoginError::Locked));
    let u = s.user_view("alice").unwrap();
    assert_eq!(u.failed_logins, 6);
    assert_eq!(u.successful_logins, 0);
    let tried: Vec<(&str, bool)> = u
        .failed_login_attempts
        .iter()
        .map(|a| (a.password.as_str(), a.locked))
        .collect();
    let mut expected = vec![("wrong", false); 5];
    expected.push(("pw-alice", true));
    assert_eq!(tried, expected);

    // The control API unlocks by re-creating the user.
    s.put_user("alice", "pw-alice");
    assert!(s.login("alice", "pw-alice", 0).is_ok());
}

#[test]
fn a_successful_login_resets_the_consecutive_count() {
    let mut s = state();
    for _ in 0..4 {
        assert!(s.login("alice", "wrong", 0).is_err());
    }
    assert!(s.login("alice", "pw-alice", 0).is_ok());
    assert_eq!(s.user_view("alice").unwrap().consecutive_failed_logins, 0);
    for _ in 0..4 {
        assert!(s.login("alice", "wrong", 0).is_err());
    }
    let u = s.user_view("alice").unwrap();
    assert!(!u.locked);
    assert_eq!(u.failed_logins, 8);
    assert_eq!(u.successful_logins, 1);
}

#[test]
fn a_refused_log_in_counts_like_a_wrong_password_even_with_the_right_one() {
    let mut s = state();
    assert_eq!(
        s.refuse_login("alice", "pw-alice", 7),
        LoginError::InvalidCredentials
    );
    let u = s.user_view("alice").unwrap();
    assert_eq!((u.failed_logins, u.consecutive_failed_logins), (1, 1));
    assert_eq!(u.failed_login_attempts[0].password, "pw-alice");
    assert_eq!(u.failed_login_attempts[0].at_ms, 7);
    for _ in 0..4 {
        s.refuse_login("alice", "pw-alice", 8);
    }
    assert_eq!(
        s.refuse_login("alice", "pw-alice", 9),
        LoginError::Locked,
        "five refusals lock the user"
    );
    assert_eq!(
        s.refuse_login("nobody", "x", 9),
        LoginError::InvalidCredentials
    );
}

#[test]
fn a_shorter_token_lifetime_applies_to_tokens_minted_after_it() {
    let mut s = state();
    s.set_token_lifetime(2_000);
    let t = s.issue_token("app", 0);
    assert_eq!(t.expires_in, 2);
    let auth = format!("Bearer {}", t.access_token);
    assert_eq!(s.check_bearer(Some(&auth), 1_999), Ok(()));
    assert_eq!(
        s.check_bearer(Some(&auth), 2_000),
        Err(BearerError::Invalid)
    );
    assert!(s.issue_token("app", 2_000).minted);
}

#[test]
fn unknown_user_looks_like_a_wrong_password() {
    let mut s = state();
    assert_eq!(s.login("bob", "x", 0), Err(LoginError::InvalidCredentials));
}

#[test]
fn session_expires_after_twenty_idle_minutes_and_use_refreshes_it() {
    let mut s = state();
    let tok = s.login("alice", "pw-alice", 0).unwrap();
    assert!(is_guid(&tok));
    assert_eq!(s.use_session(Some(&tok), 20 * MIN), Ok("alice".into()));
    // Used at 20 min, so still alive at 40 min exactly.
    assert_eq!(
        s.use_session(Some(&tok.to_uppercase()), 40 * MIN),
        Ok("alice".into())
    );
    assert_eq!(
        s.use_session(Some(&tok), 60 * MIN + 1),
        Err(SessionError::Expired)
    );
    // Once expired it stays expired.
    assert_eq!(
        s.use_session(Some(&tok), 60 * MIN + 2),
        Err(SessionError::Expired)
    );
}

#[test]
fn session_header_errors_are_distinguished() {
    let mut s = state();
    assert_eq!(s.use_session(None, 0), Err(SessionError::Missing));
    assert_eq!(s.use_session(Some("  "), 0), Err(SessionError::Missing));
    assert_eq!(
        s.use_session(Some("not-a-guid"), 0),
        Err(SessionError::NotGuid)
    );
    assert_eq!(
        s.use_session(Some("bcce3ea6-0000-4000-8000-00000000000g"), 0),
        Err(SessionError::NotGuid)
    );
    assert_eq!(
        s.use_session(Some("bcce3ea6-0000-4000-8000-000000000000"), 0),
        Err(SessionError::Expired)
    );
}

#[test]
fn reset_changes_password_immediately() {
    let mut s = state();
    let tok = s.login("alice", "pw-alice", 0).unwrap();
    let user = s.use_session(Some(&tok), 1).unwrap();
    assert_eq!(
        s.reset_password(&user, "wrong"),
        Err(ResetError::WrongOldPassword)
    );
    assert_eq!(s.user_view("alice").unwrap().resets, 0);

    let new = s.reset_password(&user, "pw-alice").unwrap();
    assert_eq!(new.len(), 12);
    assert!(new.chars().all(|c| c.is_ascii_alphanumeric()));
    let u = s.user_view("alice").unwrap();
    assert_eq!(u.password, new);
    assert_eq!(u.resets, 1);

    assert_eq!(
        s.login("alice", "pw-alice", 2),
        Err(LoginError::InvalidCredentials)
    );
    assert!(s.login("alice", &new, 2).is_ok());
}

#[test]
fn logout_ends_the_session() {
    let mut s = state();
    let tok = s.login("alice", "pw-alice", 0).unwrap();
    s.use_session(Some(&tok), 1).unwrap();
    s.logout(&tok);
    assert_eq!(s.user_view("alice").unwrap().logouts, 1);
    assert_eq!(s.use_session(Some(&tok), 2), Err(SessionError::Expired));
}

#[test]
fn expire_sessions_ends_every_session() {
    let mut s = state();
    let tok = s.login("alice", "pw-alice", 0).unwrap();
    assert_eq!(s.expire_sessions(), 1);
    assert_eq!(s.use_session(Some(&tok), 1), Err(SessionError::Expired));
}

#[test]
fn clock_advances_emulator_time_only() {
    let mut s = state();
    assert_eq!(s.now(100), 100);
    s.advance(3_600_000);
    assert_eq!(s.now(100), 3_600_100);
}

#[test]
fn log_entries_survive_a_clear_by_seq_and_stats_count_paths() {
    let mut s = state();
    let a = s.log_start("POST", TOKEN_PATH, None, false, 0);
    s.log_entry(a).unwrap().effect = true;
    let b = s.log_start("POST", TOKEN_PATH, None, false, 0);
    let c = s.log_start("PUT", RESET_PATH, Some("ua".into()), true, 0);
    assert_eq!((a, b, c), (1, 2, 3));
    assert_eq!(s.log_entry(c).unwrap().outcome, Outcome::Fault);
    assert_eq!(
        s.stats(),
        Stats {
            token: 2,
            login: 0,
            reset: 1,
            logout: 0,
            tokens_issued: 1
        }
    );
    s.clear_log();
    assert!(s.log_entry(c).is_none());
    let d = s.log_start("POST", LOGIN_PATH, None, false, 0);
    assert_eq!(d, 4);
    assert!(s.log_entry(d).is_some());
    assert_eq!(s.stats().login, 1);
}

#[test]
fn issued_secrets_are_remembered_across_log_clears() {
    let mut s = state();
    let token = s.issue_token("app", 0).access_token;
    s.issue_token("app", 1);
    let session = s.login("alice", "pw-alice", 0).unwrap();
    let new = s.reset_password("alice", "pw-alice").unwrap();
    s.clear_log();
    s.put_user("alice", "other");
    assert_eq!(
        s.issued(),
        &Issued {
            access_tokens: vec![token],
            session_tokens: vec![session],
            passwords: vec![new],
        },
        "a reused token is listed once; nothing is forgotten"
    );
}

#[test]
fn random_values_have_the_documented_shapes() {
    for _ in 0..200 {
        let p = random_password();
        assert_eq!(p.len(), 12);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        let u = random_uuid();
        assert!(is_guid(&u));
        assert_eq!(u.as_bytes()[14], b'4');
    }
    assert_ne!(random_uuid(), random_uuid());
}
