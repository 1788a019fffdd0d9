//! What every scenario shares: tokens, connections, sessions, the server's
//! memory and CPU, progress lines, correctness checks and the JSON report.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use cinema::{
    auth::Authenticator,
    catalog::layout::seat_labels,
    config,
    proto::v1::{
        ConfirmPaymentRequest, CreateSessionRequest, Reservation, ReserveSeatsRequest, Sale,
        booking_service_client::BookingServiceClient, session_service_client::SessionServiceClient,
    },
    watch_view::code_name,
};
use serde::Serialize;
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::{Channel, Endpoint},
};

/// Mints bearer tokens with the server's own secret (`CINEMA_JWT_SECRET`).
pub struct Minter(Authenticator);

impl Minter {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self(Authenticator::new(&config::jwt_secret_from_env()?)))
    }

    /// `Bearer <token>` for `user`, valid for a day.
    pub fn bearer(&self, user: &str, admin: bool) -> anyhow::Result<MetadataValue<Ascii>> {
        let token = self
            .0
            .mint(user, admin, Duration::from_secs(24 * 3600))
            .with_context(|| format!("minting a token for {user}"))?;
        format!("Bearer {token}")
            .parse()
            .context("a token that is not valid metadata")
    }

    pub fn admin(&self) -> anyhow::Result<MetadataValue<Ascii>> {
        self.bearer("bench-admin", true)
    }
}

pub fn authed<T>(message: T, bearer: &MetadataValue<Ascii>) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.clone());
    request
}

/// A gRPC failure as `NOT_FOUND: session ... not found`.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", code_name(status.code()), status.message())
}

/// One HTTP/2 connection (a tonic Channel never shares its connection with
/// another Channel built separately).
pub async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("{addr:?} is not a server address"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}

pub async fn open_connections(addr: &str, count: u32) -> anyhow::Result<Vec<Channel>> {
    let mut connections = Vec::new();
    for _ in 0..count {
        connections.push(connect(addr).await?);
    }
    Ok(connections)
}

/// Reads the server's resident memory from /proc.
pub fn server_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    vm_rss_kib(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// The `VmRSS:   123456 kB` line of a /proc status file, in KiB.
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// CPU time used so far by the server, this bench and the whole machine.
pub struct CpuSample {
    server_ticks: Option<u64>,
    bench_ticks: u64,
    machine_busy_ticks: u64,
    machine_total_ticks: u64,
}

/// CPU used between two samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUsage {
    pub server_seconds: Option<f64>,
    pub bench_seconds: f64,
    /// Of every core of the machine, counting every process.
    pub machine_busy_percent: f64,
}

impl CpuSample {
    pub fn take(server_pid: Option<u32>) -> anyhow::Result<Self> {
        let process = |pid: String| -> anyhow::Result<u64> {
            let path = format!("/proc/{pid}/stat");
            let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            process_cpu_ticks(&stat).with_context(|| format!("no CPU times in {path}"))
        };
        let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
        let (machine_busy_ticks, machine_total_ticks) =
            machine_cpu_ticks(&stat).context("no cpu line in /proc/stat")?;
        Ok(Self {
            server_ticks: server_pid.map(|pid| process(pid.to_string())).transpose()?,
            bench_ticks: process("self".to_owned())?,
            machine_busy_ticks,
            machine_total_ticks,
        })
    }

    pub fn since(&self, before: &Self) -> CpuUsage {
        let seconds = |after: u64, before: u64| after.saturating_sub(before) as f64 / USER_HZ;
        let total = self
            .machine_total_ticks
            .saturating_sub(before.machine_total_ticks)
            .max(1);
        let busy = self
            .machine_busy_ticks
            .saturating_sub(before.machine_busy_ticks);
        CpuUsage {
            server_seconds: self
                .server_ticks
                .zip(before.server_ticks)
                .map(|(after, before)| seconds(after, before)),
            bench_seconds: seconds(self.bench_ticks, before.bench_ticks),
            machine_busy_percent: (busy as f64 * 100.0 / total as f64).round(),
        }
    }
}

impl CpuUsage {
    /// This sum of `rounds - 1` phases plus one more phase; machine busy is
    /// the mean over the phases.
    pub fn plus(self, next: CpuUsage, rounds: u32) -> CpuUsage {
        let n = f64::from(rounds.max(1));
        CpuUsage {
            server_seconds: self
                .server_seconds
                .zip(next.server_seconds)
                .map(|(a, b)| a + b),
            bench_seconds: self.bench_seconds + next.bench_seconds,
            machine_busy_percent: ((self.machine_busy_percent * (n - 1.0)
                + next.machine_busy_percent)
                / n)
                .round(),
        }
    }
}

/// utime + stime of a /proc/PID/stat line, in ticks, for all its threads.
pub fn process_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name may hold spaces; the fields after it do not.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// (busy, total) ticks of all cores from the `cpu` line of /proc/stat.
pub fn machine_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// A session of `rows` x `seats_per_row` starting tomorrow; returns its id.
pub async fn create_session(
    channel: &Channel,
    admin: &MetadataValue<Ascii>,
    rows: u32,
    seats_per_row: u32,
) -> anyhow::Result<String> {
    let starts_at = chrono::Utc::now() + chrono::Duration::days(1);
    let request = CreateSessionRequest {
        movie_title: "cinema-bench".into(),
        room: "bench".into(),
        starts_at: Some(prost_types::Timestamp {
            seconds: starts_at.timestamp(),
            nanos: 0,
        }),
        price_cents: 2500,
        currency: "BRL".into(),
        rows,
        seats_per_row,
    };
    let session = SessionServiceClient::new(channel.clone())
        .create_session(authed(request, admin))
        .await
        .map_err(status_error)
        .context("creating a session")?;
    Ok(session.into_inner().session_id)
}

/// ReserveSeats for `labels` of `session_id`, without a request_id.
pub async fn reserve(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    session_id: &str,
    labels: &[String],
) -> Result<Reservation, tonic::Status> {
    let request = ReserveSeatsRequest {
        session_id: session_id.to_owned(),
        seat_labels: labels.to_vec(),
        request_id: String::new(),
    };
    booking
        .reserve_seats(authed(request, bearer))
        .await
        .map(tonic::Response::into_inner)
}

/// ConfirmPayment of a reservation with a made-up payment reference.
pub async fn confirm(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    reservation_id: &str,
) -> Result<Sale, tonic::Status> {
    let request = ConfirmPaymentRequest {
        reservation_id: reservation_id.to_owned(),
        payment_reference: format!("bench-{reservation_id}"),
        request_id: String::new(),
    };
    booking
        .confirm_payment(authed(request, bearer))
        .await
        .map(tonic::Response::into_inner)
}

/// The code of a call's answer.
pub fn code_of<T>(answer: &Result<T, tonic::Status>) -> tonic::Code {
    answer
        .as_ref()
        .map_or_else(tonic::Status::code, |_| tonic::Code::Ok)
}

/// The labels of a `rows` x `seats_per_row` room, row by row.
pub fn room_labels(rows: u32, seats_per_row: u32) -> Vec<String> {
    seat_labels(rows, seats_per_row)
        .map(|label| label.to_string())
        .collect()
}

/// `count` connections (at least one) for callers to share: caller i uses
/// connection i % count.
pub async fn connections_for(addr: &str, count: u32) -> anyhow::Result<Vec<Channel>> {
    let connections = open_connections(addr, count.max(1)).await?;
    eprintln!("{} connections open", connections.len());
    Ok(connections)
}

/// Counters the scenario's tasks bump and a ticker prints every second.
#[derive(Default)]
pub struct Progress {
    done: AtomicU64,
    ok: AtomicU64,
    stopped: AtomicBool,
}

impl Progress {
    pub fn call(&self, ok: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.ok.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Prints `label: N calls (R/s), M OK` every second until [`Self::stop`].
    pub fn tick(self: &Arc<Self>, label: &'static str) -> tokio::task::JoinHandle<()> {
        let progress = Arc::clone(self);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut last = 0;
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            ticks.tick().await;
            while !progress.stopped.load(Ordering::Relaxed) {
                ticks.tick().await;
                let done = progress.done.load(Ordering::Relaxed);
                eprintln!(
                    "{label} {:>4.0} s: {done} calls ({}/s), {} OK",
                    started.elapsed().as_secs_f64(),
                    done - last,
                    progress.ok.load(Ordering::Relaxed)
                );
                last = done;
            }
        })
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

/// One correctness check: what it must be, what it was.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

impl Check {
    /// `actual` must equal `expected`.
    pub fn equal(name: &str, expected: impl ToString, actual: impl ToString) -> Self {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        Self {
            name: name.to_owned(),
            passed: expected == actual,
            expected,
            actual,
        }
    }

    /// `passed` decides; `expected` says in words what should hold.
    pub fn holds(name: &str, expected: &str, actual: impl ToString, passed: bool) -> Self {
        Self {
            name: name.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_string(),
            passed,
        }
    }
}

/// The checks as text, one per line, failures marked.
pub fn checks_text(checks: &[Check]) -> String {
    let mut text = String::from("checks:\n");
    for check in checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        text.push_str(&format!(
            "  {mark} {}: {} (expected {})\n",
            check.name, check.actual, check.expected
        ));
    }
    text
}

/// Every scenario's JSON has these fields beside its own figures.
#[derive(Serialize)]
pub struct Envelope<'a, F: Serialize> {
    pub scenario: &'static str,
    /// Every check passed.
    pub passed: bool,
    pub checks: &'a [Check],
    #[serde(flatten)]
    pub figures: &'a F,
}

/// Prints the report and its checks, writes the JSON, and says whether
/// every check passed.
pub fn finish<F: Serialize>(
    scenario: &'static str,
    text: &str,
    figures: &F,
    checks: &[Check],
    json: Option<&Path>,
) -> anyhow::Result<bool> {
    let passed = checks.iter().all(|check| check.passed);
    print!("{text}{}", checks_text(checks));
    if let Some(path) = json {
        let envelope = Envelope {
            scenario,
            passed,
            checks,
            figures,
        };
        let json = serde_json::to_string_pretty(&envelope).context("encoding the report")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(passed)
}

/// The server's RSS, sampled every 100 ms while a phase runs: the peak.
pub struct RssPeak {
    peak: Arc<AtomicU64>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RssPeak {
    pub fn watch(server_pid: Option<u32>) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let task = server_pid.map(|pid| {
            let peak = Arc::clone(&peak);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_millis(100));
                loop {
                    ticks.tick().await;
                    if let Ok(kib) = server_rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
            })
        });
        Self { peak, task }
    }

    /// The peak in KiB, None without a server pid.
    pub fn stop(self) -> Option<u64> {
        let task = self.task?;
        task.abort();
        Some(self.peak.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_from_proc() {
        let stat = "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 2047 0 0 0 \
                    150 25 0 0 20 0 9 0 1234 5678 910 18446744073709551615";
        assert_eq!(process_cpu_ticks(stat), Some(175));
        let machine = "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 50 2 25 400 10 0 1 1 0 0\n";
        assert_eq!(machine_cpu_ticks(machine), Some((161, 981)));
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tcinema\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(vm_rss_kib(status), Some(12345));
        assert_eq!(vm_rss_kib("Name:\tx\n"), None);
    }
}
