//! Transactions PostgreSQL ran for a race, next to an idle window of the
//! same length just before it (the server's sweeper and health probe run a
//! few every second on their own).

use std::time::Duration;

use serde::Serialize;

use crate::database::ServerDatabase;

/// Transactions PostgreSQL counted in the server's database.
#[derive(Serialize)]
pub(super) struct Transactions {
    /// From just before the race until its counts were published.
    during_race: i64,
    /// An idle window of the same length just before.
    idle_window: i64,
    /// during_race - idle_window: what the race itself caused, roughly.
    attributable: i64,
}

/// The idle window's count and the counter at its end, where the race's
/// count starts.
pub(super) struct IdleWindow {
    transactions: i64,
    ended_at: i64,
}

/// Counts transactions over an idle window of `length`.
pub(super) async fn idle_window(
    database: &ServerDatabase,
    length: Duration,
) -> anyhow::Result<IdleWindow> {
    if !length.is_zero() {
        eprintln!("counting PostgreSQL transactions over {length:?} of idle time first");
    }
    let start = database.transactions().await?;
    tokio::time::sleep(length).await;
    let end = database.transactions().await?;
    Ok(IdleWindow {
        transactions: end - start,
        ended_at: end,
    })
}

/// Waits `stats_wait` for PostgreSQL to publish the race's counts, then
/// counts from the end of the idle window.
pub(super) async fn count_race(
    database: &ServerDatabase,
    before: IdleWindow,
    stats_wait: Duration,
) -> anyhow::Result<Transactions> {
    tokio::time::sleep(stats_wait).await;
    let during_race = database.transactions().await? - before.ended_at;
    Ok(Transactions {
        during_race,
        idle_window: before.transactions,
        attributable: during_race - before.transactions,
    })
}

impl Transactions {
    /// The report's line about them.
    pub(super) fn text(&self) -> String {
        format!(
            "PostgreSQL transactions: {} during the race, {} in an idle window as long, {} caused by the race\n",
            self.during_race, self.idle_window, self.attributable
        )
    }
}
