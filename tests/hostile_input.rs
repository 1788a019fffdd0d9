//! Hostile input: arbitrary request messages and raw bytes, fed to every
//! request decoder and validator directly (the bulk, fast) and through the
//! real server with the generated client (fewer cases, each a few RPCs), plus
//! the black-box refusals of oversized messages and requests. Nothing may
//! panic, and every answer carries a code of the contract.
//!
//! The number of generated cases is bounded for CI: `PROPTEST_CASES` scales
//! it (default 256 for the direct checks, a tenth of that through the server).

mod common;

use std::time::{Duration, Instant};

use cinema::{
    api::convert,
    auth::Authenticator,
    booking::{self, labels, parse_payment_reference},
    catalog::{self, NewSession, layout::SeatLabel},
    config::Secret,
    error::Error,
    paging::{self, PageTokens},
    proto::v1::{
        CancelReservationRequest, ConfirmPaymentRequest, CreateSessionRequest,
        GetReservationRequest, GetSeatMapRequest, GetSessionRequest, GetSessionSalesRequest,
        ListPurchasesRequest, ListSessionsRequest, ReserveSeatsRequest, WatchSeatMapRequest,
    },
};
use common::{SECRET, TestApp, authed, create_session, violated_fields};
use proptest::{prelude::*, test_runner::TestRunner};
use prost::{
    Message,
    bytes::{Buf, BufMut},
};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
};
use uuid::Uuid;

/// Cases per property: `PROPTEST_CASES`, or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text: mostly short, with ASCII, SQL, control and non-ASCII characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just("'".to_owned()),
                Just("; DROP TABLE seats; --".to_owned()),
                Just("\0".to_owned()),
                Just("A1".to_owned()),
                Just(" ".to_owned()),
                Just("🎬".to_owned()),
                Just("ção".to_owned()),
                any::<char>().prop_map(String::from),
                (0u32..30).prop_map(|n| n.to_string()),
                prop::char::range('A', 'Z').prop_map(String::from),
            ],
            0..6
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// Text that is sometimes a valid UUID.
fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
        any::<u128>().prop_map(|n| format!(" {} ", Uuid::from_u128(n).simple())),
    ]
}

fn label_texts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            text(),
            (prop::char::range('A', 'a'), 0u32..60).prop_map(|(r, n)| format!("{r}{n}")),
        ],
        0..14,
    )
}

fn tokens() -> PageTokens {
    PageTokens::new(&Secret::new(SECRET))
}

// ---------------------------------------------------------------- directly

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn seat_labels_parse_or_name_each_bad_one(raw in label_texts(), max in 1usize..12) {
        match booking::parse_labels(&raw, max) {
            Ok(parsed) => {
                prop_assert!(!parsed.is_empty() && parsed.len() <= max && parsed.len() == raw.len());
                prop_assert!(parsed.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for problem in problems {
                    let field = problem.field.as_str();
                    let indexed = field
                        .strip_prefix("seat_labels[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .and_then(|i| i.parse::<usize>().ok());
                    prop_assert!(field == "seat_labels" || indexed.is_some_and(|i| i < raw.len()), "{field}");
                }
            }
        }
    }

    #[test]
    fn labels_outside_any_room_are_named(raw in label_texts(), rows in any::<i32>(), per_row in any::<i32>()) {
        if let Err(problems) = labels::check_in_room(&raw, rows, per_row) {
            prop_assert!(problems.len() <= raw.len());
        }
    }

    #[test]
    fn a_seat_label_reads_back_as_written(text in text()) {
        if let Ok(label) = text.trim().parse::<SeatLabel>() {
            prop_assert_eq!(label.to_string().parse::<SeatLabel>().ok(), Some(label));
            prop_assert!(label.fits(26, 50) || label.number() > 50 || label.number() == 0);
        }
    }

    #[test]
    fn only_a_token_of_the_listing_opens_a_page(token in text(), scope in text()) {
        let decoded = tokens().decode::<(chrono::DateTime<chrono::Utc>, Uuid)>(&scope, &token);
        if token.is_empty() {
            prop_assert!(matches!(decoded, Ok(None)));
        } else {
            prop_assert!(matches!(decoded, Err(Error::InvalidArgument(_))));
        }
    }

    #[test]
    fn an_edited_page_token_is_refused(at in any::<i64>(), id in any::<u128>(), position in any::<usize>(), flip in 1u8..) {
        let tokens = tokens();
        let cursor = (at, Uuid::from_u128(id));
        let token = tokens.encode("sessions", &cursor);
        let mut bytes = token.clone().into_bytes();
        let i = position % bytes.len();
        bytes[i] ^= flip;
        let edited = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(edited != token);
        let decoded = tokens.decode::<(i64, Uuid)>("sessions", &edited);
        prop_assert!(matches!(decoded, Err(Error::InvalidArgument(_))), "{edited} gave {decoded:?}");
        prop_assert!(tokens.decode::<(i64, Uuid)>("purchases:eve", &token).is_err());
    }

    #[test]
    fn page_sizes_are_bounded(size in any::<i32>()) {
        match paging::page_size(size) {
            Ok(n) => prop_assert!(size >= 0 && (1..=100).contains(&n)),
            Err(err) => prop_assert!(size < 0 && matches!(err, Error::InvalidArgument(_))),
        }
    }

    #[test]
    fn no_made_up_authorization_gets_in(header in text(), token in text()) {
        let auth = Authenticator::new(&Secret::new(SECRET));
        for header in [header, format!("Bearer {token}"), format!("Bearer {token}.{token}.{token}")] {
            prop_assert!(matches!(auth.verify(Some(&header)), Err(Error::Unauthenticated(_))), "{header}");
        }
    }

    #[test]
    fn ids_are_uuids_or_invalid(text in id_text()) {
        let valid = Uuid::try_parse(text.trim()).is_ok();
        match convert::parse_id("session_id", &text) {
            Ok(_) => prop_assert!(valid),
            Err(err) => prop_assert!(!valid && matches!(err, Error::InvalidArgument(_))),
        }
        let optional = convert::parse_optional_id("request_id", &text);
        prop_assert_eq!(optional.is_ok(), valid || text.trim().is_empty());
    }

    #[test]
    fn any_timestamp_converts_or_is_missing(seconds in any::<i64>(), nanos in any::<i32>()) {
        let converted = convert::datetime(Some(prost_types::Timestamp { seconds, nanos }));
        if let Some(at) = converted {
            prop_assert_eq!(at.timestamp(), seconds);
        }
    }

    #[test]
    fn a_new_session_is_valid_or_each_problem_is_named(
        movie_title in text(), room in text(), seconds in any::<i64>(), price_cents in any::<i64>(),
        currency in text(), rows in any::<u32>(), seats_per_row in any::<u32>(),
    ) {
        let new = NewSession {
            movie_title, room, starts_at: chrono::DateTime::from_timestamp(seconds, 0),
            price_cents, currency, rows, seats_per_row,
        };
        match catalog::validate(new, chrono::Utc::now()) {
            Ok(valid) => {
                prop_assert!((1..=26).contains(&valid.rows) && (1..=50).contains(&valid.seats_per_row));
                prop_assert!(valid.rows * valid.seats_per_row >= 16 && valid.price_cents > 0);
                prop_assert!(valid.currency.len() == 3);
            }
            Err(Error::InvalidArgument(problems)) => {
                const FIELDS: [&str; 7] = ["movie_title", "room", "starts_at", "price_cents", "currency", "rows", "seats_per_row"];
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| FIELDS.contains(&p.field.as_str())));
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn payment_references_are_trimmed_and_bounded(reference in text()) {
        match parse_payment_reference(&reference) {
            Ok(kept) => prop_assert!(kept == reference.trim() && !kept.is_empty()),
            Err(err) => prop_assert!(matches!(err, Error::InvalidArgument(_))),
        }
    }

    #[test]
    fn any_bytes_decode_or_fail_as_every_request(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // A decoding failure is an error value, never a panic.
        let _ = ReserveSeatsRequest::decode(bytes.as_slice());
        let _ = ConfirmPaymentRequest::decode(bytes.as_slice());
        let _ = CancelReservationRequest::decode(bytes.as_slice());
        let _ = GetReservationRequest::decode(bytes.as_slice());
        let _ = ListPurchasesRequest::decode(bytes.as_slice());
        let _ = CreateSessionRequest::decode(bytes.as_slice());
        let _ = GetSessionRequest::decode(bytes.as_slice());
        let _ = ListSessionsRequest::decode(bytes.as_slice());
        let _ = GetSeatMapRequest::decode(bytes.as_slice());
        let _ = WatchSeatMapRequest::decode(bytes.as_slice());
        let _ = GetSessionSalesRequest::decode(bytes.as_slice());
    }
}

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

const UNARY_METHODS: [&str; 10] = [
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
    if let Err(failure) = TestRunner::new(config(cases)).run(&strategy, property) {
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
    let session = runtime.block_on(create_session(&app, 26, 50)).session_id;
    let (admin, user) = (app.admin_token(), app.token("fuzzer"));
    let server_cases = (cases(256) / 10).max(1);

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
                        authed(bytes.clone(), &admin),
                        PathAndQuery::from_static(path),
                        RawBytes,
                    )
                    .await
                    .map(drop)
                } else {
                    let path = PathAndQuery::from_static("/cinema.v1.SessionService/WatchSeatMap");
                    let mut stream = grpc
                        .server_streaming(authed(bytes.clone(), &admin), path, RawBytes)
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
        let subject_token = app.token(&subject);
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let (mut sessions, mut booking) = (app.sessions(), app.booking());
            let mut answers = Vec::new();
            let mut note = |what, answer: Result<(), Status>| {
                answers.push((what, code_of(&answer), format!("{answer:?}")));
            };
            note(
                "ReserveSeats",
                booking
                    .reserve_seats(authed(
                        ReserveSeatsRequest {
                            session_id: session_id.clone(),
                            seat_labels: seat_labels.clone(),
                            request_id: some_id.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            // A real hold by the arbitrary user, paid with an arbitrary reference.
            let held = booking
                .reserve_seats(authed(
                    ReserveSeatsRequest {
                        session_id: session.clone(),
                        seat_labels: vec![format!("{}{}", seat.0, seat.1)],
                        request_id: String::new(),
                    },
                    &subject_token,
                ))
                .await;
            let reservation_id = match held {
                Ok(reservation) => reservation.into_inner().reservation_id,
                Err(status) => {
                    note("ReserveSeats as the arbitrary user", Err(status));
                    some_id.clone()
                }
            };
            note(
                "ConfirmPayment",
                booking
                    .confirm_payment(authed(
                        ConfirmPaymentRequest {
                            reservation_id: reservation_id.clone(),
                            payment_reference: reference.clone(),
                            request_id: some_id.clone(),
                        },
                        &subject_token,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "ListPurchases as the arbitrary user",
                booking
                    .list_purchases(authed(
                        ListPurchasesRequest {
                            page_size,
                            page_token: page_token.clone(),
                        },
                        &subject_token,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "CancelReservation",
                booking
                    .cancel_reservation(authed(
                        CancelReservationRequest {
                            reservation_id: some_id.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "GetReservation",
                booking
                    .get_reservation(authed(
                        GetReservationRequest {
                            reservation_id: some_id.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "ListPurchases",
                booking
                    .list_purchases(authed(
                        ListPurchasesRequest {
                            page_size,
                            page_token: page_token.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "ListSessions",
                sessions
                    .list_sessions(authed(
                        ListSessionsRequest {
                            page_size,
                            page_token: page_token.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "GetSession",
                sessions
                    .get_session(authed(
                        GetSessionRequest {
                            session_id: session_id.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "GetSeatMap",
                sessions
                    .get_seat_map(authed(
                        GetSeatMapRequest {
                            session_id: session_id.clone(),
                        },
                        &user,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "GetSessionSales",
                sessions
                    .get_session_sales(authed(
                        GetSessionSalesRequest {
                            session_id: session_id.clone(),
                        },
                        &admin,
                    ))
                    .await
                    .map(drop),
            );
            note(
                "CreateSession",
                sessions
                    .create_session(authed(
                        CreateSessionRequest {
                            movie_title: title.clone(),
                            room: room.clone(),
                            starts_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
                            price_cents,
                            currency: currency.clone(),
                            rows,
                            seats_per_row,
                        },
                        &admin,
                    ))
                    .await
                    .map(drop),
            );
            let watch = sessions
                .watch_seat_map(authed(
                    WatchSeatMapRequest {
                        session_id: session_id.clone(),
                    },
                    &user,
                ))
                .await;
            note("WatchSeatMap", watch.map(drop));
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
        starts_at: common::in_hours(24),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
    };
    let status = app
        .sessions()
        .create_session(authed(huge, &app.admin_token()))
        .await
        .unwrap_err();
    // tonic refuses a message over its 4 MiB decoding limit with OUT_OF_RANGE.
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    let session = create_session(&app, 2, 8).await;
    assert_eq!(session.total_seats, 16);
    app.stop().await;
}

#[tokio::test]
async fn ten_thousand_seat_labels_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
    let labels: Vec<String> = (0..10_000).map(|i| format!("A{}", i % 50 + 1)).collect();
    let started = Instant::now();
    let status = app
        .booking()
        .reserve_seats(authed(
            ReserveSeatsRequest {
                session_id: session,
                seat_labels: labels,
                request_id: String::new(),
            },
            &app.token("greedy"),
        ))
        .await
        .unwrap_err();
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
    let session = create_session(&app, 2, 8).await.session_id;
    // Two sessions: ListSessions has a second page.
    create_session(&app, 2, 8).await;
    let alice = app.token("alice");
    for seat in ["A1", "A2"] {
        let reservation = common::reserve_on(&app.channel, &app, "alice", &session, &[seat]).await;
        app.booking()
            .confirm_payment(authed(
                ConfirmPaymentRequest {
                    reservation_id: reservation,
                    payment_reference: "pix".into(),
                    request_id: String::new(),
                },
                &alice,
            ))
            .await
            .expect("pay");
    }
    let list = |token: &str, page_token: String| {
        let mut booking = app.booking();
        let token = token.to_owned();
        async move {
            booking
                .list_purchases(authed(
                    ListPurchasesRequest {
                        page_size: 1,
                        page_token,
                    },
                    &token,
                ))
                .await
        }
    };
    let alices_next = list(&alice, String::new())
        .await
        .expect("the first page")
        .into_inner()
        .next_page_token;
    assert!(!alices_next.is_empty());
    let sessions_next = app
        .sessions()
        .list_sessions(authed(
            ListSessionsRequest {
                page_size: 1,
                page_token: String::new(),
            },
            &alice,
        ))
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let mut edited = alices_next.clone().into_bytes();
    edited[4] = if edited[4] == b'A' { b'B' } else { b'A' };
    let cases = [
        ("edited", &alice, String::from_utf8(edited).unwrap()),
        (
            "truncated",
            &alice,
            alices_next[..alices_next.len() - 2].to_owned(),
        ),
        ("another user's", &app.token("bob"), alices_next.clone()),
        ("ListSessions'", &alice, sessions_next),
    ];
    for (what, token, page_token) in cases {
        let status = list(token, page_token).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what} token");
        assert_eq!(violated_fields(&status), ["page_token"], "{what} token");
    }
    assert_eq!(
        list(&alice, alices_next)
            .await
            .unwrap()
            .into_inner()
            .sales
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn sql_like_and_non_ascii_user_ids_and_payment_references_are_kept_verbatim() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
    let user = "O'Brien'); DROP TABLE sales;-- Zoë 🎟 「客」";
    let reference = "pix' OR '1'='1 ação ✓";
    let token = app.token(user);
    let reservation = common::reserve_on(&app.channel, &app, user, &session, &["B8"]).await;
    let sale = app
        .booking()
        .confirm_payment(authed(
            ConfirmPaymentRequest {
                reservation_id: reservation.clone(),
                payment_reference: reference.into(),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("pay")
        .into_inner();
    assert_eq!(
        (sale.user_id.as_str(), sale.payment_reference.as_str()),
        (user, reference)
    );
    let listed = app
        .booking()
        .list_purchases(authed(ListPurchasesRequest::default(), &token))
        .await
        .unwrap()
        .into_inner()
        .sales;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].user_id.as_str(),
            listed[0].payment_reference.as_str()
        ),
        (user, reference)
    );
    let read = app
        .booking()
        .get_reservation(authed(
            GetReservationRequest {
                reservation_id: reservation,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.user_id, user);
    app.stop().await;
}

#[tokio::test]
async fn text_with_nul_characters_is_refused_as_invalid() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
    let request = CreateSessionRequest {
        movie_title: "Filme\0X".into(),
        room: "Sala 1".into(),
        starts_at: common::in_hours(24),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
    };
    let status = app
        .sessions()
        .create_session(authed(request, &app.admin_token()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), ["movie_title"]);

    let reservation = common::reserve_on(&app.channel, &app, "alice", &session, &["A1"]).await;
    let status = app
        .booking()
        .confirm_payment(authed(
            ConfirmPaymentRequest {
                reservation_id: reservation,
                payment_reference: "pix\0".into(),
                request_id: String::new(),
            },
            &app.token("alice"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), ["payment_reference"]);

    let status = app
        .booking()
        .reserve_seats(authed(
            ReserveSeatsRequest {
                session_id: session,
                seat_labels: vec!["A2".into()],
                request_id: String::new(),
            },
            &app.token("eve\0"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    app.stop().await;
}
