//! `terraform-provider-thingspace report`: the rotation status of every managed user, read from `terraform show
//! -json` of a saved plan or of the state, for CI jobs to gate on and to show. It makes no API call and never reads a
//! secret: only user names, times and `blocked_reason` leave it.
//!
//! A status per user, as of the plan's own `timestamp` (or now, for a state):
//! - `due`: the plan rotates it in this apply (from a state: a rotation is due and the next apply makes it);
//! - `blocked`: `blocked_reason` names it; no log-in is made for it until someone acts;
//! - `overdue`: older than `max_password_age` and not rotating;
//! - `held`: a rotation is due but `rotation_window` holds it;
//! - `unverified`: the current password was not proven by a log-in (`verify_new_password` is on and `verified_at` is
//!   null);
//! - `ok`: nothing to do yet.
//!
//! Outputs: a line per user on standard error; with `--markdown`, a table (a CI job summary); with `--json`, a
//! document of the versioned schema [`SCHEMA`] (`report --schema FILE` writes it); with `--junit`, JUnit XML with one
//! test case per user, failed when the user is blocked, overdue or unverified, so every CI system shows it natively.
//! The exit status is 1 when any user has a status listed in `--fail-on` (default `blocked,overdue`), 2 for a usage
//! or input error, else 0. Standard output is reserved for the plugin handshake, even here.

use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

use crate::plugin::cty::Attr;
use crate::resources::rotating::Rotating;
use crate::resources::schedule::{Last, Schedule, age, time_attr};
use crate::resources::{alternating, password_rotation};
use crate::timefmt::{format_rfc3339, parse_rfc3339};

/// The JSON Schema of `--json` documents; its `$id` names the version, which changes whenever a field's meaning does.
pub const SCHEMA: &str = include_str!("report.schema.json");
/// The `report_version` of the documents this code writes (the schema's version).
pub const REPORT_VERSION: u64 = 1;

/// One user's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Due,
    Held,
    Unverified,
    Overdue,
    Blocked,
}

/// Every status, in the order the summary lists them.
const STATUSES: [Status; 6] = [
    Status::Blocked,
    Status::Overdue,
    Status::Unverified,
    Status::Held,
    Status::Due,
    Status::Ok,
];

impl Status {
    /// The status as the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Due => "due",
            Status::Held => "held",
            Status::Overdue => "overdue",
            Status::Blocked => "blocked",
            Status::Unverified => "unverified",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        STATUSES.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether a JUnit test case for this status fails: the user needs someone's attention.
    pub fn fails_audit(self) -> bool {
        matches!(self, Status::Blocked | Status::Overdue | Status::Unverified)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One managed user's line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The resource instance's address, e.g. `thingspace_password_rotation.ci`.
    pub address: String,
    pub username: String,
    pub status: Status,
    /// Why, in one sentence (for `blocked`, the `blocked_reason`).
    pub reason: String,
    /// When the user's password was set, if known.
    pub rotated_at: Option<String>,
    /// When it must be replaced by (`password_age_deadline`), if set.
    pub deadline: Option<String>,
    /// `single` (thingspace_password_rotation) or `alternating` (one user of thingspace_alternating_password_rotation).
    pub strategy: &'static str,
    /// When the password was proven by a log-in (`verified_at`), if it was.
    pub verified_at: Option<String>,
    /// When the next `rotation_window` opens (`next_window_start`), if a window is set.
    pub next_window: Option<String>,
}

/// What a `terraform show -json` document describes.
enum Document<'a> {
    /// A saved plan: its resource changes, and the time it was made.
    Plan(&'a [Value]),
    /// The state: its resources.
    State(Vec<&'a Value>),
}

fn document(doc: &Value) -> Result<Document<'_>, String> {
    if let Some(changes) = doc.get("resource_changes").and_then(Value::as_array) {
        return Ok(Document::Plan(changes));
    }
    if doc.get("planned_values").is_some() {
        // A plan with no resource changes at all (an empty configuration).
        return Ok(Document::Plan(&[]));
    }
    let mut resources = Vec::new();
    if let Some(root) = doc.pointer("/values/root_module") {
        collect(root, &mut resources);
        return Ok(Document::State(resources));
    }
    if doc.get("format_version").is_some() {
        // `terraform show -json` of an empty state.
        return Ok(Document::State(resources));
    }
    Err(
        "the input is not the output of `terraform show -json` (of a saved plan or of the state)"
            .to_owned(),
    )
}

fn collect<'a>(module: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(resources) = module.get("resources").and_then(Value::as_array) {
        out.extend(resources);
    }
    if let Some(children) = module.get("child_modules").and_then(Value::as_array) {
        for child in children {
            collect(child, out);
        }
    }
}

/// One object of ours, as the report needs it.
struct Object<'a> {
    address: &'a str,
    kind: &'a str,
    values: &'a Value,
    /// A plan that rotates it (its password is unknown until apply).
    rotating: bool,
    /// A plan that verifies its stored password (`verified_at` unknown, the password not).
    verifying: bool,
}

fn objects<'a>(doc: &Document<'a>) -> Vec<Object<'a>> {
    let ours = |t: &str| t == password_rotation::TYPE_NAME || t == alternating::TYPE_NAME;
    let mut out = Vec::new();
    match doc {
        Document::Plan(changes) => {
            for c in *changes {
                let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
                let managed = c.get("mode").and_then(Value::as_str) == Some("managed");
                let Some(after) = c.pointer("/change/after").filter(|a| !a.is_null()) else {
                    continue; // destroyed in this plan
                };
                if !ours(kind) || !managed {
                    continue;
                }
                let unknown = |name: &str| {
                    c.pointer(&format!("/change/after_unknown/{name}")) == Some(&Value::Bool(true))
                };
                let rotating = unknown("password") || unknown("active_password");
                out.push(Object {
                    address: c.get("address").and_then(Value::as_str).unwrap_or_default(),
                    kind,
                    values: after,
                    rotating,
                    verifying: !rotating && unknown("verified_at"),
                });
            }
        }
        Document::State(resources) => {
            for r in resources {
                let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
                if !ours(kind) || r.get("mode").and_then(Value::as_str) != Some("managed") {
                    continue;
                }
                let Some(values) = r.get("values") else {
                    continue;
                };
                out.push(Object {
                    address: r.get("address").and_then(Value::as_str).unwrap_or_default(),
                    kind,
                    values,
                    rotating: false,
                    verifying: false,
                });
            }
        }
    }
    out
}

fn model<T: DeserializeOwned>(o: &Object<'_>) -> Result<T, String> {
    serde_json::from_value(o.values.clone()).map_err(|e| {
        format!(
            "{} could not be read ({e}); is this provider's version the one that wrote it?",
            o.address
        )
    })
}

fn time_of(a: &Attr<String>) -> Option<OffsetDateTime> {
    a.known().and_then(|s| time_attr("time", s).ok())
}

/// Whether a password's proof is pending: planned in this apply, missing, or not asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proof {
    Verifying,
    Missing,
    Fine,
}

/// The status of one password: whether it rotates now, its block, its deadline, its proof, and whether the schedule
/// holds it.
#[allow(clippy::too_many_arguments)]
fn judge(
    rotating: bool,
    blocked: Option<&str>,
    deadline: Option<OffsetDateTime>,
    proof: Proof,
    schedule: &Schedule<'_>,
    last: &Last<'_>,
    now: OffsetDateTime,
    stand_in: bool,
) -> (Status, String) {
    // A plan that would rotate a blocked user is refused at apply: blocked, not due.
    if let Some(reason) = blocked {
        return (Status::Blocked, reason.to_owned());
    }
    if rotating {
        return (Status::Due, "this apply rotates it".to_owned());
    }
    if let Some(d) = deadline.filter(|d| now >= *d) {
        return (
            Status::Overdue,
            format!(
                "older than max_password_age since {}, and not rotating",
                format_rfc3339(d)
            ),
        );
    }
    match proof {
        Proof::Verifying => {
            return (
                Status::Due,
                "this apply verifies its password with one log-in".to_owned(),
            );
        }
        Proof::Missing => {
            return (
                Status::Unverified,
                "no log-in has proven the current password (verified_at is null): a verification that got no usable \
answer is offered again by the next plan; a password set before verification existed is proven at its next rotation"
                    .to_owned(),
            );
        }
        Proof::Fine => {}
    }
    if stand_in {
        return (
            Status::Ok,
            "the other user's password is replaced first".to_owned(),
        );
    }
    if let Some(h) = age::held(last, schedule, now) {
        return (
            Status::Held,
            format!(
                "due since {}; rotation_window holds it until {}",
                format_rfc3339(h.due_since),
                format_rfc3339(h.opens)
            ),
        );
    }
    match crate::resources::schedule::due(last, schedule, now) {
        Ok(crate::resources::schedule::Timing::Due(_)) => {
            (Status::Due, "the next apply rotates it".to_owned())
        }
        _ => (Status::Ok, "nothing to do yet".to_owned()),
    }
}

/// The time a document is judged as of: `now` if given, else the plan's `timestamp`, else the clock.
fn judged_at(doc: &Value, now: Option<OffsetDateTime>) -> OffsetDateTime {
    now.or_else(|| {
        doc.get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| parse_rfc3339(t).ok())
    })
    .unwrap_or_else(OffsetDateTime::now_utc)
}

/// The rows of a `terraform show -json` document, as of `now` (default: the plan's `timestamp`, else the clock).
pub fn rows(doc: &Value, now: Option<OffsetDateTime>) -> Result<Vec<Row>, String> {
    let parsed = document(doc)?;
    let now = judged_at(doc, now);
    let mut out = Vec::new();
    for o in objects(&parsed) {
        if o.kind == password_rotation::TYPE_NAME {
            let m: password_rotation::Model = model(&o)?;
            let proof = proof(
                o.verifying,
                m.verifies(),
                &m.verified_at,
                m.password.is_known(),
            );
            let (status, reason) = judge(
                o.rotating,
                m.blocked_reason.known().map(String::as_str),
                time_of(&m.password_age_deadline),
                proof,
                &m.schedule(),
                &m.last(),
                now,
                false,
            );
            out.push(Row {
                address: o.address.to_owned(),
                username: m.username.known().cloned().unwrap_or_default(),
                status,
                reason,
                rotated_at: m.rotated_at.known().cloned(),
                deadline: m.password_age_deadline.known().cloned(),
                strategy: "single",
                verified_at: m.verified_at.known().cloned(),
                next_window: m.next_window_start.known().cloned(),
            });
        } else {
            let m: alternating::Model = model(&o)?;
            let Some(names) = m.names() else {
                continue;
            };
            let blocked_users = m
                .blocked_reason
                .known()
                .map(|r| alternating::private::blocked_users(r, &names))
                .unwrap_or_default();
            for user in &names {
                let standby = m.standby_username.known() == Some(user);
                let set_at = if standby {
                    m.oldest_set_at().clone()
                } else {
                    m.rotated_at.clone()
                };
                let deadline = age::deadline(&m.schedule(), &set_at)
                    .ok()
                    .and_then(|d| time_of(&d));
                let blocked = blocked_users
                    .contains(user)
                    .then(|| m.blocked_reason.known().map(String::as_str))
                    .flatten();
                // verified_at is the active password's proof; the standby's was proven while it was active.
                let active = m.active_username.known() == Some(user);
                let proof = if active {
                    proof(
                        o.verifying,
                        m.verifies(),
                        &m.verified_at,
                        m.active_password.is_known(),
                    )
                } else {
                    Proof::Fine
                };
                // The next rotation replaces the standby's password; the active one waits its turn.
                let (status, reason) = judge(
                    o.rotating && (standby || m.active_username.known().is_none()),
                    blocked,
                    deadline,
                    proof,
                    &m.schedule(),
                    &m.last(),
                    now,
                    !standby && m.standby_username.is_known(),
                );
                out.push(Row {
                    address: o.address.to_owned(),
                    username: user.clone(),
                    status,
                    reason,
                    rotated_at: set_at.known().cloned(),
                    deadline: deadline.map(format_rfc3339),
                    strategy: "alternating",
                    verified_at: active.then(|| m.verified_at.known().cloned()).flatten(),
                    next_window: m.next_window_start.known().cloned(),
                });
            }
        }
    }
    Ok(out)
}

/// Whether a password needs its proof, from what the plan or state says of it.
fn proof(verifying: bool, verifies: bool, verified_at: &Attr<String>, has_password: bool) -> Proof {
    if verifying {
        Proof::Verifying
    } else if verifies && verified_at.is_null() && has_password {
        Proof::Missing
    } else {
        Proof::Fine
    }
}

/// The report as a Markdown table, for a CI job summary.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "### ThingSpace password rotation\n\n| status | resource | user | password set | verified | must be rotated by \
| why |\n|---|---|---|---|---|---|---|\n",
    );
    if rows.is_empty() {
        out.push_str("| | | no ThingSpace rotation resources | | | | |\n");
    }
    for r in rows {
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} | {} | {} | {} |\n",
            r.status,
            cell(&r.address),
            cell(&r.username),
            r.rotated_at.as_deref().unwrap_or("–"),
            r.verified_at.as_deref().unwrap_or("–"),
            r.deadline.as_deref().unwrap_or("–"),
            cell(&r.reason)
        ));
    }
    out
}

/// The report as a `--json` document of schema [`SCHEMA`], judged as of `now` from a plan or a state (`source`).
pub fn json(rows: &[Row], now: OffsetDateTime, source: &str) -> Value {
    let users: Vec<Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "address": r.address,
                "username": r.username,
                "strategy": r.strategy,
                "status": r.status.as_str(),
                "reason": r.reason,
                "rotated_at": r.rotated_at,
                "verified_at": r.verified_at,
                "password_age_deadline": r.deadline,
                "next_window_start": r.next_window,
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = STATUSES
        .iter()
        .map(|st| {
            let n = rows.iter().filter(|r| r.status == *st).count();
            (st.as_str().to_owned(), Value::from(n))
        })
        .collect();
    serde_json::json!({
        "report_version": REPORT_VERSION,
        "generated_by": concat!("terraform-provider-thingspace ", env!("CARGO_PKG_VERSION")),
        "as_of": format_rfc3339(now),
        "source": source,
        "counts": counts,
        "users": users,
    })
}

/// Text for XML: the five special characters escaped, and control characters (other than tab and line breaks),
/// which XML 1.0 cannot hold, dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML: one test suite, one test case per user (class name: the resource address; name: the
/// user), failed when the user is blocked, overdue or unverified.
pub fn junit(rows: &[Row], now: OffsetDateTime) -> String {
    let failures = rows.iter().filter(|r| r.status.fails_audit()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"thingspace-password-rotation\" tests=\"{n}\" \
failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"thingspace-password-rotation\" tests=\"{n}\" \
failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\">\n",
        format_rfc3339(now),
        n = rows.len(),
    );
    for r in rows {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml(&r.address),
            xml(&r.username)
        ));
        if r.status.fails_audit() {
            out.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}: {}\"/>\n",
                r.status,
                r.status,
                xml(&r.reason)
            ));
        }
        out.push_str(&format!(
            "      <system-out>status={} rotated_at={} verified_at={} password_age_deadline={}</system-out>\n    \
</testcase>\n",
            r.status,
            r.rotated_at.as_deref().unwrap_or("null"),
            r.verified_at.as_deref().unwrap_or("null"),
            r.deadline.as_deref().unwrap_or("null"),
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text for a table cell: one line, no column breaks.
fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('`', "'")
}

const USAGE: &str = "usage: terraform-provider-thingspace report [--fail-on STATUSES] [--markdown FILE] [--json FILE]
       [--junit FILE] [--now TIME] [FILE|-]
       terraform-provider-thingspace report --schema FILE

Reads `terraform show -json` of a saved plan or of the state (from FILE, or standard input) and reports the rotation
status of each ThingSpace user: ok, due, held, unverified, overdue or blocked. No API call; no secret is read or
written.

  --fail-on STATUSES  exit 1 when any user has one of these comma-separated statuses (default: blocked,overdue;
                      \"none\" never fails)
  --markdown FILE     append the report as a Markdown table to FILE (for example \"$GITHUB_STEP_SUMMARY\"); an
                      empty FILE writes none
  --json FILE         write the report as JSON of the versioned schema that --schema writes
  --junit FILE        write the report as JUnit XML: a test case per user, failed when blocked, overdue or unverified
  --now TIME          judge as of this RFC 3339 time (default: the plan's timestamp, or now for a state)
  --schema FILE       write the JSON Schema of --json documents to FILE, and nothing else";

/// Runs the subcommand with the arguments after `report`.
pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(failed) if failed => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-thingspace report: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<bool, String> {
    let mut fail_on = vec![Status::Blocked, Status::Overdue];
    let mut markdown_file: Option<PathBuf> = None;
    let mut json_file: Option<PathBuf> = None;
    let mut junit_file: Option<PathBuf> = None;
    let mut now = None;
    let mut input: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--fail-on" => {
                let v = value("--fail-on")?;
                fail_on = if v == "none" {
                    Vec::new()
                } else {
                    v.split(',')
                        .map(|s| {
                            Status::parse(s.trim())
                                .ok_or_else(|| format!("--fail-on: unknown status {s:?}"))
                        })
                        .collect::<Result<_, _>>()?
                };
            }
            // Empty (an unset $GITHUB_STEP_SUMMARY outside GitHub Actions): no table.
            "--markdown" => {
                markdown_file = Some(value("--markdown")?)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from);
            }
            "--json" => json_file = Some(PathBuf::from(value("--json")?)),
            "--junit" => junit_file = Some(PathBuf::from(value("--junit")?)),
            "--schema" => {
                let path = value("--schema")?;
                std::fs::write(&path, SCHEMA).map_err(|e| format!("cannot write {path}: {e}"))?;
                return Ok(false);
            }
            "--now" => now = Some(parse_rfc3339(&value("--now")?)?),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return Ok(false);
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other:?}")),
            other => {
                if input.replace(other.to_owned()).is_some() {
                    return Err("more than one input".to_owned());
                }
            }
        }
    }
    let mut text = String::new();
    match input.as_deref() {
        None | Some("-") => std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?,
        Some(path) => {
            text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            text.len()
        }
    };
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the input is not JSON ({e}); pipe `terraform show -json` into it"))?;
    let as_of = judged_at(&doc, now);
    let source = match document(&doc)? {
        Document::Plan(_) => "plan",
        Document::State(_) => "state",
    };
    let rows = rows(&doc, Some(as_of))?;
    let failing: Vec<&Row> = rows
        .iter()
        .filter(|r| fail_on.contains(&r.status))
        .collect();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "thingspace: {} user(s): {}",
        rows.len(),
        summary_counts(&rows)
    );
    for r in &rows {
        let mark = if fail_on.contains(&r.status) {
            "FAIL "
        } else {
            ""
        };
        let _ = writeln!(
            err,
            "thingspace: {mark}{:<8} {} user {}: {}",
            r.status.as_str(),
            r.address,
            crate::plugin::diagnostics::quote(&r.username),
            r.reason
        );
    }
    if let Some(path) = markdown_file {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        f.write_all(markdown(&rows).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = json_file {
        let text = serde_json::to_string_pretty(&json(&rows, as_of, source))
            .map_err(|e| format!("cannot encode the report: {e}"))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = junit_file {
        std::fs::write(&path, junit(&rows, as_of))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(!failing.is_empty())
}

fn summary_counts(rows: &[Row]) -> String {
    let mut parts = Vec::new();
    for st in STATUSES {
        let n = rows.iter().filter(|r| r.status == st).count();
        if n > 0 {
            parts.push(format!("{n} {st}"));
        }
    }
    if parts.is_empty() {
        "none managed".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2027-04-05 06:17 UTC);

    fn single(name: &str, values: Value) -> Value {
        json!({
            "address": format!("thingspace_password_rotation.{name}"),
            "mode": "managed",
            "type": "thingspace_password_rotation",
            "values": values,
        })
    }

    fn change(address: &str, kind: &str, after: Value, unknown: Value) -> Value {
        json!({
            "address": address,
            "mode": "managed",
            "type": kind,
            "change": {"actions": ["update"], "after": after, "after_unknown": unknown},
        })
    }

    fn values(user: &str, extra: Value) -> Value {
        let mut v = json!({
            "username": user,
            "password": "Secret-Must-Not-Show",
            "rotated_at": "2027-01-04T06:17:00Z",
            "rotation_period": "83d",
            "max_password_age": "90d",
            "password_age_deadline": "2027-04-04T06:17:00Z",
            "blocked_reason": null,
            "verified_at": "2027-01-04T06:17:00Z",
        });
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in extra {
                v.insert(k.clone(), x.clone());
            }
        }
        v
    }

    fn status_of(rows: &[Row], user: &str) -> Status {
        rows.iter()
            .find(|r| r.username == user)
            .unwrap_or_else(|| panic!("no {user} in {rows:?}"))
            .status
    }

    #[test]
    fn a_plan_gives_each_user_a_status_and_no_secret() {
        let window =
            json!({"days": ["mon", "tue", "wed", "thu"], "start": "02:00", "end": "05:00"});
        let doc = json!({
            "format_version": "1.2",
            "timestamp": "2027-03-29T06:17:00Z",
            "resource_changes": [
                change("thingspace_password_rotation.a", "thingspace_password_rotation",
                    values("svc-a", json!({"password": null})), json!({"password": true})),
                change("thingspace_password_rotation.b", "thingspace_password_rotation",
                    values("svc-b", json!({"blocked_reason": "ThingSpace rejected a log-in."})), json!({})),
                change("thingspace_password_rotation.c", "thingspace_password_rotation",
                    values("svc-c", json!({"rotation_window": window})), json!({})),
                change("thingspace_password_rotation.d", "thingspace_password_rotation",
                    values("svc-d", json!({"rotated_at": "2027-03-01T00:00:00Z",
                        "password_age_deadline": "2027-05-30T00:00:00Z"})), json!({})),
                change("aws_secretsmanager_secret.x", "aws_secretsmanager_secret", json!({}), json!({})),
            ],
        });
        // As of the plan's own time: Monday 06:17, svc-c's rotation is due but outside its window.
        let rows = rows(&doc, None).unwrap();
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(status_of(&rows, "svc-a"), Status::Due);
        assert_eq!(status_of(&rows, "svc-b"), Status::Blocked);
        assert_eq!(status_of(&rows, "svc-c"), Status::Held);
        assert_eq!(status_of(&rows, "svc-d"), Status::Ok);
        let held = rows.iter().find(|r| r.username == "svc-c").unwrap();
        assert!(
            held.reason.contains("until 2027-03-30T02:00:00Z"),
            "{held:?}"
        );
        // A week later the held one is overdue.
        let later = super::rows(&doc, Some(NOW)).unwrap();
        assert_eq!(status_of(&later, "svc-c"), Status::Overdue);
        let md = markdown(&later);
        assert!(
            md.contains("| overdue | `thingspace_password_rotation.c` | `svc-c` |"),
            "{md}"
        );
        assert!(
            !md.contains("Secret-Must-Not-Show")
                && !format!("{later:?}").contains("Secret-Must-Not-Show")
        );
    }

    #[test]
    fn a_state_is_judged_by_the_clock_and_a_due_rotation_says_so() {
        let doc = json!({
            "format_version": "1.0",
            "values": {"root_module": {
                "resources": [single("a", values("svc-a", json!({})))],
                "child_modules": [{"resources": [single("b", values("svc-b", json!({
                    "rotated_at": "2027-03-01T00:00:00Z",
                    "password_age_deadline": "2027-05-30T00:00:00Z"})))]}],
            }},
        });
        let rows = rows(&doc, Some(NOW)).unwrap();
        assert_eq!(status_of(&rows, "svc-a"), Status::Overdue);
        assert_eq!(status_of(&rows, "svc-b"), Status::Ok);
        let rows = super::rows(&doc, Some(datetime!(2027-03-30 00:00 UTC))).unwrap();
        assert_eq!(
            status_of(&rows, "svc-a"),
            Status::Due,
            "due since 2027-03-28, no window"
        );
        // An empty state and a plan without our resources report nothing.
        assert!(
            super::rows(&json!({"format_version": "1.0"}), None)
                .unwrap()
                .is_empty()
        );
        assert!(
            super::rows(&json!({"planned_values": {}}), None)
                .unwrap()
                .is_empty()
        );
        assert!(super::rows(&json!({"something": "else"}), None).is_err());
    }

    #[test]
    fn the_alternating_resource_reports_both_users_and_blames_the_named_one() {
        let doc = json!({
            "format_version": "1.0",
            "values": {"root_module": {"resources": [{
                "address": "thingspace_alternating_password_rotation.api",
                "mode": "managed",
                "type": "thingspace_alternating_password_rotation",
                "values": {
                    "usernames": ["svc-blue", "svc-green"],
                    "active_username": "svc-green",
                    "standby_username": "svc-blue",
                    "rotated_at": "2027-03-01T00:00:00Z",
                    "standby_rotated_at": "2027-01-30T00:00:00Z",
                    "rotation_period": "30d",
                    "max_password_age": "90d",
                    "blocked_reason": "User \"svc-blue\": A log-in got no usable answer.",
                },
            }]}},
        });
        let rows = rows(&doc, Some(datetime!(2027-03-10 00:00 UTC))).unwrap();
        assert_eq!(status_of(&rows, "svc-blue"), Status::Blocked);
        assert_eq!(status_of(&rows, "svc-green"), Status::Ok);
        let blue = rows.iter().find(|r| r.username == "svc-blue").unwrap();
        assert_eq!(blue.rotated_at.as_deref(), Some("2027-01-30T00:00:00Z"));
        assert_eq!(blue.deadline.as_deref(), Some("2027-04-30T00:00:00Z"));
    }

    #[test]
    fn the_command_fails_on_the_statuses_asked_for_and_on_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("show.json");
        let blocked = json!({"format_version": "1.0", "values": {"root_module": {"resources": [
            single("a", values("svc-a", json!({"blocked_reason": "stuck", "password_age_deadline": null})))]}}});
        std::fs::write(&input, blocked.to_string()).unwrap();
        let md = dir.path().join("summary.md");
        let args = |extra: &[&str]| -> Vec<String> {
            let mut a: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
            a.push(input.display().to_string());
            a
        };
        assert_eq!(run(&args(&[])), Ok(true));
        assert_eq!(run(&args(&["--fail-on", "none"])), Ok(false));
        assert_eq!(run(&args(&["--fail-on", "overdue"])), Ok(false));
        assert_eq!(
            run(&args(&[
                "--markdown",
                md.to_str().unwrap(),
                "--fail-on",
                "blocked"
            ])),
            Ok(true)
        );
        assert!(
            std::fs::read_to_string(&md)
                .unwrap()
                .contains("| blocked |")
        );
        assert!(run(&args(&["--fail-on", "stuck"])).is_err());
        assert!(run(&args(&["--now", "yesterday"])).is_err());
        assert!(run(&args(&["--bogus"])).is_err());
        std::fs::write(&input, "not json").unwrap();
        assert!(run(&args(&[])).unwrap_err().contains("not JSON"));
    }

    /// Issue 25: a password no log-in has proven is `unverified` (a JUnit failure, not an exit-1 unless asked); a plan
    /// that verifies it says `due`; the JSON document names every field and the JUnit file one failed case.
    #[test]
    fn unverified_passwords_are_reported_in_every_output() {
        let doc = json!({
            "format_version": "1.2",
            "timestamp": "2027-02-01T06:17:00Z",
            "resource_changes": [
                change("thingspace_password_rotation.a", "thingspace_password_rotation",
                    values("svc-a", json!({"verified_at": null})), json!({})),
                change("thingspace_password_rotation.b", "thingspace_password_rotation",
                    values("svc-b", json!({"verified_at": null})), json!({"verified_at": true})),
                change("thingspace_password_rotation.c", "thingspace_password_rotation",
                    values("svc-c", json!({"verified_at": null, "verify_new_password": false})), json!({})),
                change("thingspace_password_rotation.d", "thingspace_password_rotation",
                    values("svc-d<&>", json!({})), json!({})),
            ],
        });
        let rows = rows(&doc, None).unwrap();
        assert_eq!(status_of(&rows, "svc-a"), Status::Unverified);
        assert_eq!(status_of(&rows, "svc-b"), Status::Due);
        assert_eq!(
            status_of(&rows, "svc-c"),
            Status::Ok,
            "verification turned off"
        );
        assert_eq!(status_of(&rows, "svc-d<&>"), Status::Ok);

        let j = json(&rows, NOW, "plan");
        assert_eq!(j["report_version"], 1);
        assert_eq!(j["counts"]["unverified"], 1);
        assert_eq!(j["users"][0]["strategy"], "single");
        assert!(j["users"][0]["verified_at"].is_null());
        assert_eq!(j["users"][3]["verified_at"], "2027-01-04T06:17:00Z");
        assert!(!j.to_string().contains("Secret-Must-Not-Show"));

        let x = junit(&rows, NOW);
        assert_eq!(x.matches("<testcase ").count(), 4);
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(x.contains("name=\"svc-d&lt;&amp;&gt;\""), "escaped: {x}");
        assert!(!x.contains("Secret-Must-Not-Show"));
        // The schema the binary carries is JSON, names this version, and lists every status.
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(
            schema["properties"]["report_version"]["const"],
            REPORT_VERSION
        );
        let listed = &schema["$defs"]["user"]["properties"]["status"]["enum"];
        for st in STATUSES {
            assert!(
                listed.as_array().unwrap().contains(&json!(st.as_str())),
                "{st}"
            );
        }
    }
}
