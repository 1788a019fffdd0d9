//! Reading a JWKS document: from a file, or with one HTTP/1.1 GET over
//! plain TCP (`http://`) or rustls (`https://`, with the webpki roots).
//! Small on purpose: one request per refresh, `Connection: close`, a size
//! cap and a timeout.

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A JWKS document larger than this is refused.
const MAX_BYTES: u64 = 1024 * 1024;
/// One fetch takes at most this long.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum Source {
    Url(String),
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(url) => f.write_str(url),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The document's bytes, or why not.
pub async fn fetch(source: &Source) -> Result<Vec<u8>, String> {
    match source {
        Source::File(path) => tokio::fs::read(path)
            .await
            .map_err(|e| format!("reading {}: {e}", path.display())),
        Source::Url(url) => tokio::time::timeout(TIMEOUT, get(url))
            .await
            .map_err(|_| format!("GET {url}: timed out"))?
            .map_err(|e| format!("GET {url}: {e}")),
    }
}

struct Target<'a> {
    tls: bool,
    /// `host[:port]`, as the Host header says it.
    authority: &'a str,
    /// The host to connect to (no brackets).
    host: &'a str,
    port: u16,
    path: &'a str,
}

fn parse_url(url: &str) -> Result<Target<'_>, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let tls = match scheme {
        "http" => false,
        "https" => true,
        _ => return Err("the scheme must be http or https".into()),
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let default = if tls { 443 } else { 80 };
    let port_of = |text: Option<&str>| match text {
        None => Ok(default),
        Some(port) => port.parse().map_err(|_| "bad port".to_owned()),
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("bad IPv6 host")?;
            (host, port_of(after.strip_prefix(':'))?)
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, port_of(Some(port))?),
            None => (authority, default),
        },
    };
    if host.is_empty() || host.contains('@') {
        return Err("the URL needs a host (and no user info)".into());
    }
    Ok(Target {
        tls,
        authority,
        host,
        port,
        path,
    })
}

async fn get(url: &str) -> Result<Vec<u8>, String> {
    let target = parse_url(url)?;
    let connect_host = target.host;
    let tcp = tokio::net::TcpStream::connect((connect_host, target.port))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    if !target.tls {
        return exchange(tcp, &target).await;
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(connect_host.to_owned())
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    exchange(tls, &target).await
}

async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    target: &Target<'_>,
) -> Result<Vec<u8>, String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\nUser-Agent: cinema\r\n\r\n",
        target.path, target.authority
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending: {e}"))?;
    let mut response = Vec::new();
    let read = (&mut stream)
        .take(MAX_BYTES + 64 * 1024)
        .read_to_end(&mut response)
        .await;
    // A TLS peer closing without close_notify still sent the whole body.
    if let Err(e) = read
        && response.is_empty()
    {
        return Err(format!("reading: {e}"));
    }
    parse_response(&response)
}

/// The body of a `200` response, de-chunked if need be.
pub fn parse_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete response head")?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| "response head is not text")?;
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!("answered {status:?}"));
    }
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    if body.len() as u64 > MAX_BYTES {
        return Err("the document is too large".into());
    }
    Ok(body)
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let t = parse_url("http://127.0.0.1:8080/certs").unwrap();
        assert_eq!(
            (t.tls, t.host, t.port, t.path),
            (false, "127.0.0.1", 8080, "/certs")
        );
        let t = parse_url("https://idp.example.com").unwrap();
        assert_eq!(
            (t.tls, t.host, t.port, t.path),
            (true, "idp.example.com", 443, "/")
        );
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://user@x/").is_err());
    }

    #[test]
    fn responses_give_their_body_or_an_error() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), b"{}");
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"k\r\n2\r\n\"}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), b"{\"k\"}");
        assert!(parse_response(b"HTTP/1.1 500 Oops\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
