//! Proof of every issued password (issue 25), through a real Terraform against the emulator, on both resources:
//! a good reset is verified by one more log-in and log-out (`verified_at`); a reset whose answer is not the password
//! ThingSpace set blocks with exactly one failed log-in and keeps the issued value; a verification answered 503
//! leaves the password stored with a warning, and the next apply verifies it without a second reset.

use crate::common::{
    Emulator, Fault, LOGIN_PATH, LOGOUT_PATH, REQUIRED_PROVIDERS, RESET_PATH, Workspace,
    assert_no_api_calls, flat, on_path, str_of,
};

const ADDR: &str = "thingspace_password_rotation.svc";
const USER: &str = "svc-verify";
const SEED: &str = "Seed-Verify-1";
const ALT: &str = "thingspace_alternating_password_rotation.pair";
const BLUE: &str = "svc-v-blue";
const GREEN: &str = "svc-v-green";
/// What a broken reset answer claims the new password is; ThingSpace set another.
const WRONG: &str = "Not-The-Issued-1";

fn single(extra: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"svc\" {{\n  username         = \"{USER}\"\n  current_password = \"{SEED}\"\n{extra}}}\n"
    )
}

fn pair(extra: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nresource \"thingspace_alternating_password_rotation\" \"pair\" {{\n  usernames = [\"{BLUE}\", \"{GREEN}\"]\n  current_passwords = {{\n    \"{BLUE}\"  = \"{SEED}\"\n    \"{GREEN}\" = \"{SEED}\"\n  }}\n{extra}}}\n"
    )
}

fn setup(users: &[&str]) -> (Emulator, Workspace) {
    let emu = Emulator::start();
    for u in users {
        emu.add_user(u, SEED);
    }
    let ws = Workspace::new(&emu);
    (emu, ws)
}

fn count(emu: &Emulator, path: &str) -> usize {
    on_path(&emu.requests(), path).len()
}

#[test]
fn a_good_reset_is_verified_by_one_more_log_in_on_both_resources() {
    let (emu, ws) = setup(&[USER]);
    ws.write("main.tf", &single(""));
    ws.apply();
    let r = ws.resource(ADDR);
    assert!(!str_of(&r, "verified_at").is_empty(), "{r}");
    assert_eq!(str_of(&r, "verified_at"), str_of(&r, "rotated_at"));
    // Log in, reset, log out; then the verification's log-in and log-out with the new password.
    assert_eq!(
        (
            count(&emu, LOGIN_PATH),
            count(&emu, RESET_PATH),
            count(&emu, LOGOUT_PATH)
        ),
        (2, 1, 2)
    );
    let user = emu.user(USER);
    assert_eq!((user.successful_logins, user.failed_logins), (2, 0));
    assert_eq!(str_of(&r, "password"), user.password);

    // Turned off: no verification log-in, and verified_at is null after the next rotation.
    emu.clear_requests();
    ws.write(
        "main.tf",
        &single("  verify_new_password = false\n  triggers = { n = \"2\" }\n"),
    );
    ws.apply();
    assert_eq!((count(&emu, LOGIN_PATH), count(&emu, LOGOUT_PATH)), (1, 1));
    assert!(ws.resource(ADDR)["verified_at"].is_null());

    let (emu, ws) = setup(&[BLUE, GREEN]);
    ws.write("main.tf", &pair(""));
    ws.apply();
    let r = ws.resource(ALT);
    assert!(!str_of(&r, "verified_at").is_empty(), "{r}");
    // Two resets, each followed by its verification.
    assert_eq!(
        (
            count(&emu, LOGIN_PATH),
            count(&emu, RESET_PATH),
            count(&emu, LOGOUT_PATH)
        ),
        (4, 2, 4)
    );
    for u in [BLUE, GREEN] {
        assert_eq!(emu.user(u).failed_logins, 0);
    }
}

/// The reset takes effect at ThingSpace but its answer names another password: the verification's log-in with the
/// answered value is refused (one failed log-in), the resource is blocked with a message that says ThingSpace rejected
/// the password it had just issued, the value is stored all the same, and nothing logs in with it again.
#[test]
fn a_reset_answering_a_wrong_password_blocks_after_exactly_one_failed_log_in() {
    let body = format!(r#"{{"newPassword":"{WRONG}"}}"#);
    let (emu, ws) = setup(&[USER]);
    ws.write("main.tf", &single(""));
    emu.fault(Fault::status(RESET_PATH, 200, &body).after());
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for want in [
        "ThingSpace rejected the password it had just issued for user \"svc-verify\"",
        "no further log-in is made with it automatically",
        "re-seed",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    assert!(
        !text.contains(WRONG),
        "the issued value is never shown: {out}"
    );
    assert_eq!(emu.user(USER).failed_logins, 1);
    let state = ws.state_file();
    assert!(state.contains(WRONG), "the issued value is stored");
    let r = ws.resource(ADDR);
    assert!(
        str_of(&r, "blocked_reason").contains("rejected the password it had just issued"),
        "{r}"
    );
    // Nothing logs in with it again: plans and applies refuse.
    emu.clear_requests();
    let again = ws.try_apply(&[]);
    assert!(flat(&again.combined()).contains("blocked"), "{again}");
    assert!(
        on_path(&emu.requests(), LOGIN_PATH).is_empty(),
        "{:?}",
        emu.requests()
    );
    assert_eq!(emu.user(USER).failed_logins, 1);

    // The alternating resource: the first user's answer is wrong; that user is blocked with its issued value kept,
    // the other user is not reset, and one failed log-in in all.
    let (emu, ws) = setup(&[BLUE, GREEN]);
    ws.write("main.tf", &pair(""));
    emu.fault(Fault::status(RESET_PATH, 200, &body).after());
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(
        text.contains("ThingSpace rejected the password it had just issued"),
        "{out}"
    );
    assert!(!text.contains(WRONG), "{out}");
    let failed: u64 = [BLUE, GREEN]
        .iter()
        .map(|u| emu.user(u).failed_logins)
        .sum();
    assert_eq!(failed, 1);
    assert_eq!(count(&emu, RESET_PATH), 1, "the second user is not reset");
    assert!(
        ws.state_file().contains(WRONG),
        "the issued value is stored"
    );
    assert!(str_of(&ws.resource(ALT), "blocked_reason").contains("had just issued"));
}

/// The verification's log-in is processed but answered 503: the rotation stands, a warning says the password is not
/// verified, and the next apply verifies it with one log-in and no reset.
#[test]
fn a_verification_answered_503_is_offered_again_without_a_second_reset() {
    let (emu, ws) = setup(&[USER]);
    ws.write("main.tf", &single(""));
    emu.fault(Fault::status(LOGIN_PATH, 503, "").after().skip(1));
    let out = ws.apply();
    let text = flat(&out.combined());
    assert!(
        text.contains("Warning: New password for user \"svc-verify\" not verified"),
        "{out}"
    );
    let r = ws.resource(ADDR);
    assert!(r["verified_at"].is_null(), "{r}");
    let password = str_of(&r, "password").to_owned();
    assert_eq!(password, emu.user(USER).password);

    emu.clear_requests();
    let plan = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan}");
    assert!(
        flat(&plan.combined()).contains("Verification planned for user \"svc-verify\""),
        "{plan}"
    );
    assert_no_api_calls(&emu, "the plan");
    ws.apply();
    assert_eq!(
        (
            count(&emu, LOGIN_PATH),
            count(&emu, RESET_PATH),
            count(&emu, LOGOUT_PATH)
        ),
        (1, 0, 1)
    );
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "password"), password, "no second reset");
    assert!(!str_of(&r, "verified_at").is_empty(), "{r}");
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
    assert_eq!(emu.user(USER).failed_logins, 0);

    // The alternating resource: the first user's verification gets the 503; the second user is reset and verified;
    // the next apply verifies the first user only.
    let (emu, ws) = setup(&[BLUE, GREEN]);
    ws.write("main.tf", &pair(""));
    emu.fault(Fault::status(LOGIN_PATH, 503, "").after().skip(1));
    let out = ws.apply();
    assert!(
        flat(&out.combined()).contains(&format!("New password for user \"{BLUE}\" not verified")),
        "{out}"
    );
    assert_eq!(count(&emu, RESET_PATH), 2);
    emu.clear_requests();
    ws.apply();
    let requests = emu.requests();
    let logins = on_path(&requests, LOGIN_PATH);
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].username.as_deref(), Some(BLUE));
    assert_eq!(count(&emu, RESET_PATH), 0, "no second reset");
    for u in [BLUE, GREEN] {
        assert_eq!(emu.user(u).failed_logins, 0);
    }
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}
