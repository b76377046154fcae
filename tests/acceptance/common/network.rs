//! What the network tests put between Terraform's provider and the emulator: a certificate authority made per test
//! (the emulator serves HTTPS with a certificate it issues; `ca_file` trusts it) and an HTTP CONNECT proxy that
//! records where it was asked to go and resolves names only through its own table.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A test certificate authority.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "acceptance test CA");
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            issuer: rcgen::Issuer::new(params, key),
            pem,
        }
    }

    /// Writes the CA certificate to `dir/ca.pem` and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    /// Writes a server certificate for `names` and its key to `dir`, and returns the emulator arguments that serve
    /// HTTPS with them.
    pub fn server_args(&self, dir: &Path, names: &[&str]) -> Vec<String> {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server-key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        vec![
            "--tls-cert".into(),
            cert_path.display().to_string(),
            "--tls-key".into(),
            key_path.display().to_string(),
        ]
    }
}

/// An HTTP CONNECT proxy on 127.0.0.1, one thread per connection. Stops accepting when dropped.
pub struct ConnectProxy {
    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY`.
    pub url: String,
    targets: Arc<Mutex<Vec<String>>>,
    addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl ConnectProxy {
    /// Starts the proxy; `hosts` maps `host:port` targets it knows to addresses. Any other target gets a 502.
    pub fn start(hosts: &[(String, SocketAddr)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (hosts, recorded, stopping) = (hosts.to_vec(), targets.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (hosts, recorded) = (hosts.clone(), recorded.clone());
                std::thread::spawn(move || tunnel(client, &hosts, &recorded));
            }
        });
        Self {
            url: format!("http://{addr}"),
            targets,
            addr,
            stop,
        }
    }

    /// The CONNECT targets asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn tunnel(client: TcpStream, hosts: &[(String, SocketAddr)], recorded: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers, up to the empty line.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let mut client = client;
    let mut words = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
    };
    recorded.lock().unwrap().push(target.to_owned());
    let upstream = hosts
        .iter()
        .find(|(known, _)| known == target)
        .and_then(|(_, addr)| TcpStream::connect(addr).ok());
    let Some(upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .is_err()
    {
        return;
    }
    // Whatever the client sent after the head is in the reader's buffer: pass it on first.
    let buffered = reader.buffer().to_vec();
    let (mut up_write, mut up_read) = (upstream.try_clone().unwrap(), upstream);
    let _ = up_write.write_all(&buffered);
    let mut client_read = client.try_clone().unwrap();
    let upload = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = upload.join();
}
