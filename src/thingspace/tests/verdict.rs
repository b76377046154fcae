//! The core rule has one source: each failed send is classified once, where the retry loop first sees it, and the
//! verdict it gets there is the one the rotation error and the recorded effect report.

use thingspace_emulator::Fault;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::Effect;
use crate::thingspace::policy::fixtures::classified;
use crate::thingspace::testing::*;

/// The emulator's requests that were not answered 200 as themselves: the failed sends the client saw.
fn failed_sends(emu: &Emu) -> usize {
    emu.requests()
        .iter()
        .filter(|r| (r.status, r.outcome) != (Some(200), Outcome::Ok))
        .count()
}

#[tokio::test]
async fn each_failed_send_is_classified_once_and_its_verdict_reaches_the_error_and_the_effect() {
    const EXPIRED: &str = r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"expired"}"#;
    let cases: Vec<(&str, &str, Vec<Fault>, Option<Effect>)> = vec![
        (
            "a wrong password",
            "wrong",
            vec![],
            Some(Effect::LoginRejected),
        ),
        (
            "a 503 to the log-in",
            "Old-pass-1",
            vec![Fault::status(LOGIN, 503, "").after()],
            Some(Effect::LoginUnknown),
        ),
        (
            "a throttled log-in, then success",
            "Old-pass-1",
            vec![Fault::status(LOGIN, 429, "slow down").content_type("text/plain")],
            None,
        ),
        (
            "an expired session, a new log-in and the reset once more",
            "Old-pass-1",
            vec![Fault::status(RESET, 400, EXPIRED)],
            None,
        ),
        (
            "a reset whose answer is lost",
            "Old-pass-1",
            vec![Fault::drop_connection(RESET).after()],
            Some(Effect::ResetUnknown),
        ),
        (
            "a refused reset",
            "Old-pass-1",
            vec![Fault::status(
                RESET,
                404,
                r#"{"errorCode":"X","errorMessage":"no"}"#,
            )],
            Some(Effect::None),
        ),
        (
            "a bad token on the log-in, renewed, then success",
            "Old-pass-1",
            vec![Fault::status(
                LOGIN,
                401,
                r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
            )],
            None,
        ),
    ];
    for (name, tried, faults, want) in cases {
        let emu = Emu::start().await;
        emu.add("svc", "Old-pass-1");
        for fault in faults {
            emu.inject(fault);
        }
        let client = emu.client(5 * SECOND, Shutdown::new());
        let before = classified();
        let result = client.rotate("svc", &secret(tried)).await;
        emu.settle().await;
        let failed = failed_sends(&emu);
        assert!(failed > 0, "{name}: the case made no failed send");
        assert_eq!(classified() - before, failed, "{name}: classifications");
        match (result, want) {
            (Ok(_), None) => {}
            (Err(err), Some(effect)) => assert_eq!(err.effect(), effect, "{name}: {err}"),
            (other, want) => panic!("{name}: {:?} where {want:?} was expected", other.err()),
        }
    }
}

/// The translation to a rotation error reads the verdict the failure carries, never the bare error: a failure whose
/// carried verdict differs from what its error alone would give is reported by the carried one.
#[test]
fn the_rotation_error_follows_the_carried_verdict_not_the_bare_error() {
    use crate::thingspace::Call;
    use crate::thingspace::attempts::CallFailure;
    use crate::thingspace::error::{ApiError, Error, ErrorShape, TransportError};
    use crate::thingspace::network::Route;
    use crate::thingspace::policy::Verdict::{self, NotProcessed, Refused, Unknown};
    use crate::thingspace::rotate_error::{login_error, reset_error};

    let api = |status| {
        Error::Api(ApiError {
            status,
            code: "X".into(),
            message: String::new(),
            shape: ErrorShape::M2m,
        })
    };
    let wire = |maybe_sent| {
        Error::Transport(TransportError {
            maybe_sent,
            ..TransportError::default()
        })
    };
    let route = Route::default();
    let failure = |call, error, verdict| CallFailure {
        call,
        error,
        verdict,
    };
    // (call, error, what the error alone would give, the carried verdict, the effect reported)
    let rows: Vec<(Call, Error, Verdict, Verdict, Effect)> = vec![
        (
            Call::Login,
            api(500),
            Unknown,
            Refused,
            Effect::LoginRejected,
        ),
        (Call::Login, api(401), Refused, NotProcessed, Effect::None),
        (
            Call::Login,
            api(401),
            Refused,
            Unknown,
            Effect::LoginUnknown,
        ),
        (
            Call::Login,
            wire(false),
            NotProcessed,
            Unknown,
            Effect::LoginUnknown,
        ),
        (
            Call::Reset,
            api(400),
            Refused,
            Unknown,
            Effect::ResetUnknown,
        ),
        (Call::Reset, wire(true), Unknown, NotProcessed, Effect::None),
    ];
    for (call, error, alone, carried, effect) in rows {
        use crate::thingspace::policy::Symptom;
        assert_eq!(
            Symptom::of(&error, None).verdict(call),
            alone,
            "{call:?} {error:?}"
        );
        let err = match call {
            Call::Login => login_error("svc", failure(call, error.clone(), carried), &route),
            _ => reset_error("svc", failure(call, error.clone(), carried), &route),
        };
        assert_eq!(
            err.effect(),
            effect,
            "{call:?} {error:?} carried {carried:?}: {err}"
        );
    }
}
