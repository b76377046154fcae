//! The certificate authorities the client trusts beyond its built-in roots: a PEM bundle (`ca_file`), read and checked
//! once at configuration so a wrong file is a diagnostic naming the attribute, not a handshake failure at apply.
//!
//! The built-in roots are Mozilla's (webpki-roots), compiled in, not the operating system's store: the release binary
//! is static and runs in images with no CA bundle at all, and the same roots on every machine make a TLS failure
//! reproducible. A network that inspects TLS with its own CA names that CA in `ca_file`; nothing else is trusted
//! implicitly.

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Extra trust anchors: the certificates of a PEM bundle, each checked to be usable as a root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaBundle {
    certificates: Vec<CertificateDer<'static>>,
}

impl CaBundle {
    /// Reads a PEM bundle. Other PEM sections (a private key by mistake) are ignored; a bundle without any
    /// certificate, a broken PEM section, or a certificate that cannot serve as a root is an error saying which.
    pub fn from_pem(pem: &[u8]) -> Result<CaBundle, String> {
        let mut certificates = Vec::new();
        for (index, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let certificate = item.map_err(|e| format!("it is not a valid PEM file ({e})"))?;
            // A certificate webpki cannot use as a trust anchor would silently trust nothing.
            RootCertStore::empty()
                .add(certificate.clone())
                .map_err(|e| {
                    format!(
                        "certificate {} of the bundle cannot be used as a certificate authority ({e})",
                        index + 1
                    )
                })?;
            certificates.push(certificate);
        }
        if certificates.is_empty() {
            return Err(
                "it holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" section)"
                    .to_owned(),
            );
        }
        Ok(CaBundle { certificates })
    }

    /// How many certificates the bundle has (for the configuration's `Debug`).
    pub(super) fn len(&self) -> usize {
        self.certificates.len()
    }

    /// The certificates, for the HTTP client.
    pub(super) fn reqwest_certificates(&self) -> Result<Vec<reqwest::Certificate>, String> {
        self.certificates
            .iter()
            .map(|c| reqwest::Certificate::from_der(c).map_err(|e| e.to_string()))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_bundle_of_certificates_is_read_whole() {
        let two = format!("{}\n{}", ca_pem(), ca_pem());
        assert_eq!(CaBundle::from_pem(two.as_bytes()).unwrap().len(), 2);
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let with_key = format!("{key}{}", ca_pem());
        assert_eq!(CaBundle::from_pem(with_key.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn a_file_without_a_usable_certificate_says_why() {
        let empty = CaBundle::from_pem(b"").unwrap_err();
        assert!(empty.contains("no PEM certificate"), "{empty}");
        let der_by_mistake = CaBundle::from_pem(&[0x30, 0x82, 0x01, 0x0a]).unwrap_err();
        assert!(
            der_by_mistake.contains("no PEM certificate"),
            "{der_by_mistake}"
        );
        let key_only = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(CaBundle::from_pem(key_only.as_bytes()).is_err());
        let garbage =
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
        let bad = CaBundle::from_pem(garbage.as_bytes()).unwrap_err();
        assert!(
            bad.contains("PEM") || bad.contains("certificate 1"),
            "{bad}"
        );
        let cut = ca_pem();
        let cut = &cut[..cut.len() / 2];
        let truncated = CaBundle::from_pem(cut.as_bytes()).unwrap_err();
        assert!(truncated.contains("not a valid PEM file"), "{truncated}");
    }
}
