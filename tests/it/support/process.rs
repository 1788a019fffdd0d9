//! A second server instance: the real `cinema` binary in its own process,
//! sharing the database, Redis prefix and NATS prefix of a [`TestApp`] (or
//! started from any settings), as another instance behind a load balancer
//! would.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use tonic::transport::{Channel, Endpoint};

use super::{
    Budget, Settings, TestApp, app::serving_within,
    pb::session_service_client::SessionServiceClient,
};

/// How many of the child's last log lines are kept for failure messages.
const KEPT_LOG_LINES: usize = 200;

/// How long the child may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `cinema serve` child process; killed when dropped.
pub struct ServerProcess {
    /// Where it listens (gRPC, gRPC-Web and the web app).
    pub addr: SocketAddr,
    pub channel: Channel,
    logs: Arc<Mutex<VecDeque<String>>>,
    child: Child,
}

impl ServerProcess {
    /// Starts `cinema serve` on an ephemeral port with `app`'s database,
    /// prefixes, secret and hold time, and waits until it reports SERVING.
    pub async fn spawn(app: &TestApp) -> ServerProcess {
        Self::spawn_with(&app.settings).await
    }

    /// [`ServerProcess::spawn`] with extra environment variables.
    pub async fn spawn_with_env(app: &TestApp, extra: &[(&str, &str)]) -> ServerProcess {
        Self::start(&app.settings, extra).await
    }

    /// Starts `cinema serve` with these settings (on its own ephemeral
    /// port), and waits until it reports SERVING.
    pub async fn spawn_with(settings: &Settings) -> ServerProcess {
        Self::start(settings, &[]).await
    }

    async fn start(settings: &Settings, extra: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(settings, extra, |addr| {
            Endpoint::from_shared(format!("http://{addr}")).expect("a valid URI")
        })
        .await
    }

    /// [`ServerProcess::spawn_with`] with extra environment variables,
    /// reached through `endpoint` (e.g. over TLS) once it listens.
    pub async fn start_with(
        settings: &Settings,
        extra: &[(&str, &str)],
        endpoint: impl FnOnce(SocketAddr) -> Endpoint,
    ) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
        // Nothing from the environment of the test run leaks into the child.
        for (var, _) in std::env::vars_os() {
            if var.to_str().is_some_and(|v| v.starts_with("CINEMA_")) {
                command.env_remove(var);
            }
        }
        command
            .arg("serve")
            .env("DATABASE_URL", &settings.database.url)
            .env("REDIS_URL", &settings.redis_url)
            .env("NATS_URL", &settings.nats.url)
            .env("CINEMA_JWT_SECRET", settings.jwt.secret.expose())
            .env("CINEMA_REDIS_PREFIX", &settings.redis_prefix)
            .env("CINEMA_NATS_PREFIX", &settings.nats.prefix)
            .envs(settings.redis_ca.iter().map(|ca| ("CINEMA_REDIS_CA", ca)))
            .envs(settings.nats.ca.iter().map(|ca| ("CINEMA_NATS_CA", ca)))
            .env(
                "CINEMA_HOLD_SECONDS",
                settings.hold_duration.as_secs().to_string(),
            )
            .env(
                "CINEMA_MAX_SEATS_PER_RESERVATION",
                settings.max_seats_per_reservation.to_string(),
            )
            .env("CINEMA_GRPC_ADDR", "127.0.0.1:0")
            .env(
                "CINEMA_METRICS_ADDR",
                settings
                    .metrics_addr
                    .map_or_else(|| "off".to_owned(), |addr| addr.to_string()),
            )
            .env("CINEMA_AUTO_MIGRATE", "true")
            .env("CINEMA_LOG_FORMAT", "json")
            // "serving gRPC" is an info line: a quieter RUST_LOG would hide it.
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let limits = settings.rate_limits;
        command
            .env(
                "CINEMA_RATE_LIMIT",
                if limits.enabled { "on" } else { "off" },
            )
            .env("CINEMA_RATE_LIMIT_BOOKING", budget(limits.booking))
            .env("CINEMA_RATE_LIMIT_READS", budget(limits.reads));
        command.envs(extra.iter().copied());
        let mut child = command.spawn().expect("start the cinema binary");
        let stderr = child.stderr.take().expect("a piped stderr");

        // One thread reads stderr for the whole life of the child: it reports
        // the listening address once, then keeps draining so the pipe never
        // fills and blocks the server.
        let logs = Arc::new(Mutex::new(VecDeque::new()));
        let (found, listening) = mpsc::channel::<Result<SocketAddr, String>>();
        let kept = Arc::clone(&logs);
        thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(sender) = found.as_ref()
                    && let Some(addr) = serving_addr(&line)
                {
                    let _ = sender.send(Ok(addr));
                    found = None;
                }
                let mut kept = kept.lock().expect("the log buffer");
                if kept.len() == KEPT_LOG_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            if let Some(sender) = found {
                let log = kept
                    .lock()
                    .expect("the log buffer")
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n");
                let _ = sender.send(Err(format!("serve exited before listening:\n{log}")));
            }
        });

        let waited = tokio::task::spawn_blocking(move || listening.recv_timeout(START_TIMEOUT))
            .await
            .expect("the waiting thread");
        let addr = match waited {
            Ok(Ok(addr)) => addr,
            Ok(Err(message)) => panic!("{message}"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not listen within {START_TIMEOUT:?}");
            }
        };
        let channel = endpoint(addr)
            .connect()
            .await
            .expect("connect to the server process");
        let process = ServerProcess {
            addr,
            channel,
            logs,
            child,
        };
        process.wait_until_serving().await;
        process
    }

    /// Waits (generously) for health to report SERVING.
    async fn wait_until_serving(&self) {
        if let Err(last) = serving_within(&self.channel, Duration::from_secs(10)).await {
            panic!(
                "the server process never reported SERVING ({last}); log:\n{}",
                self.recent_logs().join("\n")
            );
        }
    }

    pub fn sessions(&self) -> SessionServiceClient<Channel> {
        SessionServiceClient::new(self.channel.clone())
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as a crash would: nothing is drained.
    pub fn kill(self) {
        drop(self);
    }

    /// The child's last log lines (JSON objects), oldest first.
    pub fn recent_logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .expect("the log buffer")
            .iter()
            .cloned()
            .collect()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGKILL: the test is over, there is nothing to drain.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A budget as `CINEMA_RATE_LIMIT_*` spells it.
fn budget(budget: Budget) -> String {
    format!("{}/{}ms", budget.calls, budget.window.as_millis())
}

/// The `addr` of a JSON `"serving gRPC"` log line.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    let log: serde_json::Value = serde_json::from_str(line).ok()?;
    if log["message"] != "serving gRPC" {
        return None;
    }
    log["addr"].as_str()?.parse().ok()
}

/// Any child process a test starts, killed (and reaped) if the test ends
/// while it still runs, e.g. on a panic.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `signal` (STOP, CONT...) to a child process that must be running;
/// `what` names it in the failure.
pub fn signal(child: Option<&std::process::Child>, signal: &str, what: &str) -> String {
    let pid = child
        .unwrap_or_else(|| panic!("{what} is running"))
        .id()
        .to_string();
    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &pid])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "SIG{signal} to {what}");
    pid
}
