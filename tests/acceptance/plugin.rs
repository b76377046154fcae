//! Acceptance tests for the plugin foundation: a real Terraform loads the provider binary over a unix socket with
//! AutoMTLS and reads its schema, validates and plans, and sees its log lines; the binary refuses to run by hand.
//! And its lifecycle: SIGINT leaves the shutdown to Terraform, SIGTERM and a dead parent end it, and Ctrl-C in a
//! terminal during a slow reset keeps the new password.

use crate::common::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, REQUIRED_PROVIDERS, RESET_PATH,
    Workspace, flat, pending, provider_bin, repo_root, signal, wait_for,
};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use thingspace_provider::plugin::handshake::MAGIC_COOKIE_VALUE;

fn attrs(schema: &Value) -> &serde_json::Map<String, Value> {
    schema["block"]["attributes"].as_object().unwrap()
}

#[test]
fn providers_schema_json_shows_every_attribute_with_its_flags() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write("main.tf", REQUIRED_PROVIDERS);
    let out = ws.tf(&["providers", "schema", "-json"]);
    out.assert_success();
    assert!(emu.requests().is_empty(), "reading the schema calls no API");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let p = &json["provider_schemas"]["registry.terraform.io/verizon/thingspace"];

    let provider = attrs(&p["provider"]);
    let mut names: Vec<&str> = provider.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "base_url",
            "ca_file",
            "client_id",
            "client_secret",
            "request_timeout"
        ]
    );
    assert_eq!(provider["client_secret"]["sensitive"], true);
    for (name, a) in provider {
        assert_eq!(a["optional"], true, "{name}");
        assert_eq!(a["type"], "string", "{name}");
    }

    let r = &p["resource_schemas"]["thingspace_password_rotation"];
    assert_eq!(r["version"], 1);
    let a = attrs(r);
    let flags = |name: &str| -> Vec<&str> {
        let x = &a[name];
        [
            "required",
            "optional",
            "computed",
            "sensitive",
            "write_only",
        ]
        .into_iter()
        .filter(|f| x[*f] == true)
        .collect()
    };
    let expected: &[(&str, Value, &[&str])] = &[
        ("id", "string".into(), &["computed"]),
        ("username", "string".into(), &["required"]),
        (
            "current_password",
            "string".into(),
            &["optional", "sensitive"],
        ),
        (
            "current_password_wo",
            "string".into(),
            &["optional", "sensitive", "write_only"],
        ),
        (
            "current_password_wo_version",
            "number".into(),
            &["optional"],
        ),
        ("rotate_after", "string".into(), &["optional", "computed"]),
        ("rotation_period", "string".into(), &["optional"]),
        (
            "triggers",
            serde_json::json!(["map", "string"]),
            &["optional"],
        ),
        ("password", "string".into(), &["computed", "sensitive"]),
        ("rotated_at", "string".into(), &["computed"]),
        ("blocked_reason", "string".into(), &["computed"]),
        ("rotation_jitter", "string".into(), &["optional"]),
        ("next_window_start", "string".into(), &["computed"]),
        ("max_password_age", "string".into(), &["optional"]),
        ("password_age_deadline", "string".into(), &["computed"]),
        ("verify_new_password", "bool".into(), &["optional"]),
        ("verified_at", "string".into(), &["computed"]),
        (
            "retry_stored_password_version",
            "number".into(),
            &["optional"],
        ),
    ];
    // rotation_window is a nested attribute: its own attributes say which are required.
    assert_eq!(flags("rotation_window"), ["optional"]);
    let window = &a["rotation_window"]["nested_type"];
    assert_eq!(window["nesting_mode"], "single", "{window}");
    for (name, ty, required) in [
        ("days", serde_json::json!(["list", "string"]), false),
        ("start", "string".into(), true),
        ("end", "string".into(), true),
    ] {
        let w = &window["attributes"][name];
        assert_eq!(w["type"], ty, "rotation_window.{name}");
        assert_eq!(w["required"] == true, required, "rotation_window.{name}");
        assert_eq!(w["optional"] == true, !required, "rotation_window.{name}");
    }
    assert_eq!(
        a.len(),
        expected.len() + 1,
        "{:?}",
        a.keys().collect::<Vec<_>>()
    );
    for (name, ty, f) in expected {
        assert_eq!(&a[*name]["type"], ty, "{name}");
        assert_eq!(flags(name), *f, "{name}");
        assert_eq!(a[*name]["description_kind"], "markdown", "{name}");
        assert!(
            a[*name]["description"].as_str().unwrap().len() > 20,
            "{name} has a real description"
        );
    }
    assert_eq!(r["block"]["description_kind"], "markdown");
}

#[test]
fn validate_and_plan_succeed_on_the_quickstart_and_debug_logs_show_provider_lines() {
    let emu = Emulator::start();
    emu.add_user("demo-user", "Seed-1");
    let mut ws = Workspace::new(&emu);
    let example = std::fs::read_to_string(repo_root().join("examples/quickstart/main.tf")).unwrap();
    ws.write("main.tf", &example);
    ws.set_env("TF_VAR_current_password", "Seed-1");
    let out = ws.tf(&["validate"]);
    out.assert_success();
    assert!(out.stdout.contains("Success"), "{out}");

    let out = ws.tf_env(&["plan", "-input=false"], &[("TF_LOG", "debug")]);
    out.assert_success();
    assert!(
        out.stdout
            .contains("thingspace_password_rotation.demo will be created"),
        "{out}"
    );
    // Our JSON lines are re-logged by Terraform at their own level under the plugin's name.
    let ours: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-thingspace:"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("[DEBUG]") && l.contains("planned")),
        "{}",
        ours.join("\n")
    );
    assert!(
        !out.stderr.contains("Seed-1"),
        "the seed never appears in a log"
    );
    // Terraform could not read a line as hclog JSON if it shows the raw braces.
    assert!(
        !ours.iter().any(|l| l.contains("\"@level\"")),
        "{}",
        ours.join("\n")
    );
    assert!(emu.requests().is_empty(), "plan calls no API");
}

#[test]
fn run_by_hand_it_explains_itself_on_stderr_and_prints_nothing_on_stdout() {
    let out = Command::new(provider_bin())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "stdout is reserved for the handshake line"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Terraform"), "{err}");
    assert!(
        err.contains("not meant to be run directly") || err.contains("plugin"),
        "{err}"
    );

    let out = Command::new(provider_bin())
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains('6'),
        "names the protocol it needs"
    );
}

#[test]
fn debug_mode_prints_a_reattach_value_that_terraform_uses() {
    let emu = Emulator::start();
    emu.add_user("svc-ci", "Seed-1");
    // In debug mode the provider runs in its own environment, not Terraform's: it reads the credentials from here.
    let mut child = Command::new(provider_bin())
        .arg("--debug")
        .env("THINGSPACE_BASE_URL", &emu.base_url)
        .env("THINGSPACE_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("THINGSPACE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reattach = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(v) = line.split("TF_REATTACH_PROVIDERS='").nth(1) {
            reattach = Some(v.trim_end_matches('\'').to_string());
            break;
        }
        assert!(Instant::now() < deadline, "no reattach line");
    }
    let reattach = reattach.expect("a TF_REATTACH_PROVIDERS line on stderr");
    let v: Value = serde_json::from_str(&reattach).unwrap();
    assert_eq!(
        v["registry.terraform.io/verizon/thingspace"]["ProtocolVersion"],
        6
    );

    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"svc-ci\"\n  current_password = \"Seed-1\"\n}}\n"
        ),
    );
    let out = ws.tf_env(
        &["plan", "-input=false"],
        &[("TF_REATTACH_PROVIDERS", &reattach)],
    );
    out.assert_success();
    assert!(out.stdout.contains("will be created"), "{out}");
    // A person ends a debug session with Ctrl-C, and it does end.
    signal(child.id(), "INT");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "a debug provider exits cleanly on SIGINT: {status:?}"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.is_empty(),
        "debug mode prints nothing on stdout: {stdout}"
    );
}

#[test]
fn provider_configuration_errors_name_the_attribute_and_env_var_and_call_no_api() {
    let emu = Emulator::start();
    let resource = "resource \"thingspace_password_rotation\" \"ci\" {\n  username = \"svc-ci\"\n  current_password = \"x\"\n}\n";
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "",
            &["THINGSPACE_CLIENT_SECRET"],
            &["Missing client_secret", "THINGSPACE_CLIENT_SECRET"],
        ),
        (
            "",
            &["THINGSPACE_CLIENT_ID"],
            &["Missing client_id", "THINGSPACE_CLIENT_ID"],
        ),
        (
            "provider \"thingspace\" {\n  base_url = \"http://thingspace.example.com\"\n}\n",
            &[],
            &["Invalid base_url", "base_url ="],
        ),
        (
            "provider \"thingspace\" {\n  request_timeout = \"soon\"\n}\n",
            &[],
            &["Invalid request_timeout", "request_timeout ="],
        ),
    ];
    for (provider_block, unset, expect) in cases {
        let mut ws = Workspace::new(&emu);
        for var in *unset {
            ws.unset_env(var);
        }
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{provider_block}{resource}"),
        );
        let out = ws.tf(&["plan", "-input=false"]);
        out.assert_failure();
        let text = flat(&out.combined());
        for e in *expect {
            assert!(text.contains(e), "expected {e:?} in:\n{text}");
        }
    }
    assert!(emu.requests().is_empty());
}

// ----- lifecycle -----

/// Waits up to `limit` for `child` to end.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `/proc/<pid>/stat`'s state letter and parent id, or None once the process is gone.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; the fields after its last ')' are fixed.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` still runs (a zombie has ended; only its parent has not reaped it yet).
fn alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| proc_stat(*child).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// Terraform's launch environment for the provider (plain gRPC: no client certificate), with its socket under
/// `socket_parent` and debug logs.
fn as_terraform_launches_it(cmd: &mut Command, socket_parent: &Path) {
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_parent)
        .env("TF_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

/// Reads `pipe` line by line into a channel, in a thread, so that a test can wait with a timeout.
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects what is left on `lines` for up to `limit`.
fn drain_lines(lines: &mpsc::Receiver<String>, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut out = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            Err(_) => break,
        }
    }
    out
}

fn socket_dirs(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sigint_leaves_the_shutdown_to_terraform_and_sigterm_ends_the_provider() {
    let sockets = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(provider_bin());
    as_terraform_launches_it(&mut cmd, sockets.path());
    let mut child = cmd.spawn().unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let line = stdout.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(line.starts_with("1|6|unix|"), "{line}");
    let socket = Path::new(line.split('|').nth(3).unwrap()).to_path_buf();
    assert!(socket.exists());

    // Ctrl-C in a terminal reaches the plugin too; Terraform, which got it as well, still needs the answers.
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the provider exited on SIGINT:\n{}",
        drain_lines(&stderr, Duration::from_secs(1))
    );
    assert!(socket.exists(), "and it still serves");

    signal(child.id(), "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let logs = drain_lines(&stderr, Duration::from_secs(2));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM ends the provider cleanly: {status:?}\n{logs}"
    );
    assert!(
        socket_dirs(sockets.path()).is_empty(),
        "its socket directory is removed"
    );
    assert!(logs.contains("stopping api calls"), "{logs}");
    assert!(logs.contains("SIGTERM"), "{logs}");
}

#[test]
fn a_provider_whose_parent_was_killed_exits_within_seconds() {
    let sockets = tempfile::tempdir().unwrap();
    // An intermediate parent standing in for Terraform: it starts the provider, says its pid, and waits.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "\"$0\" & echo \"pid $!\"; wait"])
        .arg(provider_bin());
    as_terraform_launches_it(&mut cmd, sockets.path());
    let mut parent = cmd.spawn().unwrap();
    let stdout = lines_of(parent.stdout.take().unwrap());
    let stderr = lines_of(parent.stderr.take().unwrap());
    let (mut pid, mut handshake) = (None, None);
    while pid.is_none() || handshake.is_none() {
        let line = stdout.recv_timeout(Duration::from_secs(20)).unwrap();
        match line.strip_prefix("pid ") {
            Some(p) => pid = Some(p.parse::<u32>().unwrap()),
            None => handshake = Some(line),
        }
    }
    let pid = pid.unwrap();
    assert!(handshake.unwrap().starts_with("1|6|unix|"));
    assert_eq!(proc_stat(pid).map(|(_, ppid)| ppid), Some(parent.id()));
    assert!(alive(pid));

    // kill -9: the parent gets no chance to call Shutdown or to signal its plugins.
    parent.kill().unwrap();
    parent.wait().unwrap();
    let killed = Instant::now();
    while alive(pid) {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "the provider still runs {:?} after its parent died:\n{}",
            killed.elapsed(),
            drain_lines(&stderr, Duration::from_millis(200))
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = drain_lines(&stderr, Duration::from_secs(2));
    assert!(logs.contains("the parent process is gone"), "{logs}");
    // It wound down (socket directory removed), rather than dying.
    assert!(socket_dirs(sockets.path()).is_empty(), "{logs}");
}

#[test]
fn ctrl_c_in_a_terminal_during_a_reset_slower_than_30s_keeps_the_new_password() {
    const USER: &str = "svc-ci";
    const SEED: &str = "Seed-Passw0rd-1";
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nprovider \"thingspace\" {{\n  request_timeout = \"60s\"\n}}\n\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n}}\n"
        ),
    );
    // The reset answers (and takes effect) 35 s after it is sent: longer than the old fixed 30 s drain.
    emu.fault(Fault::delay(RESET_PATH, 35_000));
    let running = ws.spawn(&["apply", "-auto-approve", "-input=false"], &[]);
    wait_for(&emu, "the delayed reset", |r| pending(r, RESET_PATH));
    // A terminal sends Ctrl-C to its whole foreground process group: Terraform and the provider it runs.
    let providers = children(running.pid());
    assert!(!providers.is_empty(), "terraform runs a provider");
    signal(running.pid(), "INT");
    for pid in &providers {
        signal(*pid, "INT");
    }
    let out = running.wait();
    let user = emu.user(USER);
    assert_eq!(user.resets, 1, "the reset in flight completed:\n{out}");
    let state = ws.resource("thingspace_password_rotation.ci");
    assert_eq!(
        state["password"].as_str(),
        Some(user.password.as_str()),
        "the new password reached the state:\n{out}"
    );
    assert_ne!(user.password, SEED);
    for pid in providers {
        assert!(!alive(pid), "the provider {pid} ended with terraform");
    }
}
