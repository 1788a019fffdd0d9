//! The sales figures of a session, as the events consumer counts them from
//! its events: tickets sold, revenue, expired holds, admissions and refunds.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{SeatKind, TicketType};

/// The sales figures of a session, as the events consumer has counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSales {
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub currency: String,
    pub holds_expired: i64,
    pub tickets_admitted: i64,
    pub tickets_refunded: i64,
    pub refunded_cents: i64,
    /// When an event last changed the figures, or the session's creation.
    pub update_time: DateTime<Utc>,
    /// The tickets and revenue by seat kind, then ticket type.
    pub by_kind: Vec<KindSales>,
}

/// Tickets and revenue of one seat kind and ticket type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSales {
    pub kind: SeatKind,
    pub ticket_type: TicketType,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
}
