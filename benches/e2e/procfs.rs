//! Reading a process's memory and children from `/proc` (Linux only), for the RSS figures.

use std::collections::BTreeMap;
use std::fs;
use std::thread;
use std::time::Duration;

/// Resident memory now (`VmRSS`) and its peak so far (`VmHWM`), in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// The memory of `pid`, or `None` once it has exited (or was never there).
pub fn memory(pid: u32) -> Option<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// The children of `pid` whose command name starts with `comm_prefix`. A Go program starts children from any of its
/// threads, so every thread's `children` list is read, not just the main thread's.
pub fn children(pid: u32, comm_prefix: &str) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Ok(list) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for child in list
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let comm = fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim_end().starts_with(comm_prefix) && !out.contains(&child) {
                out.push(child);
            }
        }
    }
    out
}

/// What sampling the provider processes of one Terraform command saw: per process, the last memory read while it
/// was alive (its `hwm_kib` is the process's peak up to then).
#[derive(Debug, Clone, Default)]
pub struct Sampled {
    pub processes: BTreeMap<u32, Memory>,
    pub samples: u64,
}

impl Sampled {
    /// The largest peak RSS of any provider process.
    pub fn peak_kib(&self) -> u64 {
        self.processes
            .values()
            .map(|m| m.hwm_kib)
            .max()
            .unwrap_or(0)
    }

    /// The largest RSS any provider process had at its last sample: the memory it held when the plan ended.
    pub fn last_kib(&self) -> u64 {
        self.processes
            .values()
            .map(|m| m.rss_kib)
            .max()
            .unwrap_or(0)
    }
}

/// Polls the children of `parent` named like `comm_prefix` every `every` until `done()` says the parent finished.
/// Meant for its own thread while the parent runs.
pub fn sample_children(
    parent: u32,
    comm_prefix: &str,
    every: Duration,
    done: impl Fn() -> bool,
) -> Sampled {
    let mut sampled = Sampled::default();
    while !done() {
        for pid in children(parent, comm_prefix) {
            if let Some(m) = memory(pid) {
                sampled.processes.insert(pid, m);
            }
        }
        sampled.samples += 1;
        thread::sleep(every);
    }
    sampled
}
