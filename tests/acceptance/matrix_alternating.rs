//! The fault-sequence matrix for `thingspace_alternating_password_rotation` (issue 20): a fault class (log-in or
//! reset × the outcomes of `matrix`) × where it lands (the create's first reset, its second, a rotation's) × how an
//! operator recovers (re-seed one user through `current_passwords` and the version; re-seed through
//! `current_passwords_wo` and the version with the other user's stale seed still in the map; the acknowledgement;
//! Ctrl-C while the faulted request is on the wire; `state rm`), each followed by further applies that re-seed
//! whatever is blocked, as the block message says. After every command, per user: at most one failed log-in per
//! password value (plus one per move of the acknowledgement), never locked, every password ThingSpace generated in
//! state or a `blocked_reason` naming that user saying a reset may have taken effect, and no secret in any output.
//!
//! The full matrix is 2 × 6 × 3 × 5 = 180 sequences: `TS_MATRIX=full cargo test --test acceptance
//! matrix_alternating:: -- --nocapture`. The README's test command runs a sample of 18: every fault outcome at every
//! target once, log-in and reset in turn, the recoveries in turn. `TS_MATRIX_FILTER` and `TS_MATRIX_JOBS` work as
//! for `matrix`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{
    DEFAULT_CLIENT_SECRET, Emulator, Fault, REQUIRED_PROVIDERS, TfOutput, Workspace, encodings,
    flat,
};
use crate::matrix::{LATE_MS, OUTCOMES, Outcome, Step, TIMEOUT, describe, fault};

const ADDR: &str = "thingspace_alternating_password_rotation.api";
const BLUE: &str = "svc-blue";
const GREEN: &str = "svc-green";
const SEED_BLUE: &str = "Seed-Blue\"1";
const SEED_GREEN: &str = "Seed-Green&1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    CreateFirst,
    CreateSecond,
    Rotation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    ReseedMap,
    ReseedVersion,
    Acknowledge,
    Sigint,
    StateRm,
}

const TARGETS: [Target; 3] = [Target::CreateFirst, Target::CreateSecond, Target::Rotation];
const RECOVERIES: [Recovery; 5] = [
    Recovery::ReseedMap,
    Recovery::ReseedVersion,
    Recovery::Acknowledge,
    Recovery::Sigint,
    Recovery::StateRm,
];

#[derive(Clone, Copy, Debug)]
struct Cell {
    step: Step,
    outcome: Outcome,
    target: Target,
    recovery: Recovery,
}

fn full() -> Vec<Cell> {
    let mut cells = Vec::new();
    for step in [Step::Login, Step::Reset] {
        for outcome in OUTCOMES {
            for target in TARGETS {
                for recovery in RECOVERIES {
                    cells.push(Cell {
                        step,
                        outcome,
                        target,
                        recovery,
                    });
                }
            }
        }
    }
    cells
}

/// Every outcome at every target once, log-in and reset in turn, the recoveries in turn.
fn sample() -> Vec<Cell> {
    let mut cells = Vec::new();
    for (i, outcome) in OUTCOMES.iter().enumerate() {
        for (j, target) in TARGETS.iter().enumerate() {
            let k = i * TARGETS.len() + j;
            cells.push(Cell {
                step: if k.is_multiple_of(2) {
                    Step::Reset
                } else {
                    Step::Login
                },
                outcome: *outcome,
                target: *target,
                recovery: RECOVERIES[k % RECOVERIES.len()],
            });
        }
    }
    cells
}

/// One sequence.
struct Run {
    cell: Cell,
    emu: Emulator,
    ws: Workspace,
    trigger: u32,
    /// The seeds the configuration gives each user (the map, or `TF_VAR_seeds`).
    seeds: BTreeMap<&'static str, String>,
    /// `current_passwords_wo_version` (write-only mode only).
    version: u32,
    acknowledged: u32,
    state_discarded: bool,
    log: Vec<String>,
}

impl Run {
    fn new(cell: Cell) -> Self {
        let emu = Emulator::start();
        emu.add_user(BLUE, SEED_BLUE);
        emu.add_user(GREEN, SEED_GREEN);
        let ws = Workspace::new(&emu);
        let mut run = Run {
            cell,
            emu,
            ws,
            trigger: 0,
            seeds: [(BLUE, SEED_BLUE.to_owned()), (GREEN, SEED_GREEN.to_owned())].into(),
            version: 1,
            acknowledged: 0,
            state_discarded: false,
            log: Vec::new(),
        };
        run.write_config();
        run
    }

    /// Write-only seeds (and a version) in every recovery but the one that re-seeds through `current_passwords`.
    fn write_only(&self) -> bool {
        self.cell.recovery != Recovery::ReseedMap
    }

    fn write_config(&mut self) {
        let quoted = |s: &str| serde_json::to_string(s).unwrap();
        let seeds = if self.write_only() {
            let map = serde_json::json!({ BLUE: self.seeds[BLUE], GREEN: self.seeds[GREEN] });
            self.ws.set_env("TF_VAR_seeds", &map.to_string());
            format!(
                "  current_passwords_wo         = var.seeds\n  current_passwords_wo_version = {}\n",
                self.version
            )
        } else {
            format!(
                "  current_passwords = {{\n    \"{BLUE}\" = {}\n    \"{GREEN}\" = {}\n  }}\n  \
current_passwords_wo_version = {}\n",
                quoted(&self.seeds[BLUE]),
                quoted(&self.seeds[GREEN]),
                self.version
            )
        };
        let ack = if self.acknowledged > 0 {
            format!("  retry_stored_password_version = {}\n", self.acknowledged)
        } else {
            String::new()
        };
        let variable = if self.write_only() {
            "variable \"seeds\" {\n  type      = map(string)\n  sensitive = true\n  ephemeral = true\n}\n\n"
        } else {
            ""
        };
        self.ws.write(
            "main.tf",
            &format!(
                "{REQUIRED_PROVIDERS}\nprovider \"thingspace\" {{\n  request_timeout = \"{TIMEOUT}\"\n}}\n\n{variable}\
resource \"thingspace_alternating_password_rotation\" \"api\" {{\n  usernames = [\"{BLUE}\", \"{GREEN}\"]\n{seeds}{ack}  \
triggers = {{ n = \"{}\" }}\n}}\n",
                self.trigger
            ),
        );
    }

    /// The users a `blocked_reason` in state names.
    fn blocked_users(&self) -> Vec<&'static str> {
        let reasons: Vec<String> = self
            .ws
            .objects()
            .into_iter()
            .filter_map(|(_, o)| o["blocked_reason"].as_str().map(str::to_owned))
            .collect();
        [BLUE, GREEN]
            .into_iter()
            .filter(|u| reasons.iter().any(|r| r.contains(&format!("User \"{u}\""))))
            .collect()
    }

    /// What the block message says to do for each blocked user: its current password (as support would give it) in
    /// the map, with a new version in write-only mode; the other user's entry stays as it was, stale or not.
    fn reseed_blocked(&mut self) {
        let blocked = self.blocked_users();
        for u in &blocked {
            self.seeds.insert(u, self.emu.user(u).password);
        }
        // The version marks the re-seed for both maps, so the same value can be given again.
        self.version += 1;
        self.write_config();
    }

    fn command(&mut self, label: &str, args: &[&str]) -> TfOutput {
        let before = self.emu.requests().len();
        let out = self.ws.tf(args);
        self.settle();
        self.after(label, before, &out);
        out
    }

    fn apply(&mut self, label: &str) -> TfOutput {
        self.command(label, &["apply", "-auto-approve", "-input=false"])
    }

    fn settle(&self) {
        if self.cell.outcome == Outcome::TimeoutLateEffect {
            std::thread::sleep(Duration::from_millis(LATE_MS + 300));
        }
    }

    /// An apply interrupted by Ctrl-C once the faulted request is on the wire.
    fn apply_interrupted(&mut self, label: &str) -> TfOutput {
        let before = self.emu.requests().len();
        let running = self
            .ws
            .spawn(&["apply", "-auto-approve", "-input=false"], &[]);
        let path = self.cell.step.path();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut running = running;
        loop {
            let reqs = self.emu.requests();
            if reqs[before..].iter().any(|r| r.path == path && r.fault) {
                running.interrupt();
                break;
            }
            if Instant::now() > deadline || !running.running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let out = running.wait();
        self.settle();
        self.after(label, before, &out);
        out
    }

    /// The invariants, per user, after one command.
    fn after(&mut self, label: &str, before: usize, out: &TfOutput) {
        let reqs = self.emu.requests();
        let shown: String = flat(&out.stdout).chars().take(1200).collect();
        self.log.push(format!(
            "--- {label} (exit {}) requests: {}\n{shown}",
            out.code,
            describe(&reqs[before.min(reqs.len())..])
        ));
        let ctx = || {
            let start = self.log.len().saturating_sub(4);
            format!(
                "{:?} after {label}:\n{}",
                self.cell,
                self.log[start..].join("\n")
            )
        };
        let objects = self.ws.objects();
        let reasons: Vec<&str> = objects
            .iter()
            .filter_map(|(_, o)| o["blocked_reason"].as_str())
            .collect();
        let issued = self.emu.issued();
        for name in [BLUE, GREEN] {
            let user = self.emu.user(name);
            let mut per_password: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &user.failed_login_attempts {
                *per_password.entry(f.password.as_str()).or_default() += 1;
            }
            let allowed = 1 + self.acknowledged as usize;
            assert!(
                per_password.values().all(|n| *n <= allowed) && !user.locked,
                "I1: {name}: failed log-ins per password {per_password:?}, locked {}\n{}",
                user.locked,
                ctx()
            );
            if !self.state_discarded && issued.passwords.contains(&user.password) {
                let in_state = objects.iter().any(|(_, o)| {
                    ["active", "standby"].iter().any(|role| {
                        o[format!("{role}_username")] == name
                            && o[format!("{role}_password")] == user.password.as_str()
                    })
                });
                let explained = reasons.iter().any(|r| {
                    r.contains(&format!("User \"{name}\"")) && r.contains("may have taken effect")
                });
                assert!(
                    in_state || explained,
                    "I3: {name}'s generated password is in no state and nothing says a reset may have taken effect\n{}",
                    ctx()
                );
            }
        }
        let mut secrets = vec![
            SEED_BLUE.to_owned(),
            SEED_GREEN.to_owned(),
            DEFAULT_CLIENT_SECRET.to_owned(),
        ];
        secrets.extend(issued.passwords.iter().cloned());
        secrets.extend(issued.access_tokens.iter().cloned());
        secrets.extend(issued.session_tokens.iter().cloned());
        let text = out.combined();
        for secret in &secrets {
            for form in encodings(secret) {
                assert!(
                    !text.contains(&form),
                    "I5: a secret appears as {form:?}\n{}",
                    ctx()
                );
            }
        }
        assert!(!text.contains("panicked"), "no crash\n{}", ctx());
        // The single resource's argument names never appear in this resource's messages.
        assert!(
            !text.contains("current_password_wo ") && !text.contains("(or current_password)"),
            "the single resource's names\n{}",
            ctx()
        );
    }
}

fn run_cell(cell: Cell) -> Result<(), String> {
    std::panic::catch_unwind(|| {
        let mut run = Run::new(cell);
        if cell.target == Target::Rotation {
            let out = run.apply("healthy create");
            assert!(out.success(), "{out}");
            run.trigger += 1;
            run.write_config();
        }
        // A fault is taken by the next request to its path: a pass-through fault lets the first user's through.
        if cell.target == Target::CreateSecond {
            run.emu.fault(Fault::delay(cell.step.path(), 1));
        }
        let hold = cell.recovery == Recovery::Sigint;
        run.emu.fault(fault(cell.step, cell.outcome, hold));
        if hold {
            run.apply_interrupted("Ctrl-C while the faulted request is on the wire");
        } else {
            run.apply("faulted apply");
        }
        run.emu.clear_faults();
        match cell.recovery {
            Recovery::ReseedMap | Recovery::ReseedVersion => {
                run.reseed_blocked();
                run.apply("re-seed of the blocked users");
            }
            Recovery::Acknowledge => {
                run.acknowledged += 1;
                run.write_config();
                run.apply("acknowledgement");
            }
            Recovery::Sigint => {
                run.apply("apply after Ctrl-C");
            }
            Recovery::StateRm => {
                run.state_discarded = true;
                run.command("state rm", &["state", "rm", ADDR]);
                run.apply("apply after state rm");
            }
        }
        // Further applies, re-seeding what is blocked as its message says, until the pair is healthy again.
        let mut last = None;
        for i in 0..4 {
            let out = run.apply(&format!("recovery apply {}", i + 1));
            let ok = out.success();
            if !ok {
                let text = flat(&out.combined());
                assert!(
                    text.contains("re-seed")
                        || text.contains("No password")
                        || text.contains("retry_stored_password_version"),
                    "{cell:?}: a refusal without the way out:\n{}",
                    run.log.join("\n")
                );
                run.reseed_blocked();
            }
            last = Some(ok);
            if ok {
                break;
            }
        }
        assert_eq!(
            last,
            Some(true),
            "{cell:?}: no recovery:\n{}",
            run.log.join("\n")
        );
        let r = run.ws.resource(ADDR);
        for name in [BLUE, GREEN] {
            let live = run.emu.user(name).password;
            let held = ["active", "standby"].iter().any(|role| {
                r[format!("{role}_username")] == name
                    && r[format!("{role}_password")] == live.as_str()
            });
            assert!(
                held,
                "{cell:?}: {name}'s live password is not in state: {r}"
            );
        }
        assert!(r["blocked_reason"].is_null(), "{cell:?}: {r}");
    })
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned())
    })
}

#[test]
fn alternating_fault_sequences_keep_every_invariant_per_user() {
    let mut cells = match std::env::var("TS_MATRIX").as_deref() {
        Ok("full") => full(),
        _ => sample(),
    };
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
                        "matrix_alternating: {cell:?}: {} in {:.1}s",
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
        "matrix_alternating: {} sequences, {} failed, {:.0}s",
        cells.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_alternating_sample_covers_every_outcome_target_step_and_recovery() {
    let cells = sample();
    assert_eq!(cells.len(), OUTCOMES.len() * TARGETS.len());
    for outcome in OUTCOMES {
        for target in TARGETS {
            assert!(
                cells
                    .iter()
                    .any(|c| c.outcome == outcome && c.target == target)
            );
        }
    }
    for recovery in RECOVERIES {
        assert!(cells.iter().any(|c| c.recovery == recovery), "{recovery:?}");
    }
    assert!(
        cells.iter().any(|c| c.step == Step::Login) && cells.iter().any(|c| c.step == Step::Reset)
    );
    assert_eq!(full().len(), 180);
}
