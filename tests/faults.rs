//! Real failures under load: Redis, NATS, a server instance and PostgreSQL
//! each die while a crowd books seats, on private instances of their own
//! (the machine's shared services are never touched). Whatever dies, no call
//! hangs, no seat is sold twice, nothing a customer was told is lost, and
//! everything resumes when the part comes back.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use cinema::proto::v1::{
    CancelReservationRequest, ConfirmPaymentRequest, GetReservationRequest, GetSeatMapRequest,
    GetSessionRequest, ListPurchasesRequest, ListSessionsRequest, ReserveSeatsRequest, SeatMap,
    SeatMapEvent, WatchSeatMapRequest, seat_map_event::Event,
    session_service_client::SessionServiceClient,
};
use common::{
    TestApp, authed, create_session,
    crowd::{CALL_BOUND, Crowd, Plan, Sessions, Tally, Targets},
    invariants,
    nats::PrivateNats,
    postgres::PrivatePostgres,
    process::ServerProcess,
    redis::{PrivateRedis, Reply},
    try_reserve_on, watch_on,
};
use tonic::{Code, Status, Streaming, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How long a seat lock lives in Redis (`locks::LOCK_TTL`).
const LOCK_TTL: Duration = Duration::from_secs(5);
/// The sweeper runs every second; a hold is recorded as expired within this.
const SWEEP_MARGIN: chrono::Duration = chrono::Duration::milliseconds(3000);
/// Progress the crowd must make in each phase of a test.
const PHASE_RESERVATIONS: usize = 25;
const PHASE_LIMIT: Duration = Duration::from_secs(30);

/// `A1`..`A{per_row}`, `B1`.. for each row letter in `rows`.
fn labels(rows: &str, per_row: u32) -> Vec<String> {
    rows.chars()
        .flat_map(|row| (1..=per_row).map(move |n| format!("{row}{n}")))
        .collect()
}

fn customers(app: &TestApp, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| app.token(&format!("customer-{i}")))
        .collect()
}

async fn seat_map(channel: &Channel, token: &str, session_id: &str) -> SeatMap {
    SessionServiceClient::new(channel.clone())
        .get_seat_map(authed(
            GetSeatMapRequest {
                session_id: session_id.into(),
            },
            token,
        ))
        .await
        .expect("the seat map")
        .into_inner()
}

async fn health(channel: &Channel) -> Option<ServingStatus> {
    let response = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(response.get_ref().status).ok()
}

async fn wait_for_health(channel: &Channel, expected: ServingStatus, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while health(channel).await != Some(expected) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "health did not turn {expected:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the crowd was always answered in time with contract codes, and
/// that the database holds exactly what it was told.
async fn assert_sound(database_url: &str, tally: &Tally) {
    eprintln!(
        "{} operations, slowest answer {:?}: {:?}",
        tally.operations(),
        tally.slowest,
        tally.answers
    );
    assert!(
        tally.failures.is_empty(),
        "{} answers broke the contract, first: {:?}",
        tally.failures.len(),
        &tally.failures[..tally.failures.len().min(5)]
    );
    assert!(tally.slowest <= CALL_BOUND);
    assert!(!tally.sales.is_empty(), "the crowd never bought anything");
    let problems =
        invariants::store_problems(database_url, &tally.sales, &tally.reservations).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Whether the Redis gate turns away a request for `label` while another
/// owner holds its lock: true when it answers ABORTED, false when it lets the
/// request through (the gate is open, as without Redis).
async fn gate_turns_away(
    app: &TestApp,
    redis: &PrivateRedis,
    session_id: &str,
    label: &str,
) -> bool {
    let key = format!(
        "{}:seat:{{{session_id}}}:{label}",
        app.settings.redis_prefix
    );
    let planted = redis.command(&["SET", &key, "another-request", "PX", "10000"]);
    assert_eq!(planted.ok(), Some(Reply::Status("OK".into())));
    let answer = try_reserve_on(&app.channel, &app.token("prober"), session_id, &[label]).await;
    redis.command(&["DEL", &key]).expect("DEL");
    match answer {
        Err(status) if status.code() == Code::Aborted => true,
        Ok(_) => false,
        Err(status) => panic!("probing the gate with {label}: {status:?}"),
    }
}

/// Waits until the gate turns requests away, probing with a fresh seat each
/// time (a probe that gets through holds its seat).
async fn wait_for_gate(
    app: &TestApp,
    redis: &PrivateRedis,
    session_id: &str,
    seats: &mut impl Iterator<Item = String>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let label = seats.next().expect("more probe seats");
        if gate_turns_away(app, redis, session_id, &label).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the seat locks were not up within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_booking_goes_on_correctly_and_the_locks_resume_when_it_returns() {
    let mut redis = PrivateRedis::start();
    let redis_url = redis.url();
    let app = TestApp::spawn_with(|s| {
        s.redis_url = redis_url;
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    let session = create_session(&app, 10, 20).await.session_id;
    // Seats the crowd never asks for, to see whether the gate is up.
    let probe = create_session(&app, 4, 8).await.session_id;
    let mut probe_seats = labels("ABCD", 8).into_iter();
    // Redis is connected in the background at start.
    wait_for_gate(&app, &redis, &probe, &mut probe_seats).await;

    let crowd = Crowd::start(Plan {
        targets: Targets::new([app.channel.clone()]),
        sessions: Sessions::new([session]),
        labels: labels("ABCDEFGHIJ", 20),
        tokens: customers(&app, 8),
        allow_unavailable: false,
        seed: 0x5EED_0001,
    });
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    redis.kill();
    // Bookings go on with PostgreSQL alone.
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    redis.start_again();
    // The gate closes again once the connection is back: a seat another
    // request holds is turned away again.
    wait_for_gate(&app, &redis, &probe, &mut probe_seats).await;
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    let tally = crowd.stop().await;
    assert_sound(&app.settings.database_url, &tally).await;
    // Every lock left behind lapses by itself.
    for (key, ttl) in redis.keys_with_ttl(&format!("{}:*", app.settings.redis_prefix)) {
        assert!(
            ttl > 0 && ttl <= LOCK_TTL.as_millis() as i64,
            "{key} lives {ttl} ms"
        );
    }
    app.stop().await;
}

/// Folds a watch stream into `folded` (seat label -> status, version); a
/// snapshot replaces everything.
async fn fold(
    mut stream: Streaming<SeatMapEvent>,
    folded: Arc<Mutex<HashMap<String, (i32, i64)>>>,
) {
    while let Some(message) = stream.message().await.expect("the watch failed") {
        let mut folded = folded.lock().unwrap();
        let seats = match message.event.expect("an event") {
            Event::Snapshot(map) => {
                folded.clear();
                map.seats
            }
            Event::Update(update) => update.seats,
        };
        for seat in seats {
            folded.insert(seat.label, (seat.status, seat.version));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_load_that_outlives_a_nats_crash_are_all_delivered_once() {
    let mut nats = PrivateNats::start();
    let nats_url = nats.url();
    let app = TestApp::spawn_with(|s| {
        s.nats_url = nats_url.clone();
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    let other = ServerProcess::spawn(&app).await;
    let session = create_session(&app, 10, 20).await.session_id;
    // A watcher on the second instance, across the outage.
    let folded = Arc::new(Mutex::new(HashMap::new()));
    let stream = watch_on(&other.channel, &app.token("watcher"), &session).await;
    let watcher = tokio::spawn(fold(stream, Arc::clone(&folded)));

    let crowd = Crowd::start(Plan {
        targets: Targets::new([app.channel.clone(), other.channel.clone()]),
        sessions: Sessions::new([session.clone()]),
        labels: labels("ABCDEFGHIJ", 20),
        tokens: customers(&app, 8),
        allow_unavailable: false,
        seed: 0x5EED_0002,
    });
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    nats.kill();
    // Booking never waits for NATS.
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    nats.start_again();
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    let tally = crowd.stop().await;
    assert_sound(&app.settings.database_url, &tally).await;

    invariants::wait_until_relayed(&app.settings.database_url, Duration::from_secs(60)).await;
    let delivery = invariants::delivery(
        &app.settings.database_url,
        &nats_url,
        &app.settings.nats_prefix,
    )
    .await;
    eprintln!("{delivery:?}");
    assert!(delivery.exactly_once(), "{delivery:?}");
    assert!(delivery.outbox > 3 * PHASE_RESERVATIONS);

    // The watcher ends up showing the seat map as it is.
    let reader = app.token("reader");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let truth: HashMap<String, (i32, i64)> = seat_map(&app.channel, &reader, &session)
            .await
            .seats
            .into_iter()
            .map(|s| (s.label, (s.status, s.version)))
            .collect();
        if *folded.lock().unwrap() == truth {
            break;
        }
        assert!(
            !watcher.is_finished(),
            "the watch ended: {:?}",
            watcher.await
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher never caught up with the seat map"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watcher.abort();
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_load_loses_no_sale_and_the_other_cleans_up_after_it() {
    let redis = PrivateRedis::start();
    let redis_url = redis.url();
    let app = TestApp::spawn_with(|s| {
        s.redis_url = redis_url;
        s.hold_duration = Duration::from_secs(3);
    })
    .await;
    // The doomed instance cannot reach NATS: every event it writes is left in
    // the outbox, for the survivor's relay to publish after its death.
    let doomed = ServerProcess::spawn_with(&cinema::config::Settings {
        nats_url: "nats://127.0.0.1:1".into(),
        ..app.settings.clone()
    })
    .await;
    let session = create_session(&app, 10, 20).await.session_id;
    let abandoned = create_session(&app, 2, 8).await.session_id;
    let targets = Targets::new([app.channel.clone(), doomed.channel.clone()]);
    let crowd = Crowd::start(Plan {
        targets: targets.clone(),
        sessions: Sessions::new([session]),
        labels: labels("ABCDEFGHIJ", 20),
        tokens: customers(&app, 8),
        allow_unavailable: false,
        seed: 0x5EED_0003,
    });
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;

    // Holds granted by the doomed instance that nobody will pay for.
    let mut holds = Vec::new();
    for (i, label) in ["A1", "A2", "B7", "B8"].into_iter().enumerate() {
        let token = app.token(&format!("leaver-{i}"));
        holds.push(
            try_reserve_on(&doomed.channel, &token, &abandoned, &[label])
                .await
                .expect("a hold on the doomed instance"),
        );
    }
    targets.set(1, None);
    doomed.kill();
    let killed_at = tokio::time::Instant::now();
    let leftover_locks = redis.keys_with_ttl(&format!("{}:*", app.settings.redis_prefix));
    eprintln!("seat locks at the kill: {leftover_locks:?}");
    for (key, ttl) in &leftover_locks {
        assert!(
            *ttl > 0 && *ttl <= LOCK_TTL.as_millis() as i64,
            "{key} lives {ttl} ms"
        );
    }
    // The surviving instance carries on.
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    let tally = crowd.stop().await;
    let mut acknowledged = tally.reservations.clone();
    acknowledged.extend(holds.iter().cloned());
    let tally = Tally {
        reservations: acknowledged,
        ..tally
    };
    assert_sound(&app.settings.database_url, &tally).await;

    // Once the crowd is gone, the survivor holds no lock: whatever the dead
    // instance left lapses within the lock's time to live. (Hold markers
    // mirror holds still running, and end with them: bounded above.)
    let lapsed_by = killed_at + LOCK_TTL + Duration::from_secs(2);
    while !redis
        .keys_with_ttl(&format!("{}:seat:*", app.settings.redis_prefix))
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < lapsed_by,
            "seat locks outlived their time to live"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Its holds end on time: the survivor's sweeper records them, and the
    // seats come back.
    let last_end = holds
        .iter()
        .map(|h| common::to_chrono(h.expire_time.as_ref()))
        .max()
        .unwrap();
    let ids = holds
        .iter()
        .map(|h| format!("'{}'", h.reservation_id))
        .collect::<Vec<_>>()
        .join(",");
    let db = invariants::connect(&app.settings.database_url).await;
    let expired = format!(
        "SELECT count(*)::bigint FROM reservations \
         WHERE reservation_id IN ({ids}) AND status = 'expired'"
    );
    while invariants::count(&db, &expired).await < holds.len() as i64 {
        assert!(
            Utc::now() < last_end + SWEEP_MARGIN,
            "the dead instance's holds were not recorded as expired in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let map = seat_map(&app.channel, &app.token("reader"), &abandoned).await;
    assert_eq!((map.available_count, map.held_count), (16, 0));
    for hold in &holds {
        let late_ms = invariants::count(
            &db,
            &format!(
                "SELECT (extract(epoch FROM finish_time - expires_at) * 1000)::bigint \
                 FROM reservations WHERE reservation_id = '{}' AND status = 'expired'",
                hold.reservation_id
            ),
        )
        .await;
        assert!(
            (0..SWEEP_MARGIN.num_milliseconds()).contains(&late_ms),
            "hold {} was recorded {late_ms} ms after its end",
            hold.reservation_id
        );
    }
    db.close().await.unwrap();

    // Its events, which only the survivor could publish, all reach the stream once.
    invariants::wait_until_relayed(&app.settings.database_url, Duration::from_secs(30)).await;
    let delivery = invariants::delivery(
        &app.settings.database_url,
        &app.settings.nats_url,
        &app.settings.nats_prefix,
    )
    .await;
    assert!(delivery.exactly_once(), "{delivery:?}");
    app.stop().await;
}

/// One RPC of each kind, answered with `()` so they can be run side by side.
type Call = std::pin::Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// `client.method(request)` as a [`Call`].
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(drop) }) as Call
    }};
}

/// Runs the calls at once; each must be refused with UNAVAILABLE within 4 s,
/// with no database message in it.
async fn assert_unavailable_quickly(calls: Vec<(&'static str, Call)>) {
    let mut running = tokio::task::JoinSet::new();
    for (what, call) in calls {
        running.spawn(async move {
            let started = tokio::time::Instant::now();
            let answer = tokio::time::timeout(Duration::from_secs(10), call).await;
            (what, answer, started.elapsed())
        });
    }
    for (what, answer, took) in running.join_all().await {
        let answer = answer.unwrap_or_else(|_| panic!("{what} hung while PostgreSQL was down"));
        let status = answer.expect_err(&format!("{what} succeeded without PostgreSQL"));
        assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
        assert!(
            !status.message().to_lowercase().contains("sql")
                && !status.message().contains("connection"),
            "{what} leaks a database message: {}",
            status.message()
        );
        assert!(
            took < Duration::from_secs(4),
            "{what} took {took:?} to answer UNAVAILABLE"
        );
        eprintln!("{what}: UNAVAILABLE after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_calls_fail_fast_and_everything_recovers_without_a_restart() {
    let mut postgres = PrivatePostgres::start();
    let database_url = postgres.url();
    let app = TestApp::spawn_with(|s| s.database_url = database_url.clone()).await;
    let session = create_session(&app, 10, 20).await.session_id;
    let token = app.token("alice");
    let pending = try_reserve_on(&app.channel, &token, &session, &["F10"])
        .await
        .expect("a hold before the outage");

    let crowd = Crowd::start(Plan {
        targets: Targets::new([app.channel.clone()]),
        sessions: Sessions::new([session.clone()]),
        labels: labels("ABCDE", 20),
        tokens: customers(&app, 8),
        allow_unavailable: true,
        seed: 0x5EED_0004,
    });
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    // A crash: no checkpoint, connections cut, recovery at the next start.
    postgres.kill();

    let (sessions, booking) = (app.sessions(), app.booking());
    let id = pending.reservation_id.clone();
    let (t, sid) = (&token, &session);
    assert_unavailable_quickly(vec![
        (
            "ReserveSeats",
            call!(
                booking,
                reserve_seats,
                authed(
                    ReserveSeatsRequest {
                        session_id: sid.clone(),
                        seat_labels: vec!["F9".into()],
                        request_id: String::new(),
                    },
                    t,
                )
            ),
        ),
        (
            "ConfirmPayment",
            call!(
                booking,
                confirm_payment,
                authed(
                    ConfirmPaymentRequest {
                        reservation_id: id.clone(),
                        payment_reference: "pix".into(),
                        request_id: String::new(),
                    },
                    t,
                )
            ),
        ),
        (
            "CancelReservation",
            call!(
                booking,
                cancel_reservation,
                authed(
                    CancelReservationRequest {
                        reservation_id: id.clone(),
                    },
                    t,
                )
            ),
        ),
        (
            "GetReservation",
            call!(
                booking,
                get_reservation,
                authed(
                    GetReservationRequest {
                        reservation_id: id.clone(),
                    },
                    t,
                )
            ),
        ),
        (
            "ListPurchases",
            call!(
                booking,
                list_purchases,
                authed(ListPurchasesRequest::default(), t)
            ),
        ),
        (
            "GetSession",
            call!(
                sessions,
                get_session,
                authed(
                    GetSessionRequest {
                        session_id: sid.clone(),
                    },
                    t,
                )
            ),
        ),
        (
            "GetSeatMap",
            call!(
                sessions,
                get_seat_map,
                authed(
                    GetSeatMapRequest {
                        session_id: sid.clone(),
                    },
                    t,
                )
            ),
        ),
        (
            "ListSessions",
            call!(
                sessions,
                list_sessions,
                authed(ListSessionsRequest::default(), t)
            ),
        ),
        (
            "WatchSeatMap",
            call!(
                sessions,
                watch_seat_map,
                authed(
                    WatchSeatMapRequest {
                        session_id: sid.clone(),
                    },
                    t,
                )
            ),
        ),
    ])
    .await;
    wait_for_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(8),
    )
    .await;

    postgres.start_again();
    wait_for_health(
        &app.channel,
        ServingStatus::Serving,
        Duration::from_secs(20),
    )
    .await;
    // The same server, untouched, books again.
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    let tally = crowd.stop().await;
    let mut reservations = tally.reservations.clone();
    reservations.push(pending.clone());
    let tally = Tally {
        reservations,
        ..tally
    };
    assert_sound(&app.settings.database_url, &tally).await;
    let sale = booking
        .clone()
        .confirm_payment(authed(
            ConfirmPaymentRequest {
                reservation_id: id,
                payment_reference: "pix".into(),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("the hold made before the outage is paid after it")
        .into_inner();
    assert_eq!(sale.seat_labels, ["F10"]);
    app.stop().await;
}
