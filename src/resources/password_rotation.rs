//! `thingspace_password_rotation`: its schema, the pure decision of when a rotation is due, and its apply, import,
//! read, delete and state-upgrade steps.
//!
//! Everything here works on the typed [`Model`]; the plugin service decodes and encodes Terraform's values around it.

use crate::plugin::cty::{Number, Type};
use crate::plugin::cty_serde::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::plugin::secret::Secret;
use crate::resources::timefmt::{format_rfc3339, parse_duration, parse_rfc3339};
use crate::thingspace::Client;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// The resource type name users write in configurations.
pub const TYPE_NAME: &str = "thingspace_password_rotation";

/// The schema version of the state this code writes. Version 0 predates `rotation_period`, `triggers` and the
/// write-only seed; [`upgrade`] carries such states forward.
pub const SCHEMA_VERSION: i64 = 1;

/// Every attribute of the resource, as Terraform sends and stores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    pub id: Attr<String>,
    pub username: Attr<String>,
    pub current_password: Attr<Secret>,
    pub current_password_wo: Attr<Secret>,
    pub current_password_wo_version: Attr<Number>,
    pub rotate_after: Attr<String>,
    pub rotation_period: Attr<String>,
    pub triggers: Attr<BTreeMap<String, Attr<String>>>,
    pub password: Attr<Secret>,
    pub rotated_at: Attr<String>,
}

/// The resource schema, with the Markdown descriptions the generated docs are built from.
pub fn schema() -> Schema {
    use Presence::*;
    Schema {
        version: SCHEMA_VERSION,
        description: "Rotates the password of a ThingSpace Connectivity Management API user with \
`PUT /api/m2m/v1/session/password/actions/reset`. ThingSpace generates the new password; it is stored in state as \
the sensitive `password` attribute so the same apply can hand it to whatever consumes it.",
        attributes: vec![
            Attribute::new(
                "id",
                Type::String,
                Computed,
                "The user name. Also the import ID.",
            ),
            Attribute::new(
                "username",
                Type::String,
                Required,
                "The ThingSpace (M2M) user whose password is rotated. Changing it replaces the resource.",
            ),
            Attribute::new(
                "current_password",
                Type::String,
                Optional,
                "The user's password now, used to log in for the first rotation (and again whenever it changes: a \
re-seed). Stored in state; prefer `current_password_wo` on Terraform 1.11 and later. Conflicts with \
`current_password_wo`.",
            )
            .sensitive(),
            Attribute::new(
                "current_password_wo",
                Type::String,
                Optional,
                "Write-only (Terraform 1.11 and later): the user's password now, never stored in state or plan. \
Used for the first rotation, and again when `current_password_wo_version` changes. Conflicts with \
`current_password`.",
            )
            .sensitive()
            .write_only(),
            Attribute::new(
                "current_password_wo_version",
                Type::Number,
                Optional,
                "Change this number to log in with `current_password_wo` again and rotate: a re-seed after the \
password was changed outside Terraform.",
            ),
            Attribute::new(
                "rotate_after",
                Type::String,
                OptionalComputed,
                "RFC 3339 time after which the next plan rotates the password. A fixed time in the past rotates \
once, not on every apply. When unset and `rotation_period` is set, it is computed as `rotated_at` + \
`rotation_period`; when both are unset it is null.",
            ),
            Attribute::new(
                "rotation_period",
                Type::String,
                Optional,
                "How often to rotate: a Go duration with the extra unit `d` for days (`\"90d\"`, `\"2160h\"`), at \
least `1s`. Sets `rotate_after` to `rotated_at` + this period unless `rotate_after` is set.",
            ),
            Attribute::new(
                "triggers",
                Type::Map(Box::new(Type::String)),
                Optional,
                "Arbitrary map of strings; any change to it rotates the password in place.",
            ),
            Attribute::new(
                "password",
                Type::String,
                Computed,
                "The password ThingSpace generated at the last rotation. Null after an import until the next apply \
rotates it.",
            )
            .sensitive(),
            Attribute::new(
                "rotated_at",
                Type::String,
                Computed,
                "RFC 3339 UTC time of the last rotation.",
            ),
        ],
    }
}

/// Why a rotation is due. Each names what the user changed or what time it is, for the plan log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `rotate_after` (given or computed from `rotation_period`) has passed since the last rotation.
    RotateAfterPassed,
    /// `triggers` changed.
    TriggersChanged,
    /// `current_password` changed: log in with the new value.
    CurrentPasswordChanged,
    /// `current_password_wo_version` changed: log in with `current_password_wo`.
    WriteOnlyVersionChanged,
    /// The state holds no password (after import).
    NoPasswordInState,
}

impl Reason {
    /// Whether this rotation logs in with the configured current password rather than the stored one.
    pub fn is_reseed(self) -> bool {
        matches!(
            self,
            Reason::CurrentPasswordChanged
                | Reason::WriteOnlyVersionChanged
                | Reason::NoPasswordInState
        )
    }

    fn as_str(self) -> &'static str {
        match self {
            Reason::RotateAfterPassed => "rotate_after_passed",
            Reason::TriggersChanged => "triggers_changed",
            Reason::CurrentPasswordChanged => "current_password_changed",
            Reason::WriteOnlyVersionChanged => "current_password_wo_version_changed",
            Reason::NoPasswordInState => "no_password_in_state",
        }
    }
}

/// Whether a rotation is due, decided from (prior state, config, now) alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    No,
    Yes(Reason),
    /// An input is still unknown at plan time; the apply decides with the known values.
    Unknown,
}

/// Parses an RFC 3339 attribute value, turning a parse failure into a diagnostic on that attribute.
fn time_attr(name: &str, value: &str) -> Result<OffsetDateTime, Diagnostic> {
    parse_rfc3339(value)
        .map_err(|e| Diagnostic::error(format!("Invalid {name}"), format!("{e}.")).at(name))
}

fn period_attr(value: &str) -> Result<Duration, Diagnostic> {
    let d = parse_duration(value).map_err(|e| {
        Diagnostic::error("Invalid rotation_period", format!("{e}.")).at("rotation_period")
    })?;
    if d < Duration::from_secs(1) {
        return Err(Diagnostic::error(
            "Invalid rotation_period",
            format!("{value:?} is shorter than the minimum of 1s; ThingSpace recommends 90 days (\"90d\")."),
        )
        .at("rotation_period"));
    }
    Ok(d)
}

fn add_period(t: OffsetDateTime, period: Duration) -> Result<OffsetDateTime, Diagnostic> {
    t.checked_add(time::Duration::try_from(period).unwrap_or(time::Duration::MAX))
        .ok_or_else(|| {
            Diagnostic::error(
                "Invalid rotation_period",
                "rotated_at plus rotation_period is beyond the year 9999; choose a shorter period.",
            )
            .at("rotation_period")
        })
}

/// The `rotate_after` that applies to the next rotation: the configured one, else `rotated_at + rotation_period`.
fn effective_rotate_after(
    config: &Model,
    rotated_at: Option<OffsetDateTime>,
) -> Result<Attr<OffsetDateTime>, Diagnostic> {
    match &config.rotate_after {
        Attr::Known(s) => return time_attr("rotate_after", s).map(Attr::Known),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Null => {}
    }
    match &config.rotation_period {
        Attr::Known(p) => {
            let period = period_attr(p)?;
            match rotated_at {
                Some(t) => add_period(t, period).map(Attr::Known),
                None => Ok(Attr::Null),
            }
        }
        Attr::Unknown => Ok(Attr::Unknown),
        Attr::Null => Ok(Attr::Null),
    }
}

/// Normalised triggers: null and empty mean the same thing (nothing to watch). `None` when any part is unknown.
fn known_triggers(
    t: &Attr<BTreeMap<String, Attr<String>>>,
) -> Option<BTreeMap<&str, Option<&str>>> {
    match t {
        Attr::Unknown => None,
        Attr::Null => Some(BTreeMap::new()),
        Attr::Known(m) => m
            .iter()
            .map(|(k, v)| match v {
                Attr::Unknown => None,
                Attr::Null => Some((k.as_str(), None)),
                Attr::Known(s) => Some((k.as_str(), Some(s.as_str()))),
            })
            .collect(),
    }
}

/// Decides whether a rotation is due. Pure: the same (prior, config, now) always gives the same answer, which is what
/// makes `plan -refresh=false`, saved plans and the apply agree.
///
/// A rotation is due when the state holds no password, when the current password was re-seeded (`current_password`
/// or `current_password_wo_version` changed), when `triggers` changed, or when `rotate_after` has passed and the last
/// rotation was before it (so a fixed date in the past rotates once, not on every apply).
pub fn rotation_due(prior: &Model, config: &Model, now: OffsetDateTime) -> Result<Due, Diagnostic> {
    if !prior.password.is_known() {
        return Ok(Due::Yes(Reason::NoPasswordInState));
    }
    let mut unknown = false;

    match &config.current_password {
        Attr::Unknown => unknown = true,
        Attr::Known(c) if prior.current_password.known() != Some(c) => {
            return Ok(Due::Yes(Reason::CurrentPasswordChanged));
        }
        _ => {}
    }
    match &config.current_password_wo_version {
        Attr::Unknown => unknown = true,
        Attr::Known(v) if prior.current_password_wo_version.known() != Some(v) => {
            return Ok(Due::Yes(Reason::WriteOnlyVersionChanged));
        }
        _ => {}
    }
    match (
        known_triggers(&prior.triggers),
        known_triggers(&config.triggers),
    ) {
        (Some(p), Some(c)) if p != c => return Ok(Due::Yes(Reason::TriggersChanged)),
        (_, None) => unknown = true,
        _ => {}
    }

    let rotated_at = match &prior.rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s)?),
        _ => None,
    };
    match effective_rotate_after(config, rotated_at)? {
        Attr::Known(after) => {
            // A state with a password but no rotation time (an old state) counts as rotated long ago.
            let rotated_before = rotated_at.is_none_or(|r| r < after);
            if now >= after && rotated_before {
                return Ok(Due::Yes(Reason::RotateAfterPassed));
            }
        }
        Attr::Unknown => unknown = true,
        Attr::Null => {}
    }
    Ok(if unknown { Due::Unknown } else { Due::No })
}

/// Errors in a configuration, found before any API call. `write_only_allowed` is Terraform's client capability:
/// a Terraform older than 1.11 does not know write-only attributes and would store the value in state.
pub fn validate(config: &Model, write_only_allowed: bool) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Attr::Known(u) = &config.username {
        if u.trim().is_empty() {
            diags.push(
                Diagnostic::error(
                    "Empty username",
                    "username must name the ThingSpace user whose password is rotated.",
                )
                .at("username"),
            );
        }
    }
    if let Attr::Known(s) = &config.rotate_after {
        if let Err(d) = time_attr("rotate_after", s) {
            diags.push(d);
        }
    }
    if let Attr::Known(p) = &config.rotation_period {
        if let Err(d) = period_attr(p) {
            diags.push(d);
        }
    }
    if !config.current_password.is_null() && !config.current_password_wo.is_null() {
        diags.push(
            Diagnostic::error(
                "Conflicting current password arguments",
                "Set only one of current_password and current_password_wo: both name the user's password now.",
            )
            .at("current_password_wo"),
        );
    }
    if !config.current_password_wo.is_null() && !write_only_allowed {
        diags.push(
            Diagnostic::error(
                "current_password_wo needs Terraform 1.11 or later",
                "This Terraform does not support write-only attributes and would store current_password_wo in \
state. Upgrade Terraform to 1.11 or later, or use current_password instead.",
            )
            .at("current_password_wo"),
        );
    }
    diags
}

/// How the apply must treat a planned rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlannedRotation {
    /// No rotation: the apply changes state only.
    None,
    /// The plan decided a rotation is due.
    Due(Reason),
    /// The plan could not decide (an input was unknown); the apply decides with the known values.
    Decide,
}

/// What travels in Terraform's private bytes: the plan's rotation decision (plan to apply), and whether rotations
/// are blocked because a reset may have taken effect without Terraform learning the new password.
///
/// The block is kept in state (Read passes private bytes through) until a re-seed succeeds: a rotation that logged
/// in with the stored password would now fail and count toward ThingSpace's lock-out, every run, in every pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Private {
    pub rotation: PlannedRotation,
    pub blocked: bool,
    /// When `ReadResource` last looked, in Unix seconds. A plan decides time-based rotations as of this moment, so
    /// the plan Terraform makes again at apply (with the same prior state) reaches the same decision even when
    /// `rotate_after` passes in between: a saved plan does at apply exactly what it showed.
    pub observed_at: Option<i64>,
}

impl Private {
    /// The bytes Terraform stores; empty when there is nothing to carry.
    pub fn to_bytes(self) -> Vec<u8> {
        let (rotation, reason) = match self.rotation {
            PlannedRotation::None if !self.blocked && self.observed_at.is_none() => {
                return Vec::new();
            }
            PlannedRotation::None => ("none", None),
            PlannedRotation::Due(r) => ("due", Some(r.as_str())),
            PlannedRotation::Decide => ("decide", None),
        };
        serde_json::json!({
            "rotation": rotation,
            "reason": reason,
            "blocked": self.blocked,
            "observed_at": self.observed_at,
        })
        .to_string()
        .into_bytes()
    }

    /// Reads the bytes back. Anything unreadable means "decide at apply", which re-checks everything.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct P {
            rotation: String,
            reason: Option<String>,
            #[serde(default)]
            blocked: bool,
            #[serde(default)]
            observed_at: Option<i64>,
        }
        let Ok(p) = serde_json::from_slice::<P>(bytes) else {
            return Private {
                observed_at: None,
                rotation: PlannedRotation::Decide,
                blocked: false,
            };
        };
        let reason = match p.reason.as_deref() {
            Some("rotate_after_passed") => Some(Reason::RotateAfterPassed),
            Some("triggers_changed") => Some(Reason::TriggersChanged),
            Some("current_password_changed") => Some(Reason::CurrentPasswordChanged),
            Some("current_password_wo_version_changed") => Some(Reason::WriteOnlyVersionChanged),
            Some("no_password_in_state") => Some(Reason::NoPasswordInState),
            _ => None,
        };
        let rotation = match (p.rotation.as_str(), reason) {
            ("none", _) => PlannedRotation::None,
            ("due", Some(r)) => PlannedRotation::Due(r),
            _ => PlannedRotation::Decide,
        };
        Private {
            rotation,
            blocked: p.blocked,
            observed_at: p.observed_at,
        }
    }
}

fn blocked_error() -> Diagnostic {
    Diagnostic::error(
        "Rotation blocked: an earlier reset may have taken effect",
        "An earlier password reset for this user failed in a way that leaves it unclear whether ThingSpace changed \
the password, so the password in state may be stale. To protect the user from ThingSpace's lock-out (5 consecutive \
failed log-ins), this resource rotates again only after a re-seed: obtain the user's current password through \
ThingSpace, set current_password_wo to it and change current_password_wo_version.",
    )
    .at("current_password_wo_version")
}

/// The planned state and the rotation decision that goes with it.
#[derive(Debug)]
pub struct Plan {
    pub planned: Model,
    pub private: Private,
    pub diagnostics: Diagnostics,
}

/// The part of the planned state that comes straight from configuration (Terraform requires it unchanged).
fn from_config(config: &Model) -> Model {
    Model {
        id: config.username.clone(),
        username: config.username.clone(),
        current_password: config.current_password.clone(),
        // Write-only: Terraform rejects any non-null value in a planned or applied state.
        current_password_wo: Attr::Null,
        current_password_wo_version: config.current_password_wo_version.clone(),
        rotate_after: config.rotate_after.clone(),
        rotation_period: config.rotation_period.clone(),
        triggers: config.triggers.clone(),
        password: Attr::Unknown,
        rotated_at: Attr::Unknown,
    }
}

/// `rotate_after` in a state whose next rotation time depends on a rotation still to happen.
fn rotate_after_for_pending_rotation(config: &Model) -> Attr<String> {
    match (&config.rotate_after, &config.rotation_period) {
        (Attr::Null, Attr::Null) => Attr::Null,
        (Attr::Null, _) => Attr::Unknown,
        (given, _) => given.clone(),
    }
}

fn has_configured_password(config: &Model) -> bool {
    !config.current_password.is_null() || !config.current_password_wo.is_null()
}

fn no_password_error() -> Diagnostic {
    Diagnostic::error(
        "No password to log in with",
        "A rotation is due but Terraform holds no password for this user. Set current_password_wo (Terraform 1.11+) \
or current_password to the user's password now.",
    )
    .at("current_password_wo")
}

/// Plans a create or an update. `prior` is `None` for a create; `blocked` comes from the prior private bytes.
pub fn plan(prior: Option<&Model>, config: &Model, now: OffsetDateTime, blocked: bool) -> Plan {
    let mut diagnostics = Diagnostics::new();
    let mut planned = from_config(config);
    let Some(prior) = prior else {
        planned.rotate_after = rotate_after_for_pending_rotation(config);
        if !has_configured_password(config) {
            diagnostics.push(no_password_error());
        }
        return Plan {
            planned,
            private: Private {
                observed_at: None,
                rotation: PlannedRotation::Due(Reason::NoPasswordInState),
                blocked: false,
            },
            diagnostics,
        };
    };
    planned.id = prior.id.clone();
    let due = match rotation_due(prior, config, now) {
        Ok(d) => d,
        Err(d) => {
            diagnostics.push(d);
            return Plan {
                planned,
                private: Private {
                    observed_at: None,
                    rotation: PlannedRotation::None,
                    blocked,
                },
                diagnostics,
            };
        }
    };
    let rotation = match due {
        Due::No => {
            planned.password = prior.password.clone();
            planned.rotated_at = prior.rotated_at.clone();
            planned.rotate_after = match settled_rotate_after(config, &prior.rotated_at) {
                Ok(v) => v,
                Err(d) => {
                    diagnostics.push(d);
                    Attr::Unknown
                }
            };
            PlannedRotation::None
        }
        Due::Yes(reason) => {
            planned.rotate_after = rotate_after_for_pending_rotation(config);
            let needs_configured = reason.is_reseed();
            if needs_configured && !has_configured_password(config) {
                diagnostics.push(no_password_error());
            }
            if reason == Reason::WriteOnlyVersionChanged && config.current_password_wo.is_null() {
                diagnostics.push(
                    Diagnostic::error(
                        "current_password_wo is not set",
                        "current_password_wo_version changed, which re-seeds the rotation from current_password_wo, \
but current_password_wo is not set. Set it to the user's password now.",
                    )
                    .at("current_password_wo"),
                );
            }
            PlannedRotation::Due(reason)
        }
        Due::Unknown => {
            planned.rotate_after = rotate_after_for_pending_rotation(config);
            PlannedRotation::Decide
        }
    };
    let reseed = matches!(rotation, PlannedRotation::Due(r) if r.is_reseed());
    if blocked && rotation != PlannedRotation::None && !reseed {
        diagnostics.push(blocked_error());
    }
    Plan {
        planned,
        private: Private {
            observed_at: None,
            rotation,
            blocked,
        },
        diagnostics,
    }
}

/// `rotate_after` for a state that is not rotating now: the configured value, else `rotated_at + rotation_period`.
fn settled_rotate_after(
    config: &Model,
    rotated_at: &Attr<String>,
) -> Result<Attr<String>, Diagnostic> {
    let rotated_at = match rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s)?),
        _ => None,
    };
    if let Attr::Known(_) | Attr::Unknown = config.rotate_after {
        return Ok(config.rotate_after.clone());
    }
    Ok(match effective_rotate_after(config, rotated_at)? {
        Attr::Known(t) => Attr::Known(format_rfc3339(t)),
        Attr::Unknown => Attr::Unknown,
        Attr::Null => Attr::Null,
    })
}

/// What one provider process carries from one call to a later one, keyed by user name.
///
/// - Passwords of resources just destroyed: `terraform apply -replace=ADDR` destroys and then creates the resource in
///   one run of one provider process. The create has no prior state, and the configured `current_password` is usually
///   the stale seed: logging in with it would fail and count toward the lock-out. The delete leaves the password here
///   for the create to use instead.
/// - Blocks seen by a read: Terraform plans the replacement of a tainted object (a create whose reset may have taken
///   effect) with no prior state and no private bytes, but it reads the tainted object first, in the same process. The
///   read leaves the block here, with the seed the object was created from, so that plan can refuse to log in with the
///   same stale seed again.
#[derive(Default, Debug)]
pub struct Handoff {
    passwords: Mutex<HashMap<String, Secret>>,
    blocked: Mutex<HashMap<String, Seed>>,
}

/// The configured seed arguments a blocked object was planned with; changing either is a re-seed.
#[derive(Clone, Debug, PartialEq)]
struct Seed {
    current_password: Attr<Secret>,
    current_password_wo_version: Attr<Number>,
}

impl Seed {
    fn of(m: &Model) -> Self {
        Seed {
            current_password: m.current_password.clone(),
            current_password_wo_version: m.current_password_wo_version.clone(),
        }
    }
}

impl Handoff {
    fn put(&self, username: &str, password: Secret) {
        if let Ok(mut m) = self.passwords.lock() {
            m.insert(username.to_string(), password);
        }
    }

    fn take(&self, username: &str) -> Option<Secret> {
        self.passwords
            .lock()
            .ok()
            .and_then(|mut m| m.remove(username))
    }

    fn block(&self, username: &str, seed: Seed) {
        if let Ok(mut m) = self.blocked.lock() {
            m.insert(username.to_string(), seed);
        }
    }

    fn blocked_seed(&self, username: &str) -> Option<Seed> {
        self.blocked
            .lock()
            .ok()
            .and_then(|m| m.get(username).cloned())
    }
}

/// What an apply returns: the new state (null to remove it), the private bytes to store with it, and diagnostics.
#[derive(Debug)]
pub struct Applied {
    pub new_state: Option<Model>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl Applied {
    fn failed(diagnostics: Diagnostics) -> Self {
        Self {
            new_state: None,
            private: Vec::new(),
            diagnostics,
        }
    }
}

/// A rotation that did not produce a password, and whether its reset may nonetheless have taken effect.
struct RotateFailure {
    diagnostics: Diagnostics,
    maybe_reset: bool,
}

/// Rotates the password now and fills `password`, `rotated_at` and a computed `rotate_after` into `planned`.
async fn rotate_into(
    client: &Client,
    username: &str,
    login_password: &Secret,
    config: &Model,
    mut planned: Model,
    now: impl Fn() -> OffsetDateTime,
) -> Result<(Model, Diagnostics), RotateFailure> {
    let mut diags = Diagnostics::new();
    let rotation = client
        .rotate(username, login_password.secret())
        .await
        .map_err(|e| RotateFailure {
            maybe_reset: !matches!(e.effect(), crate::thingspace::Effect::None),
            diagnostics: Diagnostic::error(e.summary(), e.detail()).into(),
        })?;
    // From here on the new password exists only in this process: nothing below may fail the apply.
    for w in rotation.warnings {
        diags.push(Diagnostic::warning(
            "Password rotated; a follow-up step had a problem",
            format!("The new password for user {username:?} is stored in state. {w}"),
        ));
    }
    let rotated_at = now();
    planned.password = Attr::Known(Secret::from(rotation.new_password));
    planned.rotated_at = Attr::Known(format_rfc3339(rotated_at));
    planned.id = Attr::Known(username.to_string());
    planned.current_password_wo = Attr::Null;
    planned.rotate_after = match (&config.rotate_after, &config.rotation_period) {
        (Attr::Known(s), _) => Attr::Known(s.clone()),
        (_, Attr::Known(p)) => match parse_duration(p)
            .ok()
            .and_then(|d| rotated_at.checked_add(time::Duration::try_from(d).ok()?))
        {
            Some(t) => Attr::Known(format_rfc3339(t)),
            None => {
                // Validation already refused a bad period, so this is unreachable in practice; keep the password.
                diags.push(
                    Diagnostic::warning(
                        "rotate_after could not be computed",
                        "rotation_period could not be added to rotated_at; rotate_after is left empty.",
                    )
                    .at("rotation_period"),
                );
                Attr::Null
            }
        },
        _ => Attr::Null,
    };
    Ok((planned, diags))
}

/// The shared, process-wide inputs to an apply.
pub struct ApplyContext<'a> {
    /// The configured API client, or `None` when the provider configuration was still unknown.
    pub client: Option<&'a Client>,
    pub handoff: &'a Handoff,
}

fn client_or_error<'a>(ctx: &ApplyContext<'a>) -> Result<&'a Client, Diagnostics> {
    ctx.client.ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Provider not configured",
            "The thingspace provider configuration was not known when this resource was applied. Make base_url, \
client_id and client_secret known values.",
        ))
    })
}

fn unknown_username() -> Diagnostics {
    Diagnostic::error("username is unknown", "username must be known at apply.")
        .at("username")
        .into()
}

/// Creates: logs in with the configured (or just-destroyed) password, resets, logs out, stores the new password.
pub async fn create(
    ctx: &ApplyContext<'_>,
    config: &Model,
    planned: Model,
    now: impl Fn() -> OffsetDateTime,
) -> Applied {
    let Some(username) = config.username.known().cloned() else {
        return Applied::failed(unknown_username());
    };
    let login = ctx
        .handoff
        .take(&username)
        .or_else(|| configured_password(config));
    let Some(login) = login else {
        return Applied::failed(no_password_error().into());
    };
    let client = match client_or_error(ctx) {
        Ok(c) => c,
        Err(d) => return Applied::failed(d),
    };
    match rotate_into(client, &username, &login, config, planned.clone(), now).await {
        Ok((state, diagnostics)) => Applied {
            new_state: Some(state),
            private: Vec::new(),
            diagnostics,
        },
        // The reset may have happened: record an object without a password, which Terraform taints, and block it, so
        // the next run refuses to log in with this seed again until it is re-seeded.
        Err(f) if f.maybe_reset => Applied {
            new_state: Some(Model {
                id: Attr::Known(username),
                password: Attr::Null,
                rotated_at: Attr::Null,
                rotate_after: match planned.rotate_after {
                    Attr::Known(v) => Attr::Known(v),
                    _ => Attr::Null,
                },
                current_password_wo: Attr::Null,
                ..planned
            }),
            private: Private {
                rotation: PlannedRotation::None,
                blocked: true,
                observed_at: None,
            }
            .to_bytes(),
            diagnostics: f.diagnostics,
        },
        Err(f) => Applied::failed(f.diagnostics),
    }
}

fn configured_password(config: &Model) -> Option<Secret> {
    config
        .current_password_wo
        .known()
        .or(config.current_password.known())
        .cloned()
}

/// Updates: rotates when the plan said so (or, for an undecided plan, when it is due now), else only stores the change.
pub async fn update(
    ctx: &ApplyContext<'_>,
    prior: &Model,
    config: &Model,
    planned: Model,
    private: Private,
    now: impl Fn() -> OffsetDateTime,
) -> Applied {
    let keep_prior = |diagnostics, blocked| Applied {
        new_state: Some(prior_without_write_only(prior)),
        private: Private {
            observed_at: None,
            rotation: PlannedRotation::None,
            blocked,
        }
        .to_bytes(),
        diagnostics,
    };
    // A plan with a known password planned no rotation: a saved plan that said "no rotation" never rotates, even if
    // rotate_after has passed since; the next plan will see it.
    let reason = match (private.rotation, planned.password.is_known()) {
        (_, true) | (PlannedRotation::None, _) => None,
        (PlannedRotation::Due(r), false) => Some(r),
        (PlannedRotation::Decide, false) => match rotation_due(prior, config, now()) {
            Ok(Due::Yes(r)) => Some(r),
            Ok(Due::No | Due::Unknown) => None,
            Err(d) => return keep_prior(d.into(), private.blocked),
        },
    };
    let Some(reason) = reason else {
        let mut state = planned;
        state.current_password_wo = Attr::Null;
        if !state.password.is_known() {
            state.password = prior.password.clone();
            state.rotated_at = prior.rotated_at.clone();
        }
        if !state.rotate_after.is_known() && !state.rotate_after.is_null() {
            state.rotate_after = match settled_rotate_after(config, &prior.rotated_at) {
                Ok(v) if !v.is_unknown() => v,
                Ok(_) => Attr::Null,
                Err(d) => return keep_prior(d.into(), private.blocked),
            };
        }
        return Applied {
            new_state: Some(state),
            private: Private {
                observed_at: None,
                rotation: PlannedRotation::None,
                blocked: private.blocked,
            }
            .to_bytes(),
            diagnostics: Diagnostics::new(),
        };
    };
    if private.blocked && !reason.is_reseed() {
        return keep_prior(blocked_error().into(), true);
    }
    let Some(username) = prior.username.known().or(config.username.known()).cloned() else {
        return keep_prior(unknown_username(), private.blocked);
    };
    let login = if reason.is_reseed() || !prior.password.is_known() {
        configured_password(config)
    } else {
        prior.password.known().cloned()
    };
    let Some(login) = login else {
        return keep_prior(no_password_error().into(), private.blocked);
    };
    let client = match client_or_error(ctx) {
        Ok(c) => c,
        Err(d) => return keep_prior(d, private.blocked),
    };
    tracing::debug!(username = %username, reason = reason.as_str(), "rotation due");
    match rotate_into(client, &username, &login, config, planned, now).await {
        Ok((state, diagnostics)) => Applied {
            new_state: Some(state),
            private: Vec::new(),
            diagnostics,
        },
        // Nothing that Terraform could record changed: keep the prior state so the next plan retries. When the reset
        // may have happened, block further rotations until a re-seed.
        Err(f) => keep_prior(f.diagnostics, private.blocked || f.maybe_reset),
    }
}

fn prior_without_write_only(prior: &Model) -> Model {
    let mut m = prior.clone();
    m.current_password_wo = Attr::Null;
    m
}

/// Deletes: no API call. The password stays at its last value at ThingSpace, which Terraform no longer holds, so the
/// user is warned. The password is kept in this process for a create of the same user in the same run (a replace).
pub fn delete(ctx: &ApplyContext<'_>, prior: &Model) -> Applied {
    let username = prior.username.known().cloned().unwrap_or_default();
    if let Attr::Known(p) = &prior.password {
        ctx.handoff.put(&username, p.clone());
    }
    Applied {
        new_state: None,
        private: Vec::new(),
        diagnostics: Diagnostic::warning(
            "ThingSpace password left unchanged",
            format!(
                "thingspace_password_rotation for user {username:?} was removed from state without a reset. The \
ThingSpace password stays at its last value, which Terraform no longer holds: read it from state or its consumers \
before discarding them, or re-seed with current_password_wo if you manage this user again."
            ),
        )
        .into(),
    }
}

/// Reads: no API call (a log-in to check the password would count toward the lock-out); the state stays as it is.
pub fn read(prior: &Model) -> Model {
    prior_without_write_only(prior)
}

/// Remembers, for a create planned later in this process, that `prior` is blocked (see [`Handoff`]).
pub fn note_read(handoff: &Handoff, prior: &Model, prior_private: &[u8]) {
    if let (true, Attr::Known(username)) =
        (Private::from_bytes(prior_private).blocked, &prior.username)
    {
        handoff.block(username, Seed::of(prior));
    }
}

/// The private bytes a read leaves: the block carried forward, and the moment of the read for the plan to decide by.
pub fn read_private(prior_private: &[u8], now: OffsetDateTime) -> Vec<u8> {
    Private {
        rotation: PlannedRotation::None,
        blocked: Private::from_bytes(prior_private).blocked,
        observed_at: Some(now.unix_timestamp()),
    }
    .to_bytes()
}

/// Plans as Terraform needs it within a run: like [`plan`], but deciding time-based rotations at the right moment.
///
/// Terraform plans every change a second time at apply, with the same prior state, private bytes and config, and
/// refuses the apply if the two plans disagree. Deciding by the clock, a `rotate_after` that passes between the two
/// would turn "update, no rotation" into "rotate". So when the last read left its time in `prior_private`, and the plan
/// as of that time is a change, that plan is the answer: it is what the first plan said. When the plan as of the read
/// is no change at all, this cannot be the second plan (Terraform never plans a no-op again), so the clock decides;
/// that keeps `plan -refresh=false` seeing a rotation that fell due after the last refresh.
pub fn plan_in_run(
    prior: Option<&Model>,
    config: &Model,
    now: OffsetDateTime,
    prior_private: Private,
    handoff: &Handoff,
) -> Plan {
    if prior.is_none() {
        let mut p = plan(None, config, now, false);
        let blocked = config
            .username
            .known()
            .and_then(|u| handoff.blocked_seed(u));
        // A replacement of a blocked object may only log in with a new seed.
        if blocked.is_some_and(|seed| seed == Seed::of(config)) {
            p.diagnostics.push(blocked_error());
        }
        return p;
    }
    let read_at = prior_private
        .observed_at
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    if let (Some(prior), Some(read_at)) = (prior, read_at) {
        let as_of_read = plan(Some(prior), config, read_at, prior_private.blocked);
        if as_of_read.planned != prior_without_write_only(prior) {
            return as_of_read;
        }
    }
    plan(prior, config, now, prior_private.blocked)
}

/// Imports by user name. No API call: the next plan shows the rotation that takes the password under management.
pub fn import(id: &str) -> Result<Model, Diagnostic> {
    if id.trim().is_empty() {
        return Err(Diagnostic::error(
            "Invalid import ID",
            "The import ID is the ThingSpace user name, for example: terraform import thingspace_password_rotation.ci svc-provisioning",
        ));
    }
    Ok(Model {
        id: Attr::Known(id.to_string()),
        username: Attr::Known(id.to_string()),
        ..Model::default()
    })
}

/// Upgrades a stored state of any earlier schema version to this one.
///
/// Version 0 had the same attribute names minus `rotation_period`, `triggers`, `current_password_wo` and
/// `current_password_wo_version`; absent attributes become null, and attributes this version no longer has are dropped,
/// so an upgrade never makes a rotation due by itself.
pub fn upgrade(version: i64, raw: &serde_json::Value) -> Result<Model, Diagnostic> {
    let Some(obj) = raw.as_object() else {
        return Err(Diagnostic::error(
            "Unreadable state",
            format!("The stored state (schema version {version}) is not a JSON object."),
        ));
    };
    if version > SCHEMA_VERSION {
        return Err(Diagnostic::error(
            "State from a newer provider",
            format!(
                "The state was written with schema version {version}, newer than this provider's {SCHEMA_VERSION}. \
Use the provider version that wrote it."
            ),
        ));
    }
    let string = |k: &str| -> Attr<String> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) => Attr::Known(s.clone()),
            _ => Attr::Null,
        }
    };
    let secret = |k: &str| -> Attr<Secret> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) => Attr::Known(Secret::new(s.clone())),
            _ => Attr::Null,
        }
    };
    let triggers = match obj.get("triggers") {
        Some(serde_json::Value::Object(m)) => Attr::Known(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => Attr::Known(s.clone()),
                        serde_json::Value::Null => Attr::Null,
                        other => Attr::Known(other.to_string()),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => Attr::Null,
    };
    let version_attr = match obj.get("current_password_wo_version") {
        Some(serde_json::Value::Number(n)) => match n.to_string().parse::<Number>() {
            Ok(n) => Attr::Known(n),
            Err(_) => Attr::Null,
        },
        _ => Attr::Null,
    };
    let username = string("username");
    Ok(Model {
        id: match string("id") {
            Attr::Null => username.clone(),
            id => id,
        },
        username,
        current_password: secret("current_password"),
        current_password_wo: Attr::Null,
        current_password_wo_version: version_attr,
        rotate_after: string("rotate_after"),
        rotation_period: string("rotation_period"),
        triggers,
        password: secret("password"),
        rotated_at: string("rotated_at"),
    })
}

#[cfg(test)]
mod tests;
