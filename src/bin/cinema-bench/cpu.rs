//! Where the CPU went during a phase: the server's, the bench's and the
//! whole machine's share, read from /proc before and after.

use anyhow::Context;
use serde::Serialize;

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

    /// `server 1.20 s, bench 0.35 s, machine 80% busy` (the server's time
    /// is "unknown" without its pid).
    pub fn text(&self) -> String {
        format!(
            "server {}, bench {:.2} s, machine {:.0}% busy",
            self.server_seconds
                .map_or("unknown".to_owned(), |s| format!("{s:.2} s")),
            self.bench_seconds,
            self.machine_busy_percent
        )
    }
}

/// utime + stime of a /proc/PID/stat line, in ticks, for all its threads.
fn process_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name may hold spaces; the fields after it do not.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// (busy, total) ticks of all cores from the `cpu` line of /proc/stat.
fn machine_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
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
    fn usage_reads_as_one_line() {
        let usage = CpuUsage {
            server_seconds: Some(1.234),
            bench_seconds: 0.5,
            machine_busy_percent: 80.0,
        };
        assert_eq!(
            usage.text(),
            "server 1.23 s, bench 0.50 s, machine 80% busy"
        );
        let unknown = CpuUsage {
            server_seconds: None,
            ..usage
        };
        assert!(unknown.text().starts_with("server unknown, "));
    }
}
