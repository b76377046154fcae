//! The fault-sequence matrix (issue 9): API step × outcome × Terraform workflow, each followed by further applies,
//! with the invariants I1–I5 checked after every command from the emulator's records and Terraform's state and
//! output.
//!
//! - Steps: token, log-in, reset, log-out, and the log-in that verifies the new password (issue 25). Outcomes: refused (4xx before effect), 5xx before effect, 5xx after
//!   effect, connection dropped after effect, timeout with a late effect, malformed (a garbled 200 after effect).
//! - Workflows: `apply`, `apply -refresh=false`, `-replace`, `create_before_destroy`, `taint`, `state rm` then apply,
//!   two instances for one user, Ctrl-C (SIGINT) while the faulted request is held, `kill -9` of Terraform then, the
//!   acknowledgement (`retry_stored_password_version` moved after the fault), and `max_password_age` (an apply past
//!   the deadline after the fault).
//!
//! I1 is checked as the README states it: at most one failed log-in per password value, plus one per move of the
//! acknowledgement.
//!
//! The full matrix is 5 × 6 × 11 = 330 sequences: `TS_MATRIX=full cargo test --test acceptance matrix:: --
//! --nocapture` (see the README for its duration). The README's test command runs a fixed sample: every step ×
//! outcome once, each with a workflow picked by a fixed seed, so all 30 fault classes and every workflow are covered
//! on each run. `TS_MATRIX_JOBS` sets how many sequences run at once (default 2);
//! `TS_MATRIX_FILTER=Reset,Kill9` runs only the cells whose description contains every listed word.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, LOGIN_PATH, LOGOUT_PATH,
    REQUIRED_PROVIDERS, RESET_PATH, Request, TOKEN_PATH, TfOutput, Workspace, encodings, flat,
};
use base64::Engine as _;

const USER: &str = "svc-matrix";
const SEED: &str = "Seed\"P@ss/w0rd&1";
const ADDR: &str = "thingspace_password_rotation.ci";
/// The provider's per-request limit in these sequences; a late effect lands after it.
pub(crate) const TIMEOUT: &str = "2s";
pub(crate) const LATE_MS: u64 = 3_000;
/// How long a faulted request is held for a Ctrl-C or kill -9 to arrive while it is on the wire.
const HOLD_MS: u64 = 2_500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Token,
    Login,
    Reset,
    Logout,
    /// The log-in that verifies the new password (`verify_new_password`, on by default): the rotation's second.
    Verify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Refused,
    Status5xxBefore,
    Status5xxAfter,
    DroppedAfter,
    TimeoutLateEffect,
    Malformed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Workflow {
    Apply,
    RefreshFalse,
    Replace,
    CreateBeforeDestroy,
    Taint,
    StateRmThenApply,
    DuplicateUsers,
    Sigint,
    Kill9,
    Acknowledge,
    MaxAge,
}

const STEPS: [Step; 5] = [
    Step::Token,
    Step::Login,
    Step::Reset,
    Step::Logout,
    Step::Verify,
];
pub(crate) const OUTCOMES: [Outcome; 6] = [
    Outcome::Refused,
    Outcome::Status5xxBefore,
    Outcome::Status5xxAfter,
    Outcome::DroppedAfter,
    Outcome::TimeoutLateEffect,
    Outcome::Malformed,
];
const WORKFLOWS: [Workflow; 11] = [
    Workflow::Apply,
    Workflow::RefreshFalse,
    Workflow::Replace,
    Workflow::CreateBeforeDestroy,
    Workflow::Taint,
    Workflow::StateRmThenApply,
    Workflow::DuplicateUsers,
    Workflow::Sigint,
    Workflow::Kill9,
    Workflow::Acknowledge,
    Workflow::MaxAge,
];

#[derive(Clone, Copy, Debug)]
struct Cell {
    step: Step,
    outcome: Outcome,
    workflow: Workflow,
}

impl Step {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Step::Token => TOKEN_PATH,
            Step::Login => LOGIN_PATH,
            Step::Reset => RESET_PATH,
            Step::Logout => LOGOUT_PATH,
            Step::Verify => LOGIN_PATH,
        }
    }
}

/// The fault for `step` and `outcome`; `hold` keeps the request on the wire for a signal to arrive.
pub(crate) fn fault(step: Step, outcome: Outcome, hold: bool) -> Fault {
    let path = step.path();
    let refused_body = match step {
        Step::Token => {
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
        }
        _ => {
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"Refused"}"#
        }
    };
    let gateway = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let f = match outcome {
        Outcome::Refused => Fault::status(
            path,
            if step == Step::Token { 401 } else { 400 },
            refused_body,
        ),
        Outcome::Status5xxBefore => Fault::status(path, 503, gateway).content_type("text/html"),
        Outcome::Status5xxAfter => Fault::status(path, 502, gateway)
            .content_type("text/html")
            .after(),
        Outcome::DroppedAfter => Fault::drop_connection(path).after(),
        Outcome::TimeoutLateEffect => Fault::delay(path, LATE_MS).late(LATE_MS),
        Outcome::Malformed => Fault::status(path, 200, "<html>maintenance</html>")
            .content_type("text/html")
            .after(),
    };
    // The verification is the rotation's second log-in: the first passes untouched.
    let f = if step == Step::Verify { f.skip(1) } else { f };
    match (hold, outcome) {
        (true, Outcome::TimeoutLateEffect) | (false, _) => f,
        (true, _) => f.delay_ms(HOLD_MS),
    }
}

/// The cells the README's test command runs: each step × outcome once, with a workflow from a fixed seed, shifted so
/// the 30 cells cover all 11 workflows.
fn sample() -> Vec<Cell> {
    let mut rng = fastrand::Rng::with_seed(0x7115_5eed);
    let offset = rng.usize(..WORKFLOWS.len());
    let mut cells = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        for (j, outcome) in OUTCOMES.iter().enumerate() {
            let k = (i * OUTCOMES.len() + j + offset) % WORKFLOWS.len();
            cells.push(Cell {
                step: *step,
                outcome: *outcome,
                workflow: WORKFLOWS[k],
            });
        }
    }
    cells
}

fn full() -> Vec<Cell> {
    let mut cells = Vec::new();
    for step in STEPS {
        for outcome in OUTCOMES {
            for workflow in WORKFLOWS {
                cells.push(Cell {
                    step,
                    outcome,
                    workflow,
                });
            }
        }
    }
    cells
}

/// One sequence: its emulator, workspace, and the record the invariants are checked against.
struct Run {
    cell: Cell,
    emu: Emulator,
    ws: Workspace,
    trigger: u32,
    cbd: bool,
    duplicate: bool,
    /// `retry_stored_password_version`: each move allows one more log-in with the stored password.
    acknowledged: u32,
    /// Whether the configuration sets `max_password_age`.
    max_age: bool,
    /// Each command's label, output and the slice of the request log it caused.
    log: Vec<String>,
    /// After `state rm` or `kill -9`, Terraform itself discarded what it knew: I3 is not checked from then on.
    state_discarded: bool,
    /// A late-effect fault was registered and its effect may still be pending.
    late_armed: bool,
}

impl Run {
    fn new(cell: Cell) -> Self {
        let emu = Emulator::start();
        emu.add_user(USER, SEED);
        let ws = Workspace::new(&emu);
        let run = Run {
            cell,
            emu,
            ws,
            trigger: 0,
            cbd: false,
            duplicate: false,
            acknowledged: 0,
            max_age: false,
            log: Vec::new(),
            state_discarded: false,
            late_armed: false,
        };
        run.write_config();
        run
    }

    fn write_config(&self) {
        let lifecycle = if self.cbd {
            "  lifecycle {\n    create_before_destroy = true\n  }\n"
        } else {
            ""
        };
        let count = if self.duplicate { "  count = 2\n" } else { "" };
        let mut extra = String::new();
        if self.acknowledged > 0 {
            extra.push_str(&format!(
                "  retry_stored_password_version = {}\n",
                self.acknowledged
            ));
        }
        if self.max_age {
            extra.push_str("  max_password_age = \"1h\"\n");
        }
        let seed = SEED.replace('\\', "\\\\").replace('"', "\\\"");
        self.ws.write(
            "main.tf",
            &format!(
                "{REQUIRED_PROVIDERS}\nprovider \"thingspace\" {{\n  request_timeout = \"{TIMEOUT}\"\n}}\n\nresource \"thingspace_password_rotation\" \"ci\" {{\n{count}  username = \"{USER}\"\n  current_password = \"{seed}\"\n  triggers = {{ n = \"{}\" }}\n{extra}{lifecycle}}}\n",
                self.trigger
            ),
        );
    }

    fn bump(&mut self) {
        self.trigger += 1;
        self.write_config();
    }

    /// Runs one Terraform command and checks every invariant on what it did.
    fn command(&mut self, label: &str, args: &[&str]) -> TfOutput {
        let before = self.emu.requests().len();
        let out = self.ws.tf_env(args, &[("TF_LOG_PROVIDER", "debug")]);
        self.settle();
        self.after(label, before, &out);
        out
    }

    fn apply(&mut self, label: &str, extra: &[&str]) -> TfOutput {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.command(label, &args)
    }

    /// Waits for a late effect to land, so the checks see what ThingSpace really did.
    fn settle(&mut self) {
        if std::mem::take(&mut self.late_armed) {
            std::thread::sleep(Duration::from_millis(LATE_MS + 300));
        }
    }

    /// Runs an apply, and when the faulted request is held on the wire, interrupts or kills Terraform.
    fn apply_interrupted(&mut self, label: &str, kill: bool) -> TfOutput {
        let before = self.emu.requests().len();
        let mut running = self.ws.spawn(
            &["apply", "-auto-approve", "-input=false"],
            &[("TF_LOG_PROVIDER", "debug")],
        );
        let path = self.cell.step.path();
        let deadline = Instant::now() + Duration::from_secs(60);
        let held = loop {
            let reqs = self.emu.requests();
            if reqs[before..].iter().any(|r| r.path == path && r.fault) {
                break true;
            }
            if Instant::now() > deadline || !running.running() {
                break false;
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        if held {
            if kill {
                running.kill();
            } else {
                running.interrupt();
            }
        }
        let out = running.wait();
        if kill && held {
            self.state_discarded = true;
            // I3's process half: the provider leaves once nothing is on the wire (within request_timeout).
            let gone = Instant::now() + Duration::from_secs(15);
            while self.ws.provider_running() {
                assert!(
                    Instant::now() < gone,
                    "{:?}: the provider outlived its killed Terraform by 15 s",
                    self.cell
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.settle();
        self.after(label, before, &out);
        out
    }

    /// The invariants, after one command.
    fn after(&mut self, label: &str, before: usize, out: &TfOutput) {
        let reqs = self.emu.requests();
        let mine = &reqs[before.min(reqs.len())..];
        // Terraform's own lines, without the debug log (which only matters to the secret check below).
        let shown: String = out
            .stdout
            .lines()
            .chain(out.stderr.lines().filter(|l| !l.starts_with("20")))
            .collect::<Vec<_>>()
            .join("\n");
        let shown: String = flat(&shown).chars().take(1500).collect();
        self.log.push(format!(
            "--- {label} (exit {}) requests: {}\n{shown}",
            out.code,
            describe(mine),
        ));
        let ctx = || {
            let start = self.log.len().saturating_sub(4);
            format!(
                "{:?} after {label}:\n{}",
                self.cell,
                self.log[start..].join("\n")
            )
        };
        let user = self.emu.user(USER);

        // I1: at most one failed log-in per password value, plus one per move of the acknowledgement, and never
        // locked.
        let mut per_password: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &user.failed_login_attempts {
            *per_password.entry(f.password.as_str()).or_default() += 1;
        }
        let allowed = 1 + self.acknowledged as usize;
        assert!(
            per_password.values().all(|n| *n <= allowed) && !user.locked,
            "I1: failed log-ins per password {per_password:?}, locked {}\n{}",
            user.locked,
            ctx()
        );

        // I2: within one command, nothing after a log-in whose outcome is unknown, and no reset after a reset whose
        // outcome is unknown.
        for (i, r) in mine.iter().enumerate() {
            let unknown = r.status.is_none_or(|s| s >= 500) || (r.fault && r.status == Some(200));
            if !unknown {
                continue;
            }
            let later = &mine[i + 1..];
            if r.path == LOGIN_PATH {
                assert!(
                    !later.iter().any(|l| l.path == LOGIN_PATH),
                    "I2: a log-in after a log-in with an unknown outcome\n{}",
                    ctx()
                );
            }
            if r.path == RESET_PATH {
                assert!(
                    !later.iter().any(|l| l.path == RESET_PATH),
                    "I2: a reset after a reset with an unknown outcome\n{}",
                    ctx()
                );
            }
        }

        // I3: a password ThingSpace generated is in state, or the resource is blocked saying a reset may have
        // taken effect.
        let generated = self.emu.issued().passwords;
        if !self.state_discarded && generated.contains(&user.password) {
            let objects = self.ws.objects();
            let in_state = objects
                .iter()
                .any(|(_, o)| o["password"].as_str() == Some(&user.password));
            let blocked_for_reset = objects.iter().any(|(_, o)| {
                o["blocked_reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("may have taken effect"))
            });
            assert!(
                in_state || blocked_for_reset,
                "I3: ThingSpace's password is in no state and nothing says a reset may have taken effect\n{}",
                ctx()
            );
        }

        // I5: no secret, in any encoding, in Terraform's output (provider logs included at debug).
        let issued = self.emu.issued();
        let mut secrets: Vec<String> = vec![SEED.to_owned(), DEFAULT_CLIENT_SECRET.to_owned()];
        secrets.extend(issued.passwords.iter().cloned());
        secrets.extend(issued.access_tokens.iter().cloned());
        secrets.extend(issued.session_tokens.iter().cloned());
        let text = out.combined();
        for secret in &secrets {
            for form in encodings(secret) {
                assert!(
                    !text.contains(&form),
                    "I5: a secret ({} chars) appears as {form:?}\n{}",
                    secret.len(),
                    ctx()
                );
            }
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
        assert!(
            !text.contains(&basic),
            "I5: the Basic credential\n{}",
            ctx()
        );
        assert!(
            !text.contains("panicked") && !text.contains("Plugin did not respond"),
            "no crash\n{}",
            ctx()
        );
    }
}

pub(crate) fn describe(reqs: &[Request]) -> String {
    reqs.iter()
        .map(|r| {
            let step = r.path.rsplit('/').next().unwrap_or("?");
            let status = r.status.map_or("none".to_owned(), |s| s.to_string());
            format!("{step}:{status}{}", if r.fault { "*" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one cell's sequence: a healthy create, the faulted workflow, then up to three further applies.
fn run_cell(cell: Cell) -> Result<(), String> {
    let result = std::panic::catch_unwind(|| {
        let mut run = Run::new(cell);
        let first = run.apply("create", &[]);
        assert!(first.success(), "the healthy create failed:\n{first}");
        let fault = |run: &mut Run, hold: bool| {
            run.emu.fault(fault(cell.step, cell.outcome, hold));
            run.late_armed = cell.outcome == Outcome::TimeoutLateEffect;
        };
        match cell.workflow {
            Workflow::Apply => {
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply", &[]);
            }
            Workflow::RefreshFalse => {
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply -refresh=false", &["-refresh=false"]);
            }
            Workflow::Replace => {
                fault(&mut run, false);
                run.apply("faulted -replace", &["-replace", ADDR]);
            }
            Workflow::CreateBeforeDestroy => {
                run.cbd = true;
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply with create_before_destroy", &[]);
                run.apply("-replace with create_before_destroy", &["-replace", ADDR]);
            }
            Workflow::Taint => {
                run.command("taint", &["taint", ADDR]);
                fault(&mut run, false);
                run.apply("faulted apply of a tainted object", &[]);
            }
            Workflow::StateRmThenApply => {
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply", &[]);
                run.state_discarded = true;
                run.command("state rm", &["state", "rm", ADDR]);
                run.apply("apply after state rm", &[]);
            }
            Workflow::DuplicateUsers => {
                run.duplicate = true;
                run.bump();
                fault(&mut run, false);
                let calls = run.emu.requests().len();
                let out = run.apply("two instances for one user", &[]);
                assert!(
                    !out.success()
                        && flat(&out.combined()).contains("Duplicate ThingSpace user name"),
                    "I4: duplicates are a plan error:\n{out}"
                );
                assert_eq!(run.emu.requests().len(), calls, "I4: before any API call");
                run.duplicate = false;
                run.emu.clear_faults();
                fault(&mut run, false);
                run.apply("faulted apply after removing the duplicate", &[]);
            }
            Workflow::Acknowledge => {
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply", &[]);
                run.emu.clear_faults();
                // What the block message offers when the outcome was unknown: one more log-in with the stored password.
                let offered = run.ws.objects().iter().any(|(_, o)| {
                    o["blocked_reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("retry_stored_password_version"))
                });
                run.acknowledged += 1;
                run.write_config();
                let before = run.emu.requests().len();
                run.apply("apply with retry_stored_password_version moved", &[]);
                let logins = run.emu.requests()[before..]
                    .iter()
                    .filter(|r| r.path == LOGIN_PATH)
                    .count();
                // Where the block offered the retry, the move makes exactly one log-in (a connect failure aside).
                if offered && cell.step != Step::Token {
                    assert_eq!(
                        logins,
                        1,
                        "{cell:?}: one log-in per move:\n{}",
                        run.log.join("\n")
                    );
                }
            }
            Workflow::MaxAge => {
                run.max_age = true;
                run.bump();
                fault(&mut run, false);
                run.apply("faulted apply with max_password_age", &[]);
                run.emu.clear_faults();
                // Two hours on, past the deadline, with nothing asked for: the plan fails unless it rotates.
                run.ws.set_clock_offset(2 * 3600);
                let before = run.emu.requests().len();
                let out = run.apply("apply past password_age_deadline", &[]);
                let rotated = run.emu.requests()[before..]
                    .iter()
                    .any(|r| r.path == RESET_PATH && r.status == Some(200));
                assert!(
                    rotated
                        || flat(&out.combined()).contains("Password older than max_password_age"),
                    "{cell:?}: past the deadline, an apply rotates or fails saying so:\n{out}"
                );
            }
            Workflow::Sigint | Workflow::Kill9 => {
                run.bump();
                fault(&mut run, true);
                run.apply_interrupted(
                    if cell.workflow == Workflow::Sigint {
                        "Ctrl-C while the faulted request is on the wire"
                    } else {
                        "kill -9 while the faulted request is on the wire"
                    },
                    cell.workflow == Workflow::Kill9,
                );
            }
        }
        run.emu.clear_faults();
        for i in 0..3 {
            run.bump();
            let extra: &[&str] = if cell.workflow == Workflow::RefreshFalse {
                &["-refresh=false"]
            } else {
                &[]
            };
            let out = run.apply(&format!("further apply {}", i + 1), extra);
            if !out.success() {
                // A refusal must say what to do.
                let text = flat(&out.combined());
                assert!(
                    text.contains("re-seed")
                        || text.contains("moved")
                        || text.contains("inconsistent final plan")
                        || text.contains("retry_stored_password_version"),
                    "{cell:?}: a refusal without the way out:\n{}",
                    run.log.join("\n")
                );
            }
        }
    });
    result.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned())
    })
}

#[test]
fn fault_sequences_keep_every_invariant() {
    let mut cells = match std::env::var("TS_MATRIX").as_deref() {
        Ok("full") => full(),
        _ => sample(),
    };
    // TS_MATRIX_FILTER=Reset,Kill9 keeps the cells whose description contains every comma-separated word.
    if let Ok(filter) = std::env::var("TS_MATRIX_FILTER") {
        cells.retain(|c| {
            let name = format!("{c:?}");
            filter.split(',').all(|w| name.contains(w.trim()))
        });
    }
    let jobs: usize = std::env::var("TS_MATRIX_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
        .max(1);
    let started = Instant::now();
    let queue = Mutex::new(cells.clone());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let Some(cell) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let r = run_cell(cell);
                    eprintln!(
                        "matrix: {:?} {:?} {:?}: {} in {:.1}s",
                        cell.step,
                        cell.outcome,
                        cell.workflow,
                        if r.is_ok() { "ok" } else { "FAILED" },
                        t.elapsed().as_secs_f64()
                    );
                    if let Err(e) = r {
                        failures.lock().unwrap().push(format!("{cell:?}: {e}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "matrix: {} sequences, {} failed, {:.0}s",
        cells.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_sample_covers_every_fault_class_and_every_workflow() {
    let cells = sample();
    assert_eq!(cells.len(), STEPS.len() * OUTCOMES.len());
    let mut classes: Vec<(Step, Outcome)> = cells.iter().map(|c| (c.step, c.outcome)).collect();
    classes.sort();
    classes.dedup();
    assert_eq!(classes.len(), 30);
    let mut workflows: Vec<Workflow> = cells.iter().map(|c| c.workflow).collect();
    workflows.sort();
    workflows.dedup();
    assert_eq!(workflows.len(), WORKFLOWS.len());
    assert_eq!(full().len(), 330);
}
