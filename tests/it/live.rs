//! WatchSeatMap: every seat change reaches every watcher, on every instance.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tonic::{Code, Streaming, transport::Channel};

use crate::support::{
    PATIENCE, TestApp, eventually, heavy, labels,
    nats::PrivateNats,
    pb::{SeatMapEvent, SeatStatus, seat_map_event::Event},
    process::ServerProcess,
    watch::{Folded, folded, next, until_seat},
};

/// A watch of `session_id` through `channel`.
async fn watch(channel: &Channel, app: &TestApp, session_id: &str) -> Streaming<SeatMapEvent> {
    app.user("watcher")
        .on(channel)
        .watch(session_id)
        .await
        .expect("watch")
}

/// Holds `seats` for `user`; the reservation id.
async fn reserve(app: &TestApp, user: &str, session_id: &str, seats: &[&str]) -> String {
    app.user(user)
        .reserve(session_id, seats)
        .await
        .unwrap_or_else(|e| panic!("{user} reserving {seats:?}: {e}"))
        .reservation_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_instance_sees_a_hold_its_expiry_and_a_sale_made_on_another() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(2)).await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(2, 8).await.session_id;
    let mut stream = watch(&other.channel, &app, &session).await;
    let Event::Snapshot(snapshot) = next(&mut stream).await else {
        panic!("the first message is not a snapshot")
    };
    assert_eq!((snapshot.seats.len(), snapshot.available_count), (16, 16));

    reserve(&app, "alice", &session, &["A1"]).await;
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Held).await, 1);
    // The hold ends after 2 s; the stream shows it within about a second.
    let freed = tokio::time::timeout(
        Duration::from_secs(5),
        until_seat(&mut stream, "A1", SeatStatus::Available),
    )
    .await
    .expect("the expiry never reached the watcher");
    assert_eq!(freed, 2);

    let reservation = reserve(&app, "bob", &session, &["A1"]).await;
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Held).await, 3);
    app.user("bob").confirm(&reservation).await.unwrap();
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Sold).await, 4);
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_random_changes_on_two_instances_every_watcher_folds_to_the_seat_map() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(2, 8).await.session_id;
    let channels = [app.channel.clone(), other.channel.clone()];
    let mut watchers = Vec::new();
    for channel in &channels {
        let watched = Arc::new(Mutex::new(Folded::new()));
        let stream = watch(channel, &app, &session).await;
        watchers.push((watched.clone(), tokio::spawn(fold(stream, watched))));
    }

    let labels = labels("AB", 8);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..150 {
        let user = app.user(&format!("user{}", random(5)));
        let seat = labels[random(labels.len())].clone();
        let Ok(held) = user
            .on(&channels[step % 2])
            .reserve(&session, &[seat])
            .await
        else {
            continue;
        };
        let reservation_id = held.reservation_id;
        // Confirm or cancel through the other instance half of the time.
        let user = user.on(&channels[random(2)]);
        match random(3) {
            0 => {
                user.confirm(&reservation_id).await.unwrap();
            }
            1 => {
                user.cancel(&reservation_id).await.unwrap();
            }
            _ => {} // left to expire
        }
    }
    // Every hold left alone ends, and its end is recorded (which changes its
    // seats' versions); then the maps must settle on the truth.
    eventually(PATIENCE, || async {
        let pending = app
            .count("SELECT count(*)::bigint FROM reservations WHERE status = 'pending'")
            .await;
        (pending == 0)
            .then_some(())
            .ok_or_else(|| format!("{pending} holds not yet recorded as ended"))
    })
    .await;
    let truth = folded(app.seat_map(&session).await);
    assert!(
        truth
            .values()
            .all(|(status, _)| *status != SeatStatus::Held as i32),
        "a hold outlived its time"
    );
    for (i, (watched, task)) in watchers.into_iter().enumerate() {
        let ended = eventually(Duration::from_secs(10), || async {
            if task.is_finished() {
                return Ok(true);
            }
            (*watched.lock().unwrap() == truth)
                .then_some(false)
                .ok_or_else(|| format!("watcher {i} never matched the seat map"))
        })
        .await;
        assert!(!ended, "watcher {i} ended: {:?}", task.await);
        task.abort();
    }
    drop(other);
    app.stop().await;
}

/// Folds a stream into `watched`, failing if a seat's version goes backwards.
async fn fold(mut stream: Streaming<SeatMapEvent>, watched: Arc<Mutex<Folded>>) {
    while let Some(message) = stream.message().await.expect("the stream failed") {
        let seats = match message.event.expect("an event") {
            Event::Snapshot(map) => map.seats,
            Event::Update(update) => update.seats,
        };
        let mut watched = watched.lock().unwrap();
        for seat in seats {
            if let Some((_, version)) = watched.get(&seat.label) {
                assert!(
                    seat.version >= *version,
                    "{} went back from {version} to {}",
                    seat.label,
                    seat.version
                );
            }
            watched.insert(seat.label, (seat.status, seat.version));
        }
    }
}

#[tokio::test]
async fn a_watcher_that_stops_reading_gets_a_fresh_snapshot_when_it_reads_again() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    // A tiny HTTP/2 window makes the server's side fill up after a few updates.
    let slow_channel = Channel::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .initial_stream_window_size(1024)
        .connect()
        .await
        .unwrap();
    let mut stream = watch(&slow_channel, &app, &session).await;
    let Event::Snapshot(_) = next(&mut stream).await else {
        panic!("the first message is not a snapshot")
    };

    // Far more changes than the hub keeps for one session.
    let alice = app.user("alice");
    for _ in 0..120 {
        let reservation_id = alice
            .reserve(&session, &["A1", "A2"])
            .await
            .unwrap()
            .reservation_id;
        alice.cancel(&reservation_id).await.unwrap();
    }
    let truth = folded(app.seat_map(&session).await);
    let mut snapshots = 0;
    let mut folded = Folded::new();
    while folded != truth {
        let seats = match next(&mut stream).await {
            Event::Snapshot(map) => {
                snapshots += 1;
                folded.clear();
                map.seats
            }
            Event::Update(update) => update.seats,
        };
        for seat in seats {
            folded.insert(seat.label, (seat.status, seat.version));
        }
    }
    assert!(snapshots >= 1, "the slow watcher was never resynchronised");
    assert_eq!(truth["A1"].1, 240);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watchers_all_receive_an_update() {
    let _heavy = heavy().await;
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let mut channels = Vec::new();
    for _ in 0..10 {
        channels.push(
            Channel::from_shared(format!("http://{}", app.addr))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
    }
    let mut streams = Vec::new();
    for i in 0..1000 {
        let mut stream = watch(&channels[i % channels.len()], &app, &session).await;
        let Event::Snapshot(_) = next(&mut stream).await else {
            panic!("no snapshot")
        };
        streams.push(stream);
    }
    assert_eq!(app.hub.watchers(), 1000);
    reserve(&app, "alice", &session, &["B8"]).await;
    let mut received = tokio::task::JoinSet::new();
    for mut stream in streams {
        received.spawn(async move { until_seat(&mut stream, "B8", SeatStatus::Held).await });
    }
    let mut count = 0;
    while let Some(version) = received.join_next().await {
        assert_eq!(version.unwrap(), 1);
        count += 1;
    }
    assert_eq!(count, 1000);
    // Every stream is gone now: the hub lets go of all of them.
    wait_for_watchers(&app, 0).await;
    app.stop().await;
}

#[tokio::test]
async fn ending_a_watch_frees_it_and_the_cap_refuses_more() {
    let app = TestApp::spawn_with(|s| s.max_watchers = 3).await;
    let session = app.create_session(2, 8).await.session_id;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = watch(&app.channel, &app, &session).await;
        next(&mut stream).await;
        streams.push(stream);
    }
    assert_eq!(app.hub.watchers(), 3);
    let status = app.user("one-too-many").watch(&session).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    streams.clear();
    wait_for_watchers(&app, 0).await;
    let mut stream = watch(&app.channel, &app, &session).await;
    next(&mut stream).await;
    assert_eq!(app.hub.watchers(), 1);

    let unknown = uuid::Uuid::new_v4().to_string();
    let status = app.user("x").watch(&unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    drop(stream);
    wait_for_watchers(&app, 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_watch_with_unavailable() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let mut stream = watch(&app.channel, &app, &session).await;
    next(&mut stream).await;
    let stopping = tokio::spawn(app.stop());
    let ended = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the watch did not end");
    assert_eq!(ended.unwrap_err().code(), Code::Unavailable);
    stopping.await.unwrap();
}

async fn wait_for_watchers(app: &TestApp, expected: usize) {
    eventually(Duration::from_secs(10), || async {
        let watchers = app.hub.watchers();
        (watchers == expected)
            .then_some(())
            .ok_or_else(|| format!("{watchers} watchers, expected {expected}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_nats_comes_back_watchers_get_a_fresh_snapshot_and_changes_flow_again() {
    let mut nats = PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(|s| s.nats.url = url).await;
    let session = app.create_session(2, 8).await.session_id;
    let mut stream = watch(&app.channel, &app, &session).await;
    let Event::Snapshot(_) = next(&mut stream).await else {
        panic!("no snapshot")
    };

    nats.kill();
    // Changed while NATS is away: no live update can carry this.
    reserve(&app, "alice", &session, &["A3"]).await;
    nats.start_again();
    let snapshot = loop {
        if let Event::Snapshot(map) = next(&mut stream).await {
            break map;
        }
    };
    let a3 = snapshot.seats.iter().find(|s| s.label == "A3").unwrap();
    assert_eq!((a3.status, a3.version), (SeatStatus::Held as i32, 1));
    reserve(&app, "bob", &session, &["A4"]).await;
    assert_eq!(until_seat(&mut stream, "A4", SeatStatus::Held).await, 1);
    app.stop().await;
}
