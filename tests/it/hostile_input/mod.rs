//! Hostile input through the real server: arbitrary request messages and raw
//! bytes sent with the generated client, plus the black-box refusals of
//! oversized messages and requests. Nothing may panic, and every answer
//! carries a code of the contract. (The same input is fed to every decoder
//! and validator directly by the unit tests beside them, in `src/`.)
//!
//! The number of generated cases is bounded for CI: `PROPTEST_CASES` scales
//! it (default 256 for the direct checks, a tenth of that through the server).

// The unit tests' generators, so both feed the same hostile input.
#[allow(dead_code, reason = "the unit tests use the rest")]
#[path = "../../../src/arbitrary.rs"]
mod strategies;

mod audit;
mod programme;
mod rooms;
mod tickets;

use std::time::{Duration, Instant};

use proptest::{prelude::*, test_runner::TestRunner};
use prost::bytes::{Buf, BufMut};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
};

use crate::support::{Client, TestApp, in_hours, pb::CreateSessionRequest, violated_fields};
use strategies::{cases, config_with, id_text, label_texts, text};

// ---------------------------------------------------------- through the server

/// Sends request bodies as they are, and reads answers as bytes.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> Self::Encoder {
        RawBytes
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; buf.remaining()];
        buf.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

const UNARY_METHODS: [&str; 25] = [
    "/cinema.v1.AuditService/ListAuditRecords",
    "/cinema.v1.TicketService/AdmitTicket",
    "/cinema.v1.TicketService/GetTicket",
    "/cinema.v1.BookingService/RefundSale",
    "/cinema.v1.BookingService/ReserveBestAvailable",
    "/cinema.v1.BookingService/ExtendReservation",
    "/cinema.v1.VenueService/CreateRoom",
    "/cinema.v1.VenueService/GetRoom",
    "/cinema.v1.VenueService/ListRooms",
    "/cinema.v1.SessionService/BlockSeats",
    "/cinema.v1.SessionService/UnblockSeats",
    "/cinema.v1.BookingService/ReserveSeats",
    "/cinema.v1.BookingService/GetReservation",
    "/cinema.v1.BookingService/ConfirmPayment",
    "/cinema.v1.BookingService/CancelReservation",
    "/cinema.v1.BookingService/ListPurchases",
    "/cinema.v1.SessionService/CreateSession",
    "/cinema.v1.SessionService/GetSession",
    "/cinema.v1.SessionService/ListSessions",
    "/cinema.v1.SessionService/GetSeatMap",
    "/cinema.v1.SessionService/GetSessionSales",
    "/cinema.v1.SessionService/CancelSession",
    "/cinema.v1.MovieService/CreateMovie",
    "/cinema.v1.MovieService/GetMovie",
    "/cinema.v1.MovieService/ListMovies",
];

/// The codes a client's input may earn: never INTERNAL, UNKNOWN or the like.
const CONTRACT_CODES: [Code; 7] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::NotFound,
    Code::Unauthenticated,
    Code::PermissionDenied,
    Code::FailedPrecondition,
    Code::Aborted,
];

fn code_of<T>(answer: &Result<T, Status>) -> Code {
    answer.as_ref().err().map_or(Code::Ok, Status::code)
}

/// Checks `property` on `cases` values of `strategy`; panics with the
/// smallest failing value found.
fn check_cases<S: Strategy>(
    strategy: S,
    cases: u32,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    if let Err(failure) = TestRunner::new(config_with(cases)).run(&strategy, property) {
        panic!("{failure}");
    }
}

#[test]
fn arbitrary_bytes_and_messages_through_the_server_get_only_contract_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let session = runtime.block_on(app.create_session(26, 50)).session_id;
    let (admin, user) = (app.admin(), app.user("fuzzer"));
    let server_cases = (cases() / 10).max(1);

    // Raw bytes to every RPC, as an admin.
    check_cases(
        (
            0..UNARY_METHODS.len() + 1,
            prop::collection::vec(any::<u8>(), 0..512),
        ),
        server_cases * 4,
        |(method, bytes)| {
            let answer: Result<(), Status> = runtime.block_on(async {
                let mut grpc = tonic::client::Grpc::new(app.channel.clone());
                grpc.ready()
                    .await
                    .map_err(|e| Status::unknown(e.to_string()))?;
                if let Some(path) = UNARY_METHODS.get(method) {
                    grpc.unary(
                        admin.request(bytes.clone()),
                        PathAndQuery::from_static(path),
                        RawBytes,
                    )
                    .await
                    .map(drop)
                } else {
                    let path = PathAndQuery::from_static("/cinema.v1.SessionService/WatchSeatMap");
                    let mut stream = grpc
                        .server_streaming(admin.request(bytes.clone()), path, RawBytes)
                        .await?
                        .into_inner();
                    stream.message().await.map(drop)
                }
            });
            let code = code_of(&answer);
            prop_assert!(
                CONTRACT_CODES.contains(&code),
                "{bytes:?} to method {method}: {answer:?}"
            );
            Ok(())
        },
    );

    // Arbitrary field values in every request message, sent by users whose
    // ids are arbitrary too. Sessions and seats are often real, so that the
    // values reach the database.
    let now = chrono::Utc::now().timestamp();
    let strategy = (
        prop_oneof![id_text(), Just(session.clone())],
        label_texts(),
        id_text(),
        text(),
        (text(), any::<i32>()),
        text(),
        (prop::char::range('A', 'Z'), 1u32..=50),
        (
            text(),
            text(),
            prop_oneof![now + 3600..now + 100_000_000, any::<i64>()],
            prop_oneof![1i64..100_000, any::<i64>()],
            prop_oneof![Just(String::new()), Just("brl".to_owned()), text()],
            prop_oneof![1u32..=26, any::<u32>()],
            prop_oneof![1u32..=50, any::<u32>()],
        ),
    );
    check_cases(strategy, server_cases, |case| {
        let (
            session_id,
            seat_labels,
            some_id,
            reference,
            (page_token, page_size),
            subject,
            seat,
            new,
        ) = case;
        let (title, room, seconds, price_cents, currency, rows, seats_per_row) = new;
        let subject = Client::new(&app.channel, app.token(&subject));
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let mut answers = Vec::new();
            let mut note = |what, answer: Result<(), Status>| {
                answers.push((what, code_of(&answer), format!("{answer:?}")));
            };
            let reserved = user
                .reserve_with_id(&session_id, &seat_labels, &some_id)
                .await;
            note("ReserveSeats", reserved.map(drop));
            // A real hold by the arbitrary user, paid with an arbitrary reference.
            let held = subject
                .reserve(&session, &[format!("{}{}", seat.0, seat.1)])
                .await;
            let reservation_id = match held {
                Ok(reservation) => reservation.reservation_id,
                Err(status) => {
                    note("ReserveSeats as the arbitrary user", Err(status));
                    some_id.clone()
                }
            };
            let paid = subject
                .confirm_with(&reservation_id, &reference, &some_id)
                .await;
            note("ConfirmPayment", paid.map(drop));
            let listed = subject.list_purchases(page_size, &page_token).await;
            note("ListPurchases as the arbitrary user", listed.map(drop));
            note("CancelReservation", user.cancel(&some_id).await.map(drop));
            note(
                "GetReservation",
                user.get_reservation(&some_id).await.map(drop),
            );
            let listed = user.list_purchases(page_size, &page_token).await;
            note("ListPurchases", listed.map(drop));
            let listed = user.list_sessions(page_size, &page_token).await;
            note("ListSessions", listed.map(drop));
            note("GetSession", user.get_session(&session_id).await.map(drop));
            note("GetSeatMap", user.seat_map(&session_id).await.map(drop));
            let sales = admin.session_sales(&session_id).await;
            note("GetSessionSales", sales.map(drop));
            let created = admin
                .create_session(CreateSessionRequest {
                    movie_title: title.clone(),
                    room: room.clone(),
                    starts_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
                    price_cents,
                    currency: currency.clone(),
                    rows,
                    seats_per_row,
                    ..Default::default()
                })
                .await;
            note("CreateSession", created.map(drop));
            note("WatchSeatMap", user.watch(&session_id).await.map(drop));
            answers
        });
        for (what, code, answer) in answers {
            prop_assert!(CONTRACT_CODES.contains(&code), "{what}: {answer}");
        }
        Ok(())
    });
    runtime.block_on(app.stop());
}

// ---------------------------------------------------------- black-box refusals

#[tokio::test]
async fn a_message_over_four_megabytes_is_refused_and_the_server_serves_on() {
    let app = TestApp::spawn().await;
    let huge = CreateSessionRequest {
        movie_title: "x".repeat(5 << 20),
        room: "Sala 1".into(),
        starts_at: in_hours(24),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
        ..Default::default()
    };
    let status = app.admin().create_session(huge).await.unwrap_err();
    // tonic refuses a message over its 4 MiB decoding limit with OUT_OF_RANGE.
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    let session = app.create_session(2, 8).await;
    assert_eq!(session.total_seats, 16);
    app.stop().await;
}

#[tokio::test]
async fn ten_thousand_seat_labels_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let labels: Vec<String> = (0..10_000).map(|i| format!("A{}", i % 50 + 1)).collect();
    let greedy = app.user("greedy");
    let started = Instant::now();
    let status = greedy.reserve(&session, &labels).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(status.code(), Code::InvalidArgument);
    // One violation for the whole list, not ten thousand.
    assert_eq!(violated_fields(&status), ["seat_labels"]);
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    app.stop().await;
}

#[tokio::test]
async fn purchase_page_tokens_that_were_tampered_with_or_belong_elsewhere_are_invalid() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    // Two sessions: ListSessions has a second page.
    app.create_session(2, 8).await;
    let alice = app.user("alice");
    for seat in ["A1", "A2"] {
        let reservation = alice.reserve(&session, &[seat]).await.expect("reserve");
        alice
            .confirm(&reservation.reservation_id)
            .await
            .expect("pay");
    }
    let alices_next = alice
        .list_purchases(1, "")
        .await
        .expect("the first page")
        .next_page_token;
    assert!(!alices_next.is_empty());
    let sessions_next = alice.list_sessions(1, "").await.unwrap().next_page_token;
    let mut edited = alices_next.clone().into_bytes();
    edited[4] = if edited[4] == b'A' { b'B' } else { b'A' };
    let bob = app.user("bob");
    let cases = [
        ("edited", &alice, String::from_utf8(edited).unwrap()),
        (
            "truncated",
            &alice,
            alices_next[..alices_next.len() - 2].to_owned(),
        ),
        ("another user's", &bob, alices_next.clone()),
        ("ListSessions'", &alice, sessions_next),
    ];
    for (what, caller, page_token) in cases {
        let status = caller.list_purchases(1, &page_token).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what} token");
        assert_eq!(violated_fields(&status), ["page_token"], "{what} token");
    }
    assert_eq!(
        alice
            .list_purchases(1, &alices_next)
            .await
            .unwrap()
            .sales
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn sql_like_and_non_ascii_user_ids_and_payment_references_are_kept_verbatim() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let user = "O'Brien'); DROP TABLE sales;-- Zoë 🎟 「客」";
    let reference = "pix' OR '1'='1 ação ✓";
    let them = app.user(user);
    let reservation = them
        .reserve(&session, &["B8"])
        .await
        .expect("reserve")
        .reservation_id;
    let sale = them
        .confirm_with(&reservation, reference, "")
        .await
        .expect("pay");
    assert_eq!(
        (sale.user_id.as_str(), sale.payment_reference.as_str()),
        (user, reference)
    );
    let listed = them.list_purchases(0, "").await.unwrap().sales;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].user_id.as_str(),
            listed[0].payment_reference.as_str()
        ),
        (user, reference)
    );
    let read = them.get_reservation(&reservation).await.unwrap();
    assert_eq!(read.user_id, user);
    app.stop().await;
}

#[tokio::test]
async fn text_with_nul_characters_is_refused_as_invalid() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let request = CreateSessionRequest {
        movie_title: "Filme\0X".into(),
        room: "Sala 1".into(),
        starts_at: in_hours(24),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
        ..Default::default()
    };
    let status = app.admin().create_session(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), ["movie_title"]);

    let alice = app.user("alice");
    let reservation = alice
        .reserve(&session, &["A1"])
        .await
        .expect("reserve")
        .reservation_id;
    let status = alice
        .confirm_with(&reservation, "pix\0", "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), ["payment_reference"]);

    let status = app
        .user("eve\0")
        .reserve(&session, &["A2"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    app.stop().await;
}
