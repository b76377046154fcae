//! `examples/patterns/secret-store-aws` applied for real: the example's own `main.tf`, unchanged, with the real
//! `hashicorp/aws` provider installed from a filesystem mirror, against moto's server (a local AWS emulator from
//! PyPI) started on loopback, and our provider against the ThingSpace emulator. The secret Secrets Manager holds,
//! read back with boto3 (an AWS client independent of Terraform), must be the password ThingSpace holds, after the
//! first apply and after a rotation.
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
