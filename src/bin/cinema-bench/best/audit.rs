//! What the server's database says after a best-available run: each
//! reservation's seats side by side in one row, no seat held or sold
//! twice, seats left stranded, and blocks left free. Raw SQL, because
//! these checks read the tables as they are, apart from the server's code.

use anyhow::Context;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde::Serialize;
use uuid::Uuid;

use crate::database::ServerDatabase;

/// A seat counts as free as the server reads it: AVAILABLE, or held past
/// its end.
const FREE: &str = "(status = 'available' OR (status = 'held' AND held_until <= now()))";

/// The state of some sessions' seats and reservations.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub reservations: i64,
    /// Reservations not made of `quantity` seats side by side in one row.
    pub reservations_not_adjacent: i64,
    /// Seats that two live (pending or paid) reservations name.
    pub seats_held_twice: i64,
    /// Seats a live reservation names that the seat row gives to another.
    pub seats_not_held_by_their_reservation: i64,
    pub seats_sold_twice: i64,
    pub free_seats: i64,
    /// Free seats with both row neighbours taken (row ends never count).
    pub stranded_seats: i64,
    /// Blocks of `quantity` free seats side by side still left.
    pub blocks_left: i64,
}

impl Audit {
    pub async fn read(
        database: &ServerDatabase,
        sessions: &[String],
        quantity: u32,
    ) -> anyhow::Result<Self> {
        let ids: Vec<Uuid> = sessions
            .iter()
            .map(|id| Uuid::try_parse(id).with_context(|| format!("{id:?} is not a session id")))
            .collect::<anyhow::Result<_>>()?;
        let query = |text: String, with_quantity: bool| {
            let mut values: Vec<Value> = vec![ids.clone().into()];
            if with_quantity {
                values.push(i64::from(quantity).into());
            }
            count(database, text, values)
        };
        Ok(Self {
            reservations: query(RESERVATIONS.into(), false).await?,
            reservations_not_adjacent: query(NOT_ADJACENT.into(), true).await?,
            seats_held_twice: query(HELD_TWICE.into(), false).await?,
            seats_not_held_by_their_reservation: query(NOT_THEIRS.into(), false).await?,
            seats_sold_twice: database.seats_sold_twice(sessions).await?,
            free_seats: query(free_seats(), false).await?,
            stranded_seats: query(stranded(), false).await?,
            blocks_left: query(blocks_left(), true).await?,
        })
    }
}

const RESERVATIONS: &str =
    "SELECT count(*)::bigint AS n FROM reservations WHERE session_id = ANY($1)";

const NOT_ADJACENT: &str = "SELECT count(*)::bigint AS n FROM (
       SELECT rs.reservation_id FROM reservation_seats rs
         JOIN seats s ON s.session_id = rs.session_id AND s.label = rs.label
        WHERE rs.session_id = ANY($1)
        GROUP BY rs.reservation_id
       HAVING count(DISTINCT s.row_letter) <> 1 OR count(*) <> $2
           OR max(s.seat_number) - min(s.seat_number) <> count(*) - 1) bad";

/// Live: pending and not yet ended, or paid.
const HELD_TWICE: &str = "SELECT count(*)::bigint AS n FROM (
       SELECT rs.session_id, rs.label FROM reservation_seats rs
         JOIN reservations r ON r.reservation_id = rs.reservation_id
        WHERE rs.session_id = ANY($1)
          AND (r.status = 'confirmed' OR (r.status = 'pending' AND r.expires_at > now()))
        GROUP BY 1, 2 HAVING count(*) > 1) doubles";

const NOT_THEIRS: &str = "SELECT count(*)::bigint AS n FROM reservation_seats rs
       JOIN reservations r ON r.reservation_id = rs.reservation_id
       JOIN seats s ON s.session_id = rs.session_id AND s.label = rs.label
      WHERE rs.session_id = ANY($1)
        AND (r.status = 'confirmed' OR (r.status = 'pending' AND r.expires_at > now()))
        AND s.reservation_id IS DISTINCT FROM rs.reservation_id";

fn free_seats() -> String {
    format!("SELECT count(*)::bigint AS n FROM seats WHERE session_id = ANY($1) AND {FREE}")
}

/// A rectangle's rows have no gaps, so a seat's neighbours are the numbers
/// either side of it.
fn stranded() -> String {
    format!(
        "WITH s AS (SELECT session_id, row_letter, seat_number, {FREE} AS free
                      FROM seats WHERE session_id = ANY($1))
         SELECT count(*)::bigint AS n FROM s
           JOIN s l ON l.session_id = s.session_id AND l.row_letter = s.row_letter
                   AND l.seat_number = s.seat_number - 1
           JOIN s r ON r.session_id = s.session_id AND r.row_letter = s.row_letter
                   AND r.seat_number = s.seat_number + 1
          WHERE s.free AND NOT l.free AND NOT r.free"
    )
}

/// Runs of free seats side by side (gaps and islands: number minus rank is
/// constant along a run); a run of n seats holds n - quantity + 1 blocks.
fn blocks_left() -> String {
    format!(
        "WITH free AS (
             SELECT session_id, row_letter, seat_number - row_number()
                    OVER (PARTITION BY session_id, row_letter ORDER BY seat_number) AS island
               FROM seats WHERE session_id = ANY($1) AND {FREE}
         ), runs AS (
             SELECT count(*) AS seats FROM free GROUP BY session_id, row_letter, island
         )
         SELECT COALESCE(sum(greatest(seats - $2 + 1, 0)), 0)::bigint AS n FROM runs"
    )
}

async fn count(database: &ServerDatabase, text: String, values: Vec<Value>) -> anyhow::Result<i64> {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, text, values);
    let row = database
        .db()
        .query_one_raw(statement)
        .await
        .context("an audit query")?
        .context("a count returned no row")?;
    row.try_get::<i64>("", "n").context("reading a count")
}
