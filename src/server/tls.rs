//! TLS on the gRPC port (rustls), with certificates replaced while the
//! server runs. The certificate, key and client CA files are read again when
//! their contents change (checked every `reload_interval`) or on SIGHUP;
//! each new connection is handshaken with the configuration read last, while
//! open connections (and their watch streams) go on with the one they began
//! with. A file that does not load is logged and the last good
//! configuration stays.
//!
//! The whole rustls `ServerConfig` is swapped rather than only the
//! certificate, so a renewed client CA bundle takes effect the same way.

use std::{
    convert::Infallible,
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use anyhow::Context;
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};

use crate::config::TlsSettings;

/// How long a client has to finish its handshake: one that connects and
/// says nothing holds a task and a socket, never the accept loop.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const READY_CONNECTIONS: usize = 64;

/// The current TLS configuration of the gRPC port, and where it comes from.
pub struct Tls {
    files: Files,
    current: RwLock<Arc<ServerConfig>>,
}

/// The PEM files the configuration is read from.
struct Files {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

/// What the files held when they were read.
#[derive(PartialEq, Eq)]
struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Tls {
    /// The configuration the settings ask for: none (plaintext) without a
    /// certificate; an error if the files do not make one.
    pub fn from_settings(settings: &TlsSettings) -> anyhow::Result<Option<Arc<Self>>> {
        let (Some(cert), Some(key)) = (&settings.cert, &settings.key) else {
            return Ok(None);
        };
        let files = Files {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: settings.client_ca.clone(),
        };
        let config = configure(&files.read()?)?;
        Ok(Some(Arc::new(Self {
            files,
            current: RwLock::new(Arc::new(config)),
        })))
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The task that keeps the configuration in step with the files: on
    /// every change seen by polling (`interval`; zero: never) and on every
    /// SIGHUP. The SIGHUP handler is installed now, before the port opens, so
    /// an early SIGHUP reloads instead of ending the process.
    pub fn reloader(
        self: Arc<Self>,
        interval: Duration,
    ) -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
        let mut hangups = Hangups::install()?;
        let mut last_read = self.files.read().map_err(|err| format!("{err:#}"));
        Ok(async move {
            let mut ticks = (!interval.is_zero()).then(|| {
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks
            });
            loop {
                let asked = tokio::select! {
                    () = tick(ticks.as_mut()) => false,
                    () = hangups.recv() => true,
                };
                // Small files, read every couple of seconds: not worth a thread.
                let read = self.files.read().map_err(|err| format!("{err:#}"));
                if read == last_read && !asked {
                    continue;
                }
                self.reload(&read);
                last_read = read;
            }
        })
    }

    /// Builds a configuration from what was read and swaps it in, or logs
    /// why not and keeps the current one.
    fn reload(&self, read: &Result<Contents, String>) {
        let built = match read {
            Ok(contents) => configure(contents).map_err(|err| format!("{err:#}")),
            Err(err) => Err(err.clone()),
        };
        match built {
            Ok(config) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(error) => tracing::error!(
                %error,
                cert = %self.files.cert.display(),
                "the TLS files do not load; keeping the current certificate"
            ),
        }
    }

    /// The connections of `tcp` (accepted TCP connections) once their TLS
    /// handshake is done, for tonic's `serve_with_incoming_shutdown`. Handshakes run in a task each,
    /// with a timeout, so a slow client cannot stall the others. When the
    /// server drops the stream, the listener closes.
    pub fn incoming(
        self: Arc<Self>,
        tcp: impl Stream<Item = std::io::Result<TcpStream>> + Send + Unpin + 'static,
    ) -> ReceiverStream<Result<TlsStream<TcpStream>, Infallible>> {
        let (ready, taken) = mpsc::channel(READY_CONNECTIONS);
        tokio::spawn(self.accept(tcp, ready));
        ReceiverStream::new(taken)
    }

    async fn accept(
        self: Arc<Self>,
        mut tcp: impl Stream<Item = std::io::Result<TcpStream>> + Unpin,
        ready: mpsc::Sender<Result<TlsStream<TcpStream>, Infallible>>,
    ) {
        loop {
            let next = tokio::select! {
                () = ready.closed() => return,
                next = tcp.next() => next,
            };
            match next {
                None => return,
                Some(Err(err)) => tracing::debug!(error = %err, "accepting a connection failed"),
                Some(Ok(stream)) => {
                    let acceptor = TlsAcceptor::from(self.current());
                    tokio::spawn(handshake(acceptor, stream, ready.clone()));
                }
            }
        }
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    ready: mpsc::Sender<Result<TlsStream<TcpStream>, Infallible>>,
) {
    let peer = stream.peer_addr().ok();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            // Refused only when the server has stopped taking connections.
            let _ = ready.send(Ok(tls)).await;
        }
        // Plaintext callers, scanners, clients without a valid certificate:
        // routine on an open port, so not a warning.
        Ok(Err(err)) => tracing::debug!(?peer, error = %err, "TLS handshake failed"),
        Err(_) => tracing::debug!(?peer, timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake timed out"),
    }
}

impl Files {
    fn read(&self) -> anyhow::Result<Contents> {
        Ok(Contents {
            cert: read(&self.cert)?,
            key: read(&self.key)?,
            client_ca: self.client_ca.as_deref().map(read).transpose()?,
        })
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// A rustls server configuration from PEM: the chain and its key, the
/// client CA if any, and ALPN for HTTP/2 (gRPC) and HTTP/1.1 (gRPC-Web, the
/// web app).
fn configure(contents: &Contents) -> anyhow::Result<ServerConfig> {
    let chain = certificates(&contents.cert).context("reading the certificate file")?;
    let key = PrivateKeyDer::from_pem_slice(&contents.key).context("reading the key file")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?;
    let builder = match &contents.client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(pem).context("reading the client CA file")? {
                roots
                    .add(ca)
                    .context("the client CA file holds an unusable certificate")?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .context("trusting the client CA")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("pairing the certificate with its key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Every certificate of a PEM file; at least one.
fn certificates(pem: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .context("not PEM")?;
    anyhow::ensure!(!certificates.is_empty(), "no certificate in it");
    Ok(certificates)
}

/// The next tick, or never when polling is off.
async fn tick(ticks: Option<&mut tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// SIGHUP, the usual "read your files again" signal.
struct Hangups {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Hangups {
    fn install() -> anyhow::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .context("listening for SIGHUP")?,
        })
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if self.signal.recv().await.is_some() {
            return;
        }
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(cert: &str, key: &str) -> Contents {
        Contents {
            cert: cert.as_bytes().to_vec(),
            key: key.as_bytes().to_vec(),
            client_ca: None,
        }
    }

    #[test]
    fn a_key_that_does_not_fit_the_certificate_is_refused() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let err = configure(&contents(&cert.cert.pem(), &other.serialize_pem())).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("pairing the certificate with its key: "),
            "{err:#}"
        );
    }

    #[test]
    fn a_certificate_and_its_key_offer_h2_and_http1() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let config = configure(&contents(
            &cert.cert.pem(),
            &cert.signing_key.serialize_pem(),
        ))
        .unwrap();
        assert_eq!(config.alpn_protocols, [&b"h2"[..], &b"http/1.1"[..]]);
    }

    #[test]
    fn files_without_pem_are_refused_with_the_reason() {
        let err = configure(&contents("not a certificate", "nor a key")).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "reading the certificate file: no certificate in it"
        );
    }
}
