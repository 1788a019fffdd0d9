//! Straight to PostgreSQL: correctness checks against the server's own
//! database, its transaction counters, and the bare-database baseline.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use cinema::{
    booking::{NewHold, hold_in},
    catalog::{self, NewSession, layout::SeatLabel},
    error::Error,
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    common::{Progress, room_labels},
    stats::Calls,
};

/// The server's database, read by the bench.
pub struct ServerDatabase(DatabaseConnection);

impl ServerDatabase {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self(connect(url, 2).await?))
    }

    /// Transactions committed and rolled back in this database so far.
    /// PostgreSQL publishes a backend's counts when it goes idle, at most a
    /// second apart, or 10 s later: read this 11 s after a burst.
    pub async fn transactions(&self) -> anyhow::Result<i64> {
        self.count(
            "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
             WHERE datname = current_database()",
            [],
        )
        .await
    }

    /// Seats of these sessions that two confirmed reservations, or two
    /// sales, name: must be 0.
    pub async fn seats_sold_twice(&self, sessions: &[String]) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM (
               SELECT rs.session_id, rs.label FROM reservation_seats rs
                 JOIN reservations r ON r.reservation_id = rs.reservation_id
                WHERE r.status = 'confirmed' AND rs.session_id = ANY(string_to_array($1, ',')::uuid[])
                GROUP BY 1, 2 HAVING count(*) > 1
               UNION ALL
               SELECT session_id, label FROM sale_seats
                WHERE session_id = ANY(string_to_array($1, ',')::uuid[])
                GROUP BY 1, 2 HAVING count(*) > 1) doubles",
            [sessions.join(",").into()],
        )
        .await
    }

    /// Sales recorded for these sessions.
    pub async fn sales(&self, sessions: &[String]) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM sales WHERE session_id = ANY(string_to_array($1, ',')::uuid[])",
            [sessions.join(",").into()],
        )
        .await
    }

    /// Reservations recorded for one session.
    pub async fn reservations(&self, session: &str) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM reservations WHERE session_id = $1::uuid",
            [session.to_owned().into()],
        )
        .await
    }

    async fn count(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = sea_orm::Value>,
    ) -> anyhow::Result<i64> {
        let row = self
            .0
            .query_one_raw(cinema::store::sql(sql, values))
            .await
            .with_context(|| format!("querying {sql}"))?
            .context("a count without a row")?;
        row.try_get::<i64>("", "n").context("reading a count")
    }

    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}

async fn connect(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://...@{host}"),
        _ => url.to_owned(),
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("://") && !s.ends_with('/'))
        .map_or(base, |(s, _)| s);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// How the baseline runs: the same clients and seat supply as the service
/// run it is compared with.
pub struct BaselinePlan {
    pub clients: u32,
    pub sessions: u32,
    pub rows: u32,
    pub seats_per_row: u32,
    pub hold: Duration,
}

/// The per-reservation SQL of ReserveSeats ([`hold_in`], the very function
/// the server runs), driven straight at PostgreSQL by `clients` tasks with
/// a connection each, on distinct seats. It runs in a database of its own
/// (created and migrated by [`Baseline::prepare`], dropped by
/// [`Baseline::drop_database`]) on the same PostgreSQL, so its rows never
/// reach the server's relay.
pub struct Baseline {
    admin: DatabaseConnection,
    name: String,
    db: DatabaseConnection,
    seats: Arc<SeatSupply<Uuid>>,
    clients: u32,
    hold: Duration,
}

impl Baseline {
    pub async fn prepare(server_url: &str, plan: &BaselinePlan) -> anyhow::Result<Self> {
        let name = format!(
            "cinema_bench_baseline_{}",
            &Uuid::new_v4().simple().to_string()[..12]
        );
        let admin = connect(server_url, 1).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .context("creating the baseline database")?;
        let db = match Self::set_up(&with_database(server_url, &name), plan).await {
            Ok(db) => db,
            Err(err) => {
                drop_database(&admin, &name).await;
                return Err(err);
            }
        };
        let seats = match publish_sessions(&db, plan).await {
            Ok(sessions) => SeatSupply::new(sessions, plan.rows, plan.seats_per_row)?,
            Err(err) => {
                let _ = db.close().await;
                drop_database(&admin, &name).await;
                return Err(err);
            }
        };
        Ok(Self {
            admin,
            name,
            db,
            seats: Arc::new(seats),
            clients: plan.clients,
            hold: plan.hold,
        })
    }

    async fn set_up(url: &str, plan: &BaselinePlan) -> anyhow::Result<DatabaseConnection> {
        let db = connect(url, plan.clients).await?;
        migration::migrate(&db)
            .await
            .context("migrating the baseline database")?;
        Ok(db)
    }

    /// Drives the SQL for `duration`; returns the calls and the seconds taken.
    pub async fn run(&self, duration: Duration) -> anyhow::Result<(Calls, f64)> {
        let progress = Arc::new(Progress::default());
        let ticker = progress.tick("baseline");
        let started = Instant::now();
        let deadline = started + duration;
        let mut clients = JoinSet::new();
        for client in 0..self.clients {
            let (db, seats, progress) = (
                self.db.clone(),
                Arc::clone(&self.seats),
                Arc::clone(&progress),
            );
            let hold = self.hold;
            clients.spawn(async move {
                let user = format!("bench-baseline-{client}");
                let mut calls = Calls::default();
                while Instant::now() < deadline {
                    let Some((session_id, label)) = seats.next() else {
                        break;
                    };
                    let call = Instant::now();
                    let code = match hold_once(&db, session_id, &user, &label, hold).await {
                        Ok(()) => tonic::Code::Ok,
                        Err(err) => tonic::Status::from(err).code(),
                    };
                    calls.record(call, code);
                    progress.call(code == tonic::Code::Ok);
                }
                calls
            });
        }
        let mut calls = Calls::default();
        while let Some(client) = clients.join_next().await {
            calls.merge(client.context("a baseline client failed")?);
        }
        let seconds = started.elapsed().as_secs_f64();
        progress.stop();
        ticker.abort();
        Ok((calls, seconds))
    }

    /// Whether every seat of the baseline's sessions was used.
    pub fn exhausted(&self) -> bool {
        self.seats.exhausted()
    }

    pub async fn drop_database(self) {
        let _ = self.db.close().await;
        drop_database(&self.admin, &self.name).await;
        let _ = self.admin.close().await;
    }
}

async fn drop_database(admin: &DatabaseConnection, name: &str) {
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    if let Err(err) = dropped {
        eprintln!("could not drop the baseline database {name}: {err}");
    }
}

/// One hold of one seat: BEGIN, the statements of ReserveSeats, COMMIT.
async fn hold_once(
    db: &DatabaseConnection,
    session_id: Uuid,
    user: &str,
    label: &SeatLabel,
    hold: Duration,
) -> Result<(), Error> {
    let txn = db.begin().await?;
    let labels = [*label];
    let new = NewHold {
        reservation_id: Uuid::now_v7(),
        session_id,
        user_id: user,
        labels: &labels,
        hold,
        price_cents: 2500,
        currency: "BRL",
    };
    match hold_in(&txn, &new).await {
        Ok(_) => Ok(txn.commit().await?),
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

async fn publish_sessions(
    db: &DatabaseConnection,
    plan: &BaselinePlan,
) -> anyhow::Result<Vec<Uuid>> {
    let mut sessions = Vec::new();
    for _ in 0..plan.sessions {
        let new = NewSession {
            movie_title: "cinema-bench baseline".into(),
            room: "bench".into(),
            starts_at: Some(chrono::Utc::now() + chrono::Duration::days(1)),
            price_cents: 2500,
            currency: "BRL".into(),
            rows: plan.rows,
            seats_per_row: plan.seats_per_row,
        };
        let session = catalog::create_session(db, new)
            .await
            .map_err(|err| anyhow::anyhow!("publishing a baseline session: {err}"))?;
        sessions.push(session.session_id);
    }
    Ok(sessions)
}

/// Hands out every seat of the sessions once, spread over the sessions.
pub struct SeatSupply<S> {
    sessions: Vec<S>,
    labels: Vec<SeatLabel>,
    next: AtomicUsize,
}

impl<S: Clone> SeatSupply<S> {
    pub fn new(sessions: Vec<S>, rows: u32, seats_per_row: u32) -> anyhow::Result<Self> {
        let labels = room_labels(rows, seats_per_row)
            .iter()
            .map(|label| {
                label
                    .parse()
                    .map_err(|_| anyhow::anyhow!("bad label {label}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            sessions,
            labels,
            next: AtomicUsize::new(0),
        })
    }

    /// The next unused seat, or None once every seat was handed out.
    pub fn next(&self) -> Option<(S, SeatLabel)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.sessions.len();
        if count == 0 {
            return None;
        }
        let session = self.sessions[n % count].clone();
        let label = *self.labels.get(n / count)?;
        Some((session, label))
    }

    /// Seats handed out (capped at the supply).
    pub fn used(&self) -> usize {
        self.next
            .load(Ordering::Relaxed)
            .min(self.sessions.len() * self.labels.len())
    }

    pub fn exhausted(&self) -> bool {
        self.used() == self.sessions.len() * self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/app?sslmode=disable", "other"),
            "postgres://u@h:5432/other?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h/app", "x"), "postgres://u@h/x");
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://u:secret@h/app"), "postgres://...@h/app");
    }

    #[test]
    fn every_seat_is_handed_out_once_across_sessions() {
        let supply = SeatSupply::new(vec!["s1", "s2"], 2, 8).expect("a supply");
        let mut seen = std::collections::HashSet::new();
        while let Some((session, label)) = supply.next() {
            assert!(seen.insert((session, label.to_string())));
        }
        assert_eq!(seen.len(), 32);
        assert!(supply.exhausted());
    }
}
