//! Tickets: one per seat sold, each admitting its holder once at the door.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Error, Result, TicketType};

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    Valid,
    Admitted,
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket_id: Uuid,
    pub sale_id: Uuid,
    pub session_id: Uuid,
    pub seat_label: String,
    pub ticket_type: TicketType,
    pub status: TicketStatus,
    /// What its QR code carries: the ticket id, signed.
    pub code: String,
}

/// A ticket to issue with a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub ticket_id: Uuid,
    pub seat_label: String,
    pub ticket_type: TicketType,
    pub code: String,
}

/// What a scan at the door found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// This scan admitted the ticket.
    Admitted(Ticket, FirstAdmission),
    /// An earlier scan did.
    AlreadyAdmitted(Ticket, FirstAdmission),
    Refunded(Ticket),
    /// Admission to its session has not opened yet.
    NotYetOpen(Ticket),
    /// The code is not a ticket of this box office.
    Invalid,
}

/// When and where a ticket was admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstAdmission {
    pub time: DateTime<Utc>,
    pub gate: String,
}

const MAX_GATE_CHARS: usize = 100;

/// A gate name: up to 100 characters, stored trimmed.
pub fn parse_gate(gate: &str) -> Result<String> {
    let gate = gate.trim();
    if !super::text::fits(gate, MAX_GATE_CHARS) {
        return Err(Error::invalid(
            "gate",
            "must be at most 100 characters, with no NUL character",
        ));
    }
    Ok(gate.to_owned())
}
