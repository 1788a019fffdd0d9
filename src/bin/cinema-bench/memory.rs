//! The server's resident memory (VmRSS), read from /proc: once, or its
//! peak while a phase runs.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;

/// Reads the server's resident memory from /proc.
pub fn server_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    vm_rss_kib(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// The `VmRSS:   123456 kB` line of a /proc status file, in KiB.
fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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

/// The report's `server peak RSS: 12.3 MB` line; nothing without a peak.
pub fn peak_rss_line(peak_kib: Option<u64>) -> String {
    peak_kib.map_or_else(String::new, |kib| {
        format!("server peak RSS: {:.1} MB\n", kib as f64 / 1024.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tcinema\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(vm_rss_kib(status), Some(12345));
        assert_eq!(vm_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn peak_rss_is_shown_in_megabytes() {
        assert_eq!(peak_rss_line(Some(2048)), "server peak RSS: 2.0 MB\n");
        assert_eq!(peak_rss_line(None), "");
    }
}
