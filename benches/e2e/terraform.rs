//! Terraform working directories for the benchmark, and timed Terraform commands in them.
//!
//! Every workspace has the same CLI config (our provider through `dev_overrides`), a private HOME and a clean
//! environment, so the only difference between the two sides of an A/B pair is the resource type.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::procfs::{self, Sampled};
use crate::{Error, emulator};

/// `/proc/<pid>/comm` holds the first 15 bytes of the executable's name.
const PROVIDER_COMM: &str = "terraform-provi";

/// Which Terraform to run and the environment every command gets.
#[derive(Debug, Clone)]
pub struct Terraform {
    pub program: PathBuf,
}

impl Terraform {
    /// `terraform version -json`'s `terraform_version`.
    pub fn version(&self) -> Result<String, Error> {
        let dir = TempDir::with_prefix("ts-bench-")?;
        let cfg = dir.path().join("empty.tfrc");
        std::fs::write(&cfg, "")?;
        let out = self
            .command(dir.path())
            .args(["version", "-json"])
            .env("TF_CLI_CONFIG_FILE", &cfg)
            .env("HOME", dir.path())
            .output()?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        json["terraform_version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Failed(format!("no terraform_version in {json}")))
    }

    /// A command with no inherited `TF_*`/`THINGSPACE_*` settings, no checkpoint calls and no prompts.
    fn command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
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
        cmd
    }
}

/// One Terraform command's result.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub elapsed: Duration,
    /// CPU time of Terraform and every process it started (the provider plugins), user + system.
    pub cpu: Duration,
    pub output: String,
    /// The provider processes' memory, when the run was sampled.
    pub sampled: Option<Sampled>,
}

/// One working directory with its config and state.
pub struct Workspace {
    _dir: TempDir,
    work: PathBuf,
    env: Vec<(String, String)>,
    terraform: Terraform,
}

impl Workspace {
    pub fn new(
        terraform: &Terraform,
        provider: &Path,
        emu: &emulator::Emulator,
    ) -> Result<Self, Error> {
        let dir = TempDir::with_prefix("ts-bench-")?;
        let work = dir.path().join("work");
        let home = dir.path().join("home");
        let plugins = dir.path().join("plugins");
        for d in [&work, &home, &plugins] {
            std::fs::create_dir_all(d)?;
        }
        std::os::unix::fs::symlink(
            std::path::absolute(provider)?,
            plugins.join("terraform-provider-thingspace"),
        )?;
        let cli_config = dir.path().join("terraform.tfrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/verizon/thingspace\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                plugins.display()
            ),
        )?;
        let env = vec![
            (
                "TF_CLI_CONFIG_FILE".to_owned(),
                cli_config.display().to_string(),
            ),
            ("HOME".to_owned(), home.display().to_string()),
            ("THINGSPACE_BASE_URL".to_owned(), emu.base_url.clone()),
            (
                "THINGSPACE_CLIENT_ID".to_owned(),
                emulator::CLIENT_ID.to_owned(),
            ),
            (
                "THINGSPACE_CLIENT_SECRET".to_owned(),
                emulator::CLIENT_SECRET.to_owned(),
            ),
        ];
        Ok(Self {
            _dir: dir,
            work,
            env,
            terraform: terraform.clone(),
        })
    }

    pub fn write(&self, file: &str, contents: &str) -> Result<(), Error> {
        Ok(std::fs::write(self.work.join(file), contents)?)
    }

    /// Runs `terraform <args>` and times it from spawn to exit. With `sample`, a thread polls the provider processes
    /// Terraform starts and records their memory (it costs CPU, so timed runs do not sample).
    pub fn run(&self, args: &[&str], sample: bool) -> Result<Run, Error> {
        let mut cmd = self.terraform.command(&self.work);
        cmd.args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let cpu_before = procfs::children_cpu();
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|e| {
            Error::Failed(format!(
                "cannot run {} (install it with scripts/setup-terraform.sh): {e}",
                self.terraform.program.display()
            ))
        })?;
        let pid = child.id();
        let finished = Arc::new(AtomicBool::new(false));
        let sampler = sample.then(|| {
            let finished = Arc::clone(&finished);
            thread::spawn(move || {
                procfs::sample_children(pid, PROVIDER_COMM, Duration::from_millis(5), || {
                    finished.load(Ordering::Relaxed)
                })
            })
        });
        let mut readers = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            readers.push(thread::spawn(move || {
                let mut s = String::new();
                let _ = out.read_to_string(&mut s);
                s
            }));
        }
        if let Some(mut err) = child.stderr.take() {
            readers.push(thread::spawn(move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                s
            }));
        }
        let status = child.wait()?;
        let elapsed = start.elapsed();
        let cpu = procfs::children_cpu().saturating_sub(cpu_before);
        finished.store(true, Ordering::Relaxed);
        let output = readers
            .into_iter()
            .map(|r| r.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("");
        let sampled = sampler.and_then(|s| s.join().ok());
        Ok(Run {
            code: status.code().unwrap_or(-1),
            elapsed,
            cpu,
            output,
            sampled,
        })
    }

    /// [`Workspace::run`] that fails unless Terraform exits with `want`.
    pub fn run_expect(&self, args: &[&str], want: i32, sample: bool) -> Result<Run, Error> {
        let run = self.run(args, sample)?;
        if run.code == want {
            Ok(run)
        } else {
            Err(Error::Failed(format!(
                "terraform {} exited {} (wanted {want}):\n{}",
                args.join(" "),
                run.code,
                run.output
            )))
        }
    }
}
