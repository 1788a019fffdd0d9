//! Tickets: issued with their sale, read with it, and admitted at the door,
//! where "a ticket admits at most once" is decided: one statement that
//! admits only a VALID ticket of a session whose admission is open, so of
//! any number of scans at once exactly one finds it VALID. The schema keeps
//! an admitted ticket from changing again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Db, Tx,
    entities::{TicketStatus, TicketType, tickets},
    sql,
};
use crate::domain::{
    Result, Ticket,
    ticket::{FirstAdmission, NewTicket},
};

/// Issues a sale's tickets, inside the transaction that records the sale.
pub async fn issue(tx: &Tx, sale_id: Uuid, session_id: Uuid, new: &[NewTicket]) -> Result<()> {
    let rows = new.iter().map(|ticket| tickets::ActiveModel {
        ticket_id: Set(ticket.ticket_id),
        sale_id: Set(sale_id),
        session_id: Set(session_id),
        seat_label: Set(ticket.seat_label.clone()),
        ticket_type: Set(TicketType::from(ticket.ticket_type)),
        code: Set(ticket.code.clone()),
        ..Default::default()
    });
    tickets::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// The tickets of these sales, by sale then seat.
pub async fn of_sales(db: &impl ConnectionTrait, sale_ids: &[Uuid]) -> Result<Vec<Ticket>> {
    let rows = tickets::Entity::find()
        .filter(tickets::Column::SaleId.is_in(sale_ids.iter().copied()))
        .order_by_asc(tickets::Column::SaleId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Ticket::from).collect())
}

/// Locks a sale's tickets (in seat order, like every lock on them), for a
/// refund that must not race an admission.
pub async fn lock_of_sale(tx: &Tx, sale_id: Uuid) -> Result<Vec<Ticket>> {
    let rows = tickets::Entity::find()
        .filter(tickets::Column::SaleId.eq(sale_id))
        .order_by_asc(tickets::Column::SeatLabel)
        .lock_exclusive()
        .all(tx)
        .await?;
    Ok(rows.into_iter().map(Ticket::from).collect())
}

/// Marks these locked tickets REFUNDED. The schema lets an admitted one
/// change only when its session is cancelled.
pub async fn refund(tx: &Tx, ticket_ids: &[Uuid]) -> Result<()> {
    tickets::Entity::update_many()
        .col_expr(tickets::Column::Status, Expr::value(TicketStatus::Refunded))
        .filter(tickets::Column::TicketId.is_in(ticket_ids.iter().copied()))
        .filter(tickets::Column::Status.ne(TicketStatus::Refunded))
        .exec(tx)
        .await?;
    Ok(())
}

/// A ticket and the user who bought it.
pub struct Owned {
    pub ticket: Ticket,
    pub owner: String,
}

/// One ticket with its buyer.
pub async fn get(db: &Db, ticket_id: Uuid) -> Result<Option<Owned>> {
    #[derive(FromQueryResult)]
    struct Row {
        user_id: String,
    }
    let Some(ticket) = tickets::Entity::find_by_id(ticket_id).one(db).await? else {
        return Ok(None);
    };
    let owner = Row::find_by_statement(sql(
        "SELECT user_id FROM sales WHERE sale_id = $1",
        [ticket.sale_id.into()],
    ))
    .one(db)
    .await?;
    Ok(owner.map(|row| Owned {
        ticket: Ticket::from(ticket),
        owner: row.user_id,
    }))
}

/// A scan's effect: the ticket as it stands after it, and whether this
/// scan admitted it.
pub struct Scanned {
    pub ticket: Ticket,
    pub admitted_now: bool,
    pub first: Option<FirstAdmission>,
}

/// Admits `ticket_id` at `gate` if it is VALID and its session's admission
/// opened (`opens` before the start), in `tx`; `None` for no such ticket.
pub async fn admit(
    tx: &Tx,
    ticket_id: Uuid,
    gate: &str,
    opens: Duration,
) -> Result<Option<Scanned>> {
    let admitted = tickets::Entity::find()
        .from_raw_sql(sql(
            "UPDATE tickets t SET status = 'admitted', admit_time = now(), admit_gate = $2
               FROM sessions s
              WHERE t.ticket_id = $1 AND t.status = 'valid' AND s.session_id = t.session_id
                AND now() >= s.starts_at - $3 * interval '1 millisecond'
              RETURNING t.*",
            [
                ticket_id.into(),
                gate.into(),
                (opens.as_millis() as i64).into(),
            ],
        ))
        .one(tx)
        .await?;
    let (row, admitted_now) = match admitted {
        Some(row) => (row, true),
        None => match tickets::Entity::find_by_id(ticket_id).one(tx).await? {
            Some(row) => (row, false),
            None => return Ok(None),
        },
    };
    let first = first_admission(row.admit_time, row.admit_gate.clone());
    Ok(Some(Scanned {
        ticket: Ticket::from(row),
        admitted_now,
        first,
    }))
}

fn first_admission(time: Option<DateTime<Utc>>, gate: Option<String>) -> Option<FirstAdmission> {
    Some(FirstAdmission {
        time: time?,
        gate: gate?,
    })
}

impl From<tickets::Model> for Ticket {
    fn from(row: tickets::Model) -> Self {
        Self {
            ticket_id: row.ticket_id,
            sale_id: row.sale_id,
            session_id: row.session_id,
            seat_label: row.seat_label,
            ticket_type: row.ticket_type.into(),
            status: row.status.into(),
            code: row.code,
        }
    }
}
