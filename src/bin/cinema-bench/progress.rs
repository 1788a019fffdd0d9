//! Progress lines on stderr while a scenario runs: calls so far, per
//! second and answered OK.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;

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
    pub fn tick(self: &Arc<Self>, label: &'static str) -> JoinHandle<()> {
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

    /// Ends the ticker [`Self::tick`] started: no line after this one.
    pub fn stop(&self, ticker: JoinHandle<()>) {
        self.stopped.store(true, Ordering::Relaxed);
        ticker.abort();
    }
}
