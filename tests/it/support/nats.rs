//! A private nats-server with JetStream on a free port, that a test may stop
//! and start again (the machine's shared NATS is never touched), optionally
//! requiring TLS with a test's certificate.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::certs::ServerCert;

pub struct PrivateNats {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// The certificate served: TLS required then.
    tls: Option<ServerCert>,
}

impl PrivateNats {
    pub fn start() -> Self {
        Self::create(None)
    }

    /// A server that requires TLS, with `cert`.
    pub fn start_with_tls(cert: ServerCert) -> Self {
        Self::create(Some(cert))
    }

    fn create(tls: Option<ServerCert>) -> Self {
        let port = super::free_port();
        let dir =
            std::env::temp_dir().join(format!("cinema-nats-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nats = Self {
            port,
            dir,
            child: None,
            tls,
        };
        nats.start_again();
        nats
    }

    /// `nats://`, or `tls://` when it requires TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "tls" } else { "nats" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Hangs the server without killing it (SIGSTOP): its connections stay
    /// open and nothing answers.
    pub fn freeze(&mut self) {
        self.signal("STOP");
    }

    /// Lets a frozen server go on (SIGCONT), streams and all.
    pub fn thaw(&mut self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        super::process::signal(self.child.as_ref(), signal, "nats-server");
    }

    /// Starts the server on the same port and store, and waits for it.
    pub fn start_again(&mut self) {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        let mut command = Command::new(binary);
        if let Some(cert) = &self.tls {
            command
                .arg("--tls")
                .arg("--tlscert")
                .arg(&cert.cert)
                .arg("--tlskey")
                .arg(&cert.key);
        }
        let child = command
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        // Called from sync code: a plain polling loop, not `eventually`.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
