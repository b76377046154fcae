//! `terraform-provider-thingspace report`: the rotation status of every managed user, read from `terraform show
//! -json` of a saved plan or of the state, for CI jobs to gate on and to show. It makes no API call and never reads a
//! secret: only user names, times and `blocked_reason` leave it.
//!
//! A status per user, as of the plan's own `timestamp` (or now, for a state):
//! - `due`: the plan rotates it in this apply (from a state: a rotation is due and the next apply makes it);
//! - `blocked`: `blocked_reason` names it; no log-in is made for it until someone acts;
//! - `overdue`: older than `max_password_age` and not rotating;
//! - `held`: a rotation is due but `rotation_window` holds it;
//! - `ok`: nothing to do yet.
//!
//! The exit status is 1 when any user has a status listed in `--fail-on` (default `blocked,overdue`), 2 for a usage
//! or input error, else 0. The summary goes to standard error: standard output is reserved for the plugin
//! handshake, even here.

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

/// One user's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Due,
    Held,
    Overdue,
    Blocked,
}

impl Status {
    /// The status as the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Due => "due",
            Status::Held => "held",
            Status::Overdue => "overdue",
            Status::Blocked => "blocked",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [
            Status::Ok,
            Status::Due,
            Status::Held,
            Status::Overdue,
            Status::Blocked,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
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
                out.push(Object {
                    address: c.get("address").and_then(Value::as_str).unwrap_or_default(),
                    kind,
                    values: after,
                    rotating: unknown("password") || unknown("active_password"),
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

/// The status of one password: whether it rotates now, its block, its deadline, and whether the schedule holds it.
fn judge(
    rotating: bool,
    blocked: Option<&str>,
    deadline: Option<OffsetDateTime>,
    schedule: &Schedule<'_>,
    last: &Last<'_>,
    now: OffsetDateTime,
    stand_in: bool,
) -> (Status, String) {
    if rotating {
        return (Status::Due, "this apply rotates it".to_owned());
    }
    if let Some(reason) = blocked {
        return (Status::Blocked, reason.to_owned());
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

/// The rows of a `terraform show -json` document, as of `now` (default: the plan's `timestamp`, else the clock).
pub fn rows(doc: &Value, now: Option<OffsetDateTime>) -> Result<Vec<Row>, String> {
    let parsed = document(doc)?;
    let now = now
        .or_else(|| {
            doc.get("timestamp")
                .and_then(Value::as_str)
                .and_then(|t| parse_rfc3339(t).ok())
        })
        .unwrap_or_else(OffsetDateTime::now_utc);
    let mut out = Vec::new();
    for o in objects(&parsed) {
        if o.kind == password_rotation::TYPE_NAME {
            let m: password_rotation::Model = model(&o)?;
            let (status, reason) = judge(
                o.rotating,
                m.blocked_reason.known().map(String::as_str),
                time_of(&m.password_age_deadline),
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
                // The next rotation replaces the standby's password; the active one waits its turn.
                let (status, reason) = judge(
                    o.rotating && (standby || m.active_username.known().is_none()),
                    blocked,
                    deadline,
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
                });
            }
        }
    }
    Ok(out)
}

/// The report as a Markdown table, for a CI job summary.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "### ThingSpace password rotation\n\n| status | resource | user | password set | must be rotated by | why |\n\
         |---|---|---|---|---|---|\n",
    );
    if rows.is_empty() {
        out.push_str("| | | no ThingSpace rotation resources | | | |\n");
    }
    for r in rows {
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} | {} | {} |\n",
            r.status,
            cell(&r.address),
            cell(&r.username),
            r.rotated_at.as_deref().unwrap_or("–"),
            r.deadline.as_deref().unwrap_or("–"),
            cell(&r.reason)
        ));
    }
    out
}

/// Text for a table cell: one line, no column breaks.
fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('`', "'")
}

const USAGE: &str = "usage: terraform-provider-thingspace report [--fail-on STATUSES] [--markdown FILE] [--now TIME] [FILE|-]

Reads `terraform show -json` of a saved plan or of the state (from FILE, or standard input) and reports the rotation
status of each ThingSpace user: ok, due, held, overdue or blocked. No API call; no secret is read or written.

  --fail-on STATUSES  exit 1 when any user has one of these comma-separated statuses (default: blocked,overdue;
                      \"none\" never fails)
  --markdown FILE     append the report as a Markdown table to FILE (for example \"$GITHUB_STEP_SUMMARY\"); an
                      empty FILE writes none
  --now TIME          judge as of this RFC 3339 time (default: the plan's timestamp, or now for a state)";

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
    let rows = rows(&doc, now)?;
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
    Ok(!failing.is_empty())
}

fn summary_counts(rows: &[Row]) -> String {
    let mut parts = Vec::new();
    for st in [
        Status::Blocked,
        Status::Overdue,
        Status::Held,
        Status::Due,
        Status::Ok,
    ] {
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
}
