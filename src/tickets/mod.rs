//! Tickets at the door: admitting a ticket once, whatever the number of
//! scans at once on whichever instances, and reading one.

pub mod code;

use std::time::Duration;

use uuid::Uuid;

use crate::{
    config::TicketSettings,
    domain::{
        AuditAction, AuditEntry, Caller, Error, Result, Ticket, TicketStatus,
        ticket::{Admission, parse_gate},
    },
    events::{Outbox, Signal},
    store::{self, Db},
};
use code::{TicketSigner, TicketVerifier};

/// The signer of a deployment's ticket codes: its own key, or one derived
/// from the token secret.
pub fn signer(settings: &TicketSettings, token_secret: &str) -> TicketSigner {
    match &settings.key {
        Some(seed) => TicketSigner::from_seed(seed.0),
        None => TicketSigner::derived_from(token_secret),
    }
}

/// The door: checks codes, admits tickets once, reads them.
pub struct Door {
    db: Db,
    verifier: TicketVerifier,
    /// How long before a session starts its tickets admit.
    opens: Duration,
    events: Signal,
}

impl Door {
    pub fn new(db: Db, verifier: TicketVerifier, opens: Duration, events: Signal) -> Self {
        Self {
            db,
            verifier,
            opens,
            events,
        }
    }

    /// Admits the ticket `code` names at `gate`, once, audited; staff and
    /// admins only.
    pub async fn admit(&self, caller: &Caller, code: &str, gate: &str) -> Result<Admission> {
        caller.require_staff()?;
        let gate = parse_gate(gate)?;
        let Some(ticket_id) = self.verifier.verify(code) else {
            return Ok(Admission::Invalid);
        };
        let tx = store::begin(&self.db).await?;
        let Some(scanned) = store::tickets::admit(&tx, ticket_id, &gate, self.opens).await? else {
            tx.rollback().await?;
            return Ok(Admission::Invalid);
        };
        if scanned.admitted_now {
            let mut outbox = Outbox::default();
            outbox.ticket_admitted(&scanned.ticket, &gate);
            outbox.write(&tx).await?;
            let ticket = &scanned.ticket;
            let audit = AuditEntry::new(caller, AuditAction::TicketAdmitted, ticket.ticket_id)
                .in_session(ticket.session_id)
                .detail(format!("seat {} at gate {gate:?}", ticket.seat_label));
            store::audit::record(&tx, &audit).await?;
            tx.commit().await?;
            self.events.notify();
        } else {
            tx.rollback().await?;
        }
        let ticket = scanned.ticket;
        Ok(match (scanned.admitted_now, ticket.status, scanned.first) {
            (true, _, Some(first)) => Admission::Admitted(ticket, first),
            (false, TicketStatus::Admitted, Some(first)) => {
                Admission::AlreadyAdmitted(ticket, first)
            }
            (_, TicketStatus::Refunded, _) => Admission::Refunded(ticket),
            _ => Admission::NotYetOpen(ticket),
        })
    }

    /// One ticket: the caller's own, or any for staff and admins.
    pub async fn ticket(&self, caller: &Caller, ticket_id: Uuid) -> Result<Ticket> {
        let owned = store::tickets::get(&self.db, ticket_id)
            .await?
            .ok_or_else(|| Error::not_found("ticket", ticket_id))?;
        if !(caller.is_staff || caller.is_admin || caller.user_id == owned.owner) {
            return Err(Error::PermissionDenied(
                "this ticket belongs to another user",
            ));
        }
        Ok(owned.ticket)
    }
}
