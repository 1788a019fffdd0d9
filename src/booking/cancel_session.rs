//! CancelSession: a show that will not happen, undone in one transaction.
//! Every pending hold ends, every sale is refunded in full (admitted
//! tickets too, and no refund window applies), every seat leaves sale, and
//! the live maps get their last change.
//!
//! Locks are taken in the order every other transaction takes them (the
//! session row, reservations, sales and their tickets, then seats in label
//! order), so none deadlocks with it. Blocking the seats waits for the holds
//! in flight; those that committed meanwhile are ended after it, in the same
//! transaction, or, when a payment of one is waiting for the seats (it will
//! find them out of sale), in a second transaction right after.

use std::collections::HashMap;

use uuid::Uuid;

use super::{
    Booking,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        AuditAction, AuditEntry, Caller, Error, ReservedSeat, Result, Rule, Sale, SeatLabel,
        SessionState, Ticket, TicketStatus,
    },
    events::{Outbox, Refunded, SessionCancelled, labels_of},
    store::{self, Tx, reservations::EndedHold, sales::NewRefund},
};

/// The reason every refund of a cancelled session records.
pub const REFUND_REASON: &str = "SESSION_CANCELLED";

/// A cancellation request, its fields checked.
pub struct CancelSession {
    pub session_id: Uuid,
    pub reason: String,
    pub request_id: Option<Uuid>,
}

/// What a cancellation ended, to tidy the seat gate after it commits: the
/// seats of each hold and sale, by reservation.
type Ended = Vec<(Uuid, Vec<SeatLabel>)>;

/// A sale to refund, locked with its tickets.
struct LockedSale {
    sale: Sale,
    tickets: Vec<Ticket>,
}

impl Booking {
    /// Cancels a session that has not started (admin only, checked by the
    /// caller's layer). A cancelled one is left as it is.
    pub async fn cancel_session(&self, caller: &Caller, request: CancelSession) -> Result<()> {
        let fingerprint = format!("{}:{}", request.session_id, request.reason);
        let retry = request.request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::CancelSession,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && retry.replay(&self.db).await?.is_some()
        {
            return Ok(());
        }
        let tx = store::begin(&self.db).await?;
        let ended = match self.cancel_in(&tx, caller, &request, retry.as_ref()).await {
            Ok(Some(ended)) => ended,
            Ok(None) => {
                tx.rollback().await?;
                return Ok(());
            }
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        tx.commit().await?;
        self.events.notify();
        let late = self.end_late_holds(request.session_id).await?;
        for (reservation_id, labels) in ended.into_iter().chain(late) {
            self.gate
                .unmark(request.session_id, &labels, reservation_id)
                .await;
        }
        Ok(())
    }

    /// Ends the holds of a cancelled session that a payment had locked
    /// while it was being cancelled (their seats are out of sale already).
    async fn end_late_holds(&self, session_id: Uuid) -> Result<Ended> {
        let tx = store::begin(&self.db).await?;
        let holds = store::reservations::end_pending(&tx, session_id, false).await?;
        if holds.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut outbox = Outbox::default();
        hold_events(&mut outbox, &holds);
        outbox.write(&tx).await?;
        tx.commit().await?;
        self.events.notify();
        Ok(holds.iter().map(hold_seats).collect())
    }

    /// The statements of one cancellation; `None` when there is nothing to
    /// do (cancelled already, or by a concurrent retry).
    async fn cancel_in(
        &self,
        tx: &Tx,
        caller: &Caller,
        request: &CancelSession,
        retry: Option<&Request<'_>>,
    ) -> Result<Option<Ended>> {
        let session_id = request.session_id;
        let locked = store::sessions::lock(tx, session_id)
            .await?
            .ok_or_else(|| Error::not_found("session", session_id))?;
        if locked.state == SessionState::Cancelled {
            return Ok(None);
        }
        if locked.started {
            return Err(Error::refused(Rule::SessionStarted, session_id));
        }
        if let Some(retry) = retry
            && !retry.remember(tx, session_id).await?
        {
            return Ok(None);
        }
        store::sessions::cancel(tx, session_id, &request.reason).await?;
        let mut holds = store::reservations::end_pending(tx, session_id, false).await?;
        let mut sales = lock_sales(tx, session_id, &[]).await?;
        let block_reason = format!("session cancelled: {}", request.reason);
        let seats = store::blocks::block_all(tx, session_id, &block_reason).await?;
        // Holds and sales made while the seats were being locked.
        holds.extend(store::reservations::end_pending(tx, session_id, true).await?);
        let known: Vec<Uuid> = sales.iter().map(|s| s.sale.sale_id).collect();
        sales.extend(lock_sales(tx, session_id, &known).await?);

        let mut outbox = Outbox::default();
        hold_events(&mut outbox, &holds);
        let mut refunded_cents = 0;
        for locked in &sales {
            refunded_cents += refund_in_full(tx, &mut outbox, locked, &caller.user_id).await?;
        }
        let cancelled = SessionCancelled {
            session_id,
            reason: &request.reason,
            actor: &caller.user_id,
            reservations_cancelled: holds.iter().filter(|h| !h.expired).count() as u32,
            sales_refunded: sales.len() as u32,
            refunded_cents,
        };
        outbox.session_cancelled(&cancelled, &seats);
        outbox.write(tx).await?;
        store::audit::record(tx, &audit(caller, request, &cancelled)).await?;
        let sold = sales.iter().map(|locked| {
            let id = locked.sale.reservation_id;
            let labels = labels_of(&seats, id);
            (id, labels.iter().filter_map(|l| l.parse().ok()).collect())
        });
        Ok(Some(holds.iter().map(hold_seats).chain(sold).collect()))
    }
}

/// The audit entry of a cancellation; its refunds have none of their own.
fn audit(caller: &Caller, request: &CancelSession, done: &SessionCancelled) -> AuditEntry {
    let detail = format!(
        "reason: {}; {} holds cancelled, {} sales refunded ({} cents)",
        request.reason, done.reservations_cancelled, done.sales_refunded, done.refunded_cents
    );
    AuditEntry::new(caller, AuditAction::SessionCancelled, request.session_id)
        .in_session(request.session_id)
        .detail(detail)
}

/// `reservation.cancelled`, or `reservation.expired` for a hold that had
/// passed, for each ended hold.
fn hold_events(outbox: &mut Outbox, holds: &[EndedHold]) {
    for hold in holds {
        let ended = &hold.ended;
        let labels = hold.seat_labels.clone();
        if hold.expired {
            outbox.reservation_expired(ended, labels);
        } else {
            outbox.reservation_cancelled(
                ended.reservation_id,
                ended.session_id,
                &ended.user_id,
                labels,
            );
        }
    }
}

fn hold_seats(hold: &EndedHold) -> (Uuid, Vec<SeatLabel>) {
    let labels = hold.seat_labels.iter().filter_map(|l| l.parse().ok());
    (hold.ended.reservation_id, labels.collect())
}

/// Locks a session's sales with a seat not refunded (but `except`), and
/// their tickets.
async fn lock_sales(tx: &Tx, session_id: Uuid, except: &[Uuid]) -> Result<Vec<LockedSale>> {
    let mut locked = Vec::new();
    for sale in store::sales::lock_of_session(tx, session_id, except).await? {
        let tickets = store::tickets::lock_of_sale(tx, sale.sale_id).await?;
        locked.push(LockedSale { sale, tickets });
    }
    Ok(locked)
}

/// Refunds every seat of a sale not refunded yet, admitted ones too, with
/// its `sale.refunded` event; returns the amount.
async fn refund_in_full(
    tx: &Tx,
    outbox: &mut Outbox,
    locked: &LockedSale,
    actor: &str,
) -> Result<i64> {
    let LockedSale { sale, tickets } = locked;
    // A seat sold before tickets existed has none: it counts as VALID.
    let status: HashMap<&str, TicketStatus> = tickets
        .iter()
        .map(|t| (t.seat_label.as_str(), t.status))
        .collect();
    let status_of = |label: &str| status.get(label).copied().unwrap_or(TicketStatus::Valid);
    let refunding: Vec<&ReservedSeat> = sale
        .seats
        .iter()
        .filter(|seat| status_of(&seat.label) != TicketStatus::Refunded)
        .collect();
    if refunding.is_empty() {
        return Ok(0);
    }
    let labels: Vec<String> = refunding.iter().map(|seat| seat.label.clone()).collect();
    let admitted: Vec<String> = labels
        .iter()
        .filter(|label| status_of(label) == TicketStatus::Admitted)
        .cloned()
        .collect();
    let amount_cents: i64 = refunding.iter().map(|seat| seat.price_cents).sum();
    let ticket_ids: Vec<Uuid> = tickets
        .iter()
        .filter(|t| labels.contains(&t.seat_label))
        .map(|t| t.ticket_id)
        .collect();
    store::tickets::refund(tx, &ticket_ids).await?;
    let refund_id = Uuid::now_v7();
    let new = NewRefund {
        refund_id,
        sale_id: sale.sale_id,
        labels: &labels,
        amount_cents,
        reason: REFUND_REASON,
        actor,
    };
    store::sales::refund(tx, &new).await?;
    outbox.sale_refunded(&Refunded {
        refund_id,
        sale,
        labels: &labels,
        amount_cents,
        reason: REFUND_REASON,
        actor,
        admitted: &admitted,
    });
    Ok(amount_cents)
}
