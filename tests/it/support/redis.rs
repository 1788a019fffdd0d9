//! A private redis-server on a free port, without persistence, that a test
//! may kill and start again (the machine's shared Redis is never touched),
//! and a tiny RESP client to look inside it (plain TCP only). It may serve
//! TLS alone instead, with a test's certificate.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::certs::ServerCert;

pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
    /// The certificate served, and the CA named to redis-server (which
    /// wants one even when it asks clients for none): TLS only then.
    tls: Option<(ServerCert, PathBuf)>,
}

/// One RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = super::free_port();
        let mut redis = Self {
            port,
            child: None,
            tls: None,
        };
        redis.start_again();
        redis
    }

    /// A server that speaks TLS only, with `cert`; `ca` is its issuer.
    pub fn start_with_tls(cert: ServerCert, ca: PathBuf) -> Self {
        let mut redis = Self {
            port: super::free_port(),
            child: None,
            tls: Some((cert, ca)),
        };
        redis.start_again();
        redis
    }

    /// `redis://`, or `rediss://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL), as a crash would: every key is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL reaches a stopped process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Hangs the server without killing it (SIGSTOP): its connections stay
    /// open and nothing answers.
    pub fn freeze(&mut self) {
        self.signal("STOP");
    }

    /// Lets a frozen server go on (SIGCONT), keys and all.
    pub fn thaw(&mut self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        super::process::signal(self.child.as_ref(), signal, "redis-server");
    }

    /// Starts an empty server on the same port, and waits until it answers PING.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "Redis is already running");
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        match &self.tls {
            None => command.args(["--port", &port]),
            Some((cert, ca)) => command
                .args(["--port", "0", "--tls-port", &port])
                .arg("--tls-cert-file")
                .arg(&cert.cert)
                .arg("--tls-key-file")
                .arg(&cert.key)
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        // Called from sync code: a plain polling loop, not `eventually`.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers PING (plain TCP), or accepts a connection (TLS).
    fn answers(&self) -> bool {
        if self.tls.is_some() {
            TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        } else {
            self.command(&["PING"]).ok() == Some(Reply::Status("PONG".into()))
        }
    }

    /// Sends one command and reads its reply.
    pub fn command(&self, args: &[&str]) -> std::io::Result<Reply> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        stream.write_all(&request)?;
        read_reply(&mut BufReader::new(stream))
    }

    /// The keys matching `pattern`, with their time to live in ms (-1: none).
    pub fn keys_with_ttl(&self, pattern: &str) -> Vec<(String, i64)> {
        let Ok(Reply::Array(keys)) = self.command(&["KEYS", pattern]) else {
            panic!("KEYS {pattern} failed");
        };
        keys.into_iter()
            .filter_map(|key| match key {
                Reply::Bulk(Some(key)) => Some(key),
                _ => None,
            })
            .filter_map(|key| match self.command(&["PTTL", &key]) {
                // -2: the key went (released or lapsed) after KEYS listed it.
                Ok(Reply::Integer(-2)) => None,
                Ok(Reply::Integer(ttl)) => Some((key, ttl)),
                other => panic!("PTTL {key}: {other:?}"),
            })
            .collect()
    }
}

fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Reply> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, line.to_owned());
    let (kind, rest) = line.split_at_checked(1).ok_or_else(bad)?;
    Ok(match kind {
        "+" => Reply::Status(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Integer(rest.parse().map_err(|_| bad())?),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| bad())?;
            if len < 0 {
                Reply::Bulk(None)
            } else {
                let mut bytes = vec![0; usize::try_from(len).map_err(|_| bad())? + 2];
                reader.read_exact(&mut bytes)?;
                bytes.truncate(bytes.len() - 2);
                Reply::Bulk(Some(String::from_utf8_lossy(&bytes).into_owned()))
            }
        }
        "*" => {
            let len: i64 = rest.parse().map_err(|_| bad())?;
            let mut items = Vec::new();
            for _ in 0..len.max(0) {
                items.push(read_reply(reader)?);
            }
            Reply::Array(items)
        }
        _ => return Err(bad()),
    })
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
