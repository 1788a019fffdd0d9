//! The bare-database baseline: the SQL of ReserveSeats driven straight at
//! PostgreSQL, in a database of its own, at the service's concurrency.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use cinema::{
    booking::{Gaps, Hold, hold_in},
    catalog,
    domain::{
        Caller, Error, NewSession, ReservedSeat, SeatKind, SeatLabel, SessionTerms, TicketType,
    },
    store::{self, Db, checks, seats::NewHold},
};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    database::{connect, with_database},
    progress::Progress,
    seat_supply::SeatSupply,
    stats::Calls,
};

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
    admin: Db,
    name: String,
    db: Db,
    seats: Arc<SeatSupply<Uuid>>,
    /// What a hold needs of each session, read once, as the server caches it.
    terms: Arc<HashMap<Uuid, SessionTerms>>,
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
        checks::create_database(&admin, &name)
            .await
            .context("creating the baseline database")?;
        let db = match Self::set_up(&with_database(server_url, &name), plan).await {
            Ok(db) => db,
            Err(err) => {
                drop_database(&admin, &name).await;
                return Err(err);
            }
        };
        let (seats, terms) = match publish_sessions(&db, plan).await {
            Ok(sessions) => (
                SeatSupply::new(sessions.clone(), plan.rows, plan.seats_per_row)?,
                read_terms(&db, &sessions).await?,
            ),
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
            terms: Arc::new(terms),
            clients: plan.clients,
            hold: plan.hold,
        })
    }

    async fn set_up(url: &str, plan: &BaselinePlan) -> anyhow::Result<Db> {
        let db = connect(url, plan.clients).await?;
        store::migrate(&db, Duration::ZERO)
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
            clients.spawn(client_loop(
                self.db.clone(),
                Arc::clone(&self.seats),
                Arc::clone(&self.terms),
                Arc::clone(&progress),
                format!("bench-baseline-{client}"),
                self.hold,
                deadline,
            ));
        }
        let mut calls = Calls::default();
        while let Some(client) = clients.join_next().await {
            calls.merge(client.context("a baseline client failed")?);
        }
        let seconds = started.elapsed().as_secs_f64();
        progress.stop(ticker);
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

async fn drop_database(admin: &Db, name: &str) {
    if let Err(err) = checks::drop_database(admin, name).await {
        eprintln!("could not drop the baseline database {name}: {err}");
    }
}

/// One baseline client: holds one distinct seat after another, as `user`,
/// until `deadline` or the seats run out.
async fn client_loop(
    db: Db,
    seats: Arc<SeatSupply<Uuid>>,
    terms: Arc<HashMap<Uuid, SessionTerms>>,
    progress: Arc<Progress>,
    user: String,
    hold: Duration,
    deadline: Instant,
) -> Calls {
    let mut calls = Calls::default();
    while Instant::now() < deadline {
        let Some((session_id, label)) = seats.next() else {
            break;
        };
        let call = Instant::now();
        let code = match hold_once(&db, &terms[&session_id], session_id, &user, &label, hold).await
        {
            Ok(()) => tonic::Code::Ok,
            Err(err) => tonic::Status::from(err).code(),
        };
        calls.record(call, code);
        progress.call(code == tonic::Code::Ok);
    }
    calls
}

/// One hold of one seat: BEGIN, the statements of ReserveSeats, COMMIT.
async fn hold_once(
    db: &Db,
    terms: &SessionTerms,
    session_id: Uuid,
    user: &str,
    label: &SeatLabel,
    hold: Duration,
) -> Result<(), Error> {
    let txn = store::begin(db).await?;
    let seats = [ReservedSeat {
        label: label.to_string(),
        kind: SeatKind::Standard,
        ticket_type: TicketType::Full,
        price_cents: 2500,
    }];
    let new = NewHold {
        reservation_id: Uuid::now_v7(),
        session_id,
        user_id: user,
        seats: &seats,
        hold,
        currency: "BRL",
        extensions: 0,
    };
    match hold_in(&txn, &new, terms, Gaps::Refuse).await {
        Ok(Hold::Made(_)) => Ok(txn.commit().await?),
        // The baseline's seats are never held before: this would be a bug.
        Ok(Hold::Lapsed(_)) => {
            txn.rollback().await?;
            Err(Error::Contended)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

async fn read_terms(db: &Db, sessions: &[Uuid]) -> anyhow::Result<HashMap<Uuid, SessionTerms>> {
    let mut terms = HashMap::new();
    for &session_id in sessions {
        let found = store::sessions::terms(db, session_id)
            .await
            .map_err(|err| anyhow::anyhow!("reading a baseline session's terms: {err}"))?
            .context("a baseline session vanished")?;
        terms.insert(session_id, found);
    }
    Ok(terms)
}

async fn publish_sessions(db: &Db, plan: &BaselinePlan) -> anyhow::Result<Vec<Uuid>> {
    let mut sessions = Vec::new();
    let bench = Caller::operator("cinema-bench");
    for _ in 0..plan.sessions {
        let new = NewSession {
            movie_title: "cinema-bench baseline".into(),
            room: "bench".into(),
            starts_at: Some(chrono::Utc::now() + chrono::Duration::days(1)),
            price_cents: 2500,
            currency: "BRL".into(),
            rows: plan.rows,
            seats_per_row: plan.seats_per_row,
            room_id: None,
            prices: Vec::new(),
            // Seats are handed out in any order, as in the service's sessions.
            allow_single_seat_gaps: true,
            movie_id: None,
        };
        // Without a movie a session takes no time in a room: no turnaround.
        let session = catalog::create_session(db, &bench, new, std::time::Duration::ZERO)
            .await
            .map_err(|err| anyhow::anyhow!("publishing a baseline session: {err}"))?;
        sessions.push(session.session_id);
    }
    Ok(sessions)
}
