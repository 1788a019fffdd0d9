//! Checks and counters read straight from the database by `cinema-bench`:
//! whether any seat was sold twice, what was sold and reserved, and how many
//! transactions the server ran. Also the scratch databases the bench's
//! baseline runs in.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::{
    Db,
    entities::{reservations, sales},
    sql,
};
use crate::domain::{Error, Result};

/// Transactions committed and rolled back in this database so far.
/// PostgreSQL publishes a backend's counts when it goes idle, at most a
/// second apart, or 10 s later: read this 11 s after a burst.
pub async fn transactions(db: &Db) -> Result<i64> {
    count(
        db,
        "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database
          WHERE datname = current_database()",
        [],
    )
    .await
}

/// Seats of these sessions that two confirmed reservations, or two sales,
/// name: must be 0.
pub async fn seats_sold_twice(db: &Db, sessions: &[Uuid]) -> Result<i64> {
    count(
        db,
        "SELECT count(*)::bigint AS n FROM (
           SELECT rs.session_id, rs.label FROM reservation_seats rs
             JOIN reservations r ON r.reservation_id = rs.reservation_id
            WHERE r.status = 'confirmed' AND rs.session_id = ANY($1)
            GROUP BY 1, 2 HAVING count(*) > 1
           UNION ALL
           SELECT session_id, label FROM sale_seats
            WHERE session_id = ANY($1)
            GROUP BY 1, 2 HAVING count(*) > 1) doubles",
        [sessions.to_vec().into()],
    )
    .await
}

/// Sales recorded for these sessions.
pub async fn sales(db: &Db, sessions: &[Uuid]) -> Result<u64> {
    Ok(sales::Entity::find()
        .filter(sales::Column::SessionId.is_in(sessions.iter().copied()))
        .count(db)
        .await?)
}

/// Reservations recorded for one session.
pub async fn reservations(db: &Db, session_id: Uuid) -> Result<u64> {
    Ok(reservations::Entity::find()
        .filter(reservations::Column::SessionId.eq(session_id))
        .count(db)
        .await?)
}

/// Creates an empty database `name` (letters, digits and `_` only).
pub async fn create_database(admin: &Db, name: &str) -> Result<()> {
    admin
        .execute_unprepared(&format!("CREATE DATABASE {}", identifier(name)?))
        .await?;
    Ok(())
}

/// Drops database `name`, closing its connections first.
pub async fn drop_database(admin: &Db, name: &str) -> Result<()> {
    admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            identifier(name)?
        ))
        .await?;
    Ok(())
}

/// A name that can stand in SQL as it is.
fn identifier(name: &str) -> Result<&str> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    plain
        .then_some(name)
        .ok_or_else(|| Error::Internal(format!("{name:?} is not a plain database name")))
}

async fn count(
    db: &Db,
    text: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<i64> {
    let row = db
        .query_one_raw(sql(text, values))
        .await?
        .ok_or_else(|| Error::Internal("a count returned no row".into()))?;
    Ok(row.try_get::<i64>("", "n")?)
}
