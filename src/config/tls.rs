//! TLS: the server's certificate files, and how a command-line client
//! reaches a server that speaks TLS.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use super::parse::{duration_or_zero, setting};

/// TLS on the gRPC port (rustls). The files are read again when they change
/// or on SIGHUP, so a renewed certificate needs no restart; a bad new file
/// is logged and the last good one kept.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM); set with CINEMA_TLS_KEY, the gRPC port speaks TLS only. Unset: plaintext.
    #[arg(
        long = "tls-cert",
        id = "tls_cert",
        value_name = "FILE",
        env = "CINEMA_TLS_CERT",
        requires = "tls_key"
    )]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long = "tls-key",
        id = "tls_key",
        value_name = "FILE",
        env = "CINEMA_TLS_KEY",
        requires = "tls_cert"
    )]
    pub key: Option<PathBuf>,
    /// CA bundle (PEM): clients must present a certificate it signed (mutual TLS). Unset: none asked.
    #[arg(
        long = "tls-client-ca",
        value_name = "FILE",
        env = "CINEMA_TLS_CLIENT_CA",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,
    /// How often the TLS files are checked for changes; 0s: only on SIGHUP.
    #[arg(long = "tls-reload-interval", value_name = "DURATION", env = "CINEMA_TLS_RELOAD_INTERVAL", default_value = "2s",
          value_parser = setting("a duration such as 2s, or 0s", duration_or_zero))]
    pub reload_interval: Duration,
}

/// How a command reaches a server: its address and, for `https://`, whom
/// to trust and (for a server that asks) which certificate to show.
#[derive(Args, Debug, Clone)]
pub struct ServerAddress {
    /// The server's gRPC address; https://... speaks TLS.
    #[arg(
        long = "addr",
        value_name = "URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// CA bundle (PEM) that signed the server's certificate, for an https:// address. Unset: the public web roots.
    #[arg(long = "ca-file", value_name = "FILE", env = "CINEMA_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for a server that asks for one (mutual TLS).
    #[arg(
        long = "client-cert",
        id = "client_cert",
        value_name = "FILE",
        env = "CINEMA_CLIENT_CERT",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long = "client-key",
        id = "client_key",
        value_name = "FILE",
        env = "CINEMA_CLIENT_KEY",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
}
