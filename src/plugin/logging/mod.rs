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
//! error lines starting with `panic: ` even with logging off and shows them in its crash report.//!
//! Layout: the `tracing` layer that writes the lines in `layer.rs`, the one field visitor in `fields.rs`, control
//! character escaping in `escape.rs`, and the panic hook in `panic.rs`.

mod escape;
mod fields;
mod layer;
mod panic;

pub use escape::escape_controls;
pub use layer::{HclogLayer, MODULE, json_layer};

use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;

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
/// writing to stderr. `own_crates` are the crate names (first segment of a `tracing` target) that count as the
/// provider's own code; everything else (tonic, h2, hyper, reqwest, rustls...) is third-party. Cheap (a few
/// environment reads); never writes to stdout. Calling it again is harmless: the second subscriber is refused by
/// `tracing` and the hook is installed once.
pub fn init(own_crates: &'static [&'static str]) {
    panic::install_panic_hook();
    let provider = std::env::var("TF_LOG_PROVIDER").ok();
    let core = std::env::var("TF_LOG").ok();
    let Some(level) = level_from_env(provider.as_deref(), core.as_deref()) else {
        return;
    };
    let subscriber = Registry::default().with(json_layer(std::io::stderr, level, own_crates));
    // An error only means a subscriber is already installed (a second init, or a test harness).
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod test_support;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
}
