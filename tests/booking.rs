//! BookingService through the generated client: holds, payment, cancellation,
//! expiry, idempotency and purchase history, against one in-process server.

mod common;

use std::{collections::HashSet, future::Future, time::Duration};

use chrono::{DateTime, Utc};
use cinema::proto::v1::{
    CancelReservationRequest, ConfirmPaymentRequest, CreateSessionRequest, GetReservationRequest,
    GetSeatMapRequest, GetSessionRequest, ListPurchasesRequest, ListPurchasesResponse,
    ReservationStatus, ReserveSeatsRequest, Sale, SeatMap, SeatStatus, Session,
};
use common::{TestApp, authed, precondition_violations, seat, to_chrono, violated_fields};
use prost_types::Timestamp;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tonic::{Code, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

type Reservation = cinema::proto::v1::Reservation;

/// No single call may take longer than this: a hung call fails the test.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Slack allowed between the test's clock and the server's for "about now".
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(2);

async fn within<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .expect("a call took longer than the timeout")
}

fn in_hours(hours: i64) -> Option<Timestamp> {
    let at = Utc::now() + chrono::Duration::hours(hours);
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

fn assert_about(at: Option<&Timestamp>, earliest: DateTime<Utc>, latest: DateTime<Utc>) {
    let at = to_chrono(at);
    assert!(
        at >= earliest - CLOCK_SLACK && at <= latest + CLOCK_SLACK,
        "{at} is not between {earliest} and {latest}"
    );
}

fn session_request(title: &str, hours: i64, rows: u32, seats_per_row: u32) -> CreateSessionRequest {
    CreateSessionRequest {
        movie_title: title.into(),
        room: "Sala 1".into(),
        starts_at: in_hours(hours),
        price_cents: 2500,
        currency: "BRL".into(),
        rows,
        seats_per_row,
    }
}

async fn create_session(app: &TestApp, rows: u32, seats_per_row: u32) -> Session {
    create_titled_session(app, "Filme X", 24, rows, seats_per_row).await
}

async fn create_titled_session(
    app: &TestApp,
    title: &str,
    hours: i64,
    rows: u32,
    seats_per_row: u32,
) -> Session {
    within(app.sessions().create_session(authed(
        session_request(title, hours, rows, seats_per_row),
        &app.admin_token(),
    )))
    .await
    .expect("create a session")
    .into_inner()
}

fn labels(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| (*l).to_owned()).collect()
}

async fn reserve_with_id(
    app: &TestApp,
    token: &str,
    session_id: &str,
    seats: &[&str],
    request_id: &str,
) -> Result<Reservation, Status> {
    within(app.booking().reserve_seats(authed(
        ReserveSeatsRequest {
            session_id: session_id.into(),
            seat_labels: labels(seats),
            request_id: request_id.into(),
        },
        token,
    )))
    .await
    .map(tonic::Response::into_inner)
}

async fn reserve(
    app: &TestApp,
    token: &str,
    session_id: &str,
    seats: &[&str],
) -> Result<Reservation, Status> {
    reserve_with_id(app, token, session_id, seats, "").await
}

async fn get_reservation(
    app: &TestApp,
    token: &str,
    reservation_id: &str,
) -> Result<Reservation, Status> {
    within(app.booking().get_reservation(authed(
        GetReservationRequest {
            reservation_id: reservation_id.into(),
        },
        token,
    )))
    .await
    .map(tonic::Response::into_inner)
}

async fn confirm_with_id(
    app: &TestApp,
    token: &str,
    reservation_id: &str,
    payment_reference: &str,
    request_id: &str,
) -> Result<Sale, Status> {
    within(app.booking().confirm_payment(authed(
        ConfirmPaymentRequest {
            reservation_id: reservation_id.into(),
            payment_reference: payment_reference.into(),
            request_id: request_id.into(),
        },
        token,
    )))
    .await
    .map(tonic::Response::into_inner)
}

async fn confirm(app: &TestApp, token: &str, reservation_id: &str) -> Result<Sale, Status> {
    confirm_with_id(app, token, reservation_id, "pay-ref", "").await
}

async fn cancel(app: &TestApp, token: &str, reservation_id: &str) -> Result<Reservation, Status> {
    within(app.booking().cancel_reservation(authed(
        CancelReservationRequest {
            reservation_id: reservation_id.into(),
        },
        token,
    )))
    .await
    .map(tonic::Response::into_inner)
}

async fn list_purchases(
    app: &TestApp,
    token: &str,
    page_size: i32,
    page_token: String,
) -> ListPurchasesResponse {
    within(app.booking().list_purchases(authed(
        ListPurchasesRequest {
            page_size,
            page_token,
        },
        token,
    )))
    .await
    .expect("list purchases")
    .into_inner()
}

async fn seat_map(app: &TestApp, session_id: &str) -> SeatMap {
    within(app.sessions().get_seat_map(authed(
        GetSeatMapRequest {
            session_id: session_id.into(),
        },
        &app.token("seat-map-reader"),
    )))
    .await
    .expect("seat map")
    .into_inner()
}

fn counts(map: &SeatMap) -> (u32, u32, u32) {
    (map.available_count, map.held_count, map.sold_count)
}

fn violation(kind: &str, subject: &str) -> (String, String) {
    (kind.to_owned(), subject.to_owned())
}

/// The BadRequest fields of an INVALID_ARGUMENT, sorted: the contract names
/// every bad field but does not order them.
fn invalid_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut fields = violated_fields(status);
    fields.sort();
    fields
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields = labels(fields);
    fields.sort();
    fields
}

/// One number from the test's own database: `sql` must select a bigint `n`.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = Database::connect(app.settings.database_url.as_str())
        .await
        .expect("connect to the test database");
    let n = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("run the query")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("a bigint n");
    db.close().await.expect("close");
    n
}

fn assert_not_found(status: &Status, resource_type: &str, name: &str) {
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let info = status
        .get_details_resource_info()
        .expect("ResourceInfo details");
    assert_eq!(
        (info.resource_type.as_str(), info.resource_name.as_str()),
        (resource_type, name)
    );
}

#[tokio::test]
async fn reserving_holds_the_seats_for_the_caller_in_seat_order_at_the_session_price() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 10).await;
    let alice = app.token("alice");
    let before = Utc::now();
    let reservation = reserve(&app, &alice, &session.session_id, &["B2", "A10", "A2"])
        .await
        .expect("reserve");
    let after = Utc::now();
    Uuid::parse_str(&reservation.reservation_id).expect("a UUID id");
    assert_eq!(reservation.session_id, session.session_id);
    assert_eq!(reservation.user_id, "alice");
    assert_eq!(reservation.seat_labels, ["A2", "A10", "B2"]);
    assert_eq!(reservation.status(), ReservationStatus::Pending);
    assert_eq!(reservation.total_price_cents, 3 * 2500);
    assert_eq!(reservation.currency, "BRL");
    assert_about(reservation.create_time.as_ref(), before, after);
    let hold = chrono::Duration::seconds(30);
    assert_about(
        reservation.expire_time.as_ref(),
        before + hold,
        after + hold,
    );

    let map = seat_map(&app, &session.session_id).await;
    assert_eq!(counts(&map), (17, 3, 0));
    for s in &map.seats {
        let expected = if reservation.seat_labels.contains(&s.label) {
            (SeatStatus::Held, 1)
        } else {
            (SeatStatus::Available, 0)
        };
        assert_eq!((s.status(), s.version), expected, "seat {}", s.label);
    }
    let read = within(app.sessions().get_session(authed(
        GetSessionRequest {
            session_id: session.session_id.clone(),
        },
        &alice,
    )))
    .await
    .expect("get session")
    .into_inner();
    assert_eq!(read.available_seats, 17);

    let read = get_reservation(&app, &alice, &reservation.reservation_id)
        .await
        .expect("get reservation");
    assert_eq!(read, reservation);
    app.stop().await;
}

#[tokio::test]
async fn each_invalid_reservation_field_gets_its_own_violation_and_nothing_is_held() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let id = session.session_id.as_str();
    let alice = app.token("alice");
    let eleven = [
        "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1", "B2", "B3",
    ];
    let cases: Vec<(&str, Vec<&str>, &str, Vec<&str>)> = vec![
        ("not-a-uuid", vec!["A1"], "", vec!["session_id"]),
        ("", vec!["A1"], "", vec!["session_id"]),
        (id, vec![], "", vec!["seat_labels"]),
        (id, eleven.to_vec(), "", vec!["seat_labels"]),
        (id, vec!["A1", ""], "", vec!["seat_labels[1]"]),
        (id, vec!["A0"], "", vec!["seat_labels[0]"]),
        (id, vec!["1A"], "", vec!["seat_labels[0]"]),
        (id, vec!["ZZ9"], "", vec!["seat_labels[0]"]),
        (id, vec!["A1", "A2", "A1"], "", vec!["seat_labels[2]"]),
        (id, vec!["C1"], "", vec!["seat_labels[0]"]),
        (id, vec!["A9"], "", vec!["seat_labels[0]"]),
        (
            id,
            vec!["A1", "C1", "A9"],
            "",
            vec!["seat_labels[1]", "seat_labels[2]"],
        ),
        (id, vec!["A1"], "not-a-uuid", vec!["request_id"]),
        (
            id,
            vec!["", "A1", "A1", "ZZ9"],
            "",
            vec!["seat_labels[0]", "seat_labels[2]", "seat_labels[3]"],
        ),
    ];
    for (session_id, seats, request_id, fields) in cases {
        let status = reserve_with_id(&app, &alice, session_id, &seats, request_id)
            .await
            .expect_err("an invalid reservation was accepted");
        assert_eq!(
            invalid_fields(&status),
            sorted(&fields),
            "{session_id:?} {seats:?} {request_id:?}"
        );
    }
    let map = seat_map(&app, id).await;
    assert_eq!(counts(&map), (16, 0, 0));
    assert!(map.seats.iter().all(|s| s.version == 0));
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM reservations").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn several_problems_in_one_reservation_are_all_named_at_once() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let id = session.session_id.as_str();
    let alice = app.token("alice");
    let cases: Vec<(&str, Vec<&str>, &str, Vec<&str>)> = vec![
        (
            id,
            vec!["A1", "", "A1", "1A"],
            "nope",
            vec![
                "seat_labels[1]",
                "seat_labels[2]",
                "seat_labels[3]",
                "request_id",
            ],
        ),
        (
            "42",
            vec![],
            "nope",
            vec!["session_id", "seat_labels", "request_id"],
        ),
    ];
    for (session_id, seats, request_id, fields) in cases {
        let status = reserve_with_id(&app, &alice, session_id, &seats, request_id)
            .await
            .expect_err("an invalid reservation was accepted");
        assert_eq!(
            invalid_fields(&status),
            sorted(&fields),
            "{session_id:?} {seats:?} {request_id:?}"
        );
    }
    assert_eq!(counts(&seat_map(&app, id).await), (16, 0, 0));
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM reservations").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_may_hold_at_most_the_configured_number_of_seats() {
    let app = TestApp::spawn_with(|settings| settings.max_seats_per_reservation = 3).await;
    let session = create_session(&app, 2, 8).await;
    let alice = app.token("alice");
    let status = reserve(&app, &alice, &session.session_id, &["A1", "A2", "A3", "A4"])
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&status), ["seat_labels"]);
    let reservation = reserve(&app, &alice, &session.session_id, &["A1", "A2", "A3"])
        .await
        .expect("three seats are allowed");
    assert_eq!(reservation.seat_labels, ["A1", "A2", "A3"]);
    assert_eq!(
        counts(&seat_map(&app, &session.session_id).await),
        (13, 3, 0)
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_sessions_and_reservations_are_not_found_and_malformed_ids_invalid() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice");
    let unknown = Uuid::new_v4().to_string();
    let status = reserve(&app, &alice, &unknown, &["A1"]).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Session", &unknown);

    let status = get_reservation(&app, &alice, &unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);
    let status = confirm(&app, &alice, &unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);
    let status = cancel(&app, &alice, &unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);

    for bad in ["", "42", "not-a-uuid", "'; DROP TABLE reservations; --"] {
        let status = get_reservation(&app, &alice, bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
        let status = confirm(&app, &alice, bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
        let status = cancel(&app, &alice, bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_is_seen_and_changed_only_by_its_owner() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let reservation = reserve(&app, &alice, &session.session_id, &["A1", "A2"])
        .await
        .expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = get_reservation(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = confirm(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = cancel(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Bob's attempts changed nothing.
    let read = get_reservation(&app, &alice, id).await.expect("get");
    assert_eq!(read, reservation);
    let map = seat_map(&app, &session.session_id).await;
    assert_eq!(counts(&map), (14, 2, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Held, 1));
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM sales").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_takes_all_its_seats_or_none_and_names_every_unavailable_one() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    reserve(&app, &alice, sid, &["B1"])
        .await
        .expect("alice holds B1");

    let status = reserve(&app, &bob, sid, &["B1", "B2"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("SEAT_UNAVAILABLE", "B1")]
    );
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "B1"), (SeatStatus::Held, 1));
    assert_eq!(seat(&map, "B2"), (SeatStatus::Available, 0));

    // A sold seat and a held seat among free ones: both named, none taken.
    let bought = reserve(&app, &alice, sid, &["A1"])
        .await
        .expect("reserve A1");
    confirm(&app, &alice, &bought.reservation_id)
        .await
        .expect("alice buys A1");
    let status = reserve(&app, &bob, sid, &["A2", "A1", "B1", "B3"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [
            violation("SEAT_UNAVAILABLE", "A1"),
            violation("SEAT_UNAVAILABLE", "B1")
        ]
    );
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (14, 1, 1));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Available, 0));
    assert_eq!(seat(&map, "B3"), (SeatStatus::Available, 0));

    // The free seats really are free.
    let taken = reserve(&app, &bob, sid, &["A2", "B3"])
        .await
        .expect("bob takes the free seats");
    assert_eq!(taken.seat_labels, ["A2", "B3"]);
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM reservations").await,
        3,
        "a refused reservation left a row"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_users_racing_for_the_last_seat_get_one_hold_between_them() {
    let app = TestApp::spawn().await;
    let filler = app.token("filler");
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    for round in 0..5 {
        let session = create_session(&app, 2, 8).await;
        let sid = session.session_id.as_str();
        reserve(
            &app,
            &filler,
            sid,
            &["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"],
        )
        .await
        .expect("fill row A");
        reserve(
            &app,
            &filler,
            sid,
            &["B1", "B2", "B3", "B4", "B5", "B6", "B7"],
        )
        .await
        .expect("fill row B but B8");
        let (a, b) = tokio::join!(
            reserve(&app, &alice, sid, &["B8"]),
            reserve(&app, &bob, sid, &["B8"])
        );
        let (winner, loser) = match (a, b) {
            (Ok(won), Err(lost)) => {
                assert_eq!(won.user_id, "alice");
                (won, lost)
            }
            (Err(lost), Ok(won)) => {
                assert_eq!(won.user_id, "bob");
                (won, lost)
            }
            other => panic!("round {round}: not exactly one winner: {other:?}"),
        };
        assert_eq!(winner.status(), ReservationStatus::Pending);
        assert_eq!(winner.seat_labels, ["B8"]);
        assert!(
            matches!(loser.code(), Code::FailedPrecondition | Code::Aborted),
            "round {round}: {loser:?}"
        );
        if loser.code() == Code::FailedPrecondition {
            assert_eq!(
                precondition_violations(&loser),
                [violation("SEAT_UNAVAILABLE", "B8")]
            );
        }
        let map = seat_map(&app, sid).await;
        assert_eq!(counts(&map), (0, 16, 0), "round {round}");
        assert_eq!(seat(&map, "B8"), (SeatStatus::Held, 1), "round {round}");
    }
    app.stop().await;
}

#[tokio::test]
async fn retrying_with_the_same_request_id_returns_the_first_reservation() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let request_id = Uuid::new_v4().to_string();

    let first = reserve_with_id(&app, &alice, sid, &["A1", "A2"], &request_id)
        .await
        .expect("reserve");
    let retry = reserve_with_id(&app, &alice, sid, &["A1", "A2"], &request_id)
        .await
        .expect("the retry answers like the first request");
    assert_eq!(retry, first);
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (14, 2, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Held, 1));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Held, 1));
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM reservations").await,
        1
    );

    // The same id for another request is a mistake, and holds nothing.
    let status = reserve_with_id(&app, &alice, sid, &["A3"], &request_id)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&status), ["request_id"]);
    assert_eq!(
        seat(&seat_map(&app, sid).await, "A3"),
        (SeatStatus::Available, 0)
    );

    // Another user's ids are their own.
    let bobs = reserve_with_id(&app, &bob, sid, &["A3"], &request_id)
        .await
        .expect("bob may use the same request id");
    assert_ne!(bobs.reservation_id, first.reservation_id);
    assert_eq!(bobs.user_id, "bob");
    assert_eq!(bobs.seat_labels, ["A3"]);
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM reservations").await,
        2
    );
    assert_eq!(counts(&seat_map(&app, sid).await), (13, 3, 0));
    app.stop().await;
}

#[tokio::test]
async fn paying_sells_the_seats_and_paying_again_returns_the_same_sale() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let reservation = reserve(&app, &alice, sid, &["B1", "A3", "A2"])
        .await
        .expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = confirm_with_id(&app, &alice, id, "", "").await.unwrap_err();
    assert_eq!(invalid_fields(&status), ["payment_reference"]);
    let status = confirm(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(
        get_reservation(&app, &alice, id)
            .await
            .expect("get")
            .status(),
        ReservationStatus::Pending
    );

    let request_id = Uuid::new_v4().to_string();
    let before = Utc::now();
    let sale = confirm_with_id(&app, &alice, id, "PSP-0001", &request_id)
        .await
        .expect("confirm");
    let after = Utc::now();
    Uuid::parse_str(&sale.sale_id).expect("a UUID sale id");
    assert_eq!(sale.reservation_id, reservation.reservation_id);
    assert_eq!(sale.session_id, session.session_id);
    assert_eq!(sale.user_id, "alice");
    assert_eq!(sale.seat_labels, ["A2", "A3", "B1"]);
    assert_eq!(sale.amount_cents, 7500);
    assert_eq!(sale.currency, "BRL");
    assert_eq!(sale.payment_reference, "PSP-0001");
    assert_about(sale.paid_time.as_ref(), before, after);
    assert_eq!(sale.movie_title, "Filme X");
    assert_eq!(sale.starts_at, session.starts_at);

    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (13, 0, 3));
    for label in ["A2", "A3", "B1"] {
        assert_eq!(seat(&map, label), (SeatStatus::Sold, 2), "{label}");
    }
    let read = get_reservation(&app, &alice, id).await.expect("get");
    assert_eq!(read.status(), ReservationStatus::Confirmed);
    assert_eq!(read.seat_labels, reservation.seat_labels);

    // Retries, with or without the request id, get the same sale.
    let again = confirm_with_id(&app, &alice, id, "PSP-0001", &request_id)
        .await
        .expect("retry with the request id");
    assert_eq!(again, sale);
    let again = confirm_with_id(&app, &alice, id, "PSP-0001", "")
        .await
        .expect("confirm again without a request id");
    assert_eq!(again, sale);
    let status = confirm(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM sales").await,
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM sale_seats").await,
        3
    );
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (13, 0, 3));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Sold, 2));
    app.stop().await;
}

#[tokio::test]
async fn an_unpaid_hold_expires_on_time_and_can_no_longer_be_paid() {
    let hold = Duration::from_secs(2);
    let app = TestApp::spawn_with(|settings| settings.hold_duration = hold).await;
    let session = create_session(&app, 2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let before = Utc::now();
    let reservation = reserve(&app, &alice, sid, &["A1", "A2"])
        .await
        .expect("reserve");
    let after = Utc::now();
    let hold_chrono = chrono::Duration::from_std(hold).unwrap();
    assert_about(
        reservation.expire_time.as_ref(),
        before + hold_chrono,
        after + hold_chrono,
    );
    let expire = to_chrono(reservation.expire_time.as_ref());
    let id = reservation.reservation_id.as_str();

    let status = reserve(&app, &bob, sid, &["A1"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // Bob gets A1 once the hold ends, and not before.
    let deadline = expire + chrono::Duration::milliseconds(1500);
    let bobs = loop {
        match reserve(&app, &bob, sid, &["A1"]).await {
            Ok(bobs) => break bobs,
            Err(status)
                if matches!(status.code(), Code::FailedPrecondition | Code::Aborted)
                    && Utc::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("A1 was not free 1.5 s after {expire}: {status:?}"),
        }
    };
    assert!(
        Utc::now() >= expire - chrono::Duration::milliseconds(50),
        "A1 was taken before the hold ended at {expire}"
    );
    assert_eq!(bobs.seat_labels, ["A1"]);

    let deadline = expire + chrono::Duration::seconds(1);
    loop {
        let read = get_reservation(&app, &alice, id).await.expect("get");
        if read.status() == ReservationStatus::Expired {
            assert_eq!(read.seat_labels, ["A1", "A2"]);
            break;
        }
        assert_eq!(read.status(), ReservationStatus::Pending);
        assert!(
            Utc::now() < deadline,
            "still PENDING a second after {expire}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let status = confirm(&app, &alice, id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_EXPIRED", id)]
    );
    // Cancelling an expired reservation returns it unchanged.
    let cancelled = cancel(&app, &alice, id).await.expect("cancel");
    assert_eq!(cancelled.status(), ReservationStatus::Expired);
    assert_eq!(
        get_reservation(&app, &alice, id)
            .await
            .expect("get")
            .status(),
        ReservationStatus::Expired
    );

    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "A1").0, SeatStatus::Held);
    assert_eq!(seat(&map, "A2").0, SeatStatus::Available);
    assert_eq!(
        count(&app, "SELECT count(*)::bigint AS n FROM sales").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn cancelling_frees_the_seats_at_once_and_only_pending_reservations_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let reservation = reserve(&app, &alice, sid, &["A2", "A1"])
        .await
        .expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = cancel(&app, &bob, id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(counts(&seat_map(&app, sid).await), (14, 2, 0));

    let cancelled = cancel(&app, &alice, id).await.expect("cancel");
    assert_eq!(cancelled.reservation_id, reservation.reservation_id);
    assert_eq!(cancelled.status(), ReservationStatus::Cancelled);
    assert_eq!(cancelled.seat_labels, ["A1", "A2"]);
    assert_eq!(cancelled.user_id, "alice");
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (16, 0, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Available, 2));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Available, 2));

    let taken = reserve(&app, &bob, sid, &["A1"])
        .await
        .expect("bob takes A1 at once");
    assert_eq!(taken.status(), ReservationStatus::Pending);

    let again = cancel(&app, &alice, id).await.expect("cancel again");
    assert_eq!(again, cancelled);
    assert_eq!(
        get_reservation(&app, &alice, id).await.expect("get"),
        cancelled
    );
    let status = confirm(&app, &alice, id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_CANCELLED", id)]
    );
    // Alice's late payment did not take A1 back from Bob.
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "A1").0, SeatStatus::Held);

    let bought = reserve(&app, &alice, sid, &["B1"]).await.expect("reserve");
    confirm(&app, &alice, &bought.reservation_id)
        .await
        .expect("confirm");
    let status = cancel(&app, &alice, &bought.reservation_id)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_CONFIRMED", &bought.reservation_id)]
    );
    assert_eq!(
        get_reservation(&app, &alice, &bought.reservation_id)
            .await
            .expect("get")
            .status(),
        ReservationStatus::Confirmed
    );
    assert_eq!(
        seat(&seat_map(&app, sid).await, "B1"),
        (SeatStatus::Sold, 2)
    );
    app.stop().await;
}

#[tokio::test]
async fn purchase_history_shows_only_the_callers_sales_newest_first_page_by_page() {
    let app = TestApp::spawn().await;
    let first = create_titled_session(&app, "Filme X", 24, 2, 8).await;
    let second = create_titled_session(&app, "Filme Y", 48, 2, 8).await;
    let (alice, bob, carol) = (app.token("alice"), app.token("bob"), app.token("carol"));
    let buys: [(&str, &Session, &[&str]); 7] = [
        (&alice, &first, &["A1"]),
        (&bob, &first, &["A2"]),
        (&alice, &second, &["A1", "A2"]),
        (&alice, &first, &["B1"]),
        (&bob, &second, &["B1"]),
        (&alice, &second, &["B2", "B3", "B4"]),
        (&alice, &first, &["B8"]),
    ];
    let mut alices = Vec::new();
    let mut bobs = Vec::new();
    for (token, session, seats) in buys {
        let reservation = reserve(&app, token, &session.session_id, seats)
            .await
            .expect("reserve");
        let sale = confirm(&app, token, &reservation.reservation_id)
            .await
            .expect("confirm");
        assert_eq!(sale.movie_title, session.movie_title);
        assert_eq!(sale.starts_at, session.starts_at);
        let owner = if token == alice {
            &mut alices
        } else {
            &mut bobs
        };
        owner.push(sale);
    }
    // Neither a pending nor a cancelled reservation is a purchase.
    reserve(&app, &alice, &first.session_id, &["A8"])
        .await
        .expect("reserve");
    let dropped = reserve(&app, &alice, &first.session_id, &["A7"])
        .await
        .expect("reserve");
    cancel(&app, &alice, &dropped.reservation_id)
        .await
        .expect("cancel");

    alices.reverse();
    bobs.reverse();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = list_purchases(&app, &alice, 2, page_token).await;
        sizes.push(page.sales.len());
        seen.extend(page.sales);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(sizes.len() < 10, "the pages never end");
        page_token = page.next_page_token;
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, alices);
    let ids: HashSet<&str> = seen.iter().map(|s| s.sale_id.as_str()).collect();
    assert_eq!(ids.len(), 5);
    let titles: Vec<&str> = seen.iter().map(|s| s.movie_title.as_str()).collect();
    assert_eq!(
        titles,
        ["Filme X", "Filme Y", "Filme X", "Filme Y", "Filme X"]
    );

    let page = list_purchases(&app, &bob, 0, String::new()).await;
    assert_eq!(page.sales, bobs);
    assert!(page.next_page_token.is_empty());
    let page = list_purchases(&app, &carol, 0, String::new()).await;
    assert!(page.sales.is_empty());
    assert!(page.next_page_token.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_postgresql_alone_still_holds_sells_and_frees_seats() {
    let app =
        TestApp::spawn_with(|settings| settings.redis_url = "redis://127.0.0.1:1".into()).await;
    let session = create_session(&app, 2, 10).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.token("alice"), app.token("bob"));

    let request_id = Uuid::new_v4().to_string();
    let reservation = reserve_with_id(&app, &alice, sid, &["B2", "A10", "A2"], &request_id)
        .await
        .expect("reserve without Redis");
    assert_eq!(reservation.seat_labels, ["A2", "A10", "B2"]);
    assert_eq!(reservation.status(), ReservationStatus::Pending);
    assert_eq!(reservation.user_id, "alice");
    assert_eq!(reservation.total_price_cents, 7500);
    let retry = reserve_with_id(&app, &alice, sid, &["B2", "A10", "A2"], &request_id)
        .await
        .expect("retry");
    assert_eq!(retry, reservation);
    let map = seat_map(&app, sid).await;
    assert_eq!(counts(&map), (17, 3, 0));
    assert_eq!(seat(&map, "A10"), (SeatStatus::Held, 1));

    let status = reserve(&app, &bob, sid, &["A2", "A3"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("SEAT_UNAVAILABLE", "A2")]
    );
    assert_eq!(
        seat(&seat_map(&app, sid).await, "A3"),
        (SeatStatus::Available, 0)
    );

    for seat_label in ["B5", "B6", "B7"] {
        let wanted = [seat_label];
        let (a, b) = tokio::join!(
            reserve(&app, &alice, sid, &wanted),
            reserve(&app, &bob, sid, &wanted)
        );
        let outcomes = [&a, &b];
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "{seat_label}: {a:?} {b:?}"
        );
        for outcome in outcomes {
            if let Err(status) = outcome {
                assert!(
                    matches!(status.code(), Code::FailedPrecondition | Code::Aborted),
                    "{status:?}"
                );
            }
        }
        assert_eq!(
            seat(&seat_map(&app, sid).await, seat_label),
            (SeatStatus::Held, 1)
        );
    }

    let sale = confirm(&app, &alice, &reservation.reservation_id)
        .await
        .expect("confirm without Redis");
    assert_eq!(sale.seat_labels, ["A2", "A10", "B2"]);
    assert_eq!(sale.amount_cents, 7500);
    let again = confirm(&app, &alice, &reservation.reservation_id)
        .await
        .expect("confirm again");
    assert_eq!(again, sale);
    let map = seat_map(&app, sid).await;
    assert_eq!(seat(&map, "A2"), (SeatStatus::Sold, 2));
    assert_eq!(counts(&map), (14, 3, 3));

    let held = reserve(&app, &bob, sid, &["A5", "A6"])
        .await
        .expect("reserve");
    let cancelled = cancel(&app, &bob, &held.reservation_id)
        .await
        .expect("cancel without Redis");
    assert_eq!(cancelled.status(), ReservationStatus::Cancelled);
    let map = seat_map(&app, sid).await;
    assert_eq!(seat(&map, "A5"), (SeatStatus::Available, 2));
    let taken = reserve(&app, &alice, sid, &["A5", "A6"])
        .await
        .expect("the freed seats are taken at once");
    assert_eq!(taken.user_id, "alice");
    let status = cancel(&app, &alice, &reservation.reservation_id)
        .await
        .unwrap_err();
    assert_eq!(
        precondition_violations(&status),
        [violation(
            "RESERVATION_CONFIRMED",
            &reservation.reservation_id
        )]
    );
    let page = list_purchases(&app, &alice, 0, String::new()).await;
    assert_eq!(page.sales, [sale]);
    app.stop().await;
}
