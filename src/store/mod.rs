//! PostgreSQL, the only source of truth: the pool, the SeaORM entities of
//! every table and view ([`entities`]), and the queries, one module per kind
//! of row. Nothing outside this module writes SQL or names SeaORM.
//!
//! "A seat is sold at most once" lives in [`seats`] (every change re-checks
//! the state it expects, locking rows in one global order) and in the schema
//! (`migrations/src/sql/0001_schema.up.sql`), whose keys refuse a double sale
//! even if the code were wrong. Reads go through views that ask the database
//! clock, so a hold counts only until it ends.
//!
//! Queries use the entity API; raw SQL is kept for what the builder cannot
//! say (the hold in one statement, ordered `FOR UPDATE` inside an `UPDATE`,
//! accumulating upserts), each with a comment saying why.

pub mod audit;
pub mod blocks;
pub mod checks;
pub(crate) mod entities;
pub mod figures;
pub mod idempotency;
pub mod movies;
pub mod outbox;
pub mod reservations;
pub mod rooms;
pub mod sales;
pub mod seats;
pub mod sessions;
pub mod tickets;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DbBackend, DbErr, RuntimeErr, Statement,
    TransactionTrait, Value, sqlx,
};
pub use sea_orm::{DatabaseConnection as Db, DatabaseTransaction as Tx};

use crate::domain::{Error, Result};

/// How long starting commands wait for PostgreSQL to come up before migrating.
pub const MIGRATION_WAIT: Duration = Duration::from_secs(60);

/// How long a call waits for a pooled connection before answering
/// UNAVAILABLE. A pooled connection is pinged before use, so a PostgreSQL
/// that stopped answering (hung, not dead) is noticed within this too.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Bounds PostgreSQL itself enforces on every session of the pool: no
/// statement runs, and no lock is waited for, longer than this; a session
/// left idle inside a transaction (a stuck caller) is ended. Every statement
/// here takes milliseconds; migrations lift the first two for themselves.
const SESSION_LIMITS: [(&str, &str); 3] = [
    ("statement_timeout", "5s"),
    ("lock_timeout", "3s"),
    ("idle_in_transaction_session_timeout", "30s"),
];

/// How long health waits for PostgreSQL to answer `SELECT 1`.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Opens the pool. It connects lazily, so a server can start while
/// PostgreSQL is still coming up; health reports NOT_SERVING until it answers.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy(true)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|options| options.options(SESSION_LIMITS));
    Ok(Database::connect(options).await?)
}

/// Begins a transaction. Dropping it without commit rolls it back.
pub async fn begin(db: &Db) -> Result<Tx> {
    Ok(db.begin().await?)
}

/// Whether PostgreSQL answers right now, within a second.
pub async fn ping(db: &Db) -> bool {
    let answered = tokio::time::timeout(PING_TIMEOUT, db.execute_unprepared("SELECT 1")).await;
    answered.is_ok_and(|result| result.is_ok())
}

/// Applies pending migrations, waiting up to `wait` for PostgreSQL to come up.
/// Several instances may do this at once: the migrations run once. A refused
/// TLS handshake is not waited out: no server coming up fixes a certificate.
pub async fn migrate(db: &Db, wait: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match migration::migrate(db).await {
            Ok(()) => return Ok(()),
            Err(err)
                if is_connection_error(&err)
                    && !is_tls_error(&err)
                    && tokio::time::Instant::now() < deadline =>
            {
                tracing::warn!(error = %err, "PostgreSQL is not answering yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// (busy, open) connections of the pool.
pub fn pool_usage(db: &Db) -> (u32, u32) {
    let pool = db.get_postgres_connection_pool();
    let open = pool.size();
    (open.saturating_sub(pool.num_idle() as u32), open)
}

/// Database errors are either an outage (UNAVAILABLE, the client may retry
/// elsewhere or later) or a bug (INTERNAL); both keep their detail for the log.
impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if is_connection_error(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Internal(err.to_string())
        }
    }
}

/// A PostgreSQL statement with `$1`, `$2`... bound to `values`, for the few
/// queries the entity API cannot say.
fn sql(text: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, text, values)
}

/// The SQLSTATE of a statement PostgreSQL refused, such as `23P01` for an
/// exclusion constraint.
fn sql_state(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `err` means PostgreSQL cannot be reached (as opposed to a bug).
fn is_connection_error(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            is_sqlx_connection_error(e)
        }
        _ => false,
    }
}

/// Whether the TLS handshake with PostgreSQL failed (under `sslmode=verify-full`:
/// a certificate of another CA or for another host, or no TLS at all).
fn is_tls_error(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Tls(_) => true,
            // A refused handshake comes as an I/O error carrying rustls's.
            sqlx::Error::Io(io) => io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
            _ => false,
        },
        _ => false,
    }
}

fn is_sqlx_connection_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // Class 08: connection exception; 57P0x: the server is shutting down
        // or starting; 57014: a statement ran past its timeout; 55P03: a lock
        // was waited for past its timeout. Each is the database too slow or
        // away now, for the client to retry.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "57014" || code == "55P03"
        }),
        _ => false,
    }
}
