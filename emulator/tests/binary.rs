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
