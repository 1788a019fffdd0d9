//! Sessions: publishing one with all its seats, reading and listing them,
//! the terms a hold needs, and the sales figures kept for each.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Db,
    entities::{seats, session_sales, session_states, sessions},
};
use crate::domain::{
    Result, Session, SessionSales, SessionTerms,
    labels::seat_labels,
    session::{NewSession, SessionCursor},
};

/// Publishes a validated session and all its seats, in one transaction.
pub async fn insert(
    db: &Db,
    session_id: Uuid,
    new: NewSession,
    starts_at: DateTime<Utc>,
) -> Result<()> {
    let seats = seat_labels(new.rows, new.seats_per_row).map(|label| seats::ActiveModel {
        session_id: Set(session_id),
        label: Set(label.to_string()),
        row_letter: Set(label.row().to_string()),
        seat_number: Set(label.number() as i32),
        ..Default::default()
    });
    let session = sessions::ActiveModel {
        session_id: Set(session_id),
        movie_title: Set(new.movie_title),
        room: Set(new.room),
        starts_at: Set(starts_at),
        price_cents: Set(new.price_cents),
        currency: Set(new.currency),
        seat_rows: Set(new.rows as i32),
        seats_per_row: Set(new.seats_per_row as i32),
        create_time: Set(Utc::now()),
    };
    let txn = db.begin().await?;
    sessions::Entity::insert(session).exec(&txn).await?;
    seats::Entity::insert_many(seats).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// One session with its available seats now.
pub async fn get(db: &Db, session_id: Uuid) -> Result<Option<Session>> {
    let found = session_states::Entity::find_by_id(session_id)
        .one(db)
        .await?;
    Ok(found.map(Session::from))
}

/// Up to `limit` sessions after `cursor`, by start time then id.
pub async fn list(db: &Db, cursor: Option<SessionCursor>, limit: u64) -> Result<Vec<Session>> {
    use session_states::Column;
    let mut query = session_states::Entity::find()
        .order_by_asc(Column::StartsAt)
        .order_by_asc(Column::SessionId)
        .limit(limit);
    if let Some((after_time, after_id)) = cursor {
        query = query.filter(
            Expr::tuple([Expr::col(Column::StartsAt), Expr::col(Column::SessionId)])
                .gt(Expr::tuple([Expr::val(after_time), Expr::val(after_id)])),
        );
    }
    let rows = query.all(db).await?;
    Ok(rows.into_iter().map(Session::from).collect())
}

/// The session published with this title at this time, if any.
pub async fn find_by_title(
    db: &Db,
    movie_title: &str,
    starts_at: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    let found = sessions::Entity::find()
        .filter(sessions::Column::MovieTitle.eq(movie_title))
        .filter(sessions::Column::StartsAt.eq(starts_at))
        .one(db)
        .await?;
    Ok(found.map(|session| session.session_id))
}

/// The price and room size of a session.
pub async fn terms(db: &Db, session_id: Uuid) -> Result<Option<SessionTerms>> {
    let found = sessions::Entity::find_by_id(session_id).one(db).await?;
    Ok(found.map(|s| SessionTerms {
        price_cents: s.price_cents,
        currency: s.currency,
        rows: s.seat_rows.unsigned_abs(),
        seats_per_row: s.seats_per_row.unsigned_abs(),
    }))
}

/// The sales figures of a session. A session whose first event has not
/// been counted yet has no `session_sales` row: its figures are zero.
pub async fn sales(db: &Db, session_id: Uuid) -> Result<Option<SessionSales>> {
    let Some(session) = sessions::Entity::find_by_id(session_id).one(db).await? else {
        return Ok(None);
    };
    let figures = session_sales::Entity::find_by_id(session_id)
        .one(db)
        .await?;
    Ok(Some(SessionSales {
        session_id,
        currency: session.currency,
        tickets_sold: figures.as_ref().map_or(0, |f| f.tickets_sold),
        revenue_cents: figures.as_ref().map_or(0, |f| f.revenue_cents),
        holds_expired: figures.as_ref().map_or(0, |f| f.holds_expired),
        update_time: figures.map_or(session.create_time, |f| f.update_time),
    }))
}

impl From<session_states::Model> for Session {
    fn from(s: session_states::Model) -> Self {
        Self {
            session_id: s.session_id,
            movie_title: s.movie_title,
            room: s.room,
            starts_at: s.starts_at,
            price_cents: s.price_cents,
            currency: s.currency,
            rows: s.seat_rows.unsigned_abs(),
            seats_per_row: s.seats_per_row.unsigned_abs(),
            create_time: s.create_time,
            available_seats: u32::try_from(s.available_seats).unwrap_or(0),
        }
    }
}
