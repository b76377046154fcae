//! The `thingspace-emulator` binary: the CLI the quickstart and the benchmarks start, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use thingspace_emulator::{User, paths};

#[test]
fn binary_prints_its_url_serves_its_users_and_exits_on_stdin_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_thingspace-emulator"))
        .args([
            "--exit-on-stdin-eof",
            "--user",
            "alice:pa:ss",
            "--listen=127.0.0.1:0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let body = ureq::get(&format!("{url}{}", paths::user_path("alice")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let alice: User = serde_json::from_str(&body).unwrap();
    assert_eq!((alice.password.as_str(), alice.locked), ("pa:ss", false));

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after stdin EOF");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing but the URL goes to stdout");
}

#[test]
fn binary_refuses_bad_arguments_with_the_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_thingspace-emulator"))
        .args(["--user", "no-colon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--user takes NAME:VALUE"), "{stderr}");
    assert!(stderr.contains("usage: thingspace-emulator"), "{stderr}");
}

#[test]
fn binary_refuses_a_tls_identity_that_is_not_pem() {
    let dir = std::env::temp_dir().join(format!("emu-bin-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not pem").unwrap();
    let junk = junk.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_thingspace-emulator"))
        .args(["--tls-cert", junk, "--tls-key", junk])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no URL when it cannot serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot serve HTTPS"), "{stderr}");
}

/// Issue 22: `--help` lists every control endpoint, and each `POST BASE/... {json}` example it shows is accepted,
/// as written, by a running emulator (the rehearsal the CI guide describes starts from these lines).
#[test]
fn help_lists_the_control_endpoints_and_its_examples_work() {
    let out = Command::new(env!("CARGO_BIN_EXE_thingspace-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stderr).unwrap();
    for path in [
        paths::USERS_PATH,
        paths::FAULTS_PATH,
        paths::CLOCK_PATH,
        paths::EXPIRE_PATH,
        paths::REQUESTS_PATH,
        paths::STATS_PATH,
        paths::HELD_PATH,
        paths::RELEASE_PATH,
    ] {
        assert!(help.contains(path), "--help does not name {path}:\n{help}");
    }
    let emu = thingspace_emulator::spawn().unwrap();
    let mut posted = 0;
    for line in help.lines() {
        let Some((_, rest)) = line.split_once("POST BASE") else {
            continue;
        };
        let (path, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let body = rest.trim();
        let body = match body.find('{') {
            Some(start) => {
                let end = body.rfind('}').unwrap();
                &body[start..=end]
            }
            None => continue,
        };
        let answer = ureq::post(&format!("{}{path}", emu.base_url()))
            .set("content-type", "application/json")
            .send_string(body);
        assert!(answer.is_ok(), "{path} {body}: {answer:?}");
        posted += 1;
    }
    assert!(posted >= 4, "only {posted} examples found in:\n{help}");
}
