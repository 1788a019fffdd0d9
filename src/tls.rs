//! TLS to Redis and NATS under a CA of the deployment's own: a rustls
//! client configuration that trusts the certificates of one PEM file and no
//! others, as PostgreSQL's `sslrootcert` does (PostgreSQL reads its own from
//! `DATABASE_URL`). Without such a file, each client trusts the system's roots.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

/// A CA file that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("CA file {}: {reason}", path.display())]
pub struct CaFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// A client configuration that trusts the CA certificates in `ca` (PEM),
/// and only them.
pub fn trusting(ca: &Path) -> Result<ClientConfig, CaFileError> {
    let error = |reason: String| CaFileError {
        path: ca.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| error(e.to_string()))? {
        let cert = cert.map_err(|e| error(e.to_string()))?;
        roots.add(cert).map_err(|e| error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error("no certificate in it".into()));
    }
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| error(e.to_string()))
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let path = std::env::temp_dir().join(format!("cinema-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").expect("write a file");
        let err = trusting(&path).expect_err("no certificate");
        std::fs::remove_file(&path).expect("remove the file");
        assert_eq!(
            err.to_string(),
            format!("CA file {}: no certificate in it", path.display())
        );
    }

    #[test]
    fn a_missing_file_is_refused_by_name() {
        let err = trusting(Path::new("/nonexistent/ca.pem")).expect_err("no file");
        assert!(
            err.to_string().starts_with("CA file /nonexistent/ca.pem: "),
            "{err}"
        );
    }
}
