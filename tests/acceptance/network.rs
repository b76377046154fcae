//! Network diagnostics and corporate networks with the real Terraform (issue 14): what a user sees when nothing
//! listens at `base_url`, when the certificate is not trusted, and that `ca_file` / `THINGSPACE_CA_FILE` and
//! `HTTPS_PROXY` / `NO_PROXY` work. Each test asserts on Terraform's output and what the emulator (or the proxy)
//! recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{
    ConnectProxy, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, REQUIRED_PROVIDERS,
    Terraform, TestCa, Workspace, flat, stored_password,
};

const ADDR: &str = "thingspace_password_rotation.svc";
const USER: &str = "svc-net";
const SEED: &str = "Seed-Passw0rd-1";

/// The proxy variables a test machine may carry; every test here sets what it wants and nothing else.
const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A workspace with the emulator's client credentials, no proxy settings, and `provider` as the provider block.
fn workspace(provider: &str) -> Workspace {
    let mut ws = Workspace::without_emulator(Terraform::from_env());
    ws.set_env("THINGSPACE_CLIENT_ID", DEFAULT_CLIENT_ID);
    ws.set_env("THINGSPACE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
    for var in PROXY_VARS
        .iter()
        .chain(&["THINGSPACE_BASE_URL", "THINGSPACE_CA_FILE"])
    {
        ws.unset_env(var);
    }
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\n{provider}\nresource \"thingspace_password_rotation\" \"svc\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n}}\n"
        ),
    );
    ws
}

fn port_of(base_url: &str) -> u16 {
    base_url.rsplit(':').next().unwrap().parse().unwrap()
}

/// An emulator serving HTTPS with a certificate from `ca` for `names`, with user `svc-net`.
fn tls_emulator(ca: &TestCa, dir: &std::path::Path, names: &[&str]) -> Emulator {
    let args = ca.server_args(dir, names);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let emu = Emulator::start_with(&args);
    assert!(emu.base_url.starts_with("https://"), "{}", emu.base_url);
    emu.add_user(USER, SEED);
    emu
}

#[test]
fn connection_refused_names_base_url_and_its_source_the_attempts_and_the_time() {
    let closed: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{closed}");
    let ws = workspace(&format!(
        "provider \"thingspace\" {{\n  base_url = \"{base}\"\n}}\n"
    ));
    let started = Instant::now();
    let out = ws.try_apply(&[]);
    let took = started.elapsed();
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for want in [
        "Error: Could not get a ThingSpace API access token",
        "could not connect: the connection was refused",
        &format!("base URL {base} (from the base_url attribute)"),
        "3 attempts over",
        "the password is unchanged",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    // Three connect attempts take about a second; Terraform's own start-up is most of the rest.
    assert!(took < Duration::from_secs(20), "apply took {took:?}");
}

#[test]
fn connection_refused_from_the_environment_says_so() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut ws = workspace("");
    let base = format!("http://{closed}");
    ws.set_env("THINGSPACE_BASE_URL", &base);
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(
        text.contains(&format!(
            "base URL {base} (from the THINGSPACE_BASE_URL environment variable)"
        )),
        "{out}"
    );
}

#[test]
fn an_untrusted_certificate_is_reported_once_then_ca_file_makes_it_work() {
    let ca = TestCa::new();
    let ws = workspace("");
    let emu = tls_emulator(&ca, ws.root(), &["localhost"]);
    let base = format!("https://localhost:{}", port_of(&emu.base_url));
    let ca_path = ca.write(ws.root());

    // Without the CA: one attempt, a message that names ca_file, and nothing reached the emulator.
    ws.write(
        "provider.tf",
        &format!("provider \"thingspace\" {{\n  base_url = \"{base}\"\n}}\n"),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for want in [
        "the server's TLS certificate is not trusted",
        "set ca_file or THINGSPACE_CA_FILE",
        &format!("base URL {base} (from the base_url attribute)"),
        "1 attempt over",
        "not retried",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());

    // With ca_file: the rotation goes through over HTTPS.
    ws.write(
        "provider.tf",
        &format!(
            "provider \"thingspace\" {{\n  base_url = \"{base}\"\n  ca_file = \"{}\"\n}}\n",
            ca_path.display()
        ),
    );
    ws.apply();
    let user = emu.user(USER);
    assert_eq!(user.resets, 1);
    assert_eq!(stored_password(&ws, ADDR).as_deref(), Some(&*user.password));
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_diagnostic_on_the_attribute() {
    let mut ws = workspace("");
    let bad = ws.root().join("not-a-ca.pem");
    std::fs::write(&bad, "this is not a certificate\n").unwrap();
    ws.set_env("THINGSPACE_BASE_URL", "https://localhost:9");
    ws.set_env("THINGSPACE_CA_FILE", &bad.display().to_string());
    let out = ws.tf(&["plan", "-input=false"]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(
        text.contains("Error: Invalid ca_file")
            && text.contains(&bad.display().to_string())
            && text.contains("THINGSPACE_CA_FILE environment variable")
            && text.contains("no PEM certificate"),
        "{out}"
    );
    assert!(!text.contains("panic"), "{out}");
}

#[test]
fn https_proxy_carries_every_call_to_a_name_only_the_proxy_resolves() {
    let ca = TestCa::new();
    let mut ws = workspace("");
    let emu = tls_emulator(&ca, ws.root(), &["thingspace.test"]);
    let port = port_of(&emu.base_url);
    let target = format!("thingspace.test:{port}");
    let proxy = ConnectProxy::start(&[(target.clone(), ([127, 0, 0, 1], port).into())]);
    ws.set_env("THINGSPACE_BASE_URL", &format!("https://{target}"));
    ws.set_env(
        "THINGSPACE_CA_FILE",
        &ca.write(ws.root()).display().to_string(),
    );
    ws.set_env("HTTPS_PROXY", &proxy.url);
    ws.set_env("NO_PROXY", "localhost,127.0.0.1");
    ws.apply();
    let user = emu.user(USER);
    assert_eq!(user.resets, 1);
    assert_eq!(stored_password(&ws, ADDR).as_deref(), Some(&*user.password));
    let targets = proxy.targets();
    assert!(
        targets.len() >= 3 && targets.iter().all(|t| *t == target),
        "{targets:?}"
    );

    // NO_PROXY naming the host sends it around the proxy, where the name does not resolve.
    emu.clear_requests();
    ws.set_env("NO_PROXY", "thingspace.test");
    let out = ws.try_apply(&["-replace", ADDR]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(text.contains("the host name does not resolve"), "{out}");
    assert!(!text.contains("through the proxy"), "{out}");
    assert_eq!(proxy.targets().len(), targets.len());
    assert!(emu.requests().is_empty());
}

#[test]
fn a_stray_api_in_base_url_says_to_check_base_url() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let base = format!("{}/api", emu.base_url);
    let ws = workspace(&format!(
        "provider \"thingspace\" {{\n  base_url = \"{base}\"\n}}\n"
    ));
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for want in [
        "HTTP 404, code 900906",
        &format!("check base_url, {base} (from the base_url attribute)"),
        "without /api",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{out}");
    }
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/api/ts/v1/oauth2/token"]);
    assert_eq!(emu.user(USER).failed_logins, 0);
}
