//! The run's TLS identity for encrypted runs: a self-signed certificate and its key, made per run. Every
//! listener of the run presents it and every client accepts only it, so the certificate itself is the trust
//! anchor: it travels with the secret (in the secret file) and never needs a CA or a host name.

/// A new ECDSA P-256 certificate and its PKCS#8 key, as PEM text (certificate first).
pub fn generate() -> Result<String, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make the run's TLS key: {e}"))?;
    let certificate = rcgen::CertificateParams::new(vec!["riffle-run".to_owned()])
        .and_then(|params| params.self_signed(&key))
        .map_err(|e| format!("cannot make the run's TLS certificate: {e}"))?;
    Ok(format!("{}{}", certificate.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_run_gets_its_own_identity_that_tls_takes() {
        let one = super::generate().unwrap();
        let two = super::generate().unwrap();
        let first = riffle_channels::RunTls::from_pem(one.as_bytes()).unwrap();
        let second = riffle_channels::RunTls::from_pem(two.as_bytes()).unwrap();
        assert_ne!(first.certificate(), second.certificate());
        assert!(one.starts_with("-----BEGIN CERTIFICATE-----\n"), "{one}");
        assert!(one.contains("-----BEGIN PRIVATE KEY-----\n"), "{one}");
    }
}
