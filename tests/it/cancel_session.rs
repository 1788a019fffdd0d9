//! CancelSession: in one transaction a show's pending holds end, every sale
//! is refunded in full (admitted tickets too), every seat leaves sale, and
//! the live maps on every instance get their last map and end; once
//! cancelled, nothing of it can be booked, unblocked or cancelled again.

use std::collections::BTreeMap;

use prost::Message;
use tonic::Code;

use crate::support::{
    PATIENCE, TestApp, assert_not_found,
    db::{count, rows, strings},
    ev, eventually, heavy, invalid_fields,
    pb::{
        AdmissionResult, AgeRating, ReservationStatus, SeatMapEvent, SeatStatus, SessionState,
        TicketStatus, seat_map_event::Event,
    },
    precondition_violations,
    process::ServerProcess,
    programme::{movie_request, movie_session_request},
    violation,
    watch::{next, watch_from_snapshot},
};

/// The reason every test here gives.
const REASON: &str = "projector broken";

/// How the stream of a watcher ends: the last update's statuses, then the
/// status it ends with.
async fn last_update_and_end(
    stream: &mut tonic::Streaming<SeatMapEvent>,
) -> (BTreeMap<String, SeatStatus>, tonic::Status) {
    let Event::Update(update) = next(stream).await else {
        panic!("the cancellation reached the watcher as something else")
    };
    let seats = update
        .seats
        .iter()
        .map(|s| (s.label.clone(), s.status()))
        .collect();
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends within 10 s")
        .expect_err("the stream ends with an error status");
    (seats, end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_session_refunds_everyone_once_and_leaves_sale_everywhere() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.session_starting_in(chrono::Duration::minutes(30)).await;
    let (alice, bob, carol) = (app.user("alice"), app.user("bob"), app.user("carol"));
    let alices = alice.buy(&session, &["A1", "A2"]).await;
    let bobs = bob.on(&other.channel).buy(&session, &["B1"]).await;
    let carols = carol.reserve(&session, &["A5", "A6"]).await.unwrap();
    // The doors are open half an hour before: A1's holder is inside.
    let admitted = app
        .staff("usher")
        .admit(&alices.tickets[0].code, "door-1")
        .await
        .unwrap();
    assert_eq!(admitted.result(), AdmissionResult::Admitted);
    let (mut here, _) = watch_from_snapshot(&app.user("w1"), &session).await;
    let (mut there, _) = watch_from_snapshot(&app.user("w2").on(&other.channel), &session).await;

    let request_id = uuid::Uuid::new_v4().to_string();
    let cancelled = app
        .admin()
        .on(&other.channel)
        .cancel_session(&session, REASON, &request_id)
        .await
        .unwrap();
    assert_eq!(cancelled.state(), SessionState::Cancelled);
    assert_eq!(cancelled.cancel_reason, REASON);
    assert_eq!(cancelled.available_seats, 0);

    // Every seat is out of sale, saying why, on every instance's watchers.
    let map = app.seat_map(&session).await;
    assert_eq!(map.seats.len(), 16);
    assert_eq!(map.blocked_count, 16);
    assert!(
        map.seats
            .iter()
            .all(|s| s.block_reason == "session cancelled: projector broken"),
        "{map:?}"
    );
    for stream in [&mut here, &mut there] {
        let (seats, end) = last_update_and_end(stream).await;
        assert_eq!(seats.len(), 16);
        assert!(seats.values().all(|s| *s == SeatStatus::Blocked));
        assert_eq!(end.code(), Code::FailedPrecondition);
        assert_eq!(
            precondition_violations(&end),
            [violation("SESSION_CANCELLED", &session)]
        );
    }

    // Every buyer refunded in full (a sale's first seat is HALF), the
    // admitted ticket too; the hold ended.
    let alices = &alice.list_purchases(10, "").await.unwrap().sales[0];
    assert_eq!((alices.amount_cents, alices.refunded_cents), (3750, 3750));
    assert!(
        alices
            .tickets
            .iter()
            .all(|t| t.status() == TicketStatus::Refunded)
    );
    let bobs_now = &bob.list_purchases(10, "").await.unwrap().sales[0];
    assert_eq!(bobs_now.sale_id, bobs.sale_id);
    assert_eq!(bobs_now.refunded_cents, 1250);
    let carols = carol.get_reservation(&carols.reservation_id).await.unwrap();
    assert_eq!(carols.status(), ReservationStatus::Cancelled);
    let scanned = app
        .staff("usher")
        .admit(&alices.tickets[1].code, "door-1")
        .await
        .unwrap();
    assert_eq!(scanned.result(), AdmissionResult::Refunded);

    // Exactly these events, once, though the admin cancels again (also
    // with the same request_id, also on the other instance).
    let again = app
        .admin()
        .cancel_session(&session, REASON, &request_id)
        .await
        .unwrap();
    assert_eq!(again, cancelled);
    let twice = app
        .admin()
        .on(&other.channel)
        .cancel_session(&session, "another reason", "")
        .await
        .unwrap();
    assert_eq!(twice, cancelled);
    let db = app.db().await;
    let events = strings(
        &db,
        "SELECT CASE WHEN subject LIKE 'seats.changed%' THEN 'seats.changed' ELSE subject END
           FROM outbox WHERE seq > (SELECT seq FROM outbox WHERE subject = 'ticket.admitted')
          ORDER BY seq",
    )
    .await;
    assert_eq!(
        events,
        [
            "reservation.cancelled",
            "sale.refunded",
            "sale.refunded",
            "seats.changed",
            "session.cancelled"
        ]
    );
    let refunds = rows(
        &db,
        "SELECT payload FROM outbox WHERE subject = 'sale.refunded' ORDER BY seq",
    )
    .await;
    let mut refunded: Vec<(Vec<String>, Vec<String>, i64, String)> = refunds
        .iter()
        .map(|row| {
            let payload: Vec<u8> = row.try_get_by_index(0).expect("a payload");
            let e = ev::SaleRefunded::decode(payload.as_slice()).expect("a SaleRefunded");
            (e.seat_labels, e.admitted_labels, e.amount_cents, e.reason)
        })
        .collect();
    refunded.sort();
    assert_eq!(
        refunded,
        [
            (
                vec!["A1".to_owned(), "A2".to_owned()],
                vec!["A1".to_owned()],
                3750,
                "SESSION_CANCELLED".to_owned()
            ),
            (
                vec!["B1".to_owned()],
                vec![],
                1250,
                "SESSION_CANCELLED".to_owned()
            ),
        ]
    );
    let figures = eventually(PATIENCE, || async {
        let sales = app.admin().session_sales(&session).await.ok()?;
        (sales.tickets_refunded == 3).then_some(sales)
    })
    .await;
    assert_eq!(
        (
            figures.tickets_sold,
            figures.refunded_cents,
            figures.net_revenue_cents
        ),
        (3, 5000, 0)
    );
    assert_eq!(count(&db, "SELECT count(*)::bigint FROM refunds").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_a_cancelled_session_can_be_booked_unblocked_or_watched_for_long() {
    let app = TestApp::spawn().await;
    let session = app.session_starting_in(chrono::Duration::hours(24)).await;
    app.admin()
        .cancel_session(&session, REASON, "")
        .await
        .unwrap();
    let cancelled = || vec![violation("SESSION_CANCELLED", &session)];
    let dave = app.user("dave");
    let held = dave.reserve(&session, &["A3"]).await.unwrap_err();
    assert_eq!(held.code(), Code::FailedPrecondition);
    assert_eq!(precondition_violations(&held), cancelled());
    let best = dave.reserve_best(&session, 2, &[], 0).await.unwrap_err();
    assert_eq!(precondition_violations(&best), cancelled());
    let unblocked = app.admin().unblock(&session, &["A3"]).await.unwrap_err();
    assert_eq!(precondition_violations(&unblocked), cancelled());
    assert_eq!(app.seat_map(&session).await.blocked_count, 16);

    // A late watcher gets the last map, then the end.
    let (mut stream, snapshot) = watch_from_snapshot(&dave, &session).await;
    assert_eq!(snapshot.blocked_count, 16);
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends at once")
        .expect_err("with an error status");
    assert_eq!(precondition_violations(&end), cancelled());
    let listed = dave.get_session(&session).await.unwrap();
    assert_eq!(
        (listed.state(), listed.cancel_reason.as_str()),
        (SessionState::Cancelled, REASON)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_cancel_sessions_that_exist_have_not_started_and_say_why() {
    let app = TestApp::spawn().await;
    let soon = app.session_starting_in(chrono::Duration::seconds(2)).await;
    let refused = app
        .user("alice")
        .cancel_session(&soon, REASON, "")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let bad = app
        .admin()
        .cancel_session("nope", " ", "not-a-uuid")
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&bad), ["reason", "request_id", "session_id"]);
    let long = app
        .admin()
        .cancel_session(&soon, &"x".repeat(201), "")
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&long), ["reason"]);
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = app
        .admin()
        .cancel_session(&unknown, REASON, "")
        .await
        .unwrap_err();
    assert_not_found(&missing, "cinema.v1.Session", &unknown);

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let started = app
        .admin()
        .cancel_session(&soon, REASON, "")
        .await
        .unwrap_err();
    assert_eq!(started.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&started),
        [violation("SESSION_STARTED", &soon)]
    );
    let session = app.user("alice").get_session(&soon).await.unwrap();
    assert_eq!(session.state(), SessionState::Scheduled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_show_frees_its_slot_in_the_room() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let movie = admin
        .create_movie(movie_request("Filme X", 110, AgeRating::AgeRating12))
        .await
        .unwrap();
    let room = admin
        .create_room("Sala 1", &[("A", "SSSSSSSS"), ("B", "SSSSSSSS")])
        .await
        .unwrap();
    let at = chrono::Utc::now() + chrono::Duration::days(1);
    let first = admin
        .create_session(movie_session_request(
            &movie.movie_id,
            &room.room_id,
            at,
            &[],
        ))
        .await
        .unwrap();
    let busy = admin
        .create_session(movie_session_request(
            &movie.movie_id,
            &room.room_id,
            at,
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        precondition_violations(&busy),
        [violation("ROOM_BUSY", &first.session_id)]
    );
    admin
        .cancel_session(&first.session_id, REASON, "")
        .await
        .unwrap();
    let second = admin
        .create_session(movie_session_request(
            &movie.movie_id,
            &room.room_id,
            at,
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(second.state(), SessionState::Scheduled);
    assert_ne!(second.session_id, first.session_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_racing_holds_and_payments_on_two_instances_leaves_no_sale_unrefunded() {
    // Two instances, 16 buyers and 4 cancellations at once.
    let _heavy = heavy().await;
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.session_starting_in(chrono::Duration::hours(24)).await;
    let buyers = (0..16).map(|i| {
        let channel = if i % 2 == 0 {
            app.channel.clone()
        } else {
            other.channel.clone()
        };
        let buyer = app.user(&format!("buyer-{i}")).on(&channel);
        let session = session.clone();
        tokio::spawn(async move {
            let row = if i < 8 { "A" } else { "B" };
            let label = format!("{row}{}", i % 8 + 1);
            // Refused once the session is cancelled: that is the point.
            if let Ok(held) = buyer.reserve(&session, &[label.as_str()]).await {
                // Payments spread over the cancellation.
                tokio::time::sleep(std::time::Duration::from_millis(i * 10)).await;
                let _ = buyer.confirm(&held.reservation_id).await;
            }
        })
    });
    let buyers: Vec<_> = buyers.collect();
    let db = app.db().await;
    eventually(PATIENCE, || async {
        (count(&db, "SELECT count(*)::bigint FROM sales").await > 0).then_some(())
    })
    .await;
    let cancels = (0..4).map(|i| {
        let admin = if i % 2 == 0 {
            app.admin()
        } else {
            app.admin().on(&other.channel)
        };
        let session = session.clone();
        tokio::spawn(async move { admin.cancel_session(&session, REASON, "").await })
    });
    let cancels: Vec<_> = cancels.collect();
    for cancel in cancels {
        let cancelled = cancel
            .await
            .expect("a cancel task")
            .expect("a cancellation");
        assert_eq!(cancelled.state(), SessionState::Cancelled);
    }
    for buyer in buyers {
        buyer.await.expect("a buyer task");
    }

    let unrefunded = count(
        &db,
        "SELECT count(*)::bigint FROM sales WHERE refunded_cents <> amount_cents",
    )
    .await;
    assert_eq!(unrefunded, 0);
    let (sales, refunded) = (
        count(&db, "SELECT count(*)::bigint FROM sales").await,
        count(&db, "SELECT count(DISTINCT sale_id)::bigint FROM refunds").await,
    );
    assert!(sales > 0);
    assert_eq!(
        (
            refunded,
            count(&db, "SELECT count(*)::bigint FROM refunds").await
        ),
        (sales, sales)
    );
    let live = count(
        &db,
        "SELECT count(*)::bigint FROM sale_seats WHERE NOT refunded",
    )
    .await;
    assert_eq!(live, 0);
    assert_eq!(app.seat_map(&session).await.blocked_count, 16);
    let held = count(
        &db,
        "SELECT count(*)::bigint FROM reservations WHERE status = 'pending' AND expires_at > now()",
    )
    .await;
    assert_eq!(held, 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint FROM outbox WHERE subject = 'session.cancelled'"
        )
        .await,
        1
    );
}
