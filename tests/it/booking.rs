//! BookingService through the generated client: holds, payment, cancellation,
//! expiry, idempotency and purchase history, against one in-process server.

use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use tonic::Code;
use uuid::Uuid;

use crate::support::{
    Client, TestApp, assert_not_found, counts, eventually, invalid_fields,
    pb::{ReservationStatus, SeatStatus, Session},
    precondition_violations, seat, session_request, to_chrono, violation,
    wait::time_until,
};

/// Slack allowed between the test's clock and the server's for "about now".
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(2);

fn assert_about(at: Option<&Timestamp>, earliest: DateTime<Utc>, latest: DateTime<Utc>) {
    let at = to_chrono(at);
    assert!(
        at >= earliest - CLOCK_SLACK && at <= latest + CLOCK_SLACK,
        "{at} is not between {earliest} and {latest}"
    );
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn reserving_holds_the_seats_for_the_caller_in_seat_order_at_the_session_price() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 10).await;
    let alice = app.user("alice");
    let before = Utc::now();
    let reservation = alice
        .reserve(&session.session_id, &["B2", "A10", "A2"])
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

    let map = app.seat_map(&session.session_id).await;
    assert_eq!(counts(&map), (17, 3, 0));
    for s in &map.seats {
        let expected = if reservation.seat_labels.contains(&s.label) {
            (SeatStatus::Held, 1)
        } else {
            (SeatStatus::Available, 0)
        };
        assert_eq!((s.status(), s.version), expected, "seat {}", s.label);
    }
    let read = alice
        .get_session(&session.session_id)
        .await
        .expect("get session");
    assert_eq!(read.available_seats, 17);

    let read = alice
        .get_reservation(&reservation.reservation_id)
        .await
        .expect("get reservation");
    assert_eq!(read, reservation);
    app.stop().await;
}

#[tokio::test]
async fn each_invalid_reservation_field_gets_its_own_violation_and_nothing_is_held() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let id = session.session_id.as_str();
    let alice = app.user("alice");
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
            vec!["", "A1", "A1", "ZZZ9"],
            "",
            vec!["seat_labels[0]", "seat_labels[2]", "seat_labels[3]"],
        ),
    ];
    for (session_id, seats, request_id, fields) in cases {
        let status = alice
            .reserve_with_id(session_id, &seats, request_id)
            .await
            .expect_err("an invalid reservation was accepted");
        assert_eq!(
            invalid_fields(&status),
            sorted(&fields),
            "{session_id:?} {seats:?} {request_id:?}"
        );
    }
    let map = app.seat_map(id).await;
    assert_eq!(counts(&map), (16, 0, 0));
    assert!(map.seats.iter().all(|s| s.version == 0));
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM reservations")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn several_problems_in_one_reservation_are_all_named_at_once() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let id = session.session_id.as_str();
    let alice = app.user("alice");
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
        let status = alice
            .reserve_with_id(session_id, &seats, request_id)
            .await
            .expect_err("an invalid reservation was accepted");
        assert_eq!(
            invalid_fields(&status),
            sorted(&fields),
            "{session_id:?} {seats:?} {request_id:?}"
        );
    }
    assert_eq!(counts(&app.seat_map(id).await), (16, 0, 0));
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM reservations")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_may_hold_at_most_the_configured_number_of_seats() {
    let app = TestApp::spawn_with(|settings| settings.max_seats_per_reservation = 3).await;
    let session = app.create_session(2, 8).await;
    let alice = app.user("alice");
    let status = alice
        .reserve(&session.session_id, &["A1", "A2", "A3", "A4"])
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&status), ["seat_labels"]);
    let reservation = alice
        .reserve(&session.session_id, &["A1", "A2", "A3"])
        .await
        .expect("three seats are allowed");
    assert_eq!(reservation.seat_labels, ["A1", "A2", "A3"]);
    assert_eq!(counts(&app.seat_map(&session.session_id).await), (13, 3, 0));
    app.stop().await;
}

#[tokio::test]
async fn unknown_sessions_and_reservations_are_not_found_and_malformed_ids_invalid() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice");
    let unknown = Uuid::new_v4().to_string();
    let status = alice.reserve(&unknown, &["A1"]).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Session", &unknown);

    let status = alice.get_reservation(&unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);
    let status = alice.confirm(&unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);
    let status = alice.cancel(&unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Reservation", &unknown);

    for bad in ["", "42", "not-a-uuid", "'; DROP TABLE reservations; --"] {
        let status = alice.get_reservation(bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
        let status = alice.confirm(bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
        let status = alice.cancel(bad).await.unwrap_err();
        assert_eq!(invalid_fields(&status), ["reservation_id"], "{bad:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_is_seen_and_changed_only_by_its_owner() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let reservation = alice
        .reserve(&session.session_id, &["A1", "A2"])
        .await
        .expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = bob.get_reservation(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = bob.confirm(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = bob.cancel(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Bob's attempts changed nothing.
    let read = alice.get_reservation(id).await.expect("get");
    assert_eq!(read, reservation);
    let map = app.seat_map(&session.session_id).await;
    assert_eq!(counts(&map), (14, 2, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Held, 1));
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM sales").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_takes_all_its_seats_or_none_and_names_every_unavailable_one() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    alice.reserve(sid, &["B1"]).await.expect("alice holds B1");

    let status = bob.reserve(sid, &["B1", "B2"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("SEAT_UNAVAILABLE", "B1")]
    );
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "B1"), (SeatStatus::Held, 1));
    assert_eq!(seat(&map, "B2"), (SeatStatus::Available, 0));

    // A sold seat and a held seat among free ones: both named, none taken.
    let bought = alice.reserve(sid, &["A1"]).await.expect("reserve A1");
    alice
        .confirm(&bought.reservation_id)
        .await
        .expect("alice buys A1");
    let status = bob
        .reserve(sid, &["A2", "A1", "B1", "B3"])
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
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (14, 1, 1));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Available, 0));
    assert_eq!(seat(&map, "B3"), (SeatStatus::Available, 0));

    // The free seats really are free.
    let taken = bob
        .reserve(sid, &["A2", "B3"])
        .await
        .expect("bob takes the free seats");
    assert_eq!(taken.seat_labels, ["A2", "B3"]);
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM reservations")
            .await,
        3,
        "a refused reservation left a row"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_users_racing_for_the_last_seat_get_one_hold_between_them() {
    let app = TestApp::spawn().await;
    let filler = app.user("filler");
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    for round in 0..5 {
        let session = app.create_session(2, 8).await;
        let sid = session.session_id.as_str();
        filler
            .reserve(sid, &["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"])
            .await
            .expect("fill row A");
        filler
            .reserve(sid, &["B1", "B2", "B3", "B4", "B5", "B6", "B7"])
            .await
            .expect("fill row B but B8");
        let (a, b) = tokio::join!(alice.reserve(sid, &["B8"]), bob.reserve(sid, &["B8"]));
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
        let map = app.seat_map(sid).await;
        assert_eq!(counts(&map), (0, 16, 0), "round {round}");
        assert_eq!(seat(&map, "B8"), (SeatStatus::Held, 1), "round {round}");
    }
    app.stop().await;
}

#[tokio::test]
async fn retrying_with_the_same_request_id_returns_the_first_reservation() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let request_id = Uuid::new_v4().to_string();

    let first = alice
        .reserve_with_id(sid, &["A1", "A2"], &request_id)
        .await
        .expect("reserve");
    let retry = alice
        .reserve_with_id(sid, &["A1", "A2"], &request_id)
        .await
        .expect("the retry answers like the first request");
    assert_eq!(retry, first);
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (14, 2, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Held, 1));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Held, 1));
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM reservations")
            .await,
        1
    );

    // The same id for another request is a mistake, and holds nothing.
    let status = alice
        .reserve_with_id(sid, &["A3"], &request_id)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&status), ["request_id"]);
    assert_eq!(
        seat(&app.seat_map(sid).await, "A3"),
        (SeatStatus::Available, 0)
    );

    // Another user's ids are their own.
    let bobs = bob
        .reserve_with_id(sid, &["A3"], &request_id)
        .await
        .expect("bob may use the same request id");
    assert_ne!(bobs.reservation_id, first.reservation_id);
    assert_eq!(bobs.user_id, "bob");
    assert_eq!(bobs.seat_labels, ["A3"]);
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM reservations")
            .await,
        2
    );
    assert_eq!(counts(&app.seat_map(sid).await), (13, 3, 0));
    app.stop().await;
}

#[tokio::test]
async fn paying_sells_the_seats_and_paying_again_returns_the_same_sale() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let reservation = alice
        .reserve(sid, &["B1", "A3", "A2"])
        .await
        .expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = alice.confirm_with(id, "", "").await.unwrap_err();
    assert_eq!(invalid_fields(&status), ["payment_reference"]);
    let status = bob.confirm(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(
        alice.get_reservation(id).await.expect("get").status(),
        ReservationStatus::Pending
    );

    let request_id = Uuid::new_v4().to_string();
    let before = Utc::now();
    let sale = alice
        .confirm_with(id, "PSP-0001", &request_id)
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

    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (13, 0, 3));
    for label in ["A2", "A3", "B1"] {
        assert_eq!(seat(&map, label), (SeatStatus::Sold, 2), "{label}");
    }
    let read = alice.get_reservation(id).await.expect("get");
    assert_eq!(read.status(), ReservationStatus::Confirmed);
    assert_eq!(read.seat_labels, reservation.seat_labels);

    // Retries, with or without the request id, get the same sale.
    let again = alice
        .confirm_with(id, "PSP-0001", &request_id)
        .await
        .expect("retry with the request id");
    assert_eq!(again, sale);
    let again = alice
        .confirm_with(id, "PSP-0001", "")
        .await
        .expect("confirm again without a request id");
    assert_eq!(again, sale);
    let status = bob.confirm(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM sales").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM sale_seats")
            .await,
        3
    );
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (13, 0, 3));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Sold, 2));
    app.stop().await;
}

#[tokio::test]
async fn an_unpaid_hold_expires_on_time_and_can_no_longer_be_paid() {
    let hold = Duration::from_secs(2);
    let app = TestApp::spawn_with(|settings| settings.hold_duration = hold).await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let before = Utc::now();
    let reservation = alice.reserve(sid, &["A1", "A2"]).await.expect("reserve");
    let after = Utc::now();
    let hold_chrono = chrono::Duration::from_std(hold).unwrap();
    assert_about(
        reservation.expire_time.as_ref(),
        before + hold_chrono,
        after + hold_chrono,
    );
    let expire = to_chrono(reservation.expire_time.as_ref());
    let id = reservation.reservation_id.as_str();

    let status = bob.reserve(sid, &["A1"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // Bob gets A1 once the hold ends (within 1.5 s of its end), and not before.
    let free_by = expire + chrono::Duration::milliseconds(1500);
    let bobs = eventually(time_until(free_by), || async {
        match bob.reserve(sid, &["A1"]).await {
            Ok(bobs) => Ok(bobs),
            Err(status) if matches!(status.code(), Code::FailedPrecondition | Code::Aborted) => {
                Err(format!("A1 is not free 1.5 s after {expire}: {status:?}"))
            }
            Err(status) => panic!("reserving A1 after {expire}: {status:?}"),
        }
    })
    .await;
    assert!(
        Utc::now() >= expire - chrono::Duration::milliseconds(50),
        "A1 was taken before the hold ended at {expire}"
    );
    assert_eq!(bobs.seat_labels, ["A1"]);

    // The reservation reads EXPIRED within a second of the hold's end.
    let expired_by = expire + chrono::Duration::seconds(1);
    let read = eventually(time_until(expired_by), || async {
        let read = alice.get_reservation(id).await.expect("get");
        if read.status() == ReservationStatus::Expired {
            return Ok(read);
        }
        assert_eq!(read.status(), ReservationStatus::Pending);
        Err(format!("still PENDING a second after {expire}"))
    })
    .await;
    assert_eq!(read.seat_labels, ["A1", "A2"]);

    let status = alice.confirm(id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_EXPIRED", id)]
    );
    // Cancelling an expired reservation returns it unchanged.
    let cancelled = alice.cancel(id).await.expect("cancel");
    assert_eq!(cancelled.status(), ReservationStatus::Expired);
    assert_eq!(
        alice.get_reservation(id).await.expect("get").status(),
        ReservationStatus::Expired
    );

    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "A1").0, SeatStatus::Held);
    assert_eq!(seat(&map, "A2").0, SeatStatus::Available);
    assert_eq!(
        app.count("SELECT count(*)::bigint AS n FROM sales").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn cancelling_frees_the_seats_at_once_and_only_pending_reservations_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let reservation = alice.reserve(sid, &["A2", "A1"]).await.expect("reserve");
    let id = reservation.reservation_id.as_str();

    let status = bob.cancel(id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(counts(&app.seat_map(sid).await), (14, 2, 0));

    let cancelled = alice.cancel(id).await.expect("cancel");
    assert_eq!(cancelled.reservation_id, reservation.reservation_id);
    assert_eq!(cancelled.status(), ReservationStatus::Cancelled);
    assert_eq!(cancelled.seat_labels, ["A1", "A2"]);
    assert_eq!(cancelled.user_id, "alice");
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (16, 0, 0));
    assert_eq!(seat(&map, "A1"), (SeatStatus::Available, 2));
    assert_eq!(seat(&map, "A2"), (SeatStatus::Available, 2));

    let taken = bob
        .reserve(sid, &["A1"])
        .await
        .expect("bob takes A1 at once");
    assert_eq!(taken.status(), ReservationStatus::Pending);

    let again = alice.cancel(id).await.expect("cancel again");
    assert_eq!(again, cancelled);
    assert_eq!(alice.get_reservation(id).await.expect("get"), cancelled);
    let status = alice.confirm(id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_CANCELLED", id)]
    );
    // Alice's late payment did not take A1 back from Bob.
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (15, 1, 0));
    assert_eq!(seat(&map, "A1").0, SeatStatus::Held);

    let bought = alice.reserve(sid, &["B1"]).await.expect("reserve");
    alice
        .confirm(&bought.reservation_id)
        .await
        .expect("confirm");
    let status = alice.cancel(&bought.reservation_id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("RESERVATION_CONFIRMED", &bought.reservation_id)]
    );
    assert_eq!(
        alice
            .get_reservation(&bought.reservation_id)
            .await
            .expect("get")
            .status(),
        ReservationStatus::Confirmed
    );
    assert_eq!(seat(&app.seat_map(sid).await, "B1"), (SeatStatus::Sold, 2));
    app.stop().await;
}

#[tokio::test]
async fn purchase_history_shows_only_the_callers_sales_newest_first_page_by_page() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let first = admin
        .create_session(session_request("Filme X", 24, 2, 8))
        .await
        .expect("create a session");
    let second = admin
        .create_session(session_request("Filme Y", 48, 2, 8))
        .await
        .expect("create a session");
    let (alice, bob, carol) = (app.user("alice"), app.user("bob"), app.user("carol"));
    let buys: [(&Client, &Session, &[&str]); 7] = [
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
    for (buyer, session, seats) in buys {
        let reservation = buyer
            .reserve(&session.session_id, seats)
            .await
            .expect("reserve");
        let sale = buyer
            .confirm(&reservation.reservation_id)
            .await
            .expect("confirm");
        assert_eq!(sale.movie_title, session.movie_title);
        assert_eq!(sale.starts_at, session.starts_at);
        let owner = if buyer.token() == alice.token() {
            &mut alices
        } else {
            &mut bobs
        };
        owner.push(sale);
    }
    // Neither a pending nor a cancelled reservation is a purchase.
    alice
        .reserve(&first.session_id, &["A8"])
        .await
        .expect("reserve");
    let dropped = alice
        .reserve(&first.session_id, &["A7"])
        .await
        .expect("reserve");
    alice.cancel(&dropped.reservation_id).await.expect("cancel");

    alices.reverse();
    bobs.reverse();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = alice
            .list_purchases(2, &page_token)
            .await
            .expect("list purchases");
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

    let page = bob.list_purchases(0, "").await.expect("list purchases");
    assert_eq!(page.sales, bobs);
    assert!(page.next_page_token.is_empty());
    let page = carol.list_purchases(0, "").await.expect("list purchases");
    assert!(page.sales.is_empty());
    assert!(page.next_page_token.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_postgresql_alone_still_holds_sells_and_frees_seats() {
    let app =
        TestApp::spawn_with(|settings| settings.redis_url = "redis://127.0.0.1:1".into()).await;
    let session = app.create_session(2, 10).await;
    let sid = session.session_id.as_str();
    let (alice, bob) = (app.user("alice"), app.user("bob"));

    let request_id = Uuid::new_v4().to_string();
    let reservation = alice
        .reserve_with_id(sid, &["B2", "A10", "A2"], &request_id)
        .await
        .expect("reserve without Redis");
    assert_eq!(reservation.seat_labels, ["A2", "A10", "B2"]);
    assert_eq!(reservation.status(), ReservationStatus::Pending);
    assert_eq!(reservation.user_id, "alice");
    assert_eq!(reservation.total_price_cents, 7500);
    let retry = alice
        .reserve_with_id(sid, &["B2", "A10", "A2"], &request_id)
        .await
        .expect("retry");
    assert_eq!(retry, reservation);
    let map = app.seat_map(sid).await;
    assert_eq!(counts(&map), (17, 3, 0));
    assert_eq!(seat(&map, "A10"), (SeatStatus::Held, 1));

    let status = bob.reserve(sid, &["A2", "A3"]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        precondition_violations(&status),
        [violation("SEAT_UNAVAILABLE", "A2")]
    );
    assert_eq!(
        seat(&app.seat_map(sid).await, "A3"),
        (SeatStatus::Available, 0)
    );

    for seat_label in ["B5", "B6", "B7"] {
        let wanted = [seat_label];
        let (a, b) = tokio::join!(alice.reserve(sid, &wanted), bob.reserve(sid, &wanted));
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
            seat(&app.seat_map(sid).await, seat_label),
            (SeatStatus::Held, 1)
        );
    }

    let sale = alice
        .confirm(&reservation.reservation_id)
        .await
        .expect("confirm without Redis");
    assert_eq!(sale.seat_labels, ["A2", "A10", "B2"]);
    assert_eq!(sale.amount_cents, 7500);
    let again = alice
        .confirm(&reservation.reservation_id)
        .await
        .expect("confirm again");
    assert_eq!(again, sale);
    let map = app.seat_map(sid).await;
    assert_eq!(seat(&map, "A2"), (SeatStatus::Sold, 2));
    assert_eq!(counts(&map), (14, 3, 3));

    let held = bob.reserve(sid, &["A5", "A6"]).await.expect("reserve");
    let cancelled = bob
        .cancel(&held.reservation_id)
        .await
        .expect("cancel without Redis");
    assert_eq!(cancelled.status(), ReservationStatus::Cancelled);
    let map = app.seat_map(sid).await;
    assert_eq!(seat(&map, "A5"), (SeatStatus::Available, 2));
    let taken = alice
        .reserve(sid, &["A5", "A6"])
        .await
        .expect("the freed seats are taken at once");
    assert_eq!(taken.user_id, "alice");
    let status = alice.cancel(&reservation.reservation_id).await.unwrap_err();
    assert_eq!(
        precondition_violations(&status),
        [violation(
            "RESERVATION_CONFIRMED",
            &reservation.reservation_id
        )]
    );
    let page = alice.list_purchases(0, "").await.expect("list purchases");
    assert_eq!(page.sales, [sale]);
    app.stop().await;
}
