//! The panic hook: one hclog line with the location and never the payload, which could quote a secret.

use std::io::Write;
use std::panic::Location;
use std::sync::Once;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use tracing_subscriber::fmt::MakeWriter;

use super::escape::escape_controls;
use super::layer::{MODULE, render_line};

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

pub(super) fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(panic_hook(std::io::stderr))));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugin::logging::test_support::{Buffer, assert_hclog_timestamp};

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
                    .is_some_and(|f| f.ends_with("panic.rs"))
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
