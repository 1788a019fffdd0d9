//! The outbox and its relay: every committed change publishes exactly its
//! events to JetStream, once, even across a NATS outage and with two relays.

use std::{collections::HashSet, time::Duration};

use prost::Message;
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::support::{
    Client, EventType, PATIENCE, TestApp, Topology,
    db::{row, strings},
    ev, eventually, heavy,
    invariants::wait_until_relayed,
    labels,
    nats::PrivateNats,
    pb::SeatStatus,
    process::ServerProcess,
};

/// One published message: its event type, message id and payload.
struct Published {
    event_type: String,
    msg_id: String,
    payload: Vec<u8>,
}

/// Holds `seats`; the reservation id.
async fn reserve(client: &Client, session_id: &str, seats: &[impl AsRef<str>]) -> String {
    client
        .reserve(session_id, seats)
        .await
        .unwrap_or_else(|e| panic!("reserving: {e}"))
        .reservation_id
}

/// Pays with the payment reference `pix-<reservation id>`.
async fn confirm(client: &Client, reservation_id: &str) {
    client
        .confirm_with(reservation_id, &format!("pix-{reservation_id}"), "")
        .await
        .unwrap_or_else(|e| panic!("confirming: {e}"));
}

async fn cancel(client: &Client, reservation_id: &str) {
    client
        .cancel(reservation_id)
        .await
        .unwrap_or_else(|e| panic!("cancelling: {e}"));
}

/// The ids of every event in the outbox.
async fn outbox_ids(app: &TestApp) -> HashSet<String> {
    let db = app.db().await;
    let ids = strings(&db, "SELECT event_id::text AS id FROM outbox").await;
    db.close().await.unwrap();
    ids.into_iter().collect()
}

/// Waits (generously) until every outbox row has been published.
async fn relayed(app: &TestApp, limit: Duration) {
    wait_until_relayed(&app.settings.database.url, limit).await;
}

/// Every message of the app's event stream, in stream order.
async fn published(app: &TestApp, nats_url: &str) -> Vec<Published> {
    let topology = Topology::new(&app.settings.nats.prefix);
    let js = async_nats::jetstream::new(async_nats::connect(nats_url).await.unwrap());
    let mut stream = js.get_stream(&topology.stream).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut messages = Vec::new();
    for seq in 1..=last {
        let message = stream.get_raw_message(seq).await.unwrap();
        messages.push(Published {
            event_type: topology.event_type(&message.subject).unwrap().to_owned(),
            msg_id: message.headers.get("Nats-Msg-Id").unwrap().to_string(),
            payload: message.payload.to_vec(),
        });
    }
    messages
}

fn assert_each_event_once(messages: &[Published], outbox: &HashSet<String>) {
    let ids: Vec<&str> = messages.iter().map(|m| m.msg_id.as_str()).collect();
    let unique: HashSet<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    assert_eq!(unique.len(), ids.len(), "an event was published twice");
    assert_eq!(
        &unique, outbox,
        "the stream and the outbox hold different events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_state_change_publishes_exactly_its_events_once() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(2)).await;
    let nats_url = app.settings.nats.url.clone();
    let session = app.create_session(2, 8).await.session_id;
    let (alice, bob, carol) = (app.user("alice"), app.user("bob"), app.user("carol"));

    let paid = reserve(&alice, &session, &["A2", "A1"]).await;
    confirm(&alice, &paid).await;
    let cancelled = reserve(&bob, &session, &["B1"]).await;
    cancel(&bob, &cancelled).await;
    let expired = reserve(&carol, &session, &["B5"]).await;
    // The sweeper records the expiry within about a second of the hold's end.
    eventually(Duration::from_secs(10), || async {
        let expired = app
            .count("SELECT count(*)::bigint FROM reservations WHERE status = 'expired'")
            .await;
        (expired > 0)
            .then_some(())
            .ok_or("the hold was never recorded as expired")
    })
    .await;
    relayed(&app, Duration::from_secs(20)).await;

    let messages = published(&app, &nats_url).await;
    assert_each_event_once(&messages, &outbox_ids(&app).await);
    let types: Vec<&str> = messages.iter().map(|m| m.event_type.as_str()).collect();
    let expected: Vec<&str> = [
        EventType::ReservationCreated,
        EventType::SeatsChanged,
        EventType::PaymentConfirmed,
        EventType::SeatsChanged,
        EventType::ReservationCreated,
        EventType::SeatsChanged,
        EventType::ReservationCancelled,
        EventType::SeatReleased,
        EventType::SeatsChanged,
        EventType::ReservationCreated,
        EventType::SeatsChanged,
        EventType::ReservationExpired,
        EventType::SeatReleased,
        EventType::SeatsChanged,
    ]
    .map(EventType::name)
    .into();
    assert_eq!(types, expected);

    let created = ev::ReservationCreated::decode(messages[0].payload.as_slice()).unwrap();
    assert_eq!(created.event_id, messages[0].msg_id);
    assert_eq!(
        (created.reservation_id.as_str(), created.user_id.as_str()),
        (paid.as_str(), "alice")
    );
    assert_eq!(
        (created.seat_labels.clone(), created.total_price_cents),
        (vec!["A1".into(), "A2".into()], 5000)
    );
    assert!(created.occur_time.is_some() && created.expire_time.is_some());

    let held = ev::SeatsChanged::decode(messages[1].payload.as_slice()).unwrap();
    let mut held_seats: Vec<(String, i32, i64)> = held
        .seats
        .iter()
        .map(|s| (s.label.clone(), s.status, s.version))
        .collect();
    held_seats.sort();
    let held_status = SeatStatus::Held as i32;
    assert_eq!(
        held_seats,
        [("A1".into(), held_status, 1), ("A2".into(), held_status, 1)]
    );

    let payment = ev::PaymentConfirmed::decode(messages[2].payload.as_slice()).unwrap();
    assert_eq!(
        (payment.reservation_id.as_str(), payment.amount_cents),
        (paid.as_str(), 5000)
    );
    assert_eq!(payment.seat_labels, ["A1", "A2"]);
    assert_eq!(payment.payment_reference, format!("pix-{paid}"));
    let sold = ev::SeatsChanged::decode(messages[3].payload.as_slice()).unwrap();
    assert!(
        sold.seats
            .iter()
            .all(|s| s.status == SeatStatus::Sold as i32 && s.version == 2)
    );

    let cancellation = ev::ReservationCancelled::decode(messages[6].payload.as_slice()).unwrap();
    assert_eq!(
        (
            cancellation.reservation_id.as_str(),
            cancellation.seat_labels.clone()
        ),
        (cancelled.as_str(), vec!["B1".into()])
    );
    let freed = ev::SeatReleased::decode(messages[7].payload.as_slice()).unwrap();
    assert_eq!(
        (freed.seat_label.as_str(), freed.reason),
        ("B1", ev::ReleaseReason::Cancelled as i32)
    );
    assert_eq!(freed.reservation_id, cancelled);

    let expiry = ev::ReservationExpired::decode(messages[11].payload.as_slice()).unwrap();
    assert_eq!(
        (expiry.reservation_id.as_str(), expiry.user_id.as_str()),
        (expired.as_str(), "carol")
    );
    assert_eq!(expiry.seat_labels, ["B5"]);
    let freed = ev::SeatReleased::decode(messages[12].payload.as_slice()).unwrap();
    assert_eq!(
        (freed.seat_label.as_str(), freed.reason),
        ("B5", ev::ReleaseReason::Expired as i32)
    );
    let available = ev::SeatsChanged::decode(messages[13].payload.as_slice()).unwrap();
    assert_eq!(available.seats.len(), 1);
    assert_eq!(
        (available.seats[0].status, available.seats[0].version),
        (SeatStatus::Available as i32, 2)
    );

    app.stop().await;
}

/// A hold that finds a seat still recorded as held by a hold that has
/// passed (one the sweeper has not reached yet) expires that hold first,
/// exactly as the sweeper would: `reservation.expired` naming all its seats
/// and a `seat.released` for each, before the new hold's own events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_taking_over_an_unswept_lapsed_hold_publishes_the_sweepers_events() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let nats_url = app.settings.nats.url.clone();
    let session = app.create_session(2, 8).await.session_id;
    let lapsed = reserve(&app.user("alice"), &session, &["A1", "A2"]).await;
    // The sweeper locks due holds FOR UPDATE SKIP LOCKED, so a key-share
    // lock keeps it off this one; expiring it takes a lock that coexists.
    let db = app.db().await;
    let sweeper_kept_off = db.begin().await.unwrap();
    sweeper_kept_off
        .execute_unprepared(&format!(
            "SELECT 1 FROM reservations WHERE reservation_id = '{lapsed}' FOR KEY SHARE"
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let unswept =
        format!("SELECT status::text FROM reservations WHERE reservation_id = '{lapsed}'");
    assert_eq!(
        strings(&db, &unswept).await,
        ["pending"],
        "the sweeper got there first"
    );

    let taking = reserve(&app.user("bob"), &session, &["A1"]).await;
    sweeper_kept_off.rollback().await.unwrap();
    relayed(&app, Duration::from_secs(20)).await;

    assert_eq!(strings(&db, &unswept).await, ["expired"]);
    let messages = published(&app, &nats_url).await;
    assert_each_event_once(&messages, &outbox_ids(&app).await);
    let types: Vec<&str> = messages.iter().map(|m| m.event_type.as_str()).collect();
    let expected: Vec<&str> = [
        EventType::ReservationCreated,
        EventType::SeatsChanged,
        EventType::ReservationExpired,
        EventType::SeatReleased,
        EventType::SeatReleased,
        EventType::SeatsChanged,
        EventType::ReservationCreated,
        EventType::SeatsChanged,
    ]
    .map(EventType::name)
    .into();
    assert_eq!(types, expected);
    let expiry = ev::ReservationExpired::decode(messages[2].payload.as_slice()).unwrap();
    assert_eq!(
        (expiry.reservation_id.as_str(), expiry.user_id.as_str()),
        (lapsed.as_str(), "alice")
    );
    assert_eq!(expiry.seat_labels, ["A1", "A2"]);
    let released: Vec<(String, String, i32)> = messages[3..5]
        .iter()
        .map(|m| {
            let freed = ev::SeatReleased::decode(m.payload.as_slice()).unwrap();
            (freed.seat_label, freed.reservation_id, freed.reason)
        })
        .collect();
    let expired = ev::ReleaseReason::Expired as i32;
    assert_eq!(
        released,
        [
            ("A1".into(), lapsed.clone(), expired),
            ("A2".into(), lapsed.clone(), expired)
        ]
    );
    let created = ev::ReservationCreated::decode(messages[6].payload.as_slice()).unwrap();
    assert_eq!(created.reservation_id, taking);
    let held = ev::SeatsChanged::decode(messages[7].payload.as_slice()).unwrap();
    let held: Vec<(&str, i32, i64)> = held
        .seats
        .iter()
        .map(|s| (s.label.as_str(), s.status, s.version))
        .collect();
    // Version 1 held by alice, 2 released, 3 held by bob.
    assert_eq!(held, [("A1", SeatStatus::Held as i32, 3)]);
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_delays_events_but_loses_and_repeats_none() {
    let mut nats = PrivateNats::start();
    let nats_url = nats.url();
    let app = TestApp::spawn_with(|s| {
        s.nats.url = nats_url.clone();
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    // The stream exists once the relay has set it up.
    relayed(&app, Duration::from_secs(20)).await;
    let session = app.create_session(10, 10).await.session_id;
    relayed(&app, Duration::from_secs(20)).await;
    nats.kill();

    // 100 booking calls while NATS is down: all succeed, none waits for NATS.
    let seats = labels("ABCDEFGHIJ", 10);
    let mut left_alone = 0;
    for (i, chunk) in seats.chunks(2).take(50).enumerate() {
        let user = app.user(&format!("user{}", i % 7));
        let reservation =
            tokio::time::timeout(Duration::from_secs(5), reserve(&user, &session, chunk))
                .await
                .expect("booking waited for NATS");
        match i % 3 {
            0 => confirm(&user, &reservation).await,
            1 => cancel(&user, &reservation).await,
            _ => left_alone += 1, // left to expire
        }
    }
    // The holds left alone expire while NATS is still down.
    eventually(PATIENCE, || async {
        let expired = app
            .count("SELECT count(*)::bigint FROM reservations WHERE status = 'expired'")
            .await;
        (expired == left_alone)
            .then_some(())
            .ok_or_else(|| format!("{expired} of {left_alone} holds expired"))
    })
    .await;
    let unpublished = app
        .count("SELECT count(*)::bigint FROM outbox WHERE published_time IS NULL")
        .await;
    assert!(
        unpublished > 100,
        "only {unpublished} events waiting while NATS was down"
    );

    nats.start_again();
    relayed(&app, Duration::from_secs(60)).await;
    let messages = published(&app, &nats_url).await;
    assert_each_event_once(&messages, &outbox_ids(&app).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_relaying_at_once_publish_each_event_once() {
    let _heavy = heavy().await;
    let app = TestApp::spawn().await;
    let nats_url = app.settings.nats.url.clone();
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(10, 10).await.session_id;
    let mut calls = tokio::task::JoinSet::new();
    // Two relays at once is the point, not 100 calls at once: a busy CI
    // machine would time them out waiting for the pools.
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for (i, seat) in labels("ABCDEFGHIJ", 10).into_iter().enumerate() {
        let channel = if i % 2 == 0 {
            &app.channel
        } else {
            &other.channel
        };
        let user = app.user(&format!("user{}", i % 9)).on(channel);
        let session = session.clone();
        let in_flight = std::sync::Arc::clone(&in_flight);
        calls.spawn(async move {
            let _turn = in_flight.acquire().await.unwrap();
            let reservation = user.reserve(&session, &[seat]).await.unwrap();
            user.confirm(&reservation.reservation_id).await.unwrap();
        });
    }
    while let Some(call) = calls.join_next().await {
        call.unwrap();
    }
    relayed(&app, Duration::from_secs(30)).await;
    let outbox = outbox_ids(&app).await;
    assert_eq!(
        outbox.len(),
        400,
        "100 reservations and 100 payments, two events each"
    );
    assert_each_event_once(&published(&app, &nats_url).await, &outbox);
    drop(other);
    app.stop().await;
}

/// (tickets sold, revenue, holds expired) of a session, as the sales say and as
/// the consumer counted.
async fn figures(app: &TestApp, session_id: &str) -> ((i64, i64, i64), (i64, i64, i64)) {
    let truth = format!(
        "SELECT (SELECT count(*) FROM sale_seats WHERE session_id = '{session_id}')::bigint,
                (SELECT coalesce(sum(amount_cents), 0) FROM sales WHERE session_id = '{session_id}')::bigint,
                (SELECT count(*) FROM reservations WHERE session_id = '{session_id}' AND status = 'expired')::bigint"
    );
    let counted = format!(
        "SELECT coalesce(max(tickets_sold), 0)::bigint, coalesce(max(revenue_cents), 0)::bigint,
                coalesce(max(holds_expired), 0)::bigint FROM session_sales WHERE session_id = '{session_id}'"
    );
    (
        query_triple(app, &truth).await,
        query_triple(app, &counted).await,
    )
}

async fn query_triple(app: &TestApp, sql: &str) -> (i64, i64, i64) {
    let db = app.db().await;
    let row = row(&db, sql).await;
    let triple = (
        row.try_get_by_index::<i64>(0).unwrap(),
        row.try_get_by_index::<i64>(1).unwrap(),
        row.try_get_by_index::<i64>(2).unwrap(),
    );
    db.close().await.unwrap();
    triple
}

/// Waits until the consumer has nothing left to process.
async fn wait_until_consumed(js: &async_nats::jetstream::Context, stream: &str) {
    eventually(Duration::from_secs(30), || async {
        let info = js
            .get_stream(stream)
            .await
            .unwrap()
            .consumer_info("sales-figures")
            .await
            .unwrap();
        (info.num_pending == 0 && info.num_ack_pending == 0)
            .then_some(())
            .ok_or_else(|| format!("the consumer never caught up: {info:?}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_figures_equal_the_sales_after_a_random_workload_and_after_redelivery() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let session = app.create_session(4, 10).await.session_id;
    let seats = labels("ABCD", 10);
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..80 {
        let user = app.user(&format!("user{}", random(6)));
        let wanted: Vec<String> = (0..1 + random(3))
            .map(|_| seats[random(seats.len())].clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let Ok(held) = user.reserve(&session, &wanted).await else {
            continue;
        };
        let reservation_id = held.reservation_id;
        match random(3) {
            0 => confirm(&user, &reservation_id).await,
            1 => cancel(&user, &reservation_id).await,
            _ => {} // left to expire
        }
    }
    // The holds left alone expire.
    eventually(PATIENCE, || async {
        let pending = app
            .count("SELECT count(*)::bigint FROM reservations WHERE status = 'pending'")
            .await;
        (pending == 0)
            .then_some(())
            .ok_or_else(|| format!("{pending} holds still pending"))
    })
    .await;
    relayed(&app, Duration::from_secs(20)).await;
    let js = async_nats::jetstream::new(async_nats::connect(&app.settings.nats.url).await.unwrap());
    let stream = Topology::new(&app.settings.nats.prefix).stream;
    wait_until_consumed(&js, &stream).await;
    let (truth, counted) = figures(&app, &session).await;
    assert!(
        truth.0 > 0 && truth.2 > 0,
        "the workload sold nothing or expired nothing: {truth:?}"
    );
    assert_eq!(counted, truth);

    // Every event delivered again (new message ids, so JetStream keeps them).
    let topology = Topology::new(&app.settings.nats.prefix);
    for message in published(&app, &app.settings.nats.url).await {
        let subject = topology.subject(&message.event_type);
        js.publish(subject, message.payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    wait_until_consumed(&js, &stream).await;
    let (truth_again, counted_again) = figures(&app, &session).await;
    assert_eq!((truth_again, counted_again), (truth, truth));
    app.stop().await;
}
