//! The `tracing` layer that renders events as hclog JSON lines, with the fields of the spans they happen in.

use std::fmt;
use std::io::Write;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::FieldVisitor;

/// `"@module"` of this provider's own events. terraform-plugin-log names a provider's root logger
/// `provider` and its sub-loggers `provider.<name>`; we follow that so our lines read like any other
/// provider's in `TF_LOG` output.
pub const MODULE: &str = "provider";

/// Third-party crates never log below this level, whatever the user asks for: their debug/trace
/// output is voluminous and some of it (HTTP/2 frames, TLS internals) may carry header bytes,
/// which could include bearer tokens.
pub(super) const THIRD_PARTY_MAX: Level = Level::WARN;

/// hclog's JSON timestamp: RFC 3339 in UTC with exactly six fractional digits.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Builds the hclog JSON layer writing one line per event to `make_writer`: for the crates in `own_crates` (the
/// first segment of a `tracing` target) at `level` and more severe, for every other crate at `WARN` and more severe.
/// [`init`](super::init) uses it with stderr; tests use it with a buffer.
pub fn json_layer<W>(
    make_writer: W,
    level: Level,
    own_crates: &'static [&'static str],
) -> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    HclogLayer {
        make_writer,
        level,
        own_crates,
    }
}

/// A `tracing` layer that renders events as hclog JSON lines. Built by [`json_layer`].
pub struct HclogLayer<W> {
    make_writer: W,
    level: Level,
    own_crates: &'static [&'static str],
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
        let max = if self.is_own(metadata.target()) {
            self.level
        } else {
            self.level.min(THIRD_PARTY_MAX)
        };
        // In `tracing`, a more verbose level compares greater.
        *metadata.level() <= max
    }

    fn is_own(&self, target: &str) -> bool {
        self.own_crates.contains(&root(target))
    }

    /// Own events are `provider`, as terraform-plugin-log names a provider's root logger; a third-party crate's are
    /// `provider.<crate>`, like its sub-loggers.
    fn module_for(&self, target: &str) -> String {
        if self.is_own(target) {
            MODULE.to_owned()
        } else {
            format!("{MODULE}.{}", root(target))
        }
    }
}

fn root(target: &str) -> &str {
    target.split("::").next().unwrap_or(target)
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
            &self.module_for(meta.target()),
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
pub(super) fn render_line(
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugin::logging::escape::is_control;
    use crate::plugin::logging::test_support::{assert_hclog_timestamp, capture};

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
            instrumented("example_widget", "hunter2");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 1, "{}", buf.raw());
        let l = &lines[0];
        assert_eq!(l["@message"], "planning");
        assert_eq!(l["rpc"], "PlanResourceChange");
        assert_eq!(l["type_name"], "example_widget");
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
        tracing::debug!(username, step = "log-in", "the api answered");
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
            tracing::trace!(target: "example_provider", "ours");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 2, "{}", buf.raw());
        assert_eq!(lines[0]["@message"], "go away");
        assert_eq!(lines[0]["@module"], "provider.h2");
        assert_eq!(lines[1]["@message"], "ours");
        assert_eq!(lines[1]["@module"], "provider");
    }
}
