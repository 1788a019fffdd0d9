//! Certificates for the dependencies' TLS tests, as PEM files: a CA of the
//! test's own ([`Ca`]) and the server certificates it signs, written into a
//! temporary directory that goes with the CA when it is dropped.

use std::path::{Path, PathBuf};

use super::tls::Ca;

/// A certificate authority and the directory its files live in.
pub struct TestCa {
    dir: PathBuf,
    ca: Ca,
}

/// A server's certificate and private key, as PEM files.
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA; its certificate is [`TestCa::cert_file`].
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("cinema-ca-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the CA directory");
        // A name of its own: a certificate of another test CA is then one of
        // an unknown issuer, not a bad signature of a known one.
        let ca = Ca::new(&format!("cinema test CA {}", uuid::Uuid::new_v4().simple()));
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write the CA certificate");
        Self { dir, ca }
    }

    /// The CA's certificate (PEM): what a client trusts.
    pub fn cert_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A certificate for 127.0.0.1 and localhost, signed by this CA.
    pub fn server_cert(&self) -> ServerCert {
        self.cert_for("server", &["127.0.0.1", "localhost"])
    }

    /// A certificate for `names` (DNS names or IP addresses) only, signed by
    /// this CA, in files named after `file`.
    pub fn cert_for(&self, file: &str, names: &[&str]) -> ServerCert {
        let leaf = self.ca.server_for(names);
        let files = ServerCert {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}-key.pem")),
        };
        std::fs::write(&files.cert, leaf.cert).expect("write the certificate");
        write_private(&files.key, &leaf.key);
        files
    }
}

/// Writes a file only its owner may read, as servers insist for keys.
fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).expect("write the key");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("make the key private");
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
