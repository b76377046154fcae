//! Logging in the form Terraform reads from a plugin's stderr: one hclog JSON object per line.
//!
//! Terraform (through go-plugin) parses each stderr line of a provider. A JSON object with `"@level"`,
//! `"@message"` and `"@timestamp"` is re-logged at its own level, its other keys shown as fields; any
//! other line is logged as debug text. go-plugin parses `"@timestamp"` with the layout
//! `2006-01-02T15:04:05.000000Z07:00`, so the timestamp must carry exactly six fractional digits.
//!
//! Terraform prints the message and string fields of each line raw (JSON escaping only survives until it parses
//! the line), so every message and string field is passed through [`escape_controls`]: a user name holding an
//! ESC sequence or a new line cannot repaint the terminal or forge a log line.
//!
//! stdout is the handshake channel and is never written here.
//!
//! Level (see [`level_from_env`]): `TF_LOG_PROVIDER`, else `TF_LOG`, read the way Terraform core
//! reads them for its provider logger. When neither is set, no subscriber is installed at all:
//! Terraform discards plugin log lines in that case, so producing them would only cost time.
//! The panic hook is the exception: it always writes its one line, because Terraform captures
//! error lines starting with `panic: ` even with logging off and shows them in its crash report.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::io::Write;
use std::panic::Location;
use std::sync::Once;

use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// `"@module"` of this provider's own events. terraform-plugin-log names a provider's root logger
/// `provider` and its sub-loggers `provider.<name>`; we follow that so our lines read like any other
/// provider's in `TF_LOG` output.
pub const MODULE: &str = "provider";

/// Crate names (first segment of a `tracing` target) that count as this provider's own code.
/// Everything else (tonic, h2, hyper, reqwest, rustls...) is third-party.
const OWN_CRATES: [&str; 3] = [
    "thingspace_provider",
    "terraform_provider_thingspace",
    "thingspace_emulator",
];

/// Third-party crates never log below this level, whatever the user asks for: their debug/trace
/// output is voluminous and some of it (HTTP/2 frames, TLS internals) may carry header bytes,
/// which could include bearer tokens.
const THIRD_PARTY_MAX: Level = Level::WARN;

/// hclog's JSON timestamp: RFC 3339 in UTC with exactly six fractional digits.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Reads the log level from the values of `TF_LOG_PROVIDER` and `TF_LOG`, as Terraform core does
/// for its provider logger: `TF_LOG_PROVIDER` wins when set and non-empty; names are
/// case-insensitive; `JSON` means trace; `OFF` disables logging; an unknown name means trace
/// (Terraform core treats an invalid `TF_LOG` as `TRACE` too). Unset or empty means `None`:
/// Terraform discards plugin logs then, so the provider emits none.
#[must_use]
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> Option<Level> {
    fn non_empty(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|s| !s.is_empty())
    }
    let value = non_empty(tf_log_provider).or_else(|| non_empty(tf_log))?;
    match value.to_ascii_uppercase().as_str() {
        "OFF" => None,
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        // TRACE, JSON and anything Terraform would not recognise.
        _ => Some(Level::TRACE),
    }
}

/// Installs the panic hook and, when the environment asks for logs, the global hclog subscriber
/// writing to stderr. Cheap (a few environment reads); never writes to stdout. Calling it again
/// is harmless: the second subscriber is refused by `tracing` and the hook is installed once.
pub fn init() {
    install_panic_hook();
    let provider = std::env::var("TF_LOG_PROVIDER").ok();
    let core = std::env::var("TF_LOG").ok();
    let Some(level) = level_from_env(provider.as_deref(), core.as_deref()) else {
        return;
    };
    let subscriber = Registry::default().with(json_layer(std::io::stderr, level));
    // An error only means a subscriber is already installed (a second init, or a test harness).
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Builds the hclog JSON layer writing one line per event to `make_writer`, for this provider's own
/// events at `level` and more severe, and for third-party crates at `WARN` and more severe.
/// [`init`] uses it with stderr; tests use it with a buffer.
pub fn json_layer<W>(make_writer: W, level: Level) -> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    HclogLayer { make_writer, level }
}

/// A `tracing` layer that renders events as hclog JSON lines. Built by [`json_layer`].
pub struct HclogLayer<W> {
    make_writer: W,
    level: Level,
}

impl<W> fmt::Debug for HclogLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HclogLayer")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl<W> HclogLayer<W> {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        let max = if is_own(metadata.target()) {
            self.level
        } else {
            self.level.min(THIRD_PARTY_MAX)
        };
        // In `tracing`, a more verbose level compares greater.
        *metadata.level() <= max
    }
}

fn is_own(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    OWN_CRATES.contains(&root)
}

fn module_for(target: &str) -> String {
    if is_own(target) {
        MODULE.to_owned()
    } else {
        let root = target.split("::").next().unwrap_or(target);
        format!("{MODULE}.{root}")
    }
}

/// Fields recorded on a span, kept in its extensions until the span closes.
#[derive(Default)]
struct SpanFields(Vec<(&'static str, Value)>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // The level never changes after construction, so callsites can be decided once.
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.wants(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.wants(metadata)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.level))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut FieldVisitor(&mut fields.0));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanFields>() {
            values.record(&mut FieldVisitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        // Outer spans first so that an inner span (and then the event) overrides a repeated key.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    for (name, value) in &span_fields.0 {
                        fields.insert((*name).to_owned(), value.clone());
                    }
                }
            }
        }
        let mut event_fields = Vec::new();
        event.record(&mut FieldVisitor(&mut event_fields));
        let mut message = String::new();
        for (name, value) in event_fields {
            match (name, value) {
                ("message", Value::String(text)) => message = text,
                (name, value) => {
                    fields.insert(name.to_owned(), value);
                }
            }
        }
        let meta = event.metadata();
        let line = render_line(
            fields,
            level_str(*meta.level()),
            &message,
            &module_for(meta.target()),
            OffsetDateTime::now_utc(),
        );
        // One write per line so concurrent events never interleave inside a line. A failed
        // write to stderr has nowhere to be reported.
        let _ = self.make_writer.make_writer_for(meta).write_all(&line);
    }
}

/// hclog's level names.
fn level_str(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

fn timestamp(now: OffsetDateTime) -> String {
    // Formatting a UTC date with a fixed description cannot fail for years 0..=9999; should it
    // ever, an empty timestamp is still better than losing the line.
    now.format(TIMESTAMP_FORMAT).unwrap_or_default()
}

/// Serialises one hclog line (with its trailing newline). The `@` keys are inserted last so that
/// an event field with the same name cannot replace them.
fn render_line(
    mut fields: Map<String, Value>,
    level: &str,
    message: &str,
    module: &str,
    now: OffsetDateTime,
) -> Vec<u8> {
    fields.insert("@level".to_owned(), Value::from(level));
    fields.insert("@message".to_owned(), Value::from(message));
    fields.insert("@module".to_owned(), Value::from(module));
    fields.insert("@timestamp".to_owned(), Value::from(timestamp(now)));
    let mut line = serde_json::to_vec(&Value::Object(fields)).unwrap_or_default();
    line.push(b'\n');
    line
}

/// A float as JSON.
fn f64_value(v: f64) -> Value {
    // JSON has no NaN or infinity; keep them readable as strings.
    Number::from_f64(v).map_or_else(|| Value::from(v.to_string()), Value::Number)
}

fn i128_value(v: i128) -> Value {
    i64::try_from(v).map_or_else(|_| Value::from(v.to_string()), Value::from)
}

fn u128_value(v: u128) -> Value {
    u64::try_from(v).map_or_else(|_| Value::from(v.to_string()), Value::from)
}

/// Records `tracing` fields, span or event alike, as JSON values: numbers stay numbers, bools stay bools,
/// everything else becomes a string with its control characters escaped. A repeated name keeps the last value.
struct FieldVisitor<'a>(&'a mut Vec<(&'static str, Value)>);

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(slot) = self.0.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.0.push((name, value));
        }
    }

    fn put_text(&mut self, field: &Field, text: &str) {
        self.put(field, Value::from(escape_controls(text).into_owned()));
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, f64_value(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, i128_value(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, u128_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put_text(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put_text(field, &value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Display fields (`%x`) and the event's format string (`message`, a `fmt::Arguments`) arrive here too, as
        // their plain text.
        self.put_text(field, &format!("{value:?}"));
    }
}

/// Whether a terminal or log reader could act on `c` rather than show it: C0 controls (new line and tab
/// included), DEL, C1 controls, the Unicode bidirectional controls (which reorder what is shown, as in
/// "Trojan Source"), and the Unicode line and paragraph separators.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every control character (see `is_control`) written as a visible escape: `\n`, `\r`, `\t`, else
/// `\u{hex}` as Rust writes it. Everything else, backslashes included, is unchanged; text without controls is
/// returned as is, without copying.
#[must_use]
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The hclog line for a panic: error level, message starting with `panic: ` (the prefix Terraform
/// looks for to record a plugin's crash output), and the location. The payload is deliberately
/// absent: a panic message can quote any value in scope, secrets included.
fn panic_line(
    location: Option<&Location<'_>>,
    thread: Option<&str>,
    now: OffsetDateTime,
) -> Vec<u8> {
    let mut fields = Map::new();
    let message = match location {
        Some(loc) => {
            fields.insert("panic_file".to_owned(), Value::from(loc.file()));
            fields.insert("panic_line".to_owned(), Value::from(loc.line()));
            fields.insert("panic_column".to_owned(), Value::from(loc.column()));
            format!(
                "panic: provider panicked at {}:{}:{}",
                loc.file(),
                loc.line(),
                loc.column()
            )
        }
        None => "panic: provider panicked at an unknown location".to_owned(),
    };
    if let Some(name) = thread {
        fields.insert("thread".to_owned(), Value::from(escape_controls(name)));
    }
    render_line(fields, "error", &message, MODULE, now)
}

/// A panic hook writing [`panic_line`] to `make_writer` instead of the default hook's output
/// (which would print the payload).
fn panic_hook<W>(make_writer: W) -> impl Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    move |info| {
        let current = std::thread::current();
        let line = panic_line(info.location(), current.name(), OffsetDateTime::now_utc());
        let _ = make_writer.make_writer().write_all(&line);
    }
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(panic_hook(std::io::stderr))));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` collecting everything written into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn lines(&self) -> Vec<Map<String, Value>> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| match serde_json::from_str::<Value>(l).unwrap() {
                    Value::Object(m) => m,
                    other => panic!("not an object: {other}"),
                })
                .collect()
        }
        fn raw(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(level: Level, f: impl FnOnce()) -> Buffer {
        let buf = Buffer::default();
        let subscriber = Registry::default().with(json_layer(buf.clone(), level));
        tracing::subscriber::with_default(subscriber, f);
        buf
    }

    /// Checks a timestamp has go-plugin's layout `2006-01-02T15:04:05.000000Z07:00` in UTC.
    fn assert_hclog_timestamp(ts: &str) {
        assert_eq!(ts.len(), 27, "{ts}");
        let b = ts.as_bytes();
        for (i, c) in b.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*c, b'-', "{ts}"),
                10 => assert_eq!(*c, b'T', "{ts}"),
                13 | 16 => assert_eq!(*c, b':', "{ts}"),
                19 => assert_eq!(*c, b'.', "{ts}"),
                26 => assert_eq!(*c, b'Z', "{ts}"),
                _ => assert!(c.is_ascii_digit(), "{ts}"),
            }
        }
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).unwrap();
    }

    #[test]
    fn event_has_exactly_the_hclog_keys_and_level_names() {
        let buf = capture(Level::TRACE, || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let lines = buf.lines();
        let levels: Vec<_> = lines
            .iter()
            .map(|l| l["@level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
        let messages: Vec<_> = lines
            .iter()
            .map(|l| l["@message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["t", "d", "i", "w", "e"]);
        for line in &lines {
            let mut keys: Vec<_> = line.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["@level", "@message", "@module", "@timestamp"]);
            assert_eq!(line["@module"], "provider");
            assert_hclog_timestamp(line["@timestamp"].as_str().unwrap());
        }
        assert!(buf.raw().ends_with('\n'));
        assert_eq!(buf.raw().lines().count(), 5);
    }

    #[test]
    fn timestamp_has_six_fractional_digits_even_on_a_whole_second() {
        let t = time::macros::datetime!(2026-11-27 01:44:26.000_000_7 UTC);
        assert_eq!(timestamp(t), "2026-11-27T01:44:26.000000Z");
        let t = time::macros::datetime!(2026-11-27 01:44:26.123_456_789 UTC);
        assert_eq!(timestamp(t), "2026-11-27T01:44:26.123456Z");
    }

    #[tracing::instrument(skip_all, fields(rpc = "PlanResourceChange", type_name = %type_name))]
    fn instrumented(type_name: &str, secret: &str) {
        let _ = secret;
        tracing::info!(
            attempt = 2_u64,
            retry = true,
            ratio = 0.5_f64,
            delta = -3_i64,
            "planning"
        );
    }

    #[test]
    fn span_and_event_fields_appear_with_json_types() {
        let buf = capture(Level::INFO, || {
            instrumented("thingspace_password_rotation", "hunter2");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 1, "{}", buf.raw());
        let l = &lines[0];
        assert_eq!(l["@message"], "planning");
        assert_eq!(l["rpc"], "PlanResourceChange");
        assert_eq!(l["type_name"], "thingspace_password_rotation");
        assert_eq!(l["attempt"], Value::from(2_u64));
        assert_eq!(l["retry"], Value::Bool(true));
        assert_eq!(l["ratio"], Value::from(0.5_f64));
        assert_eq!(l["delta"], Value::from(-3_i64));
        assert!(!buf.raw().contains("hunter2"));
    }

    #[test]
    fn inner_span_and_event_override_outer_fields_and_late_records_show() {
        let buf = capture(Level::DEBUG, || {
            let outer = tracing::info_span!("outer", k = "outer", only_outer = 1_u64);
            let _o = outer.enter();
            let inner = tracing::debug_span!("inner", k = "inner", later = tracing::field::Empty);
            let _i = inner.enter();
            inner.record("later", "set");
            tracing::debug!("from inner");
            tracing::debug!(k = "event", "event wins");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 2, "{}", buf.raw());
        assert_eq!(lines[0]["k"], "inner");
        assert_eq!(lines[0]["only_outer"], Value::from(1_u64));
        assert_eq!(lines[0]["later"], "set");
        assert_eq!(lines[1]["k"], "event");
    }

    #[test]
    fn awkward_strings_keep_one_line_and_parse_back_with_controls_made_visible() {
        let nasty =
            "quote \" backslash \\ newline \n tab \t cr \r nul \0 bell \u{7} del \u{7f} é 🚀";
        let visible = "quote \" backslash \\ newline \\n tab \\t cr \\r nul \\u{0} bell \\u{7} del \\u{7f} é 🚀";
        let buf = capture(Level::INFO, || {
            tracing::info!(value = nasty, debugged = ?nasty, "msg {}", nasty);
        });
        let raw = buf.raw();
        // Exactly one physical line: the embedded newline must have been escaped.
        assert_eq!(raw.matches('\n').count(), 1, "{raw}");
        let lines = buf.lines();
        assert_eq!(lines[0]["value"], visible);
        assert_eq!(lines[0]["@message"], format!("msg {visible}"));
        // `Debug` of a str escapes by itself, and the result has nothing left to escape.
        assert_eq!(lines[0]["debugged"], format!("{nasty:?}"));
    }

    /// What Terraform gets back after parsing a line: every message and string field, decoded from JSON.
    fn decoded_text(line: &Map<String, Value>) -> String {
        line.values()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[tracing::instrument(skip_all, fields(rpc = "ApplyResourceChange", username = %username))]
    fn rotate_as(username: &str) {
        tracing::debug!(username, step = "log-in", "thingspace answered");
        tracing::warn!(error = %std::io::Error::other(format!("no user {username}")), "log-in failed for {username}");
        tracing::info!(who = ?Some(username), "debugged");
    }

    #[test]
    fn a_username_with_escape_sequences_and_new_lines_never_reaches_the_log_raw() {
        let username = "svc\u{1b}[31mred\u{1b}]0;title\u{7}\nforged=line\r\u{9b}2J\u{202e}txt.exe\u{2028}end\u{7f}";
        let buf = capture(Level::TRACE, || rotate_as(username));
        let lines = buf.lines();
        assert_eq!(lines.len(), 3, "{}", buf.raw());
        let visible = "svc\\u{1b}[31mred\\u{1b}]0;title\\u{7}\\nforged=line\\r\\u{9b}2J\\u{202e}txt.exe\\u{2028}end\\u{7f}";
        assert_eq!(lines[0]["username"], visible, "an event field");
        assert_eq!(lines[1]["username"], visible, "a span field (Display)");
        assert_eq!(lines[1]["@message"], format!("log-in failed for {visible}"));
        assert_eq!(lines[1]["error"], format!("no user {visible}"));
        for line in &lines {
            let text = decoded_text(line);
            assert!(
                !text.chars().any(is_control),
                "a control character survived JSON decoding: {text:?}"
            );
            assert!(text.contains("svc"), "{text:?}");
        }
    }

    #[test]
    fn escape_controls_covers_c0_del_c1_bidi_and_separators_and_nothing_else() {
        let cases: &[(&str, &str)] = &[
            ("plain svc-ci_01@x.y", "plain svc-ci_01@x.y"),
            (
                "back\\slash \"q\" é 🚀 \u{a0}nbsp",
                "back\\slash \"q\" é 🚀 \u{a0}nbsp",
            ),
            ("a\nb\rc\td", "a\\nb\\rc\\td"),
            ("\u{0}\u{1b}\u{1f}", "\\u{0}\\u{1b}\\u{1f}"),
            ("\u{7f}\u{80}\u{9b}\u{9f}", "\\u{7f}\\u{80}\\u{9b}\\u{9f}"),
            ("\u{61c}\u{200e}\u{200f}", "\\u{61c}\\u{200e}\\u{200f}"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}",
            ),
            (
                "\u{2066}\u{2067}\u{2068}\u{2069}",
                "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
            ),
            ("\u{2028}\u{2029}", "\\u{2028}\\u{2029}"),
            // Neighbours of the ranges stay as they are.
            (
                "\u{20}\u{7e}\u{a0}\u{2029}x",
                "\u{20}\u{7e}\u{a0}\\u{2029}x",
            ),
            (
                "\u{2065}\u{206a}\u{2029}\u{202f}\u{2027}",
                "\u{2065}\u{206a}\\u{2029}\u{202f}\u{2027}",
            ),
            (
                "\u{200d}\u{2010}\u{61b}\u{61d}",
                "\u{200d}\u{2010}\u{61b}\u{61d}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(escape_controls(input), *want, "{input:?}");
        }
        assert!(matches!(escape_controls("svc-ci"), Cow::Borrowed(_)));
        // Every char in the controlled ranges is caught, so no raw one can reach the output.
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let escaped = escape_controls(c.encode_utf8(&mut [0; 4])).into_owned();
            let expect_escaped = u32::from(c) < 0x20
                || (0x7f..=0x9f).contains(&u32::from(c))
                || matches!(u32::from(c), 0x61c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029);
            assert_eq!(
                escaped != c.to_string(),
                expect_escaped,
                "{c:?} -> {escaped:?}"
            );
            assert!(!escaped.chars().any(is_control), "{c:?} -> {escaped:?}");
        }
    }

    #[test]
    fn event_fields_cannot_replace_hclog_keys() {
        let mut fields = Map::new();
        fields.insert("@level".to_owned(), Value::from("error"));
        fields.insert("@module".to_owned(), Value::from("evil"));
        fields.insert("@message".to_owned(), Value::from("forged"));
        fields.insert("kept".to_owned(), Value::from(1));
        let now = time::macros::datetime!(2026-11-27 01:44:26.5 UTC);
        let line = render_line(fields, "info", "real", MODULE, now);
        let l: Map<String, Value> = serde_json::from_slice(&line).unwrap();
        assert_eq!(l["@level"], "info");
        assert_eq!(l["@module"], "provider");
        assert_eq!(l["@message"], "real");
        assert_eq!(l["@timestamp"], "2026-11-27T01:44:26.500000Z");
        assert_eq!(l["kept"], Value::from(1));
        assert_eq!(line.last(), Some(&b'\n'));
    }

    #[test]
    fn level_filter_drops_more_verbose_events() {
        let buf = capture(Level::WARN, || {
            tracing::info!("dropped");
            tracing::debug!("dropped");
            tracing::warn!("kept warn");
            tracing::error!("kept error");
        });
        let messages: Vec<_> = buf.lines().iter().map(|l| l["@message"].clone()).collect();
        assert_eq!(
            messages,
            [Value::from("kept warn"), Value::from("kept error")]
        );
    }

    #[test]
    fn third_party_crates_are_capped_at_warn_and_named_as_submodules() {
        let buf = capture(Level::TRACE, || {
            tracing::trace!(target: "h2::codec", "frame bytes");
            tracing::info!(target: "hyper::proto", "connection");
            tracing::warn!(target: "h2::proto", "go away");
            tracing::trace!(target: "terraform_provider_thingspace", "ours");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 2, "{}", buf.raw());
        assert_eq!(lines[0]["@message"], "go away");
        assert_eq!(lines[0]["@module"], "provider.h2");
        assert_eq!(lines[1]["@message"], "ours");
        assert_eq!(lines[1]["@module"], "provider");
    }

    #[test]
    fn level_from_env_table() {
        let t = Some(Level::TRACE);
        let cases: &[(Option<&str>, Option<&str>, Option<Level>)] = &[
            (None, None, None),
            (Some(""), Some(""), None),
            (Some("  "), None, None),
            (None, Some("TRACE"), t),
            (None, Some("trace"), t),
            (None, Some("Debug"), Some(Level::DEBUG)),
            (None, Some("info"), Some(Level::INFO)),
            (None, Some("WARN"), Some(Level::WARN)),
            (None, Some("error"), Some(Level::ERROR)),
            (None, Some("json"), t),
            (None, Some("JSON"), t),
            (None, Some("off"), None),
            (None, Some("OFF"), None),
            (None, Some("verbose"), t),
            (Some("ERROR"), Some("TRACE"), Some(Level::ERROR)),
            (Some("off"), Some("TRACE"), None),
            (Some(""), Some("debug"), Some(Level::DEBUG)),
            (Some("info"), None, Some(Level::INFO)),
            (Some(" warn "), None, Some(Level::WARN)),
        ];
        for (provider, core, want) in cases {
            assert_eq!(
                level_from_env(*provider, *core),
                *want,
                "TF_LOG_PROVIDER={provider:?} TF_LOG={core:?}"
            );
        }
    }

    #[test]
    fn panic_line_has_location_and_panic_prefix() {
        let loc = Location::caller();
        let now = OffsetDateTime::now_utc();
        let line = panic_line(Some(loc), Some("worker-1"), now);
        let v: Map<String, Value> = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["@level"], "error");
        assert_eq!(v["@module"], "provider");
        let msg = v["@message"].as_str().unwrap();
        assert!(msg.starts_with("panic: "), "{msg}");
        assert!(
            msg.contains(&format!("{}:{}", loc.file(), loc.line())),
            "{msg}"
        );
        assert_eq!(v["panic_line"], Value::from(loc.line()));
        assert_eq!(v["thread"], "worker-1");
        assert_hclog_timestamp(v["@timestamp"].as_str().unwrap());
    }

    #[test]
    fn panic_hook_logs_location_but_never_the_payload() {
        let buf = Buffer::default();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(panic_hook(buf.clone())));
        let result = std::panic::catch_unwind(|| {
            panic!("password is s3cr3t-value");
        });
        std::panic::set_hook(previous);
        assert!(result.is_err());
        let raw = buf.raw();
        assert!(!raw.contains("s3cr3t-value"), "{raw}");
        // Other tests may panic concurrently; find ours by its file.
        let ours: Vec<_> = buf
            .lines()
            .into_iter()
            .filter(|l| {
                l["panic_file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("logging.rs"))
            })
            .collect();
        assert_eq!(ours.len(), 1, "{raw}");
        assert!(
            ours[0]["@message"]
                .as_str()
                .unwrap()
                .starts_with("panic: provider panicked at ")
        );
    }
}
