//! How every command-line client (`health`, `watch`, `cinema-bench`) reaches
//! a server: the one rule for `http://` (plaintext) and `https://` (TLS,
//! trusting `--ca-file` or else the public web roots, showing
//! `--client-cert` to a server that asks for one).

use std::path::Path;

use anyhow::Context;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::config::ServerAddress;

/// An endpoint for `server`, with TLS when its address is `https://`.
pub fn endpoint(server: &ServerAddress) -> anyhow::Result<Endpoint> {
    let addr = &server.addr;
    let endpoint = Endpoint::from_shared(addr.clone())
        .with_context(|| format!("{addr:?} is not a server address"))?;
    if endpoint.uri().scheme_str() != Some("https") {
        anyhow::ensure!(
            server.ca_file.is_none() && server.client_cert.is_none(),
            "{addr} is plaintext: a CA file or client certificate needs an https:// address"
        );
        return Ok(endpoint);
    }
    endpoint
        .tls_config(tls(server)?)
        .with_context(|| format!("configuring TLS for {addr}"))
}

fn tls(server: &ServerAddress) -> anyhow::Result<ClientTlsConfig> {
    let mut tls = match &server.ca_file {
        Some(ca) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?)),
        None => ClientTlsConfig::new().with_webpki_roots(),
    };
    if let (Some(cert), Some(key)) = (&server.client_cert, &server.client_key) {
        tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(tls)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(addr: &str, ca_file: Option<&str>) -> ServerAddress {
        ServerAddress {
            addr: addr.to_owned(),
            ca_file: ca_file.map(Into::into),
            client_cert: None,
            client_key: None,
        }
    }

    #[test]
    fn a_ca_file_for_a_plaintext_address_is_refused() {
        let err = endpoint(&server("http://127.0.0.1:50051", Some("ca.pem"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "http://127.0.0.1:50051 is plaintext: a CA file or client certificate needs an https:// address"
        );
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let err = endpoint(&server(
            "https://127.0.0.1:50051",
            Some("/nonexistent/ca.pem"),
        ))
        .unwrap_err();
        assert_eq!(err.to_string(), "reading /nonexistent/ca.pem");
    }

    #[test]
    fn plaintext_and_tls_addresses_make_endpoints() {
        assert!(endpoint(&server("http://127.0.0.1:50051", None)).is_ok());
        assert!(endpoint(&server("https://cinema.example.com", None)).is_ok());
    }
}
