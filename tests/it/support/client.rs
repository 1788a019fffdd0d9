//! One caller of the API ([`Client`]: a token and a channel to one instance)
//! with a typed method per RPC, and what tests read out of the answers.

use std::{future::Future, time::Duration};

use tonic::{Code, Request, Response, Status, Streaming, transport::Channel};
use tonic_types::StatusExt;

use super::{
    in_hours,
    pb::{
        Admission, AdmitTicketRequest, BlockSeatsRequest, CancelReservationRequest,
        ConfirmPaymentRequest, CreateRoomRequest, CreateSessionRequest, ExtendReservationRequest,
        GetReservationRequest, GetRoomRequest, GetSeatMapRequest, GetSessionRequest,
        GetSessionSalesRequest, GetTicketRequest, KindPrice, ListPurchasesRequest,
        ListPurchasesResponse, ListRoomsRequest, ListRoomsResponse, ListSessionsRequest,
        ListSessionsResponse, RefundSaleRequest, Reservation, ReserveBestAvailableRequest,
        ReserveSeatsRequest, Room, RowLayout, Sale, SeatKind, SeatMap, SeatMapEvent, SeatStatus,
        Session, SessionSales, Ticket, TicketType, UnblockSeatsRequest, WatchSeatMapRequest,
        booking_service_client::BookingServiceClient, session_service_client::SessionServiceClient,
        ticket_service_client::TicketServiceClient, venue_service_client::VenueServiceClient,
    },
};

/// No single call may take longer than this: a hung call fails the test.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The payment reference of [`Client::confirm`].
pub const PAYMENT_REFERENCE: &str = "pix";

/// `message` sent with `token` in its authorization metadata.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("an ASCII header"),
    );
    request
}

/// A caller: its token, and the instance it calls.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    token: String,
    /// The `x-request-id` its calls carry; none: the server makes one up.
    request_id: Option<String>,
}

impl Client {
    /// The holder of `token`, calling the instance behind `channel`.
    pub fn new(channel: &Channel, token: impl Into<String>) -> Self {
        Self {
            channel: channel.clone(),
            token: token.into(),
            request_id: None,
        }
    }

    /// The same caller, sending `request_id` as the `x-request-id` of
    /// every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self {
            request_id: Some(request_id.to_owned()),
            ..self.clone()
        }
    }

    /// The same caller, calling the instance behind `channel`.
    pub fn on(&self, channel: &Channel) -> Self {
        Self::new(channel, self.token.clone())
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The channel to the instance this caller calls.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// `message` with this caller's token (and request id, if it has one).
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = authed(message, &self.token);
        if let Some(request_id) = &self.request_id {
            let value = request_id.parse().expect("an ASCII request id");
            request.metadata_mut().insert("x-request-id", value);
        }
        request
    }

    pub fn booking(&self) -> BookingServiceClient<Channel> {
        BookingServiceClient::new(self.channel.clone())
    }

    pub fn sessions(&self) -> SessionServiceClient<Channel> {
        SessionServiceClient::new(self.channel.clone())
    }

    pub fn tickets(&self) -> TicketServiceClient<Channel> {
        TicketServiceClient::new(self.channel.clone())
    }

    /// Scans a ticket code at `gate`.
    pub async fn admit(&self, code: &str, gate: &str) -> Result<Admission, Status> {
        let request = self.request(AdmitTicketRequest {
            code: code.into(),
            gate: gate.into(),
        });
        within(self.tickets().admit_ticket(request)).await
    }

    pub async fn get_ticket(&self, ticket_id: &str) -> Result<Ticket, Status> {
        let request = self.request(GetTicketRequest {
            ticket_id: ticket_id.into(),
        });
        within(self.tickets().get_ticket(request)).await
    }

    /// Refunds `seats` of a sale (none: every seat not refunded yet).
    pub async fn refund(
        &self,
        sale_id: &str,
        seats: &[&str],
        request_id: &str,
    ) -> Result<Sale, Status> {
        let request = self.request(RefundSaleRequest {
            sale_id: sale_id.into(),
            seat_labels: seats.iter().map(|s| (*s).to_owned()).collect(),
            reason: "plans changed".into(),
            request_id: request_id.into(),
        });
        within(self.booking().refund_sale(request)).await
    }

    pub fn venues(&self) -> VenueServiceClient<Channel> {
        VenueServiceClient::new(self.channel.clone())
    }

    /// Asks to hold `seats`, some of them (`half`) with HALF tickets.
    pub async fn reserve_typed(
        &self,
        session_id: &str,
        seats: &[&str],
        half: &[&str],
    ) -> Result<Reservation, Status> {
        let request = self.request(ReserveSeatsRequest {
            session_id: session_id.into(),
            seat_labels: seats.iter().map(|s| (*s).to_owned()).collect(),
            ticket_types: half
                .iter()
                .map(|label| ((*label).to_owned(), TicketType::Half.into()))
                .collect(),
            ..Default::default()
        });
        within(self.booking().reserve_seats(request)).await
    }

    /// Asks for the best `quantity` adjacent seats of `kinds` (none: the
    /// default kinds), `half` of them HALF tickets.
    pub async fn reserve_best(
        &self,
        session_id: &str,
        quantity: u32,
        kinds: &[SeatKind],
        half: u32,
    ) -> Result<Reservation, Status> {
        let request = self.request(ReserveBestAvailableRequest {
            session_id: session_id.into(),
            quantity,
            kinds: kinds.iter().map(|&kind| kind.into()).collect(),
            half_price_quantity: half,
            request_id: String::new(),
        });
        within(self.booking().reserve_best_available(request)).await
    }

    pub async fn extend(
        &self,
        reservation_id: &str,
        request_id: &str,
    ) -> Result<Reservation, Status> {
        let request = self.request(ExtendReservationRequest {
            reservation_id: reservation_id.into(),
            request_id: request_id.into(),
        });
        within(self.booking().extend_reservation(request)).await
    }

    /// Holds and pays for `seats`, the first one a HALF ticket.
    pub async fn buy(&self, session_id: &str, seats: &[&str]) -> Sale {
        let held = self
            .reserve_typed(session_id, seats, &seats[..1])
            .await
            .expect("hold the seats");
        self.confirm(&held.reservation_id).await.expect("pay")
    }

    /// Asks to hold `seats`, without a request id.
    pub async fn reserve(
        &self,
        session_id: &str,
        seats: &[impl AsRef<str>],
    ) -> Result<Reservation, Status> {
        self.reserve_with_id(session_id, seats, "").await
    }

    pub async fn reserve_with_id(
        &self,
        session_id: &str,
        seats: &[impl AsRef<str>],
        request_id: &str,
    ) -> Result<Reservation, Status> {
        let request = self.request(ReserveSeatsRequest {
            session_id: session_id.into(),
            seat_labels: seats.iter().map(|s| s.as_ref().to_owned()).collect(),
            request_id: request_id.into(),
            ..Default::default()
        });
        within(self.booking().reserve_seats(request)).await
    }

    /// Pays for a reservation with [`PAYMENT_REFERENCE`], without a request id.
    pub async fn confirm(&self, reservation_id: &str) -> Result<Sale, Status> {
        self.confirm_with(reservation_id, PAYMENT_REFERENCE, "")
            .await
    }

    pub async fn confirm_with(
        &self,
        reservation_id: &str,
        payment_reference: &str,
        request_id: &str,
    ) -> Result<Sale, Status> {
        let request = self.request(ConfirmPaymentRequest {
            reservation_id: reservation_id.into(),
            payment_reference: payment_reference.into(),
            request_id: request_id.into(),
        });
        within(self.booking().confirm_payment(request)).await
    }

    pub async fn cancel(&self, reservation_id: &str) -> Result<Reservation, Status> {
        let request = self.request(CancelReservationRequest {
            reservation_id: reservation_id.into(),
        });
        within(self.booking().cancel_reservation(request)).await
    }

    pub async fn get_reservation(&self, reservation_id: &str) -> Result<Reservation, Status> {
        let request = self.request(GetReservationRequest {
            reservation_id: reservation_id.into(),
        });
        within(self.booking().get_reservation(request)).await
    }

    pub async fn list_purchases(
        &self,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListPurchasesResponse, Status> {
        let request = self.request(ListPurchasesRequest {
            page_size,
            page_token: page_token.into(),
        });
        within(self.booking().list_purchases(request)).await
    }

    pub async fn create_session(&self, request: CreateSessionRequest) -> Result<Session, Status> {
        let request = self.request(request);
        within(self.sessions().create_session(request)).await
    }

    pub async fn get_session(&self, session_id: &str) -> Result<Session, Status> {
        let request = self.request(GetSessionRequest {
            session_id: session_id.into(),
        });
        within(self.sessions().get_session(request)).await
    }

    pub async fn list_sessions(
        &self,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListSessionsResponse, Status> {
        let request = self.request(ListSessionsRequest {
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        });
        within(self.sessions().list_sessions(request)).await
    }

    pub async fn seat_map(&self, session_id: &str) -> Result<SeatMap, Status> {
        let request = self.request(GetSeatMapRequest {
            session_id: session_id.into(),
        });
        within(self.sessions().get_seat_map(request)).await
    }

    pub async fn session_sales(&self, session_id: &str) -> Result<SessionSales, Status> {
        let request = self.request(GetSessionSalesRequest {
            session_id: session_id.into(),
        });
        within(self.sessions().get_session_sales(request)).await
    }

    /// Creates a room of `rows` (label, pattern), nearest the screen first.
    pub async fn create_room(&self, name: &str, rows: &[(&str, &str)]) -> Result<Room, Status> {
        let request = self.request(room_request(name, rows));
        within(self.venues().create_room(request)).await
    }

    pub async fn get_room(&self, room_id: &str) -> Result<Room, Status> {
        let request = self.request(GetRoomRequest {
            room_id: room_id.into(),
        });
        within(self.venues().get_room(request)).await
    }

    pub async fn list_rooms(
        &self,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListRoomsResponse, Status> {
        let request = self.request(ListRoomsRequest {
            page_size,
            page_token: page_token.into(),
        });
        within(self.venues().list_rooms(request)).await
    }

    pub async fn block(
        &self,
        session_id: &str,
        seats: &[&str],
        reason: &str,
    ) -> Result<SeatMap, Status> {
        let request = self.request(BlockSeatsRequest {
            session_id: session_id.into(),
            seat_labels: seats.iter().map(|s| (*s).to_owned()).collect(),
            reason: reason.into(),
        });
        within(self.sessions().block_seats(request)).await
    }

    pub async fn unblock(&self, session_id: &str, seats: &[&str]) -> Result<SeatMap, Status> {
        let request = self.request(UnblockSeatsRequest {
            session_id: session_id.into(),
            seat_labels: seats.iter().map(|s| (*s).to_owned()).collect(),
            reason: String::new(),
        });
        within(self.sessions().unblock_seats(request)).await
    }

    /// Opens a WatchSeatMap stream.
    pub async fn watch(&self, session_id: &str) -> Result<Streaming<SeatMapEvent>, Status> {
        let request = self.request(WatchSeatMapRequest {
            session_id: session_id.into(),
        });
        within(self.sessions().watch_seat_map(request)).await
    }
}

/// The answer of a call, which must come within [`CALL_TIMEOUT`].
pub(super) async fn within<T>(
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<T, Status> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| panic!("a call took longer than {CALL_TIMEOUT:?}"))
        .map(Response::into_inner)
}

/// A CreateSession request: `title` in "Sala 1", `hours` from now, R$ 25,00
/// a seat, in a room of this size, single-seat gaps allowed.
pub fn session_request(
    title: &str,
    hours: i64,
    rows: u32,
    seats_per_row: u32,
) -> CreateSessionRequest {
    CreateSessionRequest {
        movie_title: title.into(),
        room: "Sala 1".into(),
        starts_at: in_hours(hours),
        price_cents: 2500,
        currency: "BRL".into(),
        rows,
        seats_per_row,
        // Tests of other rules pick seats in any order; the single-seat
        // rule has its own tests (seat_selection.rs).
        allow_single_seat_gaps: true,
        ..Default::default()
    }
}

/// A CreateRoom request for `rows` of (label, pattern).
pub fn room_request(name: &str, rows: &[(&str, &str)]) -> CreateRoomRequest {
    CreateRoomRequest {
        name: name.into(),
        rows: rows
            .iter()
            .map(|(label, seats)| RowLayout {
                label: (*label).into(),
                seats: (*seats).into(),
            })
            .collect(),
    }
}

/// A CreateSession request for "Filme X" in room `room_id`, `hours` from
/// now, with these prices per kind.
pub fn room_session_request(
    room_id: &str,
    hours: i64,
    prices: &[(SeatKind, i64)],
) -> CreateSessionRequest {
    CreateSessionRequest {
        movie_title: "Filme X".into(),
        starts_at: in_hours(hours),
        room_id: room_id.into(),
        prices: prices
            .iter()
            .map(|&(kind, price_cents)| KindPrice {
                kind: kind.into(),
                price_cents,
            })
            .collect(),
        ..Default::default()
    }
}

/// (label, kind, ticket type, price) of each seat of a reservation or sale.
pub fn priced(
    seats: &[crate::support::pb::ReservedSeat],
) -> Vec<(String, SeatKind, TicketType, i64)> {
    seats
        .iter()
        .map(|s| (s.label.clone(), s.kind(), s.ticket_type(), s.price_cents))
        .collect()
}

/// (status, version) of one seat of `map`.
pub fn seat(map: &SeatMap, label: &str) -> (SeatStatus, i64) {
    let seat = map
        .seats
        .iter()
        .find(|s| s.label == label)
        .unwrap_or_else(|| panic!("no seat {label} in the map"));
    (seat.status(), seat.version)
}

/// (available, held, sold) of `map`.
pub fn counts(map: &SeatMap) -> (u32, u32, u32) {
    (map.available_count, map.held_count, map.sold_count)
}

/// The (type, subject) of each PreconditionFailure violation, sorted: the
/// contract does not order them.
pub fn precondition_violations(status: &Status) -> Vec<(String, String)> {
    let mut violations: Vec<(String, String)> = status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|v| (v.r#type, v.subject))
                .collect()
        })
        .unwrap_or_default();
    violations.sort();
    violations
}

/// One PreconditionFailure violation, as [`precondition_violations`] lists them.
pub fn violation(kind: &str, subject: &str) -> (String, String) {
    (kind.to_owned(), subject.to_owned())
}

/// The violations of a refusal of exactly these seats, as
/// [`precondition_violations`] lists them.
pub fn seat_unavailable(labels: &[&str]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|label| violation("SEAT_UNAVAILABLE", label))
        .collect()
}

/// The fields named by a status's BadRequest details, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// "field: description" of each BadRequest violation of a status, in order.
pub fn field_descriptions(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// The BadRequest fields of an INVALID_ARGUMENT, sorted: the contract names
/// every bad field but does not order them.
pub fn invalid_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut fields = violated_fields(status);
    fields.sort();
    fields
}

/// A NOT_FOUND naming the missing resource in its ResourceInfo.
pub fn assert_not_found(status: &Status, resource_type: &str, name: &str) {
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let info = status
        .get_details_resource_info()
        .expect("ResourceInfo details");
    assert_eq!(
        (info.resource_type.as_str(), info.resource_name.as_str()),
        (resource_type, name)
    );
}
