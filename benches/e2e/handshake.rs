//! Handshake latency: exec the provider as Terraform does (magic cookie, protocol 6, an AutoMTLS client certificate)
//! and time until its handshake line arrives on stdout; read its RSS at that moment.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, procfs};

/// The cookie every Terraform sets (go-plugin's handshake config for providers).
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// One launch: time to the handshake line and the process's memory right after it.
#[derive(Debug, Clone, Copy)]
pub struct Launch {
    pub latency: Duration,
    pub rss_kib: u64,
}

/// A PEM client certificate like the one Terraform generates per run for AutoMTLS.
pub fn client_cert_pem() -> Result<String, Error> {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(|e| Error::Failed(format!("cannot generate a client certificate: {e}")))?;
    Ok(key.cert.pem())
}

/// Launches the provider once and measures it. The process is killed afterwards: a real Terraform would go on to
/// call it, but nothing after the handshake line belongs to this figure.
pub fn launch(provider: &Path, client_cert: &str, socket_dir: &Path) -> Result<Launch, Error> {
    let mut cmd = Command::new(provider);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", client_cert)
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot run {}: {e}", provider.display())))?;
    let result = (|| {
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Failed("no stdout pipe".to_owned()))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let latency = start.elapsed();
        let memory = procfs::memory(child.id());
        check_line(&line)?;
        let memory = memory.ok_or_else(|| {
            Error::Failed("the provider exited right after its handshake".to_owned())
        })?;
        Ok(Launch {
            latency,
            rss_kib: memory.rss_kib,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// `CORE|APP|NETWORK|ADDR|PROTOCOL|CERT`: protocol 6 over gRPC, with a server certificate because AutoMTLS is on.
fn check_line(line: &str) -> Result<(), Error> {
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    let ok = fields.len() == 6
        && fields[0] == "1"
        && fields[1] == "6"
        && fields[4] == "grpc"
        && !fields[5].is_empty();
    if ok {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "unexpected handshake line (want 1|6|...|grpc|<cert>): {:?}",
            line.trim_end()
        )))
    }
}
