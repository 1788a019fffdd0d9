//! CancelReservation: a pending reservation ends and frees its seats at once.

use uuid::Uuid;

use super::{Booking, expiry};
use crate::{
    domain::{
        Caller, ClosedReason, Error, Reservation, ReservationStatus, Result, SeatLabel,
        reservation::Standing,
    },
    events::{Outbox, Release, labels_of},
    store,
};

impl Booking {
    /// Cancels a pending reservation of the caller's. A cancelled or expired
    /// one is returned as it is; a paid one cannot be cancelled.
    pub async fn cancel(&self, caller: &Caller, reservation_id: Uuid) -> Result<Reservation> {
        let tx = store::begin(&self.db).await?;
        let locked = self.lock_owned(&tx, caller, reservation_id).await?;
        match locked.standing() {
            Standing::Confirmed => {
                tx.rollback().await?;
                return Err(Error::ReservationClosed {
                    reason: ClosedReason::Confirmed,
                    reservation_id,
                });
            }
            Standing::Closed(_) => tx.rollback().await?,
            Standing::Lapsed => {
                expiry::expire(&tx, &[reservation_id]).await?;
                tx.commit().await?;
                self.events.notify();
            }
            Standing::Pending => {
                store::reservations::finish(&tx, reservation_id, ReservationStatus::Cancelled)
                    .await?;
                let freed = store::seats::free(&tx, &[reservation_id]).await?;
                let mut outbox = Outbox::default();
                outbox.reservation_cancelled(
                    reservation_id,
                    locked.session_id,
                    &locked.user_id,
                    labels_of(&freed, reservation_id),
                );
                outbox.seats_released(&freed, Release::Cancelled);
                outbox.write(&tx).await?;
                tx.commit().await?;
                self.events.notify();
                let labels: Vec<SeatLabel> = freed
                    .iter()
                    .filter_map(|seat| seat.label.parse().ok())
                    .collect();
                self.gate
                    .unmark(locked.session_id, &labels, reservation_id)
                    .await;
            }
        }
        self.read_reservation(reservation_id).await
    }
}
