//! ConfirmPayment: a pending reservation's seats become SOLD and a sale is
//! recorded with one ticket per seat, in one transaction. Paying again
//! returns the same sale.

use uuid::Uuid;

use super::{
    Booking, expiry,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        Caller, ClosedReason, Error, ReservationStatus, Result, Sale,
        reservation::{LockedReservation, Standing},
        ticket::NewTicket,
    },
    events::Outbox,
    store::{self, Tx, sales::NewSale},
    tickets::code::TicketSigner,
};

impl Booking {
    /// Pays for a pending reservation of the caller's.
    pub async fn confirm(
        &self,
        caller: &Caller,
        reservation_id: Uuid,
        payment_reference: &str,
        request_id: Option<Uuid>,
    ) -> Result<Sale> {
        let fingerprint = reservation_id.to_string();
        let retry = request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::Confirm,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && let Some(sale_id) = retry.replay(&self.db).await?
        {
            return self.read_sale(sale_id).await;
        }
        let tx = store::begin(&self.db).await?;
        let locked = self.lock_owned(&tx, caller, reservation_id).await?;
        match locked.standing() {
            Standing::Pending => {}
            Standing::Confirmed => {
                tx.rollback().await?;
                return self.sale_of(reservation_id).await;
            }
            Standing::Closed(reason) => {
                tx.rollback().await?;
                return Err(Error::ReservationClosed {
                    reason,
                    reservation_id,
                });
            }
            Standing::Lapsed => {
                expiry::expire(&tx, &[reservation_id]).await?;
                tx.commit().await?;
                self.events.notify();
                return Err(expired(reservation_id));
            }
        }
        let sale_id = Uuid::now_v7();
        if let Some(retry) = &retry
            && !retry.remember(&tx, sale_id).await?
        {
            tx.rollback().await?;
            return self.read_sale(retry.twin(&self.db).await?).await;
        }
        if !sell(&tx, &locked, sale_id, payment_reference, &self.signer).await? {
            // The hold ended while this transaction began: the clock decides.
            tx.rollback().await?;
            return Err(expired(reservation_id));
        }
        tx.commit().await?;
        self.events.notify();
        self.read_sale(sale_id).await
    }

    /// Locks a reservation of the caller's, or NOT_FOUND / PERMISSION_DENIED.
    pub(super) async fn lock_owned(
        &self,
        tx: &Tx,
        caller: &Caller,
        reservation_id: Uuid,
    ) -> Result<LockedReservation> {
        let locked = store::reservations::lock(tx, reservation_id)
            .await?
            .ok_or_else(|| Error::not_found("reservation", reservation_id))?;
        caller.require_owner(&locked.user_id)?;
        Ok(locked)
    }

    async fn sale_of(&self, reservation_id: Uuid) -> Result<Sale> {
        store::sales::by_reservation(&self.db, reservation_id)
            .await?
            .ok_or_else(|| Error::Internal(format!("no sale with reservation_id {reservation_id}")))
    }
}

/// Sells the reservation's seats and records the sale and its events;
/// false (write nothing more) if its hold no longer covers every seat.
async fn sell(
    tx: &Tx,
    paid: &LockedReservation,
    sale_id: Uuid,
    payment_reference: &str,
    signer: &TicketSigner,
) -> Result<bool> {
    let seat_labels = paid.seat_labels();
    let sold = store::seats::sell(tx, paid.session_id, &seat_labels, paid.reservation_id).await?;
    if sold.len() != seat_labels.len() {
        return Ok(false);
    }
    let sale = NewSale {
        sale_id,
        reservation_id: paid.reservation_id,
        session_id: paid.session_id,
        user_id: &paid.user_id,
        seat_labels: &seat_labels,
        amount_cents: paid.total_price_cents,
        currency: &paid.currency,
        payment_reference,
    };
    store::sales::insert(tx, &sale).await?;
    let tickets: Vec<NewTicket> = paid
        .seats
        .iter()
        .map(|seat| {
            let ticket_id = Uuid::now_v7();
            NewTicket {
                ticket_id,
                seat_label: seat.label.clone(),
                ticket_type: seat.ticket_type,
                code: signer.code(ticket_id),
            }
        })
        .collect();
    store::tickets::issue(tx, sale_id, paid.session_id, &tickets).await?;
    store::reservations::finish(tx, paid.reservation_id, ReservationStatus::Confirmed).await?;
    let mut outbox = Outbox::default();
    outbox.payment_confirmed(paid, sale_id, payment_reference);
    outbox.seats_changed(paid.session_id, &sold);
    outbox.write(tx).await?;
    Ok(true)
}

fn expired(reservation_id: Uuid) -> Error {
    Error::ReservationClosed {
        reason: ClosedReason::Expired,
        reservation_id,
    }
}
