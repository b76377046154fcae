//! go-plugin's launch handshake: the environment checks Terraform's launch must pass, the one line printed on
//! stdout, the private socket directory, and the `TF_REATTACH_PROVIDERS` value for `--debug` sessions.
//!
//! Everything here is pure or touches only the file system, so each rule is unit-tested without a gRPC server.

use std::fmt;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// The environment variable Terraform sets to prove that it launched us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform puts in [`MAGIC_COOKIE_KEY`] (the same for every Terraform provider).
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The comma-separated list of application protocol versions Terraform can speak.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// Where Terraform asks plugins to put their unix sockets (optional).
pub const UNIX_SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";
/// Terraform's AutoMTLS client certificate, PEM (absent when Terraform does not want TLS).
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// go-plugin's own protocol version: always 1.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol we speak (tfplugin6).
pub const APP_PROTOCOL_VERSION: u32 = 6;
/// The socket's file name inside the private directory.
pub const SOCKET_FILE_NAME: &str = "plugin.sock";

/// Why the process may not start serving.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The cookie is missing or wrong: a person ran the binary by hand.
    #[error(
        "this binary is a Terraform provider plugin and is not meant to be run directly.\n\
         Terraform starts it by itself. To use it, either:\n  \
         - install it where Terraform finds providers (a filesystem or network mirror), or\n  \
         - point Terraform at a local build with a `dev_overrides` block for \"{address}\" in your \
         CLI configuration (~/.terraformrc or TF_CLI_CONFIG_FILE), or\n  \
         - run it with `--debug` to serve a debugger session, then export the TF_REATTACH_PROVIDERS value \
         it prints before running terraform."
    )]
    NotLaunchedByTerraform {
        /// The provider's registry address, for the `dev_overrides` block.
        address: String,
    },
    /// Terraform offered protocol versions that do not include ours.
    #[error(
        "Terraform offered plugin protocol versions {offered:?} ({PROTOCOL_VERSIONS_KEY}), but this provider \
         speaks only protocol {APP_PROTOCOL_VERSION}; use Terraform 1.0 or newer"
    )]
    UnsupportedProtocol {
        /// The value of `PLUGIN_PROTOCOL_VERSIONS` as received.
        offered: String,
    },
    /// The private socket directory could not be made.
    #[error("cannot create a private socket directory under {}: {source}", .parent.display())]
    SocketDir {
        /// The directory we tried to create it in.
        parent: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Checks the magic cookie (the value of [`MAGIC_COOKIE_KEY`], if set); the refusal names the provider's
/// registry `address`.
pub fn check_magic_cookie(value: Option<&str>, address: &str) -> Result<(), HandshakeError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotLaunchedByTerraform {
            address: address.to_owned(),
        }),
    }
}

/// Picks the protocol version from [`PROTOCOL_VERSIONS_KEY`].
///
/// Like go-plugin, an unset or empty list means the host did not negotiate and expects our default; a list that
/// lacks 6 is refused, since answering with a version the host did not offer would fail later and less clearly.
pub fn negotiate_protocol_version(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(list) = offered.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let speaks_ours = list
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
    if speaks_ours {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol {
            offered: list.to_owned(),
        })
    }
}

/// The line go-plugin's client reads from our stdout, newline included:
/// `CORE|APP|unix|SOCKET|grpc|CERT`, where CERT is the server certificate's DER in standard base64 without
/// padding (go-plugin decodes it with `RawStdEncoding`), or empty when serving without TLS.
pub fn handshake_line(socket_path: &Path, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{}|grpc|{cert}\n",
        socket_path.display()
    )
}

/// The `TF_REATTACH_PROVIDERS` value that makes Terraform use an already running provider (a `--debug` session)
/// instead of launching one.
pub fn reattach_providers_json(provider_address: &str, pid: u32, socket_path: &Path) -> String {
    let value = serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": APP_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "unix", "String": socket_path.display().to_string() },
        }
    });
    value.to_string()
}

/// A freshly made directory, readable only by this user, that holds the plugin socket. Dropping it removes the
/// directory and everything in it, so the socket does not outlive the server.
pub struct SocketDir {
    dir: PathBuf,
    removed: bool,
}

impl fmt::Debug for SocketDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketDir").field("dir", &self.dir).finish()
    }
}

impl SocketDir {
    /// Creates the directory under `parent` (Terraform's `PLUGIN_UNIX_SOCKET_DIR`) or, when that is `None`, under
    /// the system temp dir.
    pub fn create(parent: Option<&Path>) -> Result<Self, HandshakeError> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        // `mkdir` refuses an existing name (and never follows a planted symlink), so a name someone guessed costs
        // one retry, never a socket in their directory. The name stays short: unix socket paths max out near 108 bytes.
        let mut last_err = None;
        for _ in 0..16 {
            let name = format!("tfplugin-{:016x}", fastrand::u64(..));
            let dir = parent.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    return Ok(Self {
                        dir,
                        removed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(source) => return Err(HandshakeError::SocketDir { parent, source }),
            }
        }
        Err(HandshakeError::SocketDir {
            parent,
            source: last_err.unwrap_or_else(|| io::Error::other("no free directory name")),
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the socket goes.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.join(SOCKET_FILE_NAME)
    }

    /// Removes the directory now, reporting failure (dropping does the same silently).
    pub fn remove(mut self) -> io::Result<()> {
        self.removed = true;
        remove_dir_if_present(&self.dir)
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        if !self.removed {
            // Nothing useful can be done with a failure while dropping; `remove` exists for callers who care.
            let _ = remove_dir_if_present(&self.dir);
        }
    }
}

fn remove_dir_if_present(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ADDRESS: &str = "registry.terraform.io/example/widgets";

    #[test]
    fn cookie_must_match_exactly() {
        assert!(check_magic_cookie(Some(MAGIC_COOKIE_VALUE), ADDRESS).is_ok());
        assert!(matches!(
            check_magic_cookie(None, ADDRESS),
            Err(HandshakeError::NotLaunchedByTerraform { .. })
        ));
        assert!(check_magic_cookie(Some(""), ADDRESS).is_err());
        assert!(check_magic_cookie(Some(&MAGIC_COOKIE_VALUE[1..]), ADDRESS).is_err());
    }

    #[test]
    fn missing_cookie_message_tells_a_person_how_to_use_the_plugin() {
        let msg = check_magic_cookie(None, ADDRESS).unwrap_err().to_string();
        assert!(msg.contains("Terraform provider plugin"), "{msg}");
        assert!(msg.contains("not meant to be run directly"), "{msg}");
        assert!(msg.contains("dev_overrides"), "{msg}");
        assert!(msg.contains("--debug"), "{msg}");
        assert!(msg.contains(&format!("\"{ADDRESS}\"")), "{msg}");
    }

    #[test]
    fn protocol_list_must_offer_six() {
        assert_eq!(negotiate_protocol_version(Some("5,6")).ok(), Some(6));
        assert_eq!(negotiate_protocol_version(Some("6")).ok(), Some(6));
        assert_eq!(negotiate_protocol_version(Some(" 5 , 6 ")).ok(), Some(6));
        assert_eq!(negotiate_protocol_version(None).ok(), Some(6));
        assert_eq!(negotiate_protocol_version(Some("")).ok(), Some(6));
        let err = negotiate_protocol_version(Some("4,5")).unwrap_err();
        assert!(
            matches!(&err, HandshakeError::UnsupportedProtocol { offered } if offered == "4,5")
        );
        assert!(err.to_string().contains("speaks only protocol 6"));
        assert!(negotiate_protocol_version(Some("16,60")).is_err());
    }

    #[test]
    fn handshake_line_without_tls_has_an_empty_cert_field() {
        let line = handshake_line(Path::new("/tmp/d/plugin.sock"), None);
        assert_eq!(line, "1|6|unix|/tmp/d/plugin.sock|grpc|\n");
    }

    #[test]
    fn handshake_line_carries_unpadded_standard_base64_der() {
        // 4 bytes encode to 6 chars plus "==" with padding; 0xfb 0xff exercise the '+' and '/' characters
        // that distinguish the standard alphabet from the URL-safe one.
        let der = [0xfb, 0xff, 0xbf, 0x01];
        let line = handshake_line(Path::new("/s/p.sock"), Some(&der));
        assert_eq!(line, "1|6|unix|/s/p.sock|grpc|+/+/AQ\n");
        let fields: Vec<&str> = line.trim_end().split('|').collect();
        assert_eq!(fields.len(), 6);
        assert_eq!(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(fields[5])
                .unwrap(),
            der
        );
    }

    #[test]
    fn reattach_json_has_go_plugins_shape() {
        let json = reattach_providers_json(ADDRESS, 4242, Path::new("/tmp/x/plugin.sock"));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = &v[ADDRESS];
        assert_eq!(entry["Protocol"], "grpc");
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Pid"], 4242);
        assert_eq!(entry["Test"], true);
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/x/plugin.sock");
        assert!(!json.contains('\n'), "must paste as one shell word");
    }

    #[test]
    fn socket_dir_is_private_unique_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let a = SocketDir::create(Some(parent.path())).unwrap();
        let b = SocketDir::create(Some(parent.path())).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(a.path().parent(), Some(parent.path()));
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(a.socket_path(), a.path().join(SOCKET_FILE_NAME));
        // A file inside (the socket) must not stop the removal.
        std::fs::write(a.socket_path(), b"x").unwrap();
        let a_path = a.path().to_path_buf();
        drop(a);
        assert!(!a_path.exists());
        let b_path = b.path().to_path_buf();
        b.remove().unwrap();
        assert!(!b_path.exists());
    }

    #[test]
    fn socket_dir_defaults_to_the_temp_dir_and_reports_a_bad_parent() {
        let d = SocketDir::create(None).unwrap();
        assert_eq!(d.path().parent(), Some(std::env::temp_dir().as_path()));
        let err = SocketDir::create(Some(Path::new("/nonexistent/for/sure"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/for/sure"), "{err}");
    }
}
