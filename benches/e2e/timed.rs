//! Timed Terraform commands in the test harness's workspaces: wall time from spawn to exit, CPU time of Terraform
//! and everything it started, and optionally the memory and CPU of the provider processes while it runs.
//!
//! The workspaces and the command (clean environment, private HOME and CLI config) are the harness's
//! ([`Workspace::command`]), so the benchmark runs Terraform exactly as the acceptance tests do; only the timing
//! lives here. The harness's own runner polls for the exit every 10 ms, too coarse for a 0.1 s plan.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;
use crate::harness::Workspace;
use crate::procfs::{self, Sampled};

/// `/proc/<pid>/comm` holds the first 15 bytes of the executable's name: any `terraform-provider-*` plugin.
pub const PLUGIN_COMM: &str = "terraform-provi";

/// One Terraform command's result.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub elapsed: Duration,
    /// CPU time of Terraform and every process it started (the provider plugins), user + system.
    pub cpu: Duration,
    pub output: String,
    /// The provider processes' memory and CPU, when the run was sampled.
    pub sampled: Option<Sampled>,
}

/// Runs `terraform <args>` in `ws` and times it from spawn to exit. With `sample`, a thread polls the plugin
/// processes Terraform starts and records their memory and CPU time (it costs CPU, so timed runs do not sample).
pub fn run(ws: &Workspace, args: &[&str], sample: bool) -> Result<Run, Error> {
    let mut cmd = ws.command(args, &[]);
    let cpu_before = procfs::children_cpu();
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        Error::Failed(format!(
            "cannot run {} (install it with scripts/setup-terraform.sh): {e}",
            cmd.get_program().to_string_lossy()
        ))
    })?;
    let pid = child.id();
    let finished = Arc::new(AtomicBool::new(false));
    let sampler = sample.then(|| {
        let finished = Arc::clone(&finished);
        thread::spawn(move || {
            procfs::sample_children(pid, PLUGIN_COMM, Duration::from_millis(5), || {
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

/// [`run`] that fails unless Terraform exits with `want`.
pub fn run_expect(ws: &Workspace, args: &[&str], want: i32, sample: bool) -> Result<Run, Error> {
    let run = run(ws, args, sample)?;
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
