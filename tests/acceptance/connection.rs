//! The `thingspace_connection` data source through a real Terraform (issue 22): it checks the base URL and client
//! credentials with a token request at plan time and never logs in as a user, so a pull request's plan catches an
//! expired secret or a wrong base URL at no risk of a failed log-in. Each test asserts on Terraform's output and
//! what the emulator recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{
    DEFAULT_CLIENT_ID, Emulator, REQUIRED_PROVIDERS, Workspace, assert_no_api_calls, flat,
};

const USER: &str = "svc-conn";
const SEED: &str = "Seed-Passw0rd-1";

/// The data source, its outputs, and one rotation that plans beside it.
fn config(provider: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\n{provider}\ndata \"thingspace_connection\" \"check\" {{}}\n\n\
output \"base_url\" {{\n  value = data.thingspace_connection.check.base_url\n}}\n\
output \"base_url_source\" {{\n  value = data.thingspace_connection.check.base_url_source\n}}\n\
output \"client_id\" {{\n  value = data.thingspace_connection.check.client_id\n}}\n\n\
resource \"thingspace_password_rotation\" \"svc\" {{\n  username         = \"{USER}\"\n  current_password = \"{SEED}\"\n}}\n"
    )
}

fn output(ws: &Workspace, name: &str) -> String {
    let out = ws.tf(&["output", "-raw", name]);
    out.assert_success();
    out.stdout
}

#[test]
fn connection_reports_where_requests_go_and_never_logs_in() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    ws.write("main.tf", &config(""));
    ws.tf(&["init", "-input=false"]).assert_success();

    // A plan reads the data source: one token request, no user log-in.
    emu.clear_requests();
    let out = ws.plan(&[]);
    assert!(
        flat(&out.stdout).contains("base_url_source = \"environment\""),
        "{out}"
    );
    let stats = emu.stats();
    assert!(stats.token >= 1, "the plan obtained no token: {stats:?}");
    assert_eq!((stats.login, stats.reset), (0, 0), "{stats:?}");

    ws.apply();
    assert_eq!(output(&ws, "base_url"), emu.base_url);
    assert_eq!(output(&ws, "base_url_source"), "environment");
    assert_eq!(output(&ws, "client_id"), DEFAULT_CLIENT_ID);
}

#[test]
fn a_wrong_client_secret_fails_the_plan_without_a_log_in() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut ws = Workspace::new(&emu);
    ws.write("main.tf", &config(""));
    ws.apply();

    // The secret expires: the next plan fails at the data source, before any resource could log in.
    ws.set_env("THINGSPACE_CLIENT_SECRET", "expired-secret");
    emu.clear_requests();
    let out = ws.tf(&["plan", "-input=false"]);
    assert_eq!(out.code, 1, "{out}");
    let text = flat(&out.combined());
    for want in [
        "Error: Could not get a ThingSpace API access token",
        "data.thingspace_connection.check",
        "Check client_id and client_secret",
        "cannot cost a failed log-in",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    assert!(!text.contains("expired-secret"), "{out}");
    // A doubled full stop ("failed.. Check"), told apart from the ellipses of Terraform's own "Reading..." lines.
    let b = text.as_bytes();
    let doubled = text
        .match_indices("..")
        .any(|(i, _)| (i == 0 || b[i - 1] != b'.') && b.get(i + 2) != Some(&b'.'));
    assert!(!doubled, "a doubled full stop: {out}");
    let stats = emu.stats();
    assert_eq!((stats.login, stats.reset), (0, 0), "{stats:?}");
    assert_eq!(emu.user(USER).failed_logins, 0);
}

#[test]
fn a_base_url_with_a_stray_path_fails_the_plan_naming_base_url() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut ws = Workspace::new(&emu);
    ws.unset_env("THINGSPACE_BASE_URL");
    let base = format!("{}/api", emu.base_url);
    ws.write(
        "main.tf",
        &config(&format!(
            "provider \"thingspace\" {{\n  base_url = \"{base}\"\n}}\n"
        )),
    );
    let out = ws.tf(&["plan", "-input=false"]);
    assert_eq!(out.code, 1, "{out}");
    let text = flat(&out.combined());
    for want in [
        "Error: Could not get a ThingSpace API access token",
        "check base_url",
        "(from the base_url attribute)",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    let stats = emu.stats();
    assert_eq!((stats.login, stats.reset), (0, 0), "{stats:?}");
}

#[test]
fn a_plan_with_the_emulator_down_fails_quickly_and_logs_in_nowhere() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut ws = Workspace::new(&emu);
    ws.write("main.tf", &config(""));
    ws.apply();
    // The server goes away: nothing listens at the base URL any more.
    let closed: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{closed}");
    ws.set_env("THINGSPACE_BASE_URL", &base);
    emu.clear_requests();
    let started = Instant::now();
    let out = ws.tf(&["plan", "-input=false"]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{out}");
    let text = flat(&out.combined());
    for want in [
        "Error: Could not get a ThingSpace API access token",
        "could not connect: the connection was refused",
        &format!("base URL {base} (from the THINGSPACE_BASE_URL environment variable)"),
        "3 attempts over",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    assert!(took < Duration::from_secs(30), "plan took {took:?}");
    assert_no_api_calls(&emu, "a plan against another base URL");
}
