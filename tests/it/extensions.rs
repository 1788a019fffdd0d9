//! ExtendReservation: a pending hold lasts longer, a bounded number of
//! times; the seats stay HELD everywhere until the new end, then free.

use std::time::Duration;

use prost::Message;
use tonic::Code;

use crate::support::{
    TestApp,
    db::rows,
    ev,
    pb::{SeatStatus, seat_map_event::Event},
    precondition_violations,
    process::ServerProcess,
    seat, seat_unavailable, to_chrono, violation,
    watch::{next, watch_from_snapshot},
};

const HOLD: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_is_extended_twice_then_refused_and_a_retry_extends_once() {
    let app = TestApp::spawn_with(|s| s.hold_duration = HOLD).await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.user("alice");
    let held = alice.reserve(&session, &["A1", "A2"]).await.unwrap();
    assert_eq!(held.extensions_left, 2);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let first = alice
        .extend(&held.reservation_id, &request_id)
        .await
        .unwrap();
    assert_eq!(first.extensions_left, 1);
    let (before, after) = (
        to_chrono(held.expire_time.as_ref()),
        to_chrono(first.expire_time.as_ref()),
    );
    assert!(
        after - before >= chrono::Duration::milliseconds(400),
        "{before} -> {after}"
    );
    // The same request again changes nothing.
    let again = alice
        .extend(&held.reservation_id, &request_id)
        .await
        .unwrap();
    assert_eq!(again, first);

    let second = alice.extend(&held.reservation_id, "").await.unwrap();
    assert_eq!(second.extensions_left, 0);
    let refused = alice.extend(&held.reservation_id, "").await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&refused),
        [violation("EXTENSION_LIMIT", &held.reservation_id)]
    );

    let db = app.db().await;
    let extended = rows(
        &db,
        "SELECT payload FROM outbox WHERE subject = 'reservation.extended' ORDER BY seq",
    )
    .await;
    assert_eq!(extended.len(), 2, "one event per extension");
    let payload: Vec<u8> = extended[1].try_get_by_index(0).unwrap();
    let event = ev::ReservationExtended::decode(payload.as_slice()).unwrap();
    assert_eq!(
        (event.seat_labels, event.extensions_left, event.expire_time),
        (vec!["A1".into(), "A2".into()], 0, second.expire_time)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_seats_stay_held_everywhere_until_the_new_end_then_free() {
    let app = TestApp::spawn_with(|s| s.hold_duration = HOLD).await;
    let other = ServerProcess::spawn_with_env(&app, &[("CINEMA_HOLD_SECONDS", "2")]).await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.user("alice");
    let watcher = app.user("watcher").on(&other.channel);
    let (mut stream, _) = watch_from_snapshot(&watcher, &session).await;
    let held = alice.reserve(&session, &["B4"]).await.unwrap();
    let Event::Update(hold) = next(&mut stream).await else {
        panic!("the hold came as something else")
    };
    assert_eq!(hold.seats[0].hold_expire_time, held.expire_time);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let extended = alice
        .on(&other.channel)
        .extend(&held.reservation_id, "")
        .await
        .unwrap();
    let Event::Update(moved) = next(&mut stream).await else {
        panic!("the extension came as something else")
    };
    let b4 = &moved.seats[0];
    assert_eq!(
        (
            b4.label.as_str(),
            b4.status(),
            b4.version,
            &b4.hold_expire_time
        ),
        ("B4", SeatStatus::Held, 2, &extended.expire_time)
    );

    // Past the first end, before the new one: still held, for everyone.
    let old_end = to_chrono(held.expire_time.as_ref());
    let wait = (old_end - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(300)).await;
    assert_eq!(
        seat(&app.seat_map(&session).await, "B4").0,
        SeatStatus::Held
    );
    let bob = app.user("bob");
    let taken = bob.reserve(&session, &["B4"]).await.unwrap_err();
    assert_eq!(precondition_violations(&taken), seat_unavailable(&["B4"]));

    // Then it ends, and the seat is free again on every map and stream.
    let Event::Update(freed) = tokio::time::timeout(Duration::from_secs(5), next(&mut stream))
        .await
        .expect("the new end reached the watcher")
    else {
        panic!("the expiry came as something else")
    };
    assert_eq!(freed.seats[0].status(), SeatStatus::Available);
    let ended = to_chrono(extended.expire_time.as_ref());
    assert!(chrono::Utc::now() >= ended - chrono::Duration::milliseconds(50));
    bob.reserve(&session, &["B4"]).await.unwrap();
    let late = alice.extend(&held.reservation_id, "").await.unwrap_err();
    assert_eq!(
        precondition_violations(&late),
        [violation("RESERVATION_EXPIRED", &held.reservation_id)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_extends_and_only_a_pending_hold() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let paid = alice.reserve(&session, &["A1"]).await.unwrap();
    alice.confirm(&paid.reservation_id).await.unwrap();
    let cancelled = alice.reserve(&session, &["A5"]).await.unwrap();
    alice.cancel(&cancelled.reservation_id).await.unwrap();
    let pending = alice.reserve(&session, &["B1"]).await.unwrap();

    let denied = bob.extend(&pending.reservation_id, "").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let cases = [
        (&paid.reservation_id, "RESERVATION_PAID"),
        (&cancelled.reservation_id, "RESERVATION_CANCELLED"),
    ];
    for (id, kind) in cases {
        let refused = alice.extend(id, "").await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{kind}");
        assert_eq!(precondition_violations(&refused), [violation(kind, id)]);
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = alice.extend(&unknown, "").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = alice.extend("x", "y").await.unwrap_err();
    assert_eq!(
        crate::support::violated_fields(&bad),
        ["reservation_id", "request_id"]
    );
}
