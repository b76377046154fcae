//! The rotation flow under every interleaving of outcomes on the token, log-in, reset and log-out calls: each request
//! draws one scripted outcome as a fault of the ThingSpace emulator, and every check reads what the emulator recorded
//! (what each request was told, whether it was processed, the user's failed log-ins, resets and password): nothing
//! that may have counted or taken effect is sent again, and the error's [`Effect`] tells the truth.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use secrecy::{ExposeSecret, SecretString};
use thingspace_emulator::Request;

use crate::shutdown::Shutdown;
use crate::thingspace::Effect;
use crate::thingspace::testing::{Emu, Fault, LOGIN, LOGOUT, Outcome, RESET, TOKEN};

/// What the emulator does with one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Ok,
    /// Refused as the service refuses a wrong credential, with the refusal's effect (a counted failed log-in).
    Refused,
    Throttled,
    /// The gateway's 401 900901 (bad bearer token), before the service.
    BadToken,
    Fail5xxBefore,
    Fail5xxAfter,
    DropBefore,
    DropAfter,
    /// The client gives up; the request takes effect later.
    Timeout,
    /// Processed, then a success answer replaced by an unreadable one (a refusal goes through as it is).
    Garbled,
    /// Reset and log-out only: the session expired.
    Expired,
    /// The provider is asked to stop while this request is on the wire, after it took effect.
    Stop,
}

fn steps(expired: bool) -> impl Strategy<Value = Vec<Step>> {
    use Step::*;
    let mut all = vec![
        Ok,
        Refused,
        Throttled,
        BadToken,
        Fail5xxBefore,
        Fail5xxAfter,
        DropBefore,
        DropAfter,
        Timeout,
        Garbled,
        Stop,
    ];
    if expired {
        all.push(Expired);
    }
    proptest::collection::vec(proptest::sample::select(all), 0..4)
}

#[derive(Clone, Debug)]
struct Interleaving {
    token: Vec<Step>,
    login: Vec<Step>,
    reset: Vec<Step>,
    logout: Vec<Step>,
    wrong_seed: bool,
}

const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);

fn fault_of(step: Step, path: &str) -> Fault {
    match step {
        // The emulator's no-op: a 1 ms wait, so that the next request draws the next step.
        Step::Ok => Fault::delay(path, 1),
        Step::Refused => Fault::refuse(path),
        Step::Throttled => Fault::status(path, 429, "slow down").content_type("text/plain"),
        Step::BadToken => Fault::status(
            path,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
        ),
        Step::Fail5xxBefore => {
            Fault::status(path, 503, "<html>Service Unavailable</html>").content_type("text/html")
        }
        Step::Fail5xxAfter => Fault::status(path, 504, "").after(),
        Step::DropBefore => Fault::drop_connection(path),
        Step::DropAfter => Fault::drop_connection(path).after(),
        Step::Timeout => Fault::delay(path, 0).late(2 * REQUEST_TIMEOUT.as_millis() as u64),
        Step::Garbled => Fault::status(path, 200, "<html>ok</html>")
            .content_type("text/html")
            .after()
            .on_success_only(),
        Step::Expired => Fault::status(
            path,
            400,
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"expired"}"#,
        ),
        Step::Stop => Fault::hold(path).after(),
    }
}

/// What the client was told about a request, from the emulator's record of it.
fn told(r: &Request) -> &'static str {
    let code = r.error_code.as_deref().unwrap_or("");
    match r.status {
        None => "no answer",
        Some(200..=299) if r.outcome == Outcome::Ok => "ok",
        Some(200..=299) => "garbled",
        Some(429) => "429",
        Some(401) if code == "900901" => "900901",
        Some(400) if code.ends_with("SessionToken.Expired") => "expired",
        Some(400 | 401) if !code.is_empty() => "refused",
        Some(_) => "other",
    }
}

/// Runs one rotation against the emulator with the scripted outcomes, then checks, from what the emulator recorded
/// and holds, that nothing was sent blindly and that the error's effect tells the truth.
async fn check_interleaving(
    case: Interleaving,
    seen: &Mutex<BTreeMap<String, usize>>,
) -> Result<(), TestCaseError> {
    const SEED: &str = "Seed-pw-1";
    let emu = Emu::start().await;
    emu.add("svc", SEED);
    for (path, steps) in [
        (TOKEN, &case.token),
        (LOGIN, &case.login),
        (RESET, &case.reset),
        (LOGOUT, &case.logout),
    ] {
        for step in steps {
            emu.inject(fault_of(*step, path));
        }
    }
    let tried = if case.wrong_seed { "Wrong-pw-1" } else { SEED };
    let shutdown = Shutdown::new();
    let client = emu.client(REQUEST_TIMEOUT, shutdown.clone());
    let tried_secret = SecretString::from(tried.to_owned());
    let rotation = client.rotate("svc", &tried_secret);
    // A `Stop` request waits at the emulator until the provider is asked to stop, then goes on.
    let stopper = async {
        loop {
            for held in emu.held() {
                shutdown.stop();
                emu.release(held.seq);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let result = tokio::select! {
        result = rotation => result,
        () = stopper => unreachable!("the stopper never ends"),
    };
    emu.settle().await;
    prop_assert_eq!(shutdown.critical_in_flight(), 0);

    let logins: Vec<&str> = emu.requests_to(LOGIN).iter().map(told).collect();
    let resets: Vec<&str> = emu.requests_to(RESET).iter().map(told).collect();
    let outcome = match &result {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("{:?}", e.effect()),
    };
    *seen.lock().unwrap().entry(outcome).or_default() += 1;
    let user = emu.account("svc");
    let (password, failed, applied) = (user.password.as_str(), user.failed_logins, user.resets);
    // Every failed log-in is one this rotation made, with the password it tried.
    prop_assert!(
        user.failed_login_attempts
            .iter()
            .all(|a| a.password == tried),
        "{:?}",
        user.failed_login_attempts
    );

    // I2: a log-in is sent again only after one that provably was not processed, or a successful one whose session
    // expired before the reset; a reset only after one that provably was not applied.
    for earlier in logins.iter().rev().skip(1) {
        prop_assert!(
            ["ok", "429", "900901"].contains(earlier),
            "a log-in followed a {} one: {:?}",
            earlier,
            logins
        );
    }
    prop_assert!(
        logins.iter().filter(|l| **l == "ok").count() <= 2,
        "{:?}",
        logins
    );
    for earlier in resets.iter().rev().skip(1) {
        prop_assert!(
            ["429", "900901", "expired"].contains(earlier),
            "a reset followed a {} one: {:?}",
            earlier,
            resets
        );
    }
    prop_assert!(resets.len() <= 3, "{:?}", resets);
    // I1 within one rotation: at most one failed log-in, and at most one reset applied.
    prop_assert!(failed <= 1, "{} failed log-ins: {:?}", failed, logins);
    prop_assert!(applied <= 1, "{} resets applied: {:?}", applied, resets);

    match &result {
        Ok(rotation) => {
            prop_assert_eq!(rotation.new_password.expose_secret(), password);
            prop_assert_eq!((applied, failed), (1, 0));
            prop_assert!(!case.wrong_seed);
        }
        Err(e) => {
            let last_login = logins.last().copied().unwrap_or("");
            match e.effect() {
                Effect::None => {
                    prop_assert_eq!(password, SEED, "{}", e);
                    prop_assert_eq!((failed, applied), (0, 0), "{}", e);
                }
                Effect::LoginRejected => {
                    prop_assert_eq!(last_login, "refused", "{}", e);
                    prop_assert_eq!((failed, applied), (1, 0), "{}", e);
                    prop_assert_eq!(password, SEED);
                }
                Effect::UserLocked => {
                    // The model's refusals carry no "locked" code, so a locked user can only be a misreading.
                    prop_assert!(false, "no user is locked in this model: {}", e);
                }
                Effect::LoginUnknown => {
                    prop_assert!(
                        !["ok", "refused", "429", "900901"].contains(&last_login),
                        "{} {}",
                        last_login,
                        e
                    );
                    prop_assert_eq!(applied, 0, "{}", e);
                    prop_assert_eq!(password, SEED);
                }
                Effect::ResetUnknown => {
                    prop_assert!(!case.wrong_seed);
                    prop_assert_eq!(failed, 0, "{}", e);
                    let last_reset = resets.last().copied().unwrap_or("");
                    prop_assert!(
                        !["", "429", "900901", "expired", "refused"].contains(&last_reset),
                        "{} {}",
                        last_reset,
                        e
                    );
                }
            }
            // Whatever changed at ThingSpace is reported: a new password that was not returned is never silent.
            if password != SEED {
                prop_assert_eq!(e.effect(), Effect::ResetUnknown, "{}", e);
            }
            if failed > 0 {
                prop_assert!(
                    matches!(e.effect(), Effect::LoginRejected | Effect::LoginUnknown),
                    "{}",
                    e
                );
            }
        }
    }
    Ok(())
}

#[test]
fn every_interleaving_of_outcomes_keeps_the_lock_out_and_lost_password_promises() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let input = (
        steps(false),
        steps(false),
        steps(true),
        steps(true),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(token, login, reset, logout, wrong_seed)| Interleaving {
            token,
            login,
            reset,
            logout,
            wrong_seed,
        });
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 96,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, b"thingspace-rotation-interleaving"),
    );
    let seen = Mutex::default();
    let result = runner.run(&input, |case| {
        runtime.block_on(check_interleaving(case, &seen))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The sample reaches every kind of ending, so none of the checks above is vacuous.
    let seen = seen.into_inner().unwrap();
    for ending in [
        "Ok",
        "None",
        "LoginRejected",
        "LoginUnknown",
        "ResetUnknown",
    ] {
        assert!(
            seen.get(ending).copied().unwrap_or(0) >= 3,
            "{ending} too rare: {seen:?}"
        );
    }
}
