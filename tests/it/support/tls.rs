//! TLS for the tests: certificate authorities and the certificates they sign
//! (made here with rcgen), the PEM files a server reads, a `cinema serve`
//! process speaking TLS, and clients that trust a given CA.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, client::TlsStream};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{TestApp, fresh_prefix, process::ServerProcess};

/// A certificate authority of its own.
pub struct Ca(CertifiedIssuer<'static, KeyPair>);

/// A certificate and its private key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        Self(CertifiedIssuer::self_signed(params, key).expect("a CA certificate"))
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.0.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self) -> Leaf {
        self.server_for(&["127.0.0.1", "localhost"])
    }

    /// A server certificate for `names` (DNS names or IP addresses) only.
    pub fn server_for(&self, names: &[&str]) -> Leaf {
        let names = names.iter().map(|name| (*name).to_owned()).collect();
        self.sign(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate for `name`.
    pub fn client(&self, name: &str) -> Leaf {
        self.sign(vec![name.into()], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn sign(&self, names: Vec<String>, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(names).expect("valid names");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.0)
            .expect("a signed certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// The PEM files of a TLS server, in a directory of their own that is
/// removed when dropped. Files are replaced by renaming, as a certificate
/// manager does, so the server never reads half a file.
pub struct TlsFiles {
    pub dir: PathBuf,
}

impl TlsFiles {
    pub fn new(server: &Leaf) -> Self {
        let dir = std::env::temp_dir().join(format!("cinema-tls-{}", fresh_prefix()));
        std::fs::create_dir_all(&dir).expect("a directory for the TLS files");
        let files = Self { dir };
        files.install(server);
        files
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Replaces the server's key, then its certificate.
    pub fn install(&self, server: &Leaf) {
        self.replace("key.pem", &server.key);
        self.replace("cert.pem", &server.cert);
    }

    /// Replaces one file at once.
    pub fn replace(&self, name: &str, contents: &str) {
        let next = self.path(&format!(".{name}.next"));
        std::fs::write(&next, contents).expect("write a TLS file");
        std::fs::rename(&next, self.path(name)).expect("replace a TLS file");
    }

    /// The settings of a server that reads these files.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = |name: &str| self.path(name).display().to_string();
        vec![
            ("CINEMA_TLS_CERT".into(), path("cert.pem")),
            ("CINEMA_TLS_KEY".into(), path("key.pem")),
        ]
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cinema serve` for `app`'s world, speaking TLS with `files` (and `extra`
/// settings), checked with a client that trusts `ca` and shows `identity`.
pub async fn spawn_tls_server(
    app: &TestApp,
    files: &TlsFiles,
    extra: &[(&str, &str)],
    ca: &Ca,
    identity: Option<&Leaf>,
) -> ServerProcess {
    let mut env = files.env();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (ca, identity) = (
        ca.pem(),
        identity.map(|leaf| (leaf.cert.clone(), leaf.key.clone())),
    );
    ServerProcess::start_with(&app.settings, &env, move |addr| {
        tls_endpoint(
            addr,
            &ca,
            identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
        )
    })
    .await
}

/// An endpoint for `https://addr` trusting the CA `ca_pem`, showing the
/// client certificate `identity` (certificate, key) if given.
pub fn tls_endpoint(addr: SocketAddr, ca_pem: &str, identity: Option<(&str, &str)>) -> Endpoint {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("a valid URI")
        .connect_timeout(Duration::from_secs(5))
        .tls_config(tls)
        .expect("a TLS configuration")
}

/// A new connection to `addr` trusting only `ca`; the error if it fails.
pub async fn connect(
    addr: SocketAddr,
    ca: &Ca,
    identity: Option<&Leaf>,
) -> Result<Channel, String> {
    tls_endpoint(
        addr,
        &ca.pem(),
        identity.map(|l| (l.cert.as_str(), l.key.as_str())),
    )
    .connect()
    .await
    .map_err(|err| format!("{err:?}"))
}

/// A raw TLS connection to `addr` that trusts `ca`, offers `alpn` and shows
/// `identity` if given. With TLS 1.3 the server judges a client certificate
/// after the client's side of the handshake is done: a refusal is an alert
/// on the first read.
pub async fn raw_tls(
    addr: SocketAddr,
    ca: &Ca,
    alpn: &[&[u8]],
    identity: Option<&Leaf>,
) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("the CA's PEM"))
        .expect("a usable CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        None => config.with_no_client_auth(),
        Some(leaf) => config
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert.as_bytes()).expect("a certificate")],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).expect("a key"),
            )
            .expect("a client certificate"),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::from(addr.ip()), tcp)
        .await
        .expect("a TLS handshake")
}
