//! WatchSeatMap: every seat change reaches every watcher, on every instance.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use cinema::proto::v1::{
    CancelReservationRequest, ConfirmPaymentRequest, GetSeatMapRequest, ReserveSeatsRequest,
    SeatMapEvent, SeatStatus, WatchSeatMapRequest, booking_service_client::BookingServiceClient,
    seat_map_event::Event, session_service_client::SessionServiceClient,
};
use common::{TestApp, authed, create_session, process::ServerProcess, reserve_on};
use tonic::{Code, Streaming, transport::Channel};

/// Seat label -> (status, version), as a watcher folds its stream.
type Folded = HashMap<String, (i32, i64)>;

async fn watch(channel: &Channel, app: &TestApp, session_id: &str) -> Streaming<SeatMapEvent> {
    common::watch_on(channel, &app.token("watcher"), session_id).await
}

async fn next(stream: &mut Streaming<SeatMapEvent>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no message within 10 s")
        .expect("the stream failed")
        .expect("the stream ended")
        .event
        .expect("an event")
}

/// Reads updates until `label` shows `status`; returns its version then.
async fn until_seat(stream: &mut Streaming<SeatMapEvent>, label: &str, status: SeatStatus) -> i64 {
    loop {
        if let Event::Update(update) = next(stream).await
            && let Some(seat) = update
                .seats
                .iter()
                .find(|s| s.label == label && s.status == status as i32)
        {
            return seat.version;
        }
    }
}

async fn seat_map(app: &TestApp, session_id: &str) -> Folded {
    let map = app
        .sessions()
        .get_seat_map(authed(
            GetSeatMapRequest {
                session_id: session_id.into(),
            },
            &app.token("reader"),
        ))
        .await
        .unwrap()
        .into_inner();
    map.seats
        .into_iter()
        .map(|s| (s.label, (s.status, s.version)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_instance_sees_a_hold_its_expiry_and_a_sale_made_on_another() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(2)).await;
    let other = ServerProcess::spawn(&app).await;
    let session = create_session(&app, 2, 8).await.session_id;
    let mut stream = watch(&other.channel, &app, &session).await;
    let Event::Snapshot(snapshot) = next(&mut stream).await else {
        panic!("the first message is not a snapshot")
    };
    assert_eq!((snapshot.seats.len(), snapshot.available_count), (16, 16));

    reserve_on(&app.channel, &app, "alice", &session, &["A1"]).await;
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Held).await, 1);
    // The hold ends after 2 s; the stream shows it within about a second.
    let freed = tokio::time::timeout(
        Duration::from_secs(5),
        until_seat(&mut stream, "A1", SeatStatus::Available),
    )
    .await
    .expect("the expiry never reached the watcher");
    assert_eq!(freed, 2);

    let reservation = reserve_on(&app.channel, &app, "bob", &session, &["A1"]).await;
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Held).await, 3);
    let confirm = ConfirmPaymentRequest {
        reservation_id: reservation,
        payment_reference: "pix".into(),
        request_id: String::new(),
    };
    BookingServiceClient::new(app.channel.clone())
        .confirm_payment(authed(confirm, &app.token("bob")))
        .await
        .unwrap();
    assert_eq!(until_seat(&mut stream, "A1", SeatStatus::Sold).await, 4);
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_random_changes_on_two_instances_every_watcher_folds_to_the_seat_map() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let other = ServerProcess::spawn(&app).await;
    let session = create_session(&app, 2, 8).await.session_id;
    let channels = [app.channel.clone(), other.channel.clone()];
    let mut watchers = Vec::new();
    for channel in &channels {
        let folded = Arc::new(Mutex::new(Folded::new()));
        let stream = watch(channel, &app, &session).await;
        watchers.push((folded.clone(), tokio::spawn(fold(stream, folded))));
    }

    let labels: Vec<String> = ["A", "B"]
        .iter()
        .flat_map(|r| (1..=8).map(move |n| format!("{r}{n}")))
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..150 {
        let user = format!("user{}", random(5));
        let seat = labels[random(labels.len())].clone();
        let request = ReserveSeatsRequest {
            session_id: session.clone(),
            seat_labels: vec![seat],
            request_id: String::new(),
        };
        let mut booking = BookingServiceClient::new(channels[step % 2].clone());
        let Ok(held) = booking
            .reserve_seats(authed(request, &app.token(&user)))
            .await
        else {
            continue;
        };
        let reservation_id = held.into_inner().reservation_id;
        // Confirm or cancel through the other instance half of the time.
        let mut booking = BookingServiceClient::new(channels[random(2)].clone());
        match random(3) {
            0 => {
                let request = ConfirmPaymentRequest {
                    reservation_id,
                    payment_reference: "pix".into(),
                    request_id: String::new(),
                };
                booking
                    .confirm_payment(authed(request, &app.token(&user)))
                    .await
                    .unwrap();
            }
            1 => {
                let request = CancelReservationRequest { reservation_id };
                booking
                    .cancel_reservation(authed(request, &app.token(&user)))
                    .await
                    .unwrap();
            }
            _ => {} // left to expire
        }
    }
    // Every hold ends within a second; then the maps must settle on the truth.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let truth = seat_map(&app, &session).await;
    assert!(
        truth
            .values()
            .all(|(status, _)| *status != SeatStatus::Held as i32),
        "a hold outlived its time"
    );
    for (i, (folded, task)) in watchers.into_iter().enumerate() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while *folded.lock().unwrap() != truth {
            assert!(!task.is_finished(), "watcher {i} ended: {:?}", task.await);
            assert!(
                tokio::time::Instant::now() < deadline,
                "watcher {i} never matched the seat map"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
    }
    drop(other);
    app.stop().await;
}

/// Folds a stream into `folded`, failing if a seat's version goes backwards.
async fn fold(mut stream: Streaming<SeatMapEvent>, folded: Arc<Mutex<Folded>>) {
    while let Some(message) = stream.message().await.expect("the stream failed") {
        let seats = match message.event.expect("an event") {
            Event::Snapshot(map) => map.seats,
            Event::Update(update) => update.seats,
        };
        let mut folded = folded.lock().unwrap();
        for seat in seats {
            if let Some((_, version)) = folded.get(&seat.label) {
                assert!(
                    seat.version >= *version,
                    "{} went back from {version} to {}",
                    seat.label,
                    seat.version
                );
            }
            folded.insert(seat.label, (seat.status, seat.version));
        }
    }
}

#[tokio::test]
async fn a_watcher_that_stops_reading_gets_a_fresh_snapshot_when_it_reads_again() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
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
    let mut booking = BookingServiceClient::new(app.channel.clone());
    let token = app.token("alice");
    for _ in 0..120 {
        let request = ReserveSeatsRequest {
            session_id: session.clone(),
            seat_labels: vec!["A1".into(), "A2".into()],
            request_id: String::new(),
        };
        let reservation_id = booking
            .reserve_seats(authed(request, &token))
            .await
            .unwrap()
            .into_inner()
            .reservation_id;
        booking
            .cancel_reservation(authed(CancelReservationRequest { reservation_id }, &token))
            .await
            .unwrap();
    }
    let truth = seat_map(&app, &session).await;
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
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
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
    reserve_on(&app.channel, &app, "alice", &session, &["B8"]).await;
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
    let session = create_session(&app, 2, 8).await.session_id;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = watch(&app.channel, &app, &session).await;
        next(&mut stream).await;
        streams.push(stream);
    }
    assert_eq!(app.hub.watchers(), 3);
    let status = SessionServiceClient::new(app.channel.clone())
        .watch_seat_map(authed(
            WatchSeatMapRequest {
                session_id: session.clone(),
            },
            &app.token("one-too-many"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    streams.clear();
    wait_for_watchers(&app, 0).await;
    let mut stream = watch(&app.channel, &app, &session).await;
    next(&mut stream).await;
    assert_eq!(app.hub.watchers(), 1);

    let unknown = uuid::Uuid::new_v4().to_string();
    let status = SessionServiceClient::new(app.channel.clone())
        .watch_seat_map(authed(
            WatchSeatMapRequest {
                session_id: unknown,
            },
            &app.token("x"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    drop(stream);
    wait_for_watchers(&app, 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_watch_with_unavailable() {
    let app = TestApp::spawn().await;
    let session = create_session(&app, 2, 8).await.session_id;
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.hub.watchers() != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} watchers, expected {expected}",
            app.hub.watchers()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_nats_comes_back_watchers_get_a_fresh_snapshot_and_changes_flow_again() {
    let mut nats = common::nats::PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(|s| s.nats_url = url).await;
    let session = create_session(&app, 2, 8).await.session_id;
    let mut stream = watch(&app.channel, &app, &session).await;
    let Event::Snapshot(_) = next(&mut stream).await else {
        panic!("no snapshot")
    };

    nats.kill();
    // Changed while NATS is away: no live update can carry this.
    reserve_on(&app.channel, &app, "alice", &session, &["A3"]).await;
    nats.start_again();
    let snapshot = loop {
        if let Event::Snapshot(map) = next(&mut stream).await {
            break map;
        }
    };
    let a3 = snapshot.seats.iter().find(|s| s.label == "A3").unwrap();
    assert_eq!((a3.status, a3.version), (SeatStatus::Held as i32, 1));
    reserve_on(&app.channel, &app, "bob", &session, &["A4"]).await;
    assert_eq!(until_seat(&mut stream, "A4", SeatStatus::Held).await, 1);
    app.stop().await;
}
