//! Reading a process's memory, CPU time and children from `/proc` (Linux only), for the RSS and CPU figures.

use std::collections::BTreeMap;
use std::fs;
use std::thread;
use std::time::Duration;

/// Linux reports CPU times in `USER_HZ` ticks, which is 100 on every mainstream architecture.
const TICK: Duration = Duration::from_millis(10);

/// Resident memory now (`VmRSS`) and its peak so far (`VmHWM`), in KiB, and CPU time used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub cpu: Duration,
}

/// The fields of a `/proc/<pid>/stat` line after the command name (which may itself hold spaces and parentheses),
/// numbered as in proc(5) minus 3: index 0 is field 3, `state`.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rfind(')')
        .map(|i| stat[i + 1..].split_whitespace().collect())
        .unwrap_or_default()
}

fn ticks(fields: &[&str], a: usize, b: usize) -> Duration {
    let get = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    TICK * (get(a) + get(b))
}

/// CPU time (user + system) of every child this process has waited for, with their own waited-for descendants:
/// the difference across one `wait` is what that child's whole process tree used.
pub fn children_cpu() -> Duration {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    ticks(&stat_fields(&stat), 16, 17)
}

/// CPU time of `pid`'s live threads from `/proc/<pid>/task/*/schedstat`, in nanoseconds rather than ticks: a
/// provider process uses a few tens of ms in a whole plan, so 10 ms ticks (truncated per process) would be too coarse.
fn threads_runtime(pid: u32) -> Duration {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .sum()
}

/// The memory and CPU time of `pid`, or `None` once it has exited (or was never there). The CPU time is the larger
/// of the two readings: ticks count threads that have exited, schedstat counts the live ones to the nanosecond.
pub fn memory(pid: u32) -> Option<Memory> {
    let cpu = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| ticks(&stat_fields(&stat), 14, 15))
        .unwrap_or_default()
        .max(threads_runtime(pid));
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
        cpu,
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

    /// CPU time of all provider processes at their last samples.
    pub fn cpu(&self) -> Duration {
        self.processes.values().map(|m| m.cpu).sum()
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
