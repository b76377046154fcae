//! Command-line parsing for the emulator binary (hand-rolled: four flags don't need a parser crate).

use crate::handle::Config;
use crate::model::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use crate::server::Tls;

pub const USAGE: &str = "usage: thingspace-emulator [--listen ADDR] [--client ID:SECRET]... \
[--user NAME:PASSWORD]... [--tls-cert PEM_FILE --tls-key PEM_FILE] [--exit-on-stdin-eof]";

/// What `--help` prints after [`USAGE`]: the options, and the control endpoints with an example each, so an adopter
/// can rehearse a CI failure locally without reading the source.
pub const HELP: &str = r#"
A local ThingSpace emulator: the OAuth token, log-in, password reset and log-out endpoints with ThingSpace's paths,
headers, bodies, error shapes, token reuse, session expiry and the 5-failure lock-out. It prints its base URL on
the first line of stdout; point the provider at it with THINGSPACE_BASE_URL (http:// is accepted for loopback).

Options:
  --listen ADDR            address to listen on (default 127.0.0.1:0, a free port)
  --client ID:SECRET       an OAuth client (repeatable; default emulator-client:emulator-secret)
  --user NAME:PASSWORD     a ThingSpace user (repeatable)
  --tls-cert, --tls-key    serve HTTPS with this PEM certificate and key
  --exit-on-stdin-eof      exit when stdin closes (for test harnesses)

Control endpoints (JSON; BASE is the printed URL):
  users     POST BASE/_emulator/users  {"username":"svc-ci","password":"Seed-1"}   add or reset a user
            GET  BASE/_emulator/users/svc-ci                                     password, lock, failed log-ins
  faults    POST BASE/_emulator/faults {"path":"/api/m2m/v1/session/login","status":503,"when":"after"}
            the next log-in is processed, then answered 503 (a rehearsal of a blocked rotation); "when":"before"
            answers without processing, "drop":true closes the connection, "refuse":true rejects the credential,
            "delay_ms":N waits, "count":N repeats; DELETE clears them
  clock     POST BASE/_emulator/clock  {"advance_secs":3600}                   move emulator time (token hour,
            session idle time)
  expire    POST BASE/_emulator/expire {"tokens":true,"sessions":true}         end tokens and sessions now
  requests  GET  BASE/_emulator/requests                                         every API request, in order;
            DELETE clears; GET BASE/_emulator/stats counts them
  held      GET  BASE/_emulator/held; POST BASE/_emulator/release {}           requests held by a "hold" fault

Example: curl -X POST -d '{"username":"svc-ci","password":"Seed-1"}' http://127.0.0.1:PORT/_emulator/users
"#;

#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    pub listen: String,
    pub clients: Vec<(String, String)>,
    pub users: Vec<(String, String)>,
    pub exit_on_stdin_eof: bool,
    /// Serve HTTPS with this identity (`--tls-cert` and `--tls-key`, read at parse time).
    pub tls: Option<Tls>,
}

impl Args {
    /// The emulator these arguments ask for.
    pub fn config(&self) -> Config {
        Config {
            listen: self.listen.clone(),
            clients: self.clients.clone(),
            users: self.users.clone(),
            tls: self.tls.clone(),
            ..Config::default()
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{flag} takes NAME:VALUE with a non-empty NAME")]
    BadPair { flag: &'static str },
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("--tls-cert and --tls-key go together")]
    TlsPair,
    #[error("cannot read {flag} file {path:?}: {error}")]
    TlsFile {
        flag: &'static str,
        path: String,
        error: String,
    },
    /// Not an error: the user asked for the usage text.
    #[error("help requested")]
    Help,
}

/// Splits `NAME:VALUE` at the first colon, so a password or secret may contain colons.
fn pair(flag: &'static str, value: &str) -> Result<(String, String), CliError> {
    match value.split_once(':') {
        Some((name, rest)) if !name.is_empty() => Ok((name.to_owned(), rest.to_owned())),
        _ => Err(CliError::BadPair { flag }),
    }
}

fn read_file(flag: &'static str, path: String) -> Result<String, CliError> {
    std::fs::read_to_string(&path).map_err(|e| CliError::TlsFile {
        flag,
        path,
        error: e.to_string(),
    })
}

/// Parses the arguments after the program name. Accepts `--flag VALUE` and `--flag=VALUE`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, CliError> {
    let mut out = Args {
        listen: "127.0.0.1:0".to_owned(),
        clients: Vec::new(),
        users: Vec::new(),
        exit_on_stdin_eof: false,
        tls: None,
    };
    let (mut cert, mut key) = (None, None);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &'static str| -> Result<String, CliError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().ok_or(CliError::MissingValue(name)),
            }
        };
        match flag.as_str() {
            "--listen" => out.listen = value("--listen")?,
            "--client" => out.clients.push(pair("--client", &value("--client")?)?),
            "--user" => out.users.push(pair("--user", &value("--user")?)?),
            "--tls-cert" => cert = Some(read_file("--tls-cert", value("--tls-cert")?)?),
            "--tls-key" => key = Some(read_file("--tls-key", value("--tls-key")?)?),
            "--exit-on-stdin-eof" if inline.is_none() => out.exit_on_stdin_eof = true,
            "-h" | "--help" => return Err(CliError::Help),
            _ => return Err(CliError::Unknown(arg)),
        }
    }
    out.tls = match (cert, key) {
        (Some(cert_chain_pem), Some(key_pem)) => Some(Tls {
            cert_chain_pem,
            key_pem,
        }),
        (None, None) => None,
        _ => return Err(CliError::TlsPair),
    };
    if out.clients.is_empty() {
        out.clients.push((
            DEFAULT_CLIENT_ID.to_owned(),
            DEFAULT_CLIENT_SECRET.to_owned(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Args, CliError> {
        parse(a.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults() {
        let a = args(&[]).unwrap();
        assert_eq!(a.listen, "127.0.0.1:0");
        assert_eq!(
            a.clients,
            vec![("emulator-client".to_owned(), "emulator-secret".to_owned())]
        );
        assert!(a.users.is_empty());
        assert!(!a.exit_on_stdin_eof);
    }

    #[test]
    fn repeated_flags_and_both_value_forms() {
        let a = args(&[
            "--listen=127.0.0.1:8080",
            "--client",
            "id:se:cret",
            "--user",
            "alice:p:w",
            "--user=bob:",
            "--exit-on-stdin-eof",
        ])
        .unwrap();
        assert_eq!(a.listen, "127.0.0.1:8080");
        assert_eq!(a.clients, vec![("id".to_owned(), "se:cret".to_owned())]);
        assert_eq!(
            a.users,
            vec![
                ("alice".to_owned(), "p:w".to_owned()),
                ("bob".to_owned(), String::new())
            ]
        );
        assert!(a.exit_on_stdin_eof);
    }

    #[test]
    fn errors() {
        assert_eq!(args(&["--listen"]), Err(CliError::MissingValue("--listen")));
        assert_eq!(
            args(&["--user", "nocolon"]),
            Err(CliError::BadPair { flag: "--user" })
        );
        assert_eq!(
            args(&["--client", ":x"]),
            Err(CliError::BadPair { flag: "--client" })
        );
        assert_eq!(args(&["--bogus"]), Err(CliError::Unknown("--bogus".into())));
        assert_eq!(args(&["--help"]), Err(CliError::Help));
        assert!(matches!(
            args(&["--tls-cert", "/nonexistent/cert.pem"]),
            Err(CliError::TlsFile {
                flag: "--tls-cert",
                ..
            })
        ));
        let dir = std::env::temp_dir().join(format!("emu-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        std::fs::write(&cert, "CERT").unwrap();
        let cert = cert.to_str().unwrap();
        assert_eq!(args(&["--tls-cert", cert]), Err(CliError::TlsPair));
        let both = args(&["--tls-cert", cert, "--tls-key", cert]).unwrap();
        assert_eq!(both.tls.map(|t| t.cert_chain_pem), Some("CERT".to_owned()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
