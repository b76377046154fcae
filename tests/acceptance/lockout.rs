//! Lock-out and lost-password safety across Terraform workflows (issue 9, I1, I3, I4): a real Terraform drives the
//! provider against the emulator through the workflows that hide state from a provider (`-refresh=false`, taint,
//! `-replace`, `create_before_destroy`, a new address, `count`), and each test asserts from the emulator's records
//! that no seed was used for a second failed log-in and that the password ThingSpace holds is in state.

use crate::common::{
    Emulator, LOGIN_PATH, REQUIRED_PROVIDERS, RESET_PATH, Workspace, flat, passwords_in_state,
    stored_password, warnings,
};

const USER: &str = "svc-ci";
const SEED: &str = "Seed-Passw0rd-1";

fn setup() -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    (emu, ws)
}

fn write(ws: &Workspace, resources: &str) {
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}\n{resources}"));
}

fn resource(name: &str, body: &str) -> String {
    format!(
        "resource \"thingspace_password_rotation\" \"{name}\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n{body}\n}}\n"
    )
}

fn count(emu: &Emulator, path: &str) -> usize {
    emu.requests().iter().filter(|r| r.path == path).count()
}

#[test]
fn count_of_five_instances_for_one_user_is_a_plan_error_before_any_api_call() {
    let emu = Emulator::start();
    emu.add_user(USER, "the-real-password");
    let ws = Workspace::new(&emu);
    write(
        &ws,
        &format!(
            "resource \"thingspace_password_rotation\" \"many\" {{\n  count = 5\n  username = \"{USER}\"\n  current_password = \"wrong-seed\"\n}}\n"
        ),
    );
    let out = ws.try_apply(&[]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(text.contains("Duplicate ThingSpace user name"), "{out}");
    assert!(
        text.contains(&format!("\"{USER}\"")),
        "names the user:\n{out}"
    );
    assert!(
        emu.requests().is_empty(),
        "no API call: {:?}",
        emu.requests()
    );
    assert_eq!(emu.user(USER).failed_logins, 0);
}

#[test]
fn a_second_resource_for_a_managed_user_is_a_plan_error_and_the_first_keeps_working() {
    let (emu, ws) = setup();
    write(&ws, &resource("a", ""));
    ws.try_apply(&[]).assert_success();
    let before = emu.requests().len();
    write(&ws, &format!("{}{}", resource("a", ""), resource("b", "")));
    for extra in [&[][..], &["-refresh=false"][..]] {
        let out = ws.try_apply(extra);
        out.assert_failure();
        assert!(
            flat(&out.combined()).contains("Duplicate ThingSpace user name"),
            "{out}"
        );
    }
    assert_eq!(emu.requests().len(), before, "no API call");
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 0);
    assert_eq!(
        stored_password(&ws, "thingspace_password_rotation.a").as_deref(),
        Some(&*user.password)
    );
}

#[test]
fn a_new_address_without_moved_never_uses_the_stale_seed_or_loses_the_password() {
    let (emu, ws) = setup();
    write(&ws, &resource("old", "  triggers = { n = \"1\" }"));
    ws.try_apply(&[]).assert_success();
    // Terraform plans and applies the destroy of the old address and the create of the new one in no fixed order.
    // Whatever order it picks, the create logs in only with the old object's password (or is refused before any API
    // call), and the current password stays in state.
    write(&ws, &resource("new", "  triggers = { n = \"2\" }"));
    for (i, extra) in [&[][..], &["-refresh=false"][..], &[][..]]
        .iter()
        .enumerate()
    {
        let out = ws.try_apply(extra);
        let text = flat(&out.combined());
        if !out.success() {
            assert!(
                text.contains("moves to another resource address")
                    || text.contains("inconsistent final plan")
                    || text.contains("Object kept"),
                "attempt {i}:\n{out}"
            );
        }
        let user = emu.user(USER);
        assert_eq!(
            user.failed_logins, 0,
            "attempt {i}: never the stale seed:\n{out}"
        );
        assert!(
            passwords_in_state(&ws).contains(&user.password),
            "attempt {i}: the current password is in state:\n{out}"
        );
        if out.success() {
            break;
        }
    }
    // With a moved block it is the same object: the rotation logs in with the stored password.
    write(&ws, &resource("old", "  triggers = { n = \"1\" }"));
    let _ = ws.try_apply(&[]);
    write(
        &ws,
        &format!(
            "{}moved {{\n  from = thingspace_password_rotation.old\n  to = thingspace_password_rotation.new\n}}\n",
            resource("new", "  triggers = { n = \"3\" }")
        ),
    );
    let out = ws.try_apply(&[]);
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 0);
    assert!(passwords_in_state(&ws).contains(&user.password), "{out}");
}

#[test]
fn replace_logs_in_with_the_stored_password_and_create_before_destroy_stops_before_any_log_in() {
    let (emu, ws) = setup();
    write(&ws, &resource("ci", ""));
    ws.try_apply(&[]).assert_success();
    for extra in [
        &["-replace=thingspace_password_rotation.ci"][..],
        &["-replace=thingspace_password_rotation.ci", "-refresh=false"][..],
    ] {
        ws.try_apply(extra).assert_success();
    }
    assert_eq!(emu.user(USER).failed_logins, 0, "never the stale seed");
    assert_eq!(emu.user(USER).resets, 3);

    // With create_before_destroy Terraform plans the replacement again at apply before the provider may see the old
    // object, so the hand-off is lost; the provider makes that re-plan disagree, and Terraform stops before any call.
    write(
        &ws,
        &resource("ci", "  lifecycle {\n    create_before_destroy = true\n  }"),
    );
    let calls = emu.requests().len();
    for extra in [
        &["-replace=thingspace_password_rotation.ci"][..],
        &["-replace=thingspace_password_rotation.ci", "-refresh=false"][..],
    ] {
        let out = ws.try_apply(extra);
        out.assert_failure();
        assert!(
            flat(&out.combined()).contains("inconsistent final plan"),
            "{out}"
        );
    }
    assert_eq!(emu.requests().len(), calls, "no API call at all");
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 0, "never the stale seed");
    assert_eq!(user.resets, 3);
    // Terraform had deposed the old object before it stopped; the current password stays in it.
    assert!(
        passwords_in_state(&ws).contains(&user.password),
        "the current password is still in state"
    );
    // Terraform keeps the deposed object, and with it the password, whatever is planned next: a create beside a
    // deposed object of the same user never logs in with the stale seed.
    write(&ws, &resource("ci", ""));
    let out = ws.try_apply(&[]);
    out.assert_failure();
    assert_eq!(emu.requests().len(), calls, "still no API call");
    assert!(passwords_in_state(&ws).contains(&emu.user(USER).password));
    // The documented recovery: take the password from the deposed object, forget it, re-seed with it.
    let current = passwords_in_state(&ws).remove(0);
    ws.tf(&["state", "rm", "thingspace_password_rotation.ci"])
        .assert_success();
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"{current}\"\n  triggers = {{ n = \"2\" }}\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\n"
        ),
    );
    ws.try_apply(&[]).assert_success();
    let user = emu.user(USER);
    assert_eq!((user.failed_logins, user.resets), (0, 4));
    assert_eq!(passwords_in_state(&ws), vec![user.password.clone()]);
    // An in-place rotation (triggers) works with create_before_destroy.
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"{current}\"\n  triggers = {{ n = \"3\" }}\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\n"
        ),
    );
    ws.try_apply(&[]).assert_success();
    let user = emu.user(USER);
    assert_eq!((user.failed_logins, user.resets), (0, 5));
    assert_eq!(
        stored_password(&ws, "thingspace_password_rotation.ci").as_deref(),
        Some(&*user.password)
    );
}

#[test]
fn taint_of_a_healthy_object_with_refresh_false_logs_in_with_the_stored_password() {
    let (emu, ws) = setup();
    write(&ws, &resource("ci", ""));
    ws.try_apply(&[]).assert_success();
    for extra in [&[][..], &["-refresh=false"][..]] {
        ws.tf(&["taint", "thingspace_password_rotation.ci"])
            .assert_success();
        let out = ws.try_apply(extra);
        out.assert_success();
        // A replacement that works is said as such: no warning of a loss or of create_before_destroy.
        assert_eq!(warnings(&out.combined()), Vec::<String>::new(), "{out}");
    }
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 0, "never the stale seed");
    assert_eq!(user.resets, 3);
    assert_eq!(
        stored_password(&ws, "thingspace_password_rotation.ci").as_deref(),
        Some(&*user.password)
    );
    assert!(!ws.tainted("thingspace_password_rotation.ci"));
}

#[test]
fn a_rejected_seed_blocks_every_later_workflow_until_a_reseed() {
    let emu = Emulator::start();
    emu.add_user(USER, "the-real-password");
    let ws = Workspace::new(&emu);
    let cbd = "  lifecycle {\n    create_before_destroy = true\n  }";
    write(&ws, &resource("ci", ""));
    ws.try_apply(&[]).assert_failure();
    assert_eq!(emu.user(USER).failed_logins, 1);
    assert!(ws.tainted("thingspace_password_rotation.ci"));
    // Every workflow that would log in again with the same seed is refused (at apply, warned at plan: issue 25, so
    // that the rest of a configuration still applies), without an API call.
    let logins = count(&emu, LOGIN_PATH);
    let workflows: Vec<(&str, Vec<&str>, bool)> = vec![
        ("apply", vec![], false),
        ("apply -refresh=false", vec!["-refresh=false"], false),
        (
            "-replace",
            vec!["-replace=thingspace_password_rotation.ci"],
            false,
        ),
    ];
    let cbd_workflows: Vec<(&str, Vec<&str>, bool)> = vec![
        ("create_before_destroy", vec![], true),
        (
            "create_before_destroy -refresh=false",
            vec!["-refresh=false"],
            true,
        ),
    ];
    let run = |workflows: Vec<(&str, Vec<&str>, bool)>| {
        for (name, extra, with_cbd) in workflows {
            write(&ws, &resource("ci", if with_cbd { cbd } else { "" }));
            let out = ws.try_apply(&extra);
            out.assert_failure();
            let text = flat(&out.combined());
            assert!(
                text.contains("Rotation blocked to protect the user")
                    || text.contains("Provider produced inconsistent final plan"),
                "{name}:\n{out}"
            );
        }
    };
    run(workflows);
    // untaint: a normal object without a password, same seed: still refused.
    ws.tf(&["untaint", "thingspace_password_rotation.ci"])
        .assert_success();
    let out = ws.try_apply(&["-refresh=false"]);
    out.assert_failure();
    assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    // A new address for the same user is refused too (the old object is destroyed in the same plan).
    write(&ws, &resource("other", ""));
    let out = ws.try_apply(&["-refresh=false"]);
    out.assert_failure();
    assert_eq!(count(&emu, LOGIN_PATH), logins, "no log-in in any of them");
    assert_eq!(emu.user(USER).failed_logins, 1);
    assert!(!emu.user(USER).locked);

    // The re-seed with the right password rotates.
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"the-real-password\"\n}}\n"
        ),
    );
    ws.try_apply(&[]).assert_success();
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 1);
    assert_eq!(user.resets, 1);
    let state = ws.resource("thingspace_password_rotation.ci");
    assert_eq!(state["password"].as_str(), Some(&*user.password));
    assert!(state["blocked_reason"].is_null());
    assert_eq!(count(&emu, RESET_PATH), 1);

    // create_before_destroy, from the same start: refused too, before any log-in (by the block, or by Terraform's
    // final-plan check, which leaves the old object deposed: the troubleshooting guide's recovery).
    let emu = Emulator::start();
    emu.add_user(USER, "the-real-password");
    let ws = Workspace::new(&emu);
    write(&ws, &resource("ci", ""));
    ws.try_apply(&[]).assert_failure();
    let logins = count(&emu, LOGIN_PATH);
    let run = |workflows: Vec<(&str, Vec<&str>, bool)>| {
        for (name, extra, _) in workflows {
            write(&ws, &resource("ci", cbd));
            let out = ws.try_apply(&extra);
            out.assert_failure();
            let text = flat(&out.combined());
            assert!(
                text.contains("Rotation blocked to protect the user")
                    || text.contains("Provider produced inconsistent final plan"),
                "{name}:\n{out}"
            );
        }
    };
    run(cbd_workflows);
    assert_eq!(
        count(&emu, LOGIN_PATH),
        logins,
        "no log-in with create_before_destroy"
    );
    assert_eq!(emu.user(USER).failed_logins, 1);
}

/// A block outlives removing the seed: the stored password rejected (changed outside Terraform), the seed line is
/// removed and later put back unchanged. Neither apply logs in again with the rejected password or the old seed;
/// only a different seed rotates.
#[test]
fn removing_the_seed_and_setting_it_again_never_lifts_a_block() {
    let (emu, ws) = setup();
    write(&ws, &resource("ci", "  triggers = { r = \"1\" }"));
    ws.try_apply(&[]).assert_success();
    // Someone changes the password outside Terraform; the next rotation's log-in with the stored one is rejected.
    emu.add_user(USER, "changed-outside");
    write(&ws, &resource("ci", "  triggers = { r = \"2\" }"));
    ws.try_apply(&[]).assert_failure();
    assert_eq!(emu.user(USER).failed_logins, 1);
    let logins = count(&emu, LOGIN_PATH);

    let without_seed = |r: &str| {
        format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  triggers = {{ r = \"{r}\" }}\n}}\n"
        )
    };
    // The seed removed, nothing else changed (the failed rotation kept the old triggers): the apply stores the
    // change, and the block stays visible.
    ws.write("main.tf", &without_seed("1"));
    ws.try_apply(&[]).assert_success();
    assert!(
        ws.resource("thingspace_password_rotation.ci")["blocked_reason"].is_string(),
        "the block survives removing the seed"
    );
    // A rotation due without a seed, then with the same seed put back: both refused before any log-in.
    ws.write("main.tf", &without_seed("3"));
    let out = ws.try_apply(&[]);
    out.assert_failure();
    assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    write(&ws, &resource("ci", "  triggers = { r = \"3\" }"));
    let out = ws.try_apply(&["-refresh=false"]);
    out.assert_failure();
    assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    assert_eq!(count(&emu, LOGIN_PATH), logins, "no log-in after the block");
    assert_eq!(emu.user(USER).failed_logins, 1);

    // The password from outside, as a re-seed, rotates.
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"changed-outside\"\n  triggers = {{ r = \"3\" }}\n}}\n"
        ),
    );
    ws.try_apply(&[]).assert_success();
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 1);
    assert!(!user.locked);
    assert_eq!(
        stored_password(&ws, "thingspace_password_rotation.ci").as_deref(),
        Some(&*user.password)
    );
}
