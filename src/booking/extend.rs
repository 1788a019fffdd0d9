//! ExtendReservation: a pending hold lasts longer, a bounded number of times.

use std::time::Duration;

use uuid::Uuid;

use super::{
    Booking,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        Caller, ClosedReason, Error, Reservation, Result, Rule, SeatLabel,
        reservation::{LockedReservation, Standing},
    },
    events::Outbox,
    store::{self, Tx},
};

impl Booking {
    /// Extends the caller's pending reservation: it now ends one hold time
    /// from now, never earlier than it did. A retry with the same
    /// `request_id` returns the reservation without extending it again.
    pub async fn extend(
        &self,
        caller: &Caller,
        reservation_id: Uuid,
        request_id: Option<Uuid>,
    ) -> Result<Reservation> {
        let fingerprint = reservation_id.to_string();
        let retry = request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::Extend,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && let Some(earlier) = retry.replay(&self.db).await?
        {
            return self.get_reservation(caller, earlier).await;
        }
        let tx = store::begin(&self.db).await?;
        let locked = self.lock_owned(&tx, caller, reservation_id).await?;
        if let Err(refused) = extendable(&locked) {
            tx.rollback().await?;
            return Err(refused);
        }
        if let Some(retry) = &retry
            && !retry.remember(&tx, reservation_id).await?
        {
            tx.rollback().await?;
            return self
                .get_reservation(caller, retry.twin(&self.db).await?)
                .await;
        }
        let extended = match self.extend_in(&tx, &locked).await {
            Ok(extended) => extended,
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        tx.commit().await?;
        self.events.notify();
        self.expiry.wake_at(extended.expires_at);
        let left = (extended.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let labels: Vec<SeatLabel> = extended
            .seats
            .iter()
            .filter_map(|seat| seat.label.parse().ok())
            .collect();
        self.gate
            .extend(extended.session_id, &labels, reservation_id, left)
            .await;
        Ok(extended)
    }

    /// The statements of one extension: the reservation's new end, its
    /// seats' too, and the event.
    async fn extend_in(&self, tx: &Tx, locked: &LockedReservation) -> Result<Reservation> {
        let id = locked.reservation_id;
        let Some(extended) = store::reservations::extend(tx, id, self.hold).await? else {
            // Its hold ended between the lock and now.
            return Err(Error::ReservationClosed {
                reason: ClosedReason::Expired,
                reservation_id: id,
            });
        };
        let seats =
            store::seats::extend_hold(tx, locked.session_id, id, extended.expires_at).await?;
        let reservation = store::reservations::read(tx, id)
            .await?
            .ok_or_else(|| Error::Internal(format!("reservation {id} vanished while locked")))?;
        let mut outbox = Outbox::default();
        outbox.reservation_extended(&reservation);
        outbox.seats_changed(locked.session_id, &seats);
        outbox.write(tx).await?;
        Ok(reservation)
    }
}

/// Whether a locked reservation may be extended now, or why not.
fn extendable(locked: &LockedReservation) -> Result<()> {
    let reservation_id = locked.reservation_id;
    match locked.standing() {
        Standing::Pending if locked.extensions_left == 0 => {
            Err(Error::refused(Rule::ExtensionLimit, reservation_id))
        }
        Standing::Pending => Ok(()),
        Standing::Confirmed => Err(Error::refused(Rule::ReservationPaid, reservation_id)),
        Standing::Lapsed => Err(Error::ReservationClosed {
            reason: ClosedReason::Expired,
            reservation_id,
        }),
        Standing::Closed(reason) => Err(Error::ReservationClosed {
            reason,
            reservation_id,
        }),
    }
}
