//! `examples/patterns/secret-store-aws` applied for real: the example's own `main.tf`, unchanged, with the real
//! `hashicorp/aws` provider installed from a filesystem mirror, against moto's server (a local AWS emulator from
//! PyPI) started on loopback, and our provider against the ThingSpace emulator. The secret Secrets Manager holds,
//! read back with boto3 (an AWS client independent of Terraform), must be the password ThingSpace holds, after the
//! first apply and after a rotation. The per-department and app-accounts patterns (issue 25) are applied the same way.
//!
//! Needs the aws provider in a mirror (`THINGSPACE_TEST_AWS_MIRROR`, default `/opt/tf-plugins`) and moto
//! (`scripts/setup-moto.sh` installs it into `.venvs/moto`; `THINGSPACE_TEST_MOTO_PYTHON` names another python).
//! Without either, the test prints a `SKIPPED` line on the terminal saying which, and checks nothing;
//! scripts/test.sh counts those lines in its summary. The Vault pattern is format-checked only (examples.rs).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{Emulator, PROVIDER_SOURCE, Workspace, repo_root};

const AWS_SOURCE: &str = "registry.terraform.io/hashicorp/aws";
const DEFAULT_MIRROR: &str = "/opt/tf-plugins";
const USER: &str = "svc-reporting";
const SECRET_ID: &str = "thingspace/svc-reporting";
const SEED: &str = "Seed-Passw0rd-1";
/// Past the example's `rotation_period = "90d"`, on the provider's test clock.
const NINETY_ONE_DAYS: i64 = 91 * 86_400;

/// Says why the test checks nothing, on the real stderr: libtest captures only `print!`-style output, and a skip
/// must show in the run's output even though the test passes.
fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// The filesystem mirror holding `hashicorp/aws` for this platform, in either layout Terraform reads (unpacked
/// directories or the release zip), or why there is none.
fn aws_mirror() -> Result<PathBuf, String> {
    let (var, mirror) = match std::env::var_os("THINGSPACE_TEST_AWS_MIRROR") {
        Some(p) if !p.is_empty() => ("THINGSPACE_TEST_AWS_MIRROR", PathBuf::from(p)),
        _ => ("the default mirror", PathBuf::from(DEFAULT_MIRROR)),
    };
    let platform = format!(
        "{}_{}",
        std::env::consts::OS,
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        }
    );
    let dir = mirror.join(AWS_SOURCE);
    let entries = std::fs::read_dir(&dir).map(|d| d.flatten().collect::<Vec<_>>());
    let found = entries.unwrap_or_default().iter().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let unpacked = e.path().join(&platform);
        let zipped = name.starts_with("terraform-provider-aws_") && name.ends_with(".zip");
        (zipped && name.contains(&platform))
            || std::fs::read_dir(unpacked).is_ok_and(|files| {
                files.flatten().any(|f| {
                    f.file_name()
                        .to_string_lossy()
                        .starts_with("terraform-provider-aws")
                })
            })
    });
    if found {
        Ok(mirror)
    } else {
        Err(format!(
            "{var} {} has no {AWS_SOURCE} for {platform} (set THINGSPACE_TEST_AWS_MIRROR to a filesystem mirror that has it)",
            mirror.display()
        ))
    }
}

/// A python with moto's server and boto3, or why there is none.
fn moto_python() -> Result<PathBuf, String> {
    let python = match std::env::var_os("THINGSPACE_TEST_MOTO_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join(".venvs/moto/bin/python3"),
    };
    let imports = Command::new(&python)
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match imports {
        Ok(s) if s.success() => Ok(python),
        _ => Err(format!(
            "moto's server and boto3 are not importable with {} (run scripts/setup-moto.sh; it needs PyPI)",
            python.display()
        )),
    }
}

/// moto's server on a loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
    python: PathBuf,
    log: PathBuf,
    _dir: TempDir,
}

impl Moto {
    fn start(python: &Path) -> Self {
        let dir = TempDir::with_prefix("ts-moto-").expect("temp dir");
        let log = dir.path().join("moto.log");
        // moto takes a port, not a listening socket: ask the OS for a free one. Another process could take it in
        // between; the readiness check below then fails with moto's log, rather than talk to a stranger.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let out = std::fs::File::create(&log).expect("moto log");
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("moto log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto with {}: {e}", python.display()));
        let mut moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            python: python.to_owned(),
            log,
            _dir: dir,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let probe = format!("{}/moto-api/", self.url);
        loop {
            if ureq::get(&probe)
                .timeout(Duration::from_secs(2))
                .call()
                .is_ok()
            {
                return;
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "moto did not come up on {} (exit: {exited:?}); its log:\n{log}",
                    self.url
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The current `SecretString` of `secret_id`, read with boto3's `GetSecretValue`.
    fn secret_string(&self, secret_id: &str) -> String {
        const READ: &str = "import sys, boto3\n\
c = boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1', \
aws_access_key_id='testing', aws_secret_access_key='testing')\n\
sys.stdout.write(c.get_secret_value(SecretId=sys.argv[2])['SecretString'])\n";
        let out = Command::new(&self.python)
            .args(["-c", READ, &self.url, secret_id])
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run boto3");
        assert!(
            out.status.success(),
            "GetSecretValue {secret_id} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("secret is UTF-8")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `{ username, password }` the example stores, as moto holds it now.
fn stored_credentials(moto: &Moto) -> (String, String) {
    let secret: Value = serde_json::from_str(&moto.secret_string(SECRET_ID))
        .expect("the example stores a JSON secret");
    let field = |k: &str| {
        secret[k]
            .as_str()
            .unwrap_or_else(|| panic!("secret has no string {k}"))
            .to_owned()
    };
    (field("username"), field("password"))
}

#[test]
fn the_aws_pattern_stores_the_password_thingspace_holds_after_create_and_after_a_rotation() {
    let test = "secret_store::the_aws_pattern_stores_the_password_thingspace_holds_after_create_and_after_a_rotation";
    let mirror = match aws_mirror() {
        Ok(m) => m,
        Err(reason) => return skip(test, &reason),
    };
    let python = match moto_python() {
        Ok(p) => p,
        Err(reason) => return skip(test, &reason),
    };
    let moto = Moto::start(&python);
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut ws = Workspace::new(&emu);

    // Our provider as every test gets it (dev_overrides), and the aws provider only from the mirror: Terraform
    // installs, verifies and locks it as a team's CI would.
    let plugins = ws.root().join("plugins");
    ws.write_cli_config(&format!(
        "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{AWS_SOURCE}\"]\n  }}\n}}\n",
        plugins.display(),
        mirror.display()
    ));
    let example = repo_root().join("examples/patterns/secret-store-aws/main.tf");
    ws.write(
        "main.tf",
        &std::fs::read_to_string(&example).expect("read the example"),
    );
    // The example configures no provider block: AWS's standard environment points it at moto, as users point it
    // at their account.
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TF_VAR_current_password", SEED),
    ] {
        ws.set_env(k, v);
    }
    for k in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"] {
        ws.unset_env(k);
    }
    ws.tf(&["init", "-input=false"]).assert_success();
    assert!(
        ws.read(".terraform.lock.hcl").contains(AWS_SOURCE),
        "the aws provider came from the mirror and is locked"
    );

    ws.apply();
    let user = emu.user(USER);
    assert_eq!((user.resets, user.failed_logins), (1, 0));
    assert_ne!(user.password, SEED);
    assert_eq!(
        stored_credentials(&moto),
        (USER.to_owned(), user.password.clone()),
        "after the first apply, Secrets Manager holds the password ThingSpace holds"
    );

    // The rotation period passes (on the provider's test clock): one apply rotates and stores the new password.
    ws.set_clock_offset(NINETY_ONE_DAYS);
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 2, "a rotation is due:\n{out}");
    ws.apply();
    let rotated = emu.user(USER);
    assert_eq!((rotated.resets, rotated.failed_logins), (2, 0));
    assert_ne!(rotated.password, user.password);
    assert_eq!(
        stored_credentials(&moto),
        (USER.to_owned(), rotated.password.clone()),
        "after a rotation, Secrets Manager holds the new password"
    );
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "nothing left to do:\n{out}");
}

/// A workspace with `pattern`'s `main.tf`, unchanged, initialised with the aws provider from the mirror and AWS's
/// standard environment pointing at a fresh moto; `None` (after a `SKIPPED` line) without the mirror or moto.
fn aws_pattern(test: &str, pattern: &str, emu: &Emulator) -> Option<(Moto, Workspace)> {
    let mirror = match aws_mirror() {
        Ok(m) => m,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    let python = match moto_python() {
        Ok(p) => p,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    let moto = Moto::start(&python);
    let mut ws = Workspace::new(emu);
    let plugins = ws.root().join("plugins");
    ws.write_cli_config(&format!(
        "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{AWS_SOURCE}\"]\n  }}\n}}\n",
        plugins.display(),
        mirror.display()
    ));
    // The pattern's Terraform files as they are, its modules included.
    let dir = repo_root().join(format!("examples/patterns/{pattern}"));
    let mut pending = vec![dir.clone()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read the pattern") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                let rel = path
                    .strip_prefix(&dir)
                    .expect("inside")
                    .display()
                    .to_string();
                ws.write(&rel, &std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        ws.set_env(k, v);
    }
    for k in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"] {
        ws.unset_env(k);
    }
    ws.tf(&["init", "-input=false"]).assert_success();
    Some((moto, ws))
}

/// The `{ username, password }` a pattern stored under `secret_id`.
fn credentials_at(moto: &Moto, secret_id: &str) -> (String, String) {
    let secret: Value =
        serde_json::from_str(&moto.secret_string(secret_id)).expect("a JSON secret");
    (
        secret["username"].as_str().unwrap_or_default().to_owned(),
        secret["password"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Issue 25: one user per department, each with its own seed and secret path. A department whose seed is wrong is
/// blocked after exactly one failed log-in and neither blocks nor delays the others: they are created and stored in
/// the same apply, and rotated again on schedule while the blocked one is refused before any log-in.
#[test]
fn per_department_pattern_rotates_each_department_and_a_blocked_one_holds_back_no_other() {
    let test = "secret_store::per_department_pattern_rotates_each_department_and_a_blocked_one_holds_back_no_other";
    let emu = Emulator::start();
    let departments = [
        ("provisioning", "svc-provisioning"),
        ("billing", "svc-billing"),
        ("support", "svc-support"),
    ];
    for (_, user) in departments {
        emu.add_user(user, SEED);
    }
    let Some((moto, mut ws)) = aws_pattern(test, "per-department", &emu) else {
        return;
    };
    // billing's CI secret holds a wrong seed.
    ws.set_env(
        "TF_VAR_seeds",
        &serde_json::json!({"provisioning": SEED, "billing": "Wrong-Seed-1", "support": SEED})
            .to_string(),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "billing's create fails: {out}");
    assert!(out.combined().contains("svc-billing"), "{out}");
    assert_eq!(emu.user("svc-billing").failed_logins, 1);
    let mut first = Vec::new();
    for (dept, user) in departments.iter().filter(|(d, _)| *d != "billing") {
        let live = emu.user(user);
        assert_eq!((live.resets, live.failed_logins), (1, 0), "{dept}");
        assert_eq!(
            credentials_at(&moto, &format!("thingspace/{dept}/{user}")),
            ((*user).to_owned(), live.password.clone()),
            "{dept} is stored in the same apply"
        );
        first.push(live.password);
    }

    // 84 days later, the seeds gone from CI: the healthy departments rotate on schedule, billing is refused before
    // any log-in (its block stands), and nothing waits for it.
    ws.unset_env("TF_VAR_seeds");
    ws.set_clock_offset(84 * 86_400);
    emu.clear_requests();
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "billing still fails the run: {out}");
    assert_eq!(
        emu.user("svc-billing").failed_logins,
        1,
        "no second failed log-in"
    );
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.username.as_deref() != Some("svc-billing")),
        "billing is refused before any log-in"
    );
    for ((dept, user), before) in departments
        .iter()
        .filter(|(d, _)| *d != "billing")
        .zip(&first)
    {
        let live = emu.user(user);
        assert_eq!(
            (live.resets, live.failed_logins),
            (2, 0),
            "{dept} rotated again"
        );
        assert_ne!(&live.password, before);
        assert_eq!(
            credentials_at(&moto, &format!("thingspace/{dept}/{user}")),
            ((*user).to_owned(), live.password.clone()),
            "{dept}'s secret holds its new password"
        );
    }
}

/// Issue 25: one API user behind an application's accounts. The application side (`app/credentials.py`, boto3
/// against moto) reads the pair; after a rotation its cached pair is still the one ThingSpace holds for the standby
/// user, its next read gives the new active pair, and a refused pair is never handed back: all in one process, no
/// restart.
#[test]
fn app_accounts_pattern_picks_up_a_new_pair_without_a_restart() {
    let test = "secret_store::app_accounts_pattern_picks_up_a_new_pair_without_a_restart";
    let emu = Emulator::start();
    for u in ["svc-app-blue", "svc-app-green"] {
        emu.add_user(u, SEED);
    }
    let Some((moto, mut ws)) = aws_pattern(test, "app-accounts", &emu) else {
        return;
    };
    ws.set_env(
        "TF_VAR_current_passwords",
        &serde_json::json!({"svc-app-blue": SEED, "svc-app-green": SEED}).to_string(),
    );
    ws.apply();

    const DRIVER: &str = "import json, sys, boto3\n\
sys.path.insert(0, sys.argv[2])\n\
from credentials import ThingSpaceCredentials\n\
c = boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
creds = ThingSpaceCredentials('thingspace/app-api', max_age_seconds=3600, client=c)\n\
first = creds.current()\n\
print(json.dumps(first), flush=True)\n\
sys.stdin.readline()\n\
print(json.dumps(creds.current()), flush=True)\n\
creds.max_age = 0\n\
fresh = creds.current()\n\
print(json.dumps(fresh), flush=True)\n\
print(json.dumps([creds.after_refused_login(first), creds.after_refused_login(fresh)]), flush=True)\n";
    let python = moto_python().expect("moto's python, as aws_pattern found it");
    let app_dir = repo_root().join("examples/patterns/app-accounts/app");
    let mut app = Command::new(&python)
        .args(["-c", DRIVER, &moto.url, &app_dir.display().to_string()])
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the application sketch");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(app.stdout.take().unwrap()));
    let mut next = || -> Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    let pair = |v: &Value| {
        (
            v[0].as_str().unwrap().to_owned(),
            v[1].as_str().unwrap().to_owned(),
        )
    };
    let holds = |(u, p): &(String, String)| emu.user(u).password == *p;

    let first = pair(&next());
    assert!(
        holds(&first),
        "the pair the application read is the one ThingSpace holds"
    );

    // A rotation (the period passes on the provider's clock) while the application runs.
    ws.set_clock_offset(31 * 86_400);
    ws.apply();
    writeln!(app.stdin.as_mut().unwrap()).unwrap();
    let cached = pair(&next());
    assert_eq!(cached, first, "still the cached pair");
    assert!(holds(&cached), "which still works: it is the standby now");
    let fresh = pair(&next());
    assert_ne!(fresh.0, first.0, "the other user is active now");
    assert!(holds(&fresh), "the new pair works");
    let retry = next();
    assert_eq!(
        pair(&retry[0]),
        fresh,
        "after a refusal of the old pair: the new one"
    );
    assert!(
        retry[1].is_null(),
        "a refused pair still in the secret is never handed back"
    );
    let _ = app.wait();
}
