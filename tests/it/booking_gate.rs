//! The Redis gate after a commit: a held seat carries a hold marker, so later
//! callers are refused by Redis alone with the answer PostgreSQL would give;
//! cancelling removes the marker at once; a marker never outlives its hold;
//! a lock of a request still in flight answers ABORTED.

use std::time::Duration;

use fred::{
    prelude::{Builder, ClientLike, Config, KeysInterface},
    types::Expiration,
};
use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::support::{
    TestApp, precondition_violations, seat_unavailable, to_chrono, wait::time_until,
};

async fn redis(app: &TestApp) -> fred::prelude::Client {
    let config = Config::from_url(&app.settings.redis_url).expect("a Redis URL");
    let client = Builder::from_config(config)
        .build()
        .expect("a Redis client");
    client.init().await.expect("connect to Redis");
    client
}

fn marker_key(app: &TestApp, sid: &str, label: &str) -> String {
    format!("{}:held:{{{sid}}}:{label}", app.settings.redis_prefix)
}

fn lock_key(app: &TestApp, sid: &str, label: &str) -> String {
    format!("{}:seat:{{{sid}}}:{label}", app.settings.redis_prefix)
}

/// Frees a seat in PostgreSQL behind the server's back, so that only Redis
/// can still refuse it.
async fn free_in_postgres(app: &TestApp, sid: &str, label: &str) {
    let db = app.db().await;
    db.execute_unprepared(&format!(
        "UPDATE seats SET status = 'available', reservation_id = NULL, held_until = NULL \
         WHERE session_id = '{sid}' AND label = '{label}'"
    ))
    .await
    .expect("free the seat");
    db.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_seat_is_refused_by_redis_alone_with_seat_unavailable() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let held = app
        .user("alice")
        .reserve(sid, &["A1"])
        .await
        .expect("alice holds A1");

    let redis = redis(&app).await;
    let marker: Option<String> = redis.get(marker_key(&app, sid, "A1")).await.expect("GET");
    assert_eq!(marker.as_deref(), Some(held.reservation_id.as_str()));
    let ttl_ms: i64 = redis.pttl(marker_key(&app, sid, "A1")).await.expect("PTTL");
    assert!((1..=30_000).contains(&ttl_ms), "marker TTL {ttl_ms} ms");
    let lock: Option<String> = redis.get(lock_key(&app, sid, "A1")).await.expect("GET");
    assert_eq!(lock, None, "the lock is released after the commit");

    // PostgreSQL would now say yes: the refusal comes from Redis alone, and
    // it is the same answer PostgreSQL gives for a held seat.
    free_in_postgres(&app, sid, "A1").await;
    let status = app
        .user("bob")
        .reserve(sid, &["A2", "A1"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(precondition_violations(&status), seat_unavailable(&["A1"]));
    // All or nothing: A2 was not taken either.
    app.user("carol")
        .reserve(sid, &["A2"])
        .await
        .expect("A2 is still free");
    redis.quit().await.expect("quit");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_makes_the_seats_reservable_at_once() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let held = app
        .user("alice")
        .reserve(sid, &["B3", "B4"])
        .await
        .expect("hold");
    app.user("alice")
        .cancel(&held.reservation_id)
        .await
        .expect("cancel");
    let redis = redis(&app).await;
    for label in ["B3", "B4"] {
        let marker: Option<String> = redis.get(marker_key(&app, sid, label)).await.expect("GET");
        assert_eq!(marker, None, "{label} is unmarked");
    }
    let taken = app
        .user("bob")
        .reserve(sid, &["B4", "B3"])
        .await
        .expect("taken at once");
    assert_eq!(taken.seat_labels, ["B3", "B4"]);
    redis.quit().await.expect("quit");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_seat_and_every_later_caller_get_seat_unavailable() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let held = app.user("alice").reserve(sid, &["A5"]).await.expect("hold");
    app.user("alice")
        .confirm_with(&held.reservation_id, "pix-1", "")
        .await
        .expect("pay");
    let mut callers = tokio::task::JoinSet::new();
    for i in 0..50 {
        let late = app.user(&format!("late-{i}"));
        let sid = sid.to_owned();
        callers.spawn(async move { late.reserve(&sid, &["A5"]).await });
    }
    for answer in callers.join_all().await {
        let status = answer.expect_err("a sold seat is refused");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(precondition_violations(&status), seat_unavailable(&["A5"]));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_ends_with_its_hold() {
    let app = TestApp::spawn_with(|settings| settings.hold_duration = Duration::from_secs(1)).await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let held = app.user("alice").reserve(sid, &["A7"]).await.expect("hold");
    let status = app.user("bob").reserve(sid, &["A7"]).await.unwrap_err();
    assert_eq!(precondition_violations(&status), seat_unavailable(&["A7"]));

    // Waiting out the hold is the scenario: right after its end, the seat
    // must be free, its marker gone with it (not some time later).
    let ends = to_chrono(held.expire_time.as_ref());
    tokio::time::sleep(time_until(ends) + Duration::from_millis(20)).await;
    let taken = app
        .user("bob")
        .reserve(sid, &["A7"])
        .await
        .expect("free once the hold ended");
    assert_eq!(taken.user_id, "bob");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_locked_by_a_request_in_flight_answers_aborted() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    let sid = session.session_id.as_str();
    let redis = redis(&app).await;
    let _: () = redis
        .set(
            lock_key(&app, sid, "B8"),
            "another-request",
            Some(Expiration::PX(5_000)),
            None,
            false,
        )
        .await
        .expect("SET");
    let status = app
        .user("bob")
        .reserve(sid, &["B7", "B8"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let _: i64 = redis.del(lock_key(&app, sid, "B8")).await.expect("DEL");
    app.user("bob")
        .reserve(sid, &["B7", "B8"])
        .await
        .expect("free once the lock is gone");
    redis.quit().await.expect("quit");
    app.stop().await;
}
