//! Blocked seats (BlockSeats, UnblockSeats): out of sale until unblocked,
//! refused like a taken seat, never blocked from under a buyer, and seen by
//! watchers on every instance.

use tonic::Code;

use crate::{
    rooms::vip_session,
    support::{
        TestApp,
        pb::{SeatMap, SeatStatus, seat_map_event::Event},
        precondition_violations,
        process::ServerProcess,
        seat_unavailable, violated_fields,
        watch::{next, watch_from_snapshot},
    },
};

/// (status, block reason) of one seat of `map`.
fn state(map: &SeatMap, label: &str) -> (SeatStatus, String) {
    let seat = map.seats.iter().find(|s| s.label == label).unwrap();
    (seat.status(), seat.block_reason.clone())
}

/// (available, held, sold, blocked) of `map`.
fn counts(map: &SeatMap) -> (u32, u32, u32, u32) {
    (
        map.available_count,
        map.held_count,
        map.sold_count,
        map.blocked_count,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_seat_is_refused_and_every_instance_streams_the_change() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = vip_session(&app).await.session_id;
    let admin = app.admin();
    let alice = app.user("alice").on(&other.channel);
    let watcher = app.user("watcher").on(&other.channel);
    let (mut stream, snapshot) = watch_from_snapshot(&watcher, &session).await;
    assert_eq!(counts(&snapshot), (30, 0, 0, 0));

    let map = admin
        .block(&session, &["B2", "B1"], " broken arm ")
        .await
        .unwrap();
    assert_eq!(counts(&map), (28, 0, 0, 2));
    let blocked = (SeatStatus::Blocked, "broken arm".to_owned());
    assert_eq!(
        (state(&map, "B1"), state(&map, "B2")),
        (blocked.clone(), blocked.clone())
    );
    let Event::Update(update) = next(&mut stream).await else {
        panic!("the block reached the watcher as something else than an update")
    };
    let mut seen: Vec<(String, SeatStatus, String, u32)> = update
        .seats
        .iter()
        .map(|s| (s.label.clone(), s.status(), s.block_reason.clone(), s.x))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("B1".into(), SeatStatus::Blocked, "broken arm".into(), 0),
            ("B2".into(), SeatStatus::Blocked, "broken arm".into(), 1)
        ]
    );
    assert_eq!(update.blocked_count, 2);
    assert_eq!(
        app.user("bob")
            .get_session(&session)
            .await
            .unwrap()
            .available_seats,
        28
    );

    let refused = alice.reserve(&session, &["B3", "B1"]).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(precondition_violations(&refused), seat_unavailable(&["B1"]));
    let again = admin
        .block(&session, &["B1"], "still broken")
        .await
        .unwrap();
    assert_eq!(
        state(&again, "B1"),
        (SeatStatus::Blocked, "broken arm".into())
    );

    let map = admin.unblock(&session, &["B1", "B5"]).await.unwrap();
    assert_eq!(state(&map, "B1"), (SeatStatus::Available, String::new()));
    assert_eq!(counts(&map), (29, 0, 0, 1));
    let Event::Update(update) = next(&mut stream).await else {
        panic!("the unblock reached the watcher as something else than an update")
    };
    assert_eq!(
        (
            update.seats.len(),
            update.seats[0].status(),
            update.blocked_count
        ),
        (1, SeatStatus::Available, 1)
    );
    alice.reserve(&session, &["B1"]).await.unwrap();
    drop(other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_or_sold_seat_is_never_blocked_and_nothing_else_is_either() {
    let app = TestApp::spawn().await;
    let session = vip_session(&app).await.session_id;
    let (admin, alice) = (app.admin(), app.user("alice"));
    alice.reserve(&session, &["C1"]).await.unwrap();
    let sold = alice.reserve(&session, &["C2"]).await.unwrap();
    alice.confirm(&sold.reservation_id).await.unwrap();

    let refused = admin
        .block(&session, &["C3", "C2", "C1"], "camera")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&refused),
        seat_unavailable(&["C1", "C2"])
    );
    let map = app.seat_map(&session).await;
    assert_eq!(state(&map, "C3"), (SeatStatus::Available, String::new()));
    assert_eq!(counts(&map), (28, 1, 1, 0));

    let denied = alice.block(&session, &["C3"], "").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = alice.unblock(&session, &["C3"]).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = admin
        .block(&session, &["C3", "Z9", "C3", "c"], &"x".repeat(201))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&unknown),
        ["seat_labels[2]", "seat_labels[3]", "reason"]
    );
    let outside = admin.block(&session, &["C3", "Z9"], "").await.unwrap_err();
    assert_eq!(violated_fields(&outside), ["seat_labels[1]"]);
    let nowhere = uuid::Uuid::new_v4().to_string();
    let missing = admin.block(&nowhere, &["A1"], "").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}
