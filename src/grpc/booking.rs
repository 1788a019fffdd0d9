//! BookingService: seat holds, payment, cancellation and purchase history.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
    status::reservation_outcome,
};
use crate::{
    booking::{BestAvailable, Booking, RefundSale, ReserveSeats},
    domain::{
        Error, Violations, labels, reservation::parse_payment_reference, seat::parse_reason, terms,
        valid,
    },
    metrics,
    proto::{
        self,
        v1::{self as pb, booking_service_server::BookingService},
    },
};

/// Seats one RefundSale may name (a sale has at most the per-reservation limit).
const MAX_SEATS_PER_REFUND: usize = 100;

pub struct BookingApi {
    booking: Arc<Booking>,
    page_tokens: PageTokens,
}

impl BookingApi {
    pub fn new(booking: Arc<Booking>, page_tokens: PageTokens) -> Self {
        Self {
            booking,
            page_tokens,
        }
    }
}

#[tonic::async_trait]
impl BookingService for BookingApi {
    async fn reserve_seats(
        &self,
        request: Request<pb::ReserveSeatsRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let session_id = violations.check(convert::parse_id("session_id", &r.session_id))?;
        let seats = violations.check(self.booking.parse_labels(&r.seat_labels))?;
        let ticket_types = match &seats {
            Some(seats) => violations.check(
                terms::ticket_types(seats, &convert::ticket_types(r.ticket_types))
                    .map_err(Error::InvalidArgument),
            )?,
            None => None,
        };
        let request_id =
            violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
        violations.finish()?;
        let reserve = ReserveSeats {
            session_id: valid(session_id)?,
            seats: valid(seats)?,
            ticket_types: valid(ticket_types)?,
            request_id: valid(request_id)?,
            requested: r.seat_labels,
        };
        let reserved = self.booking.reserve(&caller, reserve).await;
        metrics::reservation(reservation_outcome(&reserved));
        let reservation = reserved?;
        telemetry::record("reservation_id", reservation.reservation_id);
        tracing::info!(seats = ?reservation.seat_labels(), "seats held");
        Ok(Response::new(convert::reservation(reservation)))
    }

    async fn reserve_best_available(
        &self,
        request: Request<pb::ReserveBestAvailableRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let session_id = violations.check(convert::parse_id("session_id", &r.session_id))?;
        let kinds: Vec<_> = r.kinds.iter().map(|&kind| proto::seat_kind(kind)).collect();
        let party = violations.check(self.booking.party(
            r.quantity,
            &kinds,
            r.half_price_quantity,
        ))?;
        let request_id =
            violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
        violations.finish()?;
        let best = BestAvailable {
            session_id: valid(session_id)?,
            party: valid(party)?,
            request_id: valid(request_id)?,
        };
        let reserved = self.booking.reserve_best(&caller, best).await;
        metrics::reservation(reservation_outcome(&reserved));
        let reservation = reserved?;
        telemetry::record("reservation_id", reservation.reservation_id);
        tracing::info!(seats = ?reservation.seat_labels(), "best seats held");
        Ok(Response::new(convert::reservation(reservation)))
    }

    async fn extend_reservation(
        &self,
        request: Request<pb::ExtendReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let reservation_id =
            violations.check(convert::parse_id("reservation_id", &r.reservation_id))?;
        let request_id =
            violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
        violations.finish()?;
        let reservation = self
            .booking
            .extend(&caller, valid(reservation_id)?, valid(request_id)?)
            .await?;
        tracing::info!(expires = %reservation.expires_at, "hold extended");
        Ok(Response::new(convert::reservation(reservation)))
    }

    async fn refund_sale(
        &self,
        request: Request<pb::RefundSaleRequest>,
    ) -> Result<Response<pb::Sale>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let sale_id = violations.check(convert::parse_id("sale_id", &r.sale_id))?;
        // No labels means every seat; any label named must be one.
        let seats = if r.seat_labels.is_empty() {
            Some(Vec::new())
        } else {
            violations.check(
                labels::parse_labels(&r.seat_labels, MAX_SEATS_PER_REFUND)
                    .map_err(Error::InvalidArgument),
            )?
        };
        let reason = violations.check(parse_reason(&r.reason))?;
        let request_id =
            violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
        violations.finish()?;
        let refund = RefundSale {
            sale_id: valid(sale_id)?,
            seats: valid(seats)?,
            requested: r.seat_labels,
            reason: valid(reason)?,
            request_id: valid(request_id)?,
        };
        let sale = self.booking.refund(&caller, refund).await?;
        tracing::info!(sale_id = %sale.sale_id, refunded = sale.refunded_cents, "sale refunded");
        Ok(Response::new(convert::sale(sale)))
    }

    async fn get_reservation(
        &self,
        request: Request<pb::GetReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller(&request)?;
        let reservation_id =
            convert::parse_id("reservation_id", &request.get_ref().reservation_id)?;
        let reservation = self
            .booking
            .get_reservation(&caller, reservation_id)
            .await?;
        Ok(Response::new(convert::reservation(reservation)))
    }

    async fn confirm_payment(
        &self,
        request: Request<pb::ConfirmPaymentRequest>,
    ) -> Result<Response<pb::Sale>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let reservation_id =
            violations.check(convert::parse_id("reservation_id", &r.reservation_id))?;
        let reference = violations.check(parse_payment_reference(&r.payment_reference))?;
        let request_id =
            violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
        violations.finish()?;
        let reservation_id = valid(reservation_id)?;
        let sale = self
            .booking
            .confirm(
                &caller,
                reservation_id,
                &valid(reference)?,
                valid(request_id)?,
            )
            .await?;
        tracing::info!(%reservation_id, sale_id = %sale.sale_id, "payment confirmed");
        Ok(Response::new(convert::sale(sale)))
    }

    async fn cancel_reservation(
        &self,
        request: Request<pb::CancelReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller(&request)?;
        let reservation_id =
            convert::parse_id("reservation_id", &request.get_ref().reservation_id)?;
        let reservation = self.booking.cancel(&caller, reservation_id).await?;
        Ok(Response::new(convert::reservation(reservation)))
    }

    async fn list_purchases(
        &self,
        request: Request<pb::ListPurchasesRequest>,
    ) -> Result<Response<pb::ListPurchasesResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let limit = paging::page_size(r.page_size)?;
        // A token is good only for the user it was made for.
        let scope = format!("purchases:{}", caller.user_id);
        let cursor = self.page_tokens.decode(&scope, &r.page_token)?;
        let mut sales = self.booking.purchases(&caller, cursor, limit + 1).await?;
        let next_page_token = self
            .page_tokens
            .finish_page(&scope, &mut sales, limit, |last| {
                (last.paid_time, last.sale_id)
            });
        Ok(Response::new(pb::ListPurchasesResponse {
            sales: sales.into_iter().map(convert::sale).collect(),
            next_page_token,
        }))
    }
}
