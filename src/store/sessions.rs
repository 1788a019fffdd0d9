//! Sessions: publishing one with all its seats and prices, reading and
//! listing them, the terms a hold needs, and the sales figures kept for each.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Db, Tx,
    entities::{
        self, SeatKind, seats, session_prices, session_sales, session_sales_by_kind,
        session_states, sessions,
    },
    sql_state,
};
use crate::domain::{
    self, AuditEntry, Error, PriceList, Result, Rule, SeatLabel, Session, SessionFilter,
    SessionSales, SessionState, SessionTerms, ValidSession, figures::KindSales, layout::place,
    session::SessionCursor, terms::SeatTerms,
};

/// How often a session is inserted again when the room's schedule changed
/// under it.
const ATTEMPTS: usize = 3;

/// Publishes a validated session with all its seats and prices, and its
/// `audit` entry, in one transaction. A session of a movie that overlaps
/// another scheduled one in its room is refused (ROOM_BUSY, naming that one): the schema's exclusion
/// constraint decides, exactly, whichever instance inserts.
pub async fn insert(
    db: &Db,
    session_id: Uuid,
    new: &ValidSession,
    audit: &AuditEntry,
) -> Result<()> {
    for _ in 0..ATTEMPTS {
        let Err(err) = insert_rows(db, session_id, new, audit).await else {
            return Ok(());
        };
        match (sql_state(&err).as_deref(), new.room_id, new.ends_at) {
            (Some(EXCLUSION_VIOLATION), Some(room_id), Some(ends_at)) => {
                if let Some(other) = clash(db, room_id, new.starts_at, ends_at).await? {
                    return Err(Error::refused(Rule::RoomBusy, other));
                }
                // The other session was cancelled meanwhile: try again.
            }
            // Inserts checking one exclusion constraint at once may deadlock;
            // PostgreSQL aborts one of them, which tries again.
            (Some(DEADLOCK_DETECTED), ..) => {}
            _ => return Err(err.into()),
        }
    }
    Err(Error::Contended)
}

const EXCLUSION_VIOLATION: &str = "23P01";
const DEADLOCK_DETECTED: &str = "40P01";

/// The scheduled session of `room_id` that overlaps [starts_at, ends_at).
async fn clash(
    db: &Db,
    room_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    use sessions::Column;
    let found = sessions::Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .filter(Column::State.eq(entities::SessionState::Scheduled))
        .filter(Column::StartsAt.lt(ends_at))
        .filter(Column::EndsAt.gt(starts_at))
        .order_by_asc(Column::StartsAt)
        .one(db)
        .await?;
    Ok(found.map(|session| session.session_id))
}

/// One attempt of [`insert`]. The audit entry is recorded in the same
/// transaction, so a refused attempt leaves none.
async fn insert_rows(
    db: &Db,
    session_id: Uuid,
    new: &ValidSession,
    audit: &AuditEntry,
) -> Result<(), sea_orm::DbErr> {
    let seats = place(&new.layout)
        .into_iter()
        .map(|seat| seats::ActiveModel {
            session_id: Set(session_id),
            label: Set(seat.label.to_string()),
            row_letter: Set(seat.label.row().to_string()),
            seat_number: Set(seat.label.number() as i32),
            kind: Set(seat.kind.into()),
            x: Set(seat.x as i32),
            y: Set(seat.y as i32),
            pair_label: Set(seat.pair.map(|pair| pair.to_string())),
            ..Default::default()
        });
    let prices = new
        .prices
        .iter()
        .map(|(kind, price_cents)| session_prices::ActiveModel {
            session_id: Set(session_id),
            kind: Set(kind.into()),
            price_cents: Set(price_cents),
        });
    let session = sessions::ActiveModel {
        session_id: Set(session_id),
        movie_title: Set(new.movie_title.clone()),
        room: Set(new.room.clone()),
        starts_at: Set(new.starts_at),
        price_cents: Set(new.prices.headline()),
        currency: Set(new.currency.clone()),
        seat_rows: Set(new.layout.len() as i32),
        seats_per_row: Set(new.seats_per_row as i32),
        create_time: Set(Utc::now()),
        room_id: Set(new.room_id),
        allow_single_seat_gaps: Set(new.allow_single_seat_gaps),
        movie_id: Set(new.movie_id),
        ends_at: Set(new.ends_at),
        state: Set(entities::SessionState::Scheduled),
        cancel_reason: Set(None),
        cancel_time: Set(None),
    };
    let txn = db.begin().await?;
    sessions::Entity::insert(session)
        .exec_without_returning(&txn)
        .await?;
    session_prices::Entity::insert_many(prices)
        .exec_without_returning(&txn)
        .await?;
    seats::Entity::insert_many(seats)
        .exec_without_returning(&txn)
        .await?;
    super::audit::insert(&txn, audit).await?;
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

/// Up to `limit` sessions that pass `filter` after `cursor`, by start time
/// then id.
pub async fn list(
    db: &Db,
    filter: &SessionFilter,
    cursor: Option<SessionCursor>,
    limit: u64,
) -> Result<Vec<Session>> {
    use session_states::Column;
    let mut query = session_states::Entity::find()
        .order_by_asc(Column::StartsAt)
        .order_by_asc(Column::SessionId)
        .limit(limit);
    if let Some(movie_id) = filter.movie_id {
        query = query.filter(Column::MovieId.eq(movie_id));
    }
    if let Some(room_id) = filter.room_id {
        query = query.filter(Column::RoomId.eq(room_id));
    }
    if let Some(after) = filter.starts_after {
        query = query.filter(Column::StartsAt.gte(after));
    }
    if let Some(before) = filter.starts_before {
        query = query.filter(Column::StartsAt.lt(before));
    }
    if filter.only_with_seats {
        query = query.filter(Column::AvailableSeats.gt(0));
    }
    if let Some((after_time, after_id)) = cursor {
        query = query.filter(
            Expr::tuple([Expr::col(Column::StartsAt), Expr::col(Column::SessionId)])
                .gt(Expr::tuple([Expr::val(after_time), Expr::val(after_id)])),
        );
    }
    let rows = query.all(db).await?;
    Ok(rows.into_iter().map(Session::from).collect())
}

/// Whether a session is on; `None` if there is no such session.
pub async fn state(
    db: &impl sea_orm::ConnectionTrait,
    session_id: Uuid,
) -> Result<Option<SessionState>> {
    let found = sessions::Entity::find_by_id(session_id)
        .select_only()
        .column(sessions::Column::State)
        .into_tuple::<entities::SessionState>()
        .one(db)
        .await?;
    Ok(found.map(Into::into))
}

/// A session locked against every other change of it, with whether it has
/// started by the database clock.
pub struct LockedSession {
    pub state: SessionState,
    pub started: bool,
}

/// Locks a session's row against another cancellation and against an
/// unblock (`FOR NO KEY UPDATE`: the rows that name the session, such as a
/// new reservation, can still be written, so holds in flight never wait on
/// it while holding their seats).
pub async fn lock(tx: &Tx, session_id: Uuid) -> Result<Option<LockedSession>> {
    #[derive(FromQueryResult)]
    struct Row {
        state: entities::SessionState,
        started: bool,
    }
    let found = Row::find_by_statement(super::sql(
        "SELECT state, starts_at <= now() AS started FROM sessions WHERE session_id = $1 FOR NO KEY UPDATE",
        [session_id.into()],
    ))
    .one(tx)
    .await?;
    Ok(found.map(|row| LockedSession {
        state: row.state.into(),
        started: row.started,
    }))
}

/// Marks a locked, scheduled session cancelled.
pub async fn cancel(tx: &Tx, session_id: Uuid, reason: &str) -> Result<()> {
    use sessions::Column;
    sessions::Entity::update_many()
        .col_expr(
            Column::State,
            Expr::value(entities::SessionState::Cancelled),
        )
        .col_expr(Column::CancelReason, Expr::value(reason))
        .col_expr(Column::CancelTime, Expr::current_timestamp())
        .filter(Column::SessionId.eq(session_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// The currency of a session and every seat with its kind, price and pair.
pub async fn terms(db: &Db, session_id: Uuid) -> Result<Option<SessionTerms>> {
    let Some(session) = sessions::Entity::find_by_id(session_id).one(db).await? else {
        return Ok(None);
    };
    let prices: HashMap<domain::SeatKind, i64> = session_prices::Entity::find()
        .filter(session_prices::Column::SessionId.eq(session_id))
        .all(db)
        .await?
        .into_iter()
        .map(|price| (price.kind.into(), price.price_cents))
        .collect();
    let rows = seats::Entity::find()
        .filter(seats::Column::SessionId.eq(session_id))
        .all(db)
        .await?;
    let seats = rows
        .into_iter()
        .filter_map(|seat| {
            let terms = SeatTerms {
                kind: seat.kind.into(),
                price_cents: *prices.get(&seat.kind.into())?,
                pair: seat.pair_label.and_then(|pair| pair.parse().ok()),
                x: seat.x.unsigned_abs(),
                y: seat.y.unsigned_abs(),
            };
            Some((seat.label.parse::<SeatLabel>().ok()?, terms))
        })
        .collect();
    Ok(Some(SessionTerms::new(
        session.currency,
        seats,
        session.allow_single_seat_gaps,
        session.starts_at,
    )))
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
    let by_kind = session_sales_by_kind::Entity::find()
        .filter(session_sales_by_kind::Column::SessionId.eq(session_id))
        .all(db)
        .await?;
    let mut by_kind: Vec<KindSales> = by_kind
        .into_iter()
        .map(|row| KindSales {
            kind: row.kind.into(),
            ticket_type: row.ticket_type.into(),
            tickets_sold: row.tickets_sold,
            revenue_cents: row.revenue_cents,
        })
        .collect();
    by_kind.sort_by_key(|sales| (sales.kind, sales.ticket_type));
    Ok(Some(SessionSales {
        session_id,
        currency: session.currency,
        tickets_sold: figures.as_ref().map_or(0, |f| f.tickets_sold),
        revenue_cents: figures.as_ref().map_or(0, |f| f.revenue_cents),
        holds_expired: figures.as_ref().map_or(0, |f| f.holds_expired),
        tickets_admitted: figures.as_ref().map_or(0, |f| f.tickets_admitted),
        tickets_refunded: figures.as_ref().map_or(0, |f| f.tickets_refunded),
        refunded_cents: figures.as_ref().map_or(0, |f| f.refunded_cents),
        update_time: figures.map_or(session.create_time, |f| f.update_time),
        by_kind,
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
            total_seats: u32::try_from(s.total_seats).unwrap_or(0),
            available_seats: u32::try_from(s.available_seats).unwrap_or(0),
            room_id: s.room_id,
            prices: price_list(&s.price_kinds, &s.price_amounts),
            allow_single_seat_gaps: s.allow_single_seat_gaps,
            movie_id: s.movie_id,
            ends_at: s.ends_at,
            rating: s.rating.map(Into::into),
            state: s.state.into(),
            cancel_reason: s.cancel_reason,
        }
    }
}

/// A price list kept as two parallel arrays (kind, price).
fn price_list(kinds: &[String], amounts: &[i64]) -> PriceList {
    kinds
        .iter()
        .zip(amounts)
        .filter_map(|(kind, price)| Some((SeatKind::try_from_value(kind).ok()?.into(), *price)))
        .collect()
}
