//! A private PostgreSQL on a free port, with its own data directory, that a
//! test may stop, crash and start again (the machine's shared PostgreSQL is
//! never touched), optionally serving TLS with a test's certificate.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, `initdb`
//! and `postgres` run as the `postgres` OS user (set on the child process
//! itself, so there is no intermediate `su` process to outlive).

use super::certs::ServerCert;
use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The newest PostgreSQL found under /usr/lib/postgresql, else the PATH.
fn bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .map(|d| d.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|b| {
        b.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .map_or_else(|| PathBuf::from(name), |b| b.join(name))
}

/// (uid, gid) of the OS user the server runs as when we are root.
fn server_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((
        id(&["-u", "postgres"]).expect("running as root needs a postgres OS user"),
        id(&["-g", "postgres"]).expect("the postgres OS group"),
    ))
}

pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    user: Option<(u32, u32)>,
    child: Option<Child>,
    /// Whether it serves TLS (with `server.pem` and `server-key.pem` in `dir`).
    tls: bool,
}

impl PrivatePostgres {
    /// Creates a cluster in a temporary directory and starts it.
    pub fn start() -> Self {
        Self::create(None)
    }

    /// [`PrivatePostgres::start`], serving TLS (`ssl=on`) with `cert`.
    pub fn start_with_tls(cert: &ServerCert) -> Self {
        Self::create(Some(cert))
    }

    fn create(tls: Option<&ServerCert>) -> Self {
        let dir = std::env::temp_dir().join(format!("cinema-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("hand the directory over");
        }
        let mut postgres = Self {
            port: super::free_port(),
            dir,
            user,
            child: None,
            tls: tls.is_some(),
        };
        let initdb = postgres
            .command(&bin("initdb"))
            .arg("-D")
            .arg(postgres.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            // Durability against a machine crash is not what a test needs.
            .arg("--no-sync")
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        if let Some(cert) = tls {
            postgres.install(&cert.cert, "server.pem");
            postgres.install(&cert.key, "server-key.pem");
        }
        postgres.start_again();
        postgres
    }

    /// Copies `file` into the cluster's directory, owned by the server's OS
    /// user and readable by it alone (PostgreSQL refuses a key others may read).
    fn install(&self, file: &Path, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        let to = self.dir.join(name);
        std::fs::copy(file, &to).expect("copy a certificate file");
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
            .expect("make it private");
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("hand it over");
        }
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown: open connections are closed, the cluster is checkpointed.
    pub fn stop(&mut self) {
        self.signal_and_wait("INT");
    }

    /// An immediate shutdown, as a crash would end it: no checkpoint, and
    /// crash recovery replays the WAL when it starts again.
    pub fn kill(&mut self) {
        self.signal_and_wait("QUIT");
    }

    /// Starts the server on the same port and data directory, and waits
    /// until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "PostgreSQL is already running");
        let mut command = self.command(&bin("postgres"));
        if self.tls {
            command.args(["-c", "ssl=on"]);
            for (setting, file) in [
                ("ssl_cert_file", "server.pem"),
                ("ssl_key_file", "server-key.pem"),
            ] {
                command.args([
                    "-c",
                    &format!("{setting}={}", self.dir.join(file).display()),
                ]);
            }
        }
        let child = command
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            // Committed data reaches the OS before a commit returns, which
            // survives the server's crash; fsync would only guard against
            // the machine's.
            .args(["-c", "fsync=off"])
            .args(["-c", "shared_buffers=16MB"])
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        // Called from sync code: a plain polling loop, not `eventually`.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!("postgres exited at start ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not accept connections on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Hangs the server without killing it (SIGSTOP to the postmaster and
    /// every backend): connections stay open and nothing answers.
    pub fn freeze(&mut self) {
        self.signal_tree("STOP");
    }

    /// Lets a frozen server go on (SIGCONT), where it stopped.
    pub fn thaw(&mut self) {
        self.signal_tree("CONT");
    }

    /// The postmaster first, so it forks no backend the signal misses.
    fn signal_tree(&mut self, signal: &str) {
        let pid = super::process::signal(self.child.as_ref(), signal, "the postmaster");
        // pkill exits 1 when no backend runs yet: nothing to signal then.
        let _ = Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &pid])
            .status();
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command run as the server's OS user, from a directory it may read.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        command
    }

    /// Sends `signal` to the postmaster and waits for it (and so for its
    /// backends) to exit; SIGKILL if it has not after 10 s.
    fn signal_and_wait(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status();
        // Also called from Drop: a plain polling loop, not `eventually`.
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // A frozen server would not hear SIGQUIT.
        if self.child.is_some() {
            self.thaw();
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
