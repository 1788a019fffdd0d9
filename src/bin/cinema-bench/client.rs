//! How the bench talks to the server: tokens, connections, and the calls
//! every scenario makes (create a session, reserve, pay, cancel).

use std::time::Duration;

use anyhow::Context;
use cinema::{
    auth::Authenticator,
    config::{JwtSettings, ServerAddress},
    domain::labels::seat_labels,
    grpc::status::code_name,
    proto::v1::{
        CancelReservationRequest, ConfirmPaymentRequest, CreateSessionRequest, Reservation,
        ReserveBestAvailableRequest, ReserveSeatsRequest, Sale,
        booking_service_client::BookingServiceClient, session_service_client::SessionServiceClient,
    },
};
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

/// Mints bearer tokens with the server's own secret (`CINEMA_JWT_SECRET`).
pub struct Minter(Authenticator);

impl Minter {
    pub fn from_env() -> anyhow::Result<Self> {
        /// The server's own secret, read as `cinema` reads it.
        #[derive(clap::Parser)]
        struct Secret {
            #[command(flatten)]
            jwt: JwtSettings,
        }
        let secret = <Secret as clap::Parser>::try_parse_from(["cinema-bench"])?;
        Ok(Self(Authenticator::new(&secret.jwt.secret)))
    }

    /// `Bearer <token>` for `user`, valid for a day.
    pub fn bearer(&self, user: &str, admin: bool) -> anyhow::Result<MetadataValue<Ascii>> {
        let token = self
            .0
            .mint(user, admin, Duration::from_secs(24 * 3600))
            .with_context(|| format!("minting a token for {user}"))?;
        format!("Bearer {token}")
            .parse()
            .context("a token that is not valid metadata")
    }

    pub fn admin(&self) -> anyhow::Result<MetadataValue<Ascii>> {
        self.bearer("bench-admin", true)
    }
}

pub fn authed<T>(message: T, bearer: &MetadataValue<Ascii>) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.clone());
    request
}

/// A gRPC failure as `NOT_FOUND: session ... not found`.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", code_name(status.code()), status.message())
}

/// The code of a call's answer.
pub fn code_of<T>(answer: &Result<T, tonic::Status>) -> tonic::Code {
    answer
        .as_ref()
        .map_or_else(tonic::Status::code, |_| tonic::Code::Ok)
}

/// One HTTP/2 connection (a tonic Channel never shares its connection with
/// another Channel built separately), over TLS for an `https://` address.
pub async fn connect(server: &ServerAddress) -> anyhow::Result<Channel> {
    cinema::cli::connect::endpoint(server)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {}", server.addr))
}

pub async fn open_connections(server: &ServerAddress, count: u32) -> anyhow::Result<Vec<Channel>> {
    let mut connections = Vec::new();
    for _ in 0..count {
        connections.push(connect(server).await?);
    }
    Ok(connections)
}

/// `count` connections (at least one) for callers to share: caller i uses
/// connection i % count.
pub async fn connections_for(server: &ServerAddress, count: u32) -> anyhow::Result<Vec<Channel>> {
    let connections = open_connections(server, count.max(1)).await?;
    eprintln!("{} connections open", connections.len());
    Ok(connections)
}

/// A session of `rows` x `seats_per_row` starting tomorrow; returns its id.
/// Seats are handed out in any order, so a hold may leave a single seat.
pub async fn create_session(
    channel: &Channel,
    admin: &MetadataValue<Ascii>,
    rows: u32,
    seats_per_row: u32,
) -> anyhow::Result<String> {
    create_session_with_gaps(channel, admin, rows, seats_per_row, true).await
}

/// [`create_session`], saying whether a hold may leave a single seat
/// stranded between taken ones.
pub async fn create_session_with_gaps(
    channel: &Channel,
    admin: &MetadataValue<Ascii>,
    rows: u32,
    seats_per_row: u32,
    allow_single_seat_gaps: bool,
) -> anyhow::Result<String> {
    let starts_at = chrono::Utc::now() + chrono::Duration::days(1);
    let request = CreateSessionRequest {
        movie_title: "cinema-bench".into(),
        room: "bench".into(),
        starts_at: Some(prost_types::Timestamp {
            seconds: starts_at.timestamp(),
            nanos: 0,
        }),
        price_cents: 2500,
        currency: "BRL".into(),
        rows,
        seats_per_row,
        allow_single_seat_gaps,
        ..Default::default()
    };
    let session = SessionServiceClient::new(channel.clone())
        .create_session(authed(request, admin))
        .await
        .map_err(status_error)
        .context("creating a session")?;
    Ok(session.into_inner().session_id)
}

/// `count` sessions like [`create_session`]'s, made one after another.
pub async fn create_sessions(
    channel: &Channel,
    admin: &MetadataValue<Ascii>,
    count: u32,
    rows: u32,
    seats_per_row: u32,
) -> anyhow::Result<Vec<String>> {
    let mut sessions = Vec::new();
    for _ in 0..count {
        sessions.push(create_session(channel, admin, rows, seats_per_row).await?);
    }
    Ok(sessions)
}

/// The labels of a `rows` x `seats_per_row` room, row by row.
pub fn room_labels(rows: u32, seats_per_row: u32) -> Vec<String> {
    seat_labels(rows, seats_per_row)
        .map(|label| label.to_string())
        .collect()
}

/// ReserveSeats for `labels` of `session_id`, without a request_id.
pub async fn reserve(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    session_id: &str,
    labels: &[String],
) -> Result<Reservation, tonic::Status> {
    let request = ReserveSeatsRequest {
        session_id: session_id.to_owned(),
        seat_labels: labels.to_vec(),
        ..Default::default()
    };
    booking
        .reserve_seats(authed(request, bearer))
        .await
        .map(tonic::Response::into_inner)
}

/// ReserveBestAvailable of `quantity` adjacent seats of any default kind,
/// full price, without a request_id.
pub async fn reserve_best(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    session_id: &str,
    quantity: u32,
) -> Result<Reservation, tonic::Status> {
    let request = ReserveBestAvailableRequest {
        session_id: session_id.to_owned(),
        quantity,
        ..Default::default()
    };
    booking
        .reserve_best_available(authed(request, bearer))
        .await
        .map(tonic::Response::into_inner)
}

/// ConfirmPayment of a reservation with a made-up payment reference.
pub async fn confirm(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    reservation_id: &str,
) -> Result<Sale, tonic::Status> {
    let request = ConfirmPaymentRequest {
        reservation_id: reservation_id.to_owned(),
        payment_reference: format!("bench-{reservation_id}"),
        request_id: String::new(),
    };
    booking
        .confirm_payment(authed(request, bearer))
        .await
        .map(tonic::Response::into_inner)
}

/// CancelReservation of a hold, freeing its seats at once.
pub async fn cancel(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
    reservation_id: String,
) -> Result<(), tonic::Status> {
    let request = CancelReservationRequest { reservation_id };
    booking
        .cancel_reservation(authed(request, bearer))
        .await
        .map(|_| ())
}
