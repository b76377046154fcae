//! Acceptance tests for `thingspace_alternating_password_rotation`: a real Terraform drives the provider binary
//! against the ThingSpace emulator. Each test asserts on Terraform's state and on what the emulator recorded: which
//! user each log-in and reset acted for, the users' passwords, failed log-ins per password, and issued passwords.
//!
//! The evidence of issue 11 (three rotations, and in each the user active before it had no reset) is printed by
//! `three_rotations_alternate_and_never_reset_the_active_user`: run it with `-- --nocapture`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::{
    DEFAULT_CLIENT_SECRET, Emulator, Fault, LOGIN_PATH, REQUIRED_PROVIDERS, RESET_PATH, Request,
    TfOutput, Workspace, assert_no_api_calls, encodings, flat, planned_actions, str_of,
};
use serde_json::Value;

const ADDR: &str = "thingspace_alternating_password_rotation.api";
const BLUE: &str = "svc-blue";
const GREEN: &str = "svc-green";
const SEED_BLUE: &str = "Seed-Blue-1";
const SEED_GREEN: &str = "Seed-Green-1";
/// The provider's per-request limit in the fault tests; a late effect lands after it.
const TIMEOUT: &str = "2s";
const LATE_MS: u64 = 3_000;

/// A workspace with both users at their seeds, and the resource with `body` inside its block.
fn setup(body: &str) -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user(BLUE, SEED_BLUE);
    emu.add_user(GREEN, SEED_GREEN);
    let ws = Workspace::new(&emu);
    write(&ws, body, "");
    (emu, ws)
}

fn seeds(blue: &str, green: &str) -> String {
    format!(
        "  current_passwords = {{\n    \"{BLUE}\" = \"{blue}\"\n    \"{GREEN}\" = \"{green}\"\n  }}\n"
    )
}

/// Writes `main.tf`: the resource with `body`, and `extra` after it. Without the verification log-ins: this file pins
/// the resets and their fault rules by position (verification.rs covers the verification).
fn write(ws: &Workspace, body: &str, extra: &str) {
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nprovider \"thingspace\" {{\n  request_timeout = \"{TIMEOUT}\"\n}}\n\nresource \
\"thingspace_alternating_password_rotation\" \"api\" {{\n  usernames = [\"{BLUE}\", \"{GREEN}\"]\n  verify_new_password = false\n{body}\n}}\n{extra}"
        ),
    );
}

/// The users the successful resets in `reqs` acted for, in order.
fn reset_users(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.path == RESET_PATH && r.status == Some(200))
        .map(|r| r.username.clone().unwrap_or_default())
        .collect()
}

/// Every user a reset or log-in request in `reqs` acted for, for the "never touched" checks.
fn touched(reqs: &[Request], path: &str, user: &str) -> usize {
    reqs.iter()
        .filter(|r| r.path == path && r.username.as_deref() == Some(user))
        .count()
}

/// The (user, password) pairs every object in state holds, tainted and deposed ones included.
fn passwords_in_state(ws: &Workspace) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, o) in ws.objects() {
        for role in ["active", "standby"] {
            if let (Some(u), Some(p)) = (
                o[format!("{role}_username")].as_str(),
                o[format!("{role}_password")].as_str(),
            ) {
                out.push((u.to_owned(), p.to_owned()));
            }
        }
    }
    out
}

/// The invariants of issue 9 per user, after any command: at most one failed log-in per password, never locked, and
/// a password ThingSpace generated is in state for that user unless a `blocked_reason` naming it says a reset may
/// have taken effect.
fn check_invariants(emu: &Emulator, ws: &Workspace, ctx: &str) {
    let issued = emu.issued().passwords;
    let held = passwords_in_state(ws);
    let reasons: Vec<String> = ws
        .objects()
        .into_iter()
        .filter_map(|(_, o)| o["blocked_reason"].as_str().map(str::to_owned))
        .collect();
    for name in [BLUE, GREEN] {
        let user = emu.user(name);
        let mut per_password: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &user.failed_login_attempts {
            *per_password.entry(f.password.as_str()).or_default() += 1;
        }
        assert!(
            per_password.values().all(|n| *n <= 1) && !user.locked,
            "{ctx}: user {name}: failed log-ins per password {per_password:?}, locked {}",
            user.locked
        );
        if issued.contains(&user.password) {
            let in_state = held.iter().any(|(u, p)| u == name && *p == user.password);
            let explained = reasons.iter().any(|r| {
                r.starts_with(&format!("User \"{name}\"")) && r.contains("may have taken effect")
            });
            assert!(
                in_state || explained,
                "{ctx}: user {name}'s password ThingSpace generated is in no state, and no blocked_reason says a \
reset may have taken effect: {reasons:?}"
            );
        }
    }
}

/// I5: no seed, generated password, client secret or token, in any encoding, in a command's output.
fn assert_no_secret_shown(emu: &Emulator, out: &TfOutput, ctx: &str) {
    let issued = emu.issued();
    let mut secrets = vec![
        SEED_BLUE.to_owned(),
        SEED_GREEN.to_owned(),
        DEFAULT_CLIENT_SECRET.to_owned(),
    ];
    secrets.extend(issued.passwords);
    secrets.extend(issued.access_tokens);
    secrets.extend(issued.session_tokens);
    let text = out.combined();
    for secret in &secrets {
        for form in encodings(secret) {
            assert!(
                !text.contains(&form),
                "{ctx}: a secret ({} chars) appears in the output",
                secret.len()
            );
        }
    }
}

#[test]
fn create_resets_both_users_in_order_and_plans_nothing_more() {
    let (emu, ws) = setup(&seeds(SEED_BLUE, SEED_GREEN));
    ws.apply();
    let reqs = emu.requests();
    assert_eq!(reset_users(&reqs), vec![BLUE, GREEN], "usernames[0] first");
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "id"), "svc-blue,svc-green");
    assert_eq!(str_of(&r, "active_username"), GREEN);
    assert_eq!(str_of(&r, "standby_username"), BLUE);
    assert_eq!(str_of(&r, "active_password"), emu.user(GREEN).password);
    assert_eq!(str_of(&r, "standby_password"), emu.user(BLUE).password);
    assert_ne!(emu.user(BLUE).password, SEED_BLUE);
    assert!(r["blocked_reason"].is_null());
    assert!(str_of(&r, "rotated_at").ends_with('Z'));
    for name in [BLUE, GREEN] {
        assert_eq!(emu.user(name).resets, 1);
        assert_eq!(emu.user(name).failed_logins, 0);
    }

    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "no changes expected:\n{out}");
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "plan");
}

#[test]
fn three_rotations_alternate_and_never_reset_the_active_user() {
    let body = |n: u32| {
        format!(
            "{}  triggers = {{ n = \"{n}\" }}\n",
            seeds(SEED_BLUE, SEED_GREEN)
        )
    };
    let (emu, ws) = setup(&body(0));
    ws.apply();
    println!(
        "issue 11 evidence: the users of the successful resets in each apply, from the emulator's request log"
    );
    println!(
        "  create: resets {:?}; active {GREEN}, standby {BLUE}",
        reset_users(&emu.requests())
    );
    for n in 1..=3 {
        let before = ws.resource(ADDR);
        let was_active = str_of(&before, "active_username").to_owned();
        let was_active_pw = str_of(&before, "active_password").to_owned();
        let was_standby = str_of(&before, "standby_username").to_owned();
        write(&ws, &body(n), "");
        emu.clear_requests();

        let plan = ws.plan_json(&[]);
        assert_no_api_calls(&emu, "plan");
        assert_eq!(planned_actions(&plan, ADDR), vec!["update"], "in place");
        let change = plan["resource_changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["address"] == ADDR))
            .map(|c| c["change"].clone())
            .unwrap_or(Value::Null);
        assert_eq!(change["after_unknown"]["active_username"], true);
        assert_eq!(change["after_unknown"]["active_password"], true);
        ws.apply_with(&["tfplan"]);

        let reqs = emu.requests();
        let after = ws.resource(ADDR);
        assert_eq!(
            reset_users(&reqs),
            vec![was_standby.clone()],
            "rotation {n}"
        );
        assert_eq!(touched(&reqs, RESET_PATH, &was_active), 0, "rotation {n}");
        assert_eq!(touched(&reqs, LOGIN_PATH, &was_active), 0, "rotation {n}");
        assert_eq!(str_of(&after, "active_username"), was_standby);
        assert_eq!(str_of(&after, "standby_username"), was_active);
        assert_eq!(str_of(&after, "standby_password"), was_active_pw);
        assert_eq!(
            str_of(&after, "active_password"),
            emu.user(&was_standby).password
        );
        // The emulator's log-in checks a user's password against this: the previously active pair still logs in.
        assert_eq!(emu.user(&was_active).password, was_active_pw);
        assert_eq!(emu.user(&was_active).failed_logins, 0);
        println!(
            "  rotation {n}: active before {was_active}; resets {:?}; {was_active} resets in this apply: {}; \
log-ins as {was_active}: {}; {was_active}'s password unchanged at ThingSpace: {}; active now {}",
            reset_users(&reqs),
            touched(&reqs, RESET_PATH, &was_active),
            touched(&reqs, LOGIN_PATH, &was_active),
            emu.user(&was_active).password == was_active_pw,
            str_of(&after, "active_username"),
        );
    }
    assert_eq!(emu.user(BLUE).resets, 3, "create, rotations 1 and 3");
    assert_eq!(emu.user(GREEN).resets, 2, "create, rotation 2");
}

#[test]
fn a_rotation_that_falls_due_is_planned_with_refresh_false_and_applied_from_a_saved_plan() {
    let body = format!(
        "{}  rotation_period = \"1h\"\n",
        seeds(SEED_BLUE, SEED_GREEN)
    );
    let (emu, mut ws) = setup(&body);
    ws.apply();
    let before = ws.resource(ADDR);
    ws.set_clock_offset(3600 + 300);
    emu.clear_requests();
    let plan = ws.plan_json(&["-refresh=false"]);
    assert_no_api_calls(&emu, "plan -refresh=false");
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.apply_with(&["tfplan"]);
    let after = ws.resource(ADDR);
    assert_eq!(reset_users(&emu.requests()), vec![BLUE]);
    assert_eq!(str_of(&after, "active_username"), BLUE);
    assert_eq!(
        str_of(&after, "standby_password"),
        str_of(&before, "active_password")
    );
    assert_eq!(str_of(&after, "standby_password"), emu.user(GREEN).password);
    // Nothing more is due.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "plan");
}

#[test]
fn import_then_apply_rotates_both_users_with_their_seeds() {
    let (emu, ws) = setup("");
    let out = ws.tf(&["import", "-input=false", ADDR, "svc-blue,svc-green"]);
    out.assert_success();
    assert_no_api_calls(&emu, "import");
    let r = ws.resource(ADDR);
    assert!(r["active_password"].is_null());

    // Without seeds the plan names the user that needs one, before any call.
    let out = ws.tf(&["plan", "-input=false"]);
    assert!(!out.success());
    assert!(
        flat(&out.combined()).contains("No password to log in with"),
        "{out}"
    );
    let bad = ws.tf(&[
        "import",
        "-input=false",
        "thingspace_alternating_password_rotation.x",
        "svc-blue",
    ]);
    assert!(!bad.success());
    assert_no_api_calls(&emu, "a failed plan");

    write(&ws, &seeds(SEED_BLUE, SEED_GREEN), "");
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.apply_with(&["tfplan"]);
    assert_eq!(reset_users(&emu.requests()), vec![BLUE, GREEN]);
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "active_password"), emu.user(GREEN).password);
    assert_eq!(str_of(&r, "standby_password"), emu.user(BLUE).password);
}

#[test]
fn a_user_in_both_resource_types_is_a_plan_error() {
    let (emu, ws) = setup(&seeds(SEED_BLUE, SEED_GREEN));
    write(
        &ws,
        &seeds(SEED_BLUE, SEED_GREEN),
        &format!(
            "\nresource \"thingspace_password_rotation\" \"single\" {{\n  username = \"{GREEN}\"\n  \
current_password = \"{SEED_GREEN}\"\n}}\n"
        ),
    );
    let out = ws.tf(&["plan", "-input=false"]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(text.contains("Duplicate ThingSpace user name"), "{out}");
    assert!(text.contains("svc-green"), "{out}");
    let out = ws.try_apply(&[]);
    assert!(!out.success());
    assert_no_api_calls(&emu, "a plan with a duplicate user");
}

#[test]
fn replace_and_taint_log_in_with_the_stored_passwords_not_the_seeds() {
    let (emu, ws) = setup(&seeds(SEED_BLUE, SEED_GREEN));
    ws.apply();
    for how in [vec!["-replace", ADDR], vec![]] {
        if how.is_empty() {
            ws.tf(&["taint", ADDR]).assert_success();
        }
        let before = ws.resource(ADDR);
        emu.clear_requests();
        let out = ws.apply_with(&how);
        assert_no_secret_shown(&emu, &out, "replace");
        assert_eq!(reset_users(&emu.requests()), vec![BLUE, GREEN], "{how:?}");
        for name in [BLUE, GREEN] {
            assert_eq!(
                emu.user(name).failed_logins,
                0,
                "{how:?}: no log-in with a stale seed"
            );
        }
        let after = ws.resource(ADDR);
        assert_ne!(
            str_of(&after, "active_password"),
            str_of(&before, "active_password")
        );
        assert_eq!(str_of(&after, "active_password"), emu.user(GREEN).password);
        assert_eq!(str_of(&after, "standby_password"), emu.user(BLUE).password);
    }
}

#[test]
fn replace_with_create_before_destroy_stops_before_any_log_in() {
    let lifecycle = "  lifecycle {\n    create_before_destroy = true\n  }\n";
    let (emu, ws) = setup(&format!("{}{lifecycle}", seeds(SEED_BLUE, SEED_GREEN)));
    ws.apply();
    let before = passwords_in_state(&ws);
    emu.clear_requests();
    let out = ws.try_apply(&["-replace", ADDR]);
    assert!(!out.success(), "{out}");
    assert!(
        flat(&out.combined()).contains("inconsistent final plan"),
        "{out}"
    );
    let logins = emu
        .requests()
        .iter()
        .filter(|r| r.path == LOGIN_PATH)
        .count();
    assert_eq!(logins, 0, "no log-in with the stale seeds");
    for (name, password) in &before {
        assert_eq!(&emu.user(name).password, password);
        assert!(passwords_in_state(&ws).contains(&(name.clone(), password.clone())));
    }
}

/// Where a fault lands: which request to `path` of the apply (0-based), and which apply.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The create's first user (blue): its log-in and reset are the first ones.
    CreateFirst,
    /// The create's second user (green): the second log-in and reset.
    CreateSecond,
    /// A scheduled rotation after a healthy create: the standby (blue).
    Rotation,
}

#[derive(Clone, Copy, Debug)]
enum Class {
    LoginStatus5xx,
    ResetStatus5xxAfter,
    ResetDroppedAfter,
    ResetTimeoutLateEffect,
    KillDuringReset,
}

impl Class {
    fn fault(self) -> Fault {
        let gateway = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        match self {
            Class::LoginStatus5xx => {
                Fault::status(LOGIN_PATH, 503, gateway).content_type("text/html")
            }
            Class::ResetStatus5xxAfter => Fault::status(RESET_PATH, 502, gateway)
                .content_type("text/html")
                .after(),
            Class::ResetDroppedAfter => Fault::drop_connection(RESET_PATH).after(),
            Class::ResetTimeoutLateEffect => Fault::delay(RESET_PATH, LATE_MS).late(LATE_MS),
            Class::KillDuringReset => Fault::delay(RESET_PATH, 2_500),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Class::LoginStatus5xx => LOGIN_PATH,
            _ => RESET_PATH,
        }
    }
}

/// Runs one fault case: the faulted apply, then recovery as a user would do it (apply again; re-seed a blocked user
/// with the password support tells them), checking the invariants after every command.
fn fault_case(target: Target, class: Class) {
    let ctx = format!("{target:?} × {class:?}");
    let body = |n: u32, blue: &str, green: &str| {
        format!("{}  triggers = {{ n = \"{n}\" }}\n", seeds(blue, green))
    };
    let (emu, ws) = setup(&body(0, SEED_BLUE, SEED_GREEN));
    if let Target::Rotation = target {
        ws.apply();
        write(&ws, &body(1, SEED_BLUE, SEED_GREEN), "");
    }
    let before = emu.requests().len();
    // A fault is taken by the next request to its path: a pass-through fault first lets the first user's through.
    if let Target::CreateSecond = target {
        emu.fault(Fault::delay(class.path(), 1));
    }
    emu.fault(class.fault());
    let out = match class {
        Class::KillDuringReset => {
            let mut running = ws.spawn(&["apply", "-auto-approve", "-input=false"], &[]);
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let reqs = emu.requests();
                let held = reqs[before..]
                    .iter()
                    .filter(|r| r.path == RESET_PATH && r.fault);
                let wanted = if let Target::CreateSecond = target {
                    2
                } else {
                    1
                };
                if held.count() >= wanted || Instant::now() > deadline || !running.running() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            running.kill();
            let out = running.wait();
            std::thread::sleep(Duration::from_millis(3_000));
            out
        }
        Class::ResetTimeoutLateEffect => {
            let out = ws.try_apply(&[]);
            std::thread::sleep(Duration::from_millis(LATE_MS + 300));
            out
        }
        _ => ws.try_apply(&[]),
    };
    let killed = matches!(class, Class::KillDuringReset);
    assert!(!out.combined().contains("panicked"), "{ctx}: {out}");
    assert_no_secret_shown(&emu, &out, &ctx);
    if !killed {
        assert!(!out.success(), "{ctx}: the faulted apply must fail:\n{out}");
        check_invariants(&emu, &ws, &format!("{ctx}, faulted apply"));
        if let Target::CreateSecond = target {
            // The first user's new password is in the (tainted) state, and the error says so.
            let blue = emu.user(BLUE).password;
            assert!(
                passwords_in_state(&ws).contains(&(BLUE.to_owned(), blue)),
                "{ctx}: the first user's new password is not in state"
            );
            assert!(
                flat(&out.combined()).contains("new passwords are stored in state"),
                "{ctx}: {out}"
            );
        }
    } else {
        // kill -9 of Terraform discards what it had not written; ThingSpace's side still holds I1.
        for name in [BLUE, GREEN] {
            let u = emu.user(name);
            assert!(u.failed_logins <= 1 && !u.locked, "{ctx}: {name}: {u:?}");
        }
    }
    emu.clear_faults();

    // Recovery: apply again; when a user is blocked, re-seed with the passwords at ThingSpace, as support would
    // tell them, and a new current_passwords_wo_version (a re-seed may reuse a value), and apply once more.
    let mut last: Option<TfOutput> = None;
    for attempt in 0..3 {
        let out = ws.try_apply(&[]);
        assert_no_secret_shown(&emu, &out, &ctx);
        if !killed {
            check_invariants(&emu, &ws, &format!("{ctx}, recovery apply {attempt}"));
        }
        if out.success() {
            last = Some(out);
            break;
        }
        let text = flat(&out.combined());
        assert!(
            text.contains("re-seed") || text.contains("No password"),
            "{ctx}: a refusal without the way out:\n{out}"
        );
        let blue = emu.user(BLUE).password;
        let green = emu.user(GREEN).password;
        let reseed = format!(
            "{}  current_passwords_wo_version = {}\n",
            body(0, &blue, &green),
            attempt + 1
        );
        write(&ws, &reseed, "");
        last = Some(out);
    }
    let last = last.unwrap();
    assert!(last.success(), "{ctx}: no recovery:\n{last}");
    let r = ws.resource(ADDR);
    for name in [BLUE, GREEN] {
        let u = emu.user(name);
        assert!(!u.locked, "{ctx}: {name} locked");
        assert!(
            passwords_in_state(&ws).contains(&(name.to_owned(), u.password.clone())),
            "{ctx}: {name}'s password at ThingSpace is not in state after recovery: {r}"
        );
        let mut per_password: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &u.failed_login_attempts {
            *per_password.entry(f.password.as_str()).or_default() += 1;
        }
        assert!(
            per_password.values().all(|n| *n <= 1),
            "{ctx}: {name}: {per_password:?}"
        );
    }
    assert!(r["blocked_reason"].is_null(), "{ctx}: {r}");
}

#[test]
fn faults_on_the_first_reset_of_a_create_lose_no_password() {
    for class in [
        Class::LoginStatus5xx,
        Class::ResetStatus5xxAfter,
        Class::ResetDroppedAfter,
        Class::ResetTimeoutLateEffect,
        Class::KillDuringReset,
    ] {
        fault_case(Target::CreateFirst, class);
    }
}

#[test]
fn faults_on_the_second_reset_of_a_create_keep_the_first_password() {
    for class in [
        Class::LoginStatus5xx,
        Class::ResetStatus5xxAfter,
        Class::ResetDroppedAfter,
        Class::ResetTimeoutLateEffect,
        Class::KillDuringReset,
    ] {
        fault_case(Target::CreateSecond, class);
    }
}

#[test]
fn faults_on_the_rotation_reset_lose_no_password() {
    for class in [
        Class::LoginStatus5xx,
        Class::ResetStatus5xxAfter,
        Class::ResetDroppedAfter,
        Class::ResetTimeoutLateEffect,
        Class::KillDuringReset,
    ] {
        fault_case(Target::Rotation, class);
    }
}

/// A re-seed of both users whose second reset had no effect at ThingSpace (log-ins throttled until the provider
/// gave up) is still to do for that user: the next apply logs it in with its new seed, not with the stored password
/// the re-seed replaced (which ThingSpace would reject: one failed log-in toward the lock-out).
#[test]
fn a_reseed_whose_second_reset_had_no_effect_is_still_pending_for_that_user() {
    let body = |n: u32, blue: &str, green: &str| {
        format!("{}  triggers = {{ n = \"{n}\" }}\n", seeds(blue, green))
    };
    let (emu, ws) = setup(&body(0, SEED_BLUE, SEED_GREEN));
    ws.apply();
    // Both passwords changed outside Terraform; the user re-seeds both with what support gave them.
    emu.add_user(BLUE, "Blue-From-Support");
    emu.add_user(GREEN, "Green-From-Support");
    write(&ws, &body(0, "Blue-From-Support", "Green-From-Support"), "");
    // The first log-in (blue, the standby) passes; every log-in after it is throttled.
    emu.fault(Fault::delay(LOGIN_PATH, 1));
    emu.fault(
        Fault::status(LOGIN_PATH, 429, "{\"error\":\"throttled\"}")
            .header("Retry-After", "0")
            .count(10),
    );
    let out = ws.try_apply(&[]);
    out.assert_failure();
    assert!(
        flat(&out.combined()).contains("Rotation incomplete"),
        "{out}"
    );
    emu.clear_faults();
    assert_eq!(emu.user(GREEN).failed_logins, 0);
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "active_username"), BLUE);
    assert_eq!(str_of(&r, "active_password"), emu.user(BLUE).password);

    // The next rotation re-seeds green with its new seed.
    write(&ws, &body(1, "Blue-From-Support", "Green-From-Support"), "");
    ws.apply();
    let green = emu.user(GREEN);
    assert_eq!(
        green.failed_logins, 0,
        "never the stored, replaced password"
    );
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "active_username"), GREEN);
    assert_eq!(str_of(&r, "active_password"), green.password);
    assert_eq!(str_of(&r, "standby_password"), emu.user(BLUE).password);
}

// ----- Issue 20: re-seeds that never log in with a stale seed nor drop a generated password -----

/// The resource seeded write-only from `var.seeds` (a map, TF_VAR_seeds), with `extra` in its block.
fn write_only(ws: &Workspace, version: u32, extra: &str) {
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nprovider \"thingspace\" {{\n  request_timeout = \"{TIMEOUT}\"\n}}\n\nvariable \
\"seeds\" {{\n  type      = map(string)\n  sensitive = true\n  ephemeral = true\n}}\n\nresource \
\"thingspace_alternating_password_rotation\" \"api\" {{\n  usernames                    = [\"{BLUE}\", \"{GREEN}\"]\n  \
current_passwords_wo         = var.seeds\n  current_passwords_wo_version = {version}\n  verify_new_password          = false\n{extra}}}\n"
        ),
    );
}

/// `TF_VAR_seeds` for the two users.
fn seeds_var(blue: &str, green: &str) -> String {
    serde_json::json!({ BLUE: blue, GREEN: green }).to_string()
}

/// Failed log-ins as `name`, whatever the password.
fn failed(emu: &Emulator, name: &str) -> usize {
    emu.user(name).failed_logins as usize
}

/// Asserts each user's password at ThingSpace is the one the state holds for it, and nothing is blocked.
fn assert_both_live_in_state(emu: &Emulator, ws: &Workspace, ctx: &str) {
    for name in [BLUE, GREEN] {
        let live = emu.user(name).password;
        assert!(
            passwords_in_state(ws).contains(&(name.to_owned(), live)),
            "{ctx}: {name}'s password at ThingSpace is not in state: {}",
            ws.resource(ADDR)
        );
    }
    assert!(ws.resource(ADDR)["blocked_reason"].is_null(), "{ctx}");
}

/// Finding 1: a rotation's reset of the standby answers 500 after it took effect, so the standby is blocked. Doing
/// what blocked_reason says (the standby's real password in the map, a new current_passwords_wo_version) while the
/// active user's entry still holds its original, stale seed must not log in as the active user at all: the version
/// moved, but the active user's stored password works, so the seed is not used. Repeating the step costs nothing.
#[test]
fn reseeding_the_standby_never_logs_in_as_the_active_user_with_its_stale_seed() {
    let emu = Emulator::start();
    emu.add_user(BLUE, SEED_BLUE);
    emu.add_user(GREEN, SEED_GREEN);
    let mut ws = Workspace::new(&emu);
    ws.set_env("TF_VAR_seeds", &seeds_var(SEED_BLUE, SEED_GREEN));
    write_only(&ws, 1, "  triggers = { n = \"0\" }\n");
    ws.apply();
    write_only(&ws, 1, "  triggers = { n = \"1\" }\n");
    emu.fault(
        Fault::status(RESET_PATH, 500, "<html>oops</html>")
            .content_type("text/html")
            .after(),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let reason = str_of(&ws.resource(ADDR), "blocked_reason").to_owned();
    assert!(reason.starts_with("User \"svc-blue\""), "{reason}");
    assert!(
        reason.contains("current_passwords_wo[\"svc-blue\"]"),
        "{reason}"
    );

    for version in [2, 3] {
        // What support says blue's password is now; green's entry still its first seed.
        ws.set_env(
            "TF_VAR_seeds",
            &seeds_var(&emu.user(BLUE).password, SEED_GREEN),
        );
        write_only(&ws, version, "  triggers = { n = \"1\" }\n");
        emu.clear_requests();
        ws.apply();
        check_invariants(&emu, &ws, &format!("re-seed at version {version}"));
        assert_eq!(
            failed(&emu, GREEN),
            0,
            "the active user is never logged in with its stale seed"
        );
        assert_eq!(
            touched(&emu.requests(), LOGIN_PATH, GREEN),
            0,
            "version {version}: no log-in as the active user"
        );
        assert_both_live_in_state(&emu, &ws, &format!("version {version}"));
    }
    assert_eq!(failed(&emu, BLUE), 0);
}

/// Finding 2: a create's second reset takes effect but answers 500, so the second user is blocked; the first user's
/// new password is in the tainted state. Re-seeding the second user the same way must keep the first user's
/// generated password: the replacement logs in as the first user with it, not with its stale seed.
#[test]
fn a_partial_create_keeps_the_first_users_password_through_the_second_users_reseed() {
    let emu = Emulator::start();
    emu.add_user(BLUE, SEED_BLUE);
    emu.add_user(GREEN, SEED_GREEN);
    let mut ws = Workspace::new(&emu);
    ws.set_env("TF_VAR_seeds", &seeds_var(SEED_BLUE, SEED_GREEN));
    write_only(&ws, 1, "");
    emu.fault(Fault::delay(RESET_PATH, 1));
    emu.fault(
        Fault::status(RESET_PATH, 500, "<html>oops</html>")
            .content_type("text/html")
            .after(),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let blue_generated = emu.user(BLUE).password;
    assert_ne!(blue_generated, SEED_BLUE);
    assert!(passwords_in_state(&ws).contains(&(BLUE.to_owned(), blue_generated.clone())));
    check_invariants(&emu, &ws, "the partial create");

    ws.set_env(
        "TF_VAR_seeds",
        &seeds_var(SEED_BLUE, &emu.user(GREEN).password),
    );
    write_only(&ws, 2, "");
    ws.apply();
    check_invariants(&emu, &ws, "the re-seed of the second user");
    assert_eq!(
        failed(&emu, BLUE),
        0,
        "never the stale seed of the first user"
    );
    assert_eq!(failed(&emu, GREEN), 0);
    assert_both_live_in_state(&emu, &ws, "after the re-seed");
    assert!(!ws.tainted(ADDR));
}

/// Finding 4: after a partial create whose second log-in got no usable answer, the recovery needs no password
/// copied out of state: moving the version re-seeds only the blocked second user (with its seed, which still works),
/// and the first user logs in with its new password from state.
#[test]
fn recovering_a_partial_create_needs_no_password_from_state() {
    let emu = Emulator::start();
    emu.add_user(BLUE, SEED_BLUE);
    emu.add_user(GREEN, SEED_GREEN);
    let mut ws = Workspace::new(&emu);
    ws.set_env("TF_VAR_seeds", &seeds_var(SEED_BLUE, SEED_GREEN));
    write_only(&ws, 1, "");
    emu.fault(Fault::delay(LOGIN_PATH, 1));
    emu.fault(Fault::status(LOGIN_PATH, 503, "<html>busy</html>").content_type("text/html"));
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(text.contains("new passwords are stored in state"), "{out}");
    assert!(
        text.contains("no password needs copying out of state"),
        "{out}"
    );
    assert!(
        !text.contains("current_password_wo ") && !text.contains("current_password "),
        "the single resource's names: {out}"
    );
    // The same secrets, one number moved: nothing from state is handled by anyone.
    write_only(&ws, 2, "");
    let out = ws.apply();
    assert!(
        !flat(&out.combined()).contains("No password to log in with"),
        "{out}"
    );
    check_invariants(&emu, &ws, "the recovery");
    assert_eq!((failed(&emu, BLUE), failed(&emu, GREEN)), (0, 0));
    assert_both_live_in_state(&emu, &ws, "after the recovery");
}

/// Issue 19 on the alternating resource: the acknowledgement lifts a user's transient block with one log-in as that
/// user with its stored password, and max_password_age counts from the older (standby) password.
#[test]
fn the_acknowledgement_and_max_password_age_work_per_user() {
    let (emu, mut ws) = setup(&format!(
        "{}  triggers = {{ n = \"0\" }}\n  rotation_period = \"30d\"\n  max_password_age = \"61d\"\n",
        seeds(SEED_BLUE, SEED_GREEN)
    ));
    ws.apply();
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "standby_rotated_at"), str_of(&r, "rotated_at"));
    // 31 days on, the scheduled rotation of the standby (blue): its log-in is processed but answered 503.
    ws.set_clock_offset(31 * 86_400);
    emu.fault(
        Fault::status(LOGIN_PATH, 503, "<html>busy</html>")
            .content_type("text/html")
            .after(),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let reason = str_of(&ws.resource(ADDR), "blocked_reason").to_owned();
    assert!(reason.contains("retry_stored_password_version"), "{reason}");
    // Past the older password's deadline (61 days from the create), the blocked rotation fails the plan.
    ws.set_clock_offset(62 * 86_400);
    let out = ws.tf(&["plan", "-input=false"]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(
        text.contains("Password older than max_password_age"),
        "{out}"
    );
    assert!(text.contains("user \"svc-blue\" (the standby)"), "{out}");
    // The acknowledgement: one log-in as blue with its stored password, and it rotates.
    write(
        &ws,
        &format!(
            "{}  triggers = {{ n = \"0\" }}\n  rotation_period = \"30d\"\n  max_password_age = \"61d\"\n  \
retry_stored_password_version = 1\n",
            seeds(SEED_BLUE, SEED_GREEN)
        ),
        "",
    );
    emu.clear_requests();
    ws.apply();
    assert_eq!(touched(&emu.requests(), LOGIN_PATH, BLUE), 1);
    assert_eq!(touched(&emu.requests(), LOGIN_PATH, GREEN), 0);
    assert_eq!((failed(&emu, BLUE), failed(&emu, GREEN)), (0, 0));
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "active_username"), BLUE);
    assert!(r["blocked_reason"].is_null(), "{r}");
    // The standby (green) was set at the create: its deadline is the resource's.
    assert_eq!(str_of(&r, "standby_username"), GREEN);
    assert_ne!(str_of(&r, "standby_rotated_at"), str_of(&r, "rotated_at"));
    check_invariants(&emu, &ws, "after the acknowledgement");
}

/// Issue 22: an in-place rotation of a pair with nothing blocked plans `blocked_reason` as null, so the plan does not
/// show a noisy `+ blocked_reason = (known after apply)`, and the apply agrees with it.
#[test]
fn an_unblocked_rotation_does_not_plan_blocked_reason_as_unknown() {
    let body = |n: u32| {
        format!(
            "{}  triggers = {{ n = \"{n}\" }}\n",
            seeds(SEED_BLUE, SEED_GREEN)
        )
    };
    let (_emu, ws) = setup(&body(0));
    ws.apply();
    write(&ws, &body(1), "");
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(!out.stdout.contains("blocked_reason"), "{out}");
    ws.apply();
    assert!(ws.resource(ADDR)["blocked_reason"].is_null());
}
