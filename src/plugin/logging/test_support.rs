//! Test helpers for the logging modules: a buffer to log into, and the timestamp layout go-plugin parses.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;

use super::json_layer;

/// The crates the tests count as the provider's own: this one, and a stand-in for the binary crate.
pub(crate) const OWN: &[&str] = &[env!("CARGO_CRATE_NAME"), "example_provider"];

/// A `MakeWriter` collecting everything written into a shared buffer.
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(crate) fn lines(&self) -> Vec<Map<String, Value>> {
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
    pub(crate) fn raw(&self) -> String {
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

pub(crate) fn capture(level: Level, f: impl FnOnce()) -> Buffer {
    let buf = Buffer::default();
    let subscriber = Registry::default().with(json_layer(buf.clone(), level, OWN));
    tracing::subscriber::with_default(subscriber, f);
    buf
}

/// Checks a timestamp has go-plugin's layout `2006-01-02T15:04:05.000000Z07:00` in UTC.
pub(crate) fn assert_hclog_timestamp(ts: &str) {
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
