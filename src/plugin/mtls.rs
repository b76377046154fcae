//! go-plugin's AutoMTLS, server side: a throwaway self-signed server certificate for the handshake line, and a
//! TLS configuration that serves only the client holding the certificate Terraform put in `PLUGIN_CLIENT_CERT`.
//!
//! Terraform's client certificate is a self-signed CA certificate, which a normal webpki client verifier rejects
//! ("CA used as end entity"), so the client is authenticated by pinning: its certificate must be byte-for-byte one
//! of the pinned ones, and its handshake signature must verify with that certificate's key (proving it holds the
//! private key, not just a copy of the public certificate from the environment).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

/// How long the server certificate claims to be valid. The process lives for one Terraform command, so the
/// figure only has to outlast any run; go-plugin uses about 30 years, we use one year.
const CERT_LIFETIME: time::Duration = time::Duration::days(365);
/// Backdating absorbs small clock differences between us and Terraform, as go-plugin does.
const CERT_BACKDATE: time::Duration = time::Duration::seconds(30);

/// Why AutoMTLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MtlsError {
    /// `PLUGIN_CLIENT_CERT` held no parseable certificate.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate that can be parsed{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    BadClientCert(Option<rustls_pki_types::pem::Error>),
    /// Generating our certificate failed.
    #[error("cannot generate the server certificate: {0}")]
    CertGeneration(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// Our own certificate and key, made fresh for each process.
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key never appears in Debug output.
        f.debug_struct("ServerIdentity")
            .field("cert_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// Generates a self-signed certificate shaped like go-plugin's: CN and DNS SAN `localhost`, a CA, usable for
    /// server and client auth, valid from 30 s ago. ECDSA P-256 rather than go-plugin's P-521, because ring cannot
    /// make P-521 keys and P-256 keys are the cheapest to make, which matters for startup latency.
    pub fn generate() -> Result<Self, MtlsError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
        };
        let key_pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - CERT_BACKDATE;
        params.not_after = now + CERT_LIFETIME;
        let cert = params.self_signed(&key_pair)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
        })
    }

    /// The certificate's DER bytes: what the handshake line carries.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }
}

/// Parses every certificate in `PLUGIN_CLIENT_CERT` (PEM). At least one is required.
pub fn parse_client_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, MtlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MtlsError::BadClientCert(Some(e)))?;
    if certs.is_empty() {
        return Err(MtlsError::BadClientCert(None));
    }
    Ok(certs)
}

/// The crypto provider for the plugin socket: ring for the handshake itself, with aws-lc-rs's signature
/// verification algorithms.
///
/// Terraform's AutoMTLS client certificate is ECDSA P-521 (go-plugin's choice) and ring cannot verify P-521
/// signatures: with ring alone a Go client finds no signature scheme in common, sends no certificate, and the
/// handshake fails. Using aws-lc-rs for everything works but costs ~65 ms of CPU per process seeding its random number
/// generator (jitter entropy), and Terraform starts the plugin several times per command (see BENCHMARKS.md);
/// verification needs no randomness, so only that part comes from aws-lc-rs.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.signature_verification_algorithms =
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    Arc::new(provider)
}

/// A TLS 1.2+ server configuration presenting `identity`, offering ALPN `h2` (grpc-go refuses a server without
/// it) and requiring a client certificate equal to one of `trusted_clients`.
pub fn server_config(
    identity: &ServerIdentity,
    trusted_clients: Vec<CertificateDer<'static>>,
) -> Result<Arc<ServerConfig>, MtlsError> {
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClientCertVerifier::new(
        trusted_clients,
        provider.signature_verification_algorithms,
    ));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly the pinned client certificates, and checks the client's handshake signature with the
/// certificate's own key.
#[derive(Debug)]
pub struct PinnedClientCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    /// A verifier trusting `pinned`, checking signatures with `algorithms` (normally the crypto provider's).
    pub fn new(
        pinned: Vec<CertificateDer<'static>>,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> Self {
        Self { pinned, algorithms }
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: a Go client then offers its certificate whatever its issuer, which is what we want.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Pinning replaces chain building and validity dates: Terraform made the certificate seconds ago for
        // this one launch, and only the exact bytes it handed us are acceptable.
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!("refused a plugin client whose certificate is not terraform's");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_has_go_plugins_shape() {
        let id = ServerIdentity::generate().unwrap();
        let der = id.cert_der().as_ref();
        // CN and SAN "localhost" are both present as UTF8/IA5 strings in the DER.
        let localhost_count = der.windows(9).filter(|w| w == b"localhost").count();
        assert!(
            localhost_count >= 3,
            "subject, issuer and SAN: {localhost_count}"
        );
        // OIDs: serverAuth 1.3.6.1.5.5.7.3.1 and clientAuth 1.3.6.1.5.5.7.3.2, ecdsa-with-SHA256.
        let server_auth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
        let client_auth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
        assert!(der.windows(10).any(|w| w == server_auth));
        assert!(der.windows(10).any(|w| w == client_auth));
        // basicConstraints CA:TRUE encodes as 30 03 01 01 ff.
        assert!(der.windows(5).any(|w| w == [0x30, 0x03, 0x01, 0x01, 0xff]));
        // Two generations never share a key.
        let other = ServerIdentity::generate().unwrap();
        assert_ne!(id.cert_der(), other.cert_der());
        assert!(!format!("{id:?}").contains("key:"));
    }

    #[test]
    fn client_cert_pem_parses_and_garbage_is_refused() {
        let id = ServerIdentity::generate().unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                id.cert_der().as_ref()
            )
        );
        let certs = parse_client_certs(&pem).unwrap();
        assert_eq!(certs, vec![id.cert_der().clone()]);
        assert!(matches!(
            parse_client_certs("not a pem"),
            Err(MtlsError::BadClientCert(None))
        ));
        assert!(parse_client_certs("").is_err());
    }

    #[test]
    fn verifier_accepts_only_pinned_bytes() {
        let a = ServerIdentity::generate().unwrap();
        let b = ServerIdentity::generate().unwrap();
        let v = PinnedClientCertVerifier::new(
            vec![a.cert_der().clone()],
            crypto_provider().signature_verification_algorithms,
        );
        assert!(v.client_auth_mandatory());
        assert!(
            v.verify_client_cert(a.cert_der(), &[], UnixTime::now())
                .is_ok()
        );
        assert!(
            v.verify_client_cert(b.cert_der(), &[], UnixTime::now())
                .is_err()
        );
        assert!(
            v.supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
        );
        // Terraform's client key is P-521: without this scheme a Go client sends no certificate at all.
        assert!(
            v.supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn server_config_offers_h2_and_requires_client_auth() {
        let id = ServerIdentity::generate().unwrap();
        let cfg = server_config(&id, vec![id.cert_der().clone()]).unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
