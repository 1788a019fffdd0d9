//! Real failures under load: Redis, NATS, a server instance and PostgreSQL
//! each die while a crowd books seats, on private instances of their own
//! (the machine's shared services are never touched). Whatever dies, no call
//! hangs, no seat is sold twice, nothing a customer was told is lost, and
//! everything resumes when the part comes back.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tonic::{Code, Status, Streaming};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::support::{
    SECRET, TestApp, TicketSigner,
    client::room_request,
    crowd::{CALL_BOUND, Crowd, Plan, Sessions, Tally, Targets},
    db, eventually, eventually_every, heavy, invariants, labels,
    nats::PrivateNats,
    pb::{
        AdmitTicketRequest, BlockSeatsRequest, CancelReservationRequest, ConfirmPaymentRequest,
        ExtendReservationRequest, GetReservationRequest, GetSeatMapRequest, GetSessionRequest,
        ListPurchasesRequest, ListRoomsRequest, ListSessionsRequest, RefundSaleRequest,
        ReserveBestAvailableRequest, ReserveSeatsRequest, SeatMapEvent, WatchSeatMapRequest,
        seat_map_event::Event,
    },
    postgres::PrivatePostgres,
    process::ServerProcess,
    redis::{PrivateRedis, Reply},
    to_chrono,
    wait::time_until,
    watch::{Folded, folded},
};

/// How long a seat lock lives in Redis (`locks::LOCK_TTL`).
const LOCK_TTL: Duration = Duration::from_secs(5);
/// The sweeper runs every second; a hold is recorded as expired within this.
const SWEEP_MARGIN: chrono::Duration = chrono::Duration::milliseconds(3000);
/// Progress the crowd must make in each phase of a test.
const PHASE_RESERVATIONS: usize = 25;
const PHASE_LIMIT: Duration = Duration::from_secs(30);

fn customers(app: &TestApp, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| app.token(&format!("customer-{i}")))
        .collect()
}

async fn health(channel: &tonic::transport::Channel) -> Option<ServingStatus> {
    let response = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(response.get_ref().status).ok()
}

async fn wait_for_health(app: &TestApp, expected: ServingStatus, limit: Duration) {
    eventually(limit, || async {
        let health = health(&app.channel).await;
        (health == Some(expected))
            .then_some(())
            .ok_or_else(|| format!("health is {health:?}, not {expected:?}"))
    })
    .await;
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
    let answer = app.user("prober").reserve(session_id, &[label]).await;
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
    let pause = Duration::from_millis(250);
    eventually_every(Duration::from_secs(10), pause, || {
        let label = seats.next().expect("more probe seats");
        async move {
            let up = gate_turns_away(app, redis, session_id, &label).await;
            up.then_some(()).ok_or("the seat locks are not up")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_booking_goes_on_correctly_and_the_locks_resume_when_it_returns() {
    let _heavy = heavy().await;
    let mut redis = PrivateRedis::start();
    let redis_url = redis.url();
    let app = TestApp::spawn_with(|s| {
        s.redis_url = redis_url;
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    let session = app.create_session(10, 20).await.session_id;
    // Seats the crowd never asks for, to see whether the gate is up.
    let probe = app.create_session(4, 8).await.session_id;
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
    assert_sound(&app.settings.database.url, &tally).await;
    // Every lock left behind lapses by itself (PTTL says 0 in a key's last
    // millisecond, and -1 for a key that never would).
    for (key, ttl) in redis.keys_with_ttl(&format!("{}:*", app.settings.redis_prefix)) {
        assert!(
            (0..=LOCK_TTL.as_millis() as i64).contains(&ttl),
            "{key} lives {ttl} ms"
        );
    }
    app.stop().await;
}

/// Folds a watch stream into `watched` (seat label -> status, version); a
/// snapshot replaces everything.
async fn fold(mut stream: Streaming<SeatMapEvent>, watched: Arc<Mutex<Folded>>) {
    while let Some(message) = stream.message().await.expect("the watch failed") {
        let mut watched = watched.lock().unwrap();
        let seats = match message.event.expect("an event") {
            Event::Snapshot(map) => {
                watched.clear();
                map.seats
            }
            Event::Update(update) => update.seats,
        };
        for seat in seats {
            watched.insert(seat.label, (seat.status, seat.version));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_load_that_outlives_a_nats_crash_are_all_delivered_once() {
    events_outlive_a_nats_outage(0x5EED_0002, PrivateNats::kill, PrivateNats::start_again).await;
}

/// Hung, not dead (SIGSTOP): publishes wait for acks that never come; each
/// relay gives up on a batch after the JetStream timeout and tries again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_load_that_outlives_a_hung_nats_are_all_delivered_once() {
    events_outlive_a_nats_outage(0x5EED_0005, PrivateNats::freeze, PrivateNats::thaw).await;
}

/// A crowd on two instances books through a NATS outage (`down`, then
/// `up`): booking never waits for NATS, and afterwards every outbox event is
/// in the stream exactly once and a watcher on the other instance shows the
/// seat map as it is.
async fn events_outlive_a_nats_outage(
    seed: u64,
    down: fn(&mut PrivateNats),
    up: fn(&mut PrivateNats),
) {
    let _heavy = heavy().await;
    let mut nats = PrivateNats::start();
    let nats_url = nats.url();
    let app = TestApp::spawn_with(|s| {
        s.nats.url = nats_url.clone();
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(10, 20).await.session_id;
    // A watcher on the second instance, across the outage.
    let watched = Arc::new(Mutex::new(Folded::new()));
    let stream = app
        .user("watcher")
        .on(&other.channel)
        .watch(&session)
        .await
        .expect("watch");
    let watcher = tokio::spawn(fold(stream, Arc::clone(&watched)));

    let crowd = Crowd::start(Plan {
        targets: Targets::new([app.channel.clone(), other.channel.clone()]),
        sessions: Sessions::new([session.clone()]),
        labels: labels("ABCDEFGHIJ", 20),
        tokens: customers(&app, 8),
        allow_unavailable: false,
        seed,
    });
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    down(&mut nats);
    // Booking never waits for NATS.
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    up(&mut nats);
    crowd
        .wait_for_progress(PHASE_RESERVATIONS, PHASE_LIMIT)
        .await;
    let tally = crowd.stop().await;
    assert_sound(&app.settings.database.url, &tally).await;

    // Every hold ends, and every event reaches the stream.
    invariants::wait_until_settled(&app.settings.database.url, Duration::from_secs(60)).await;
    let delivery = invariants::delivery(
        &app.settings.database.url,
        &nats_url,
        &app.settings.nats.prefix,
    )
    .await;
    eprintln!("{delivery:?}");
    assert!(delivery.exactly_once(), "{delivery:?}");
    assert!(delivery.outbox > 3 * PHASE_RESERVATIONS);

    // The watcher ends up showing the seat map as it is (unless its watch ends).
    let watch_ended = eventually(Duration::from_secs(30), || async {
        if watcher.is_finished() {
            return Ok(true);
        }
        let truth = folded(app.seat_map(&session).await);
        (*watched.lock().unwrap() == truth)
            .then_some(false)
            .ok_or("the watcher never caught up with the seat map")
    })
    .await;
    assert!(!watch_ended, "the watch ended: {:?}", watcher.await);
    watcher.abort();
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_load_loses_no_sale_and_the_other_cleans_up_after_it() {
    let _heavy = heavy().await;
    let redis = PrivateRedis::start();
    let redis_url = redis.url();
    let app = TestApp::spawn_with(|s| {
        s.redis_url = redis_url;
        s.hold_duration = Duration::from_secs(3);
    })
    .await;
    // The doomed instance cannot reach NATS: every event it writes is left in
    // the outbox, for the survivor's relay to publish after its death.
    let mut unreachable_nats = app.settings.clone();
    unreachable_nats.nats.url = "nats://127.0.0.1:1".into();
    let doomed = ServerProcess::spawn_with(&unreachable_nats).await;
    let session = app.create_session(10, 20).await.session_id;
    let abandoned = app.create_session(2, 8).await.session_id;
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
        let leaver = app.user(&format!("leaver-{i}")).on(&doomed.channel);
        holds.push(
            leaver
                .reserve(&abandoned, &[label])
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
        // 0: the key's last millisecond; -1 would be a key that never lapses.
        assert!(
            (0..=LOCK_TTL.as_millis() as i64).contains(ttl),
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
    assert_sound(&app.settings.database.url, &tally).await;

    // Once the crowd is gone, the survivor holds no lock: whatever the dead
    // instance left lapses within the lock's time to live. (Hold markers
    // mirror holds still running, and end with them: bounded above.)
    let lapsed_by = killed_at + LOCK_TTL + Duration::from_secs(2);
    let locks = format!("{}:seat:*", app.settings.redis_prefix);
    eventually(lapsed_by - tokio::time::Instant::now(), || async {
        let left = redis.keys_with_ttl(&locks);
        left.is_empty()
            .then_some(())
            .ok_or_else(|| format!("seat locks outlived their time to live: {left:?}"))
    })
    .await;

    // Its holds end on time: the survivor's sweeper records them, and the
    // seats come back.
    let last_end = holds
        .iter()
        .map(|h| to_chrono(h.expire_time.as_ref()))
        .max()
        .unwrap();
    let ids = holds
        .iter()
        .map(|h| format!("'{}'", h.reservation_id))
        .collect::<Vec<_>>()
        .join(",");
    let db = db::connect(&app.settings.database.url).await;
    let expired = format!(
        "SELECT count(*)::bigint FROM reservations \
         WHERE reservation_id IN ({ids}) AND status = 'expired'"
    );
    eventually(time_until(last_end + SWEEP_MARGIN), || async {
        let n = db::count(&db, &expired).await;
        (n == holds.len() as i64).then_some(()).ok_or_else(|| {
            format!("{n} of the dead instance's holds were recorded as expired in time")
        })
    })
    .await;
    let map = app.seat_map(&abandoned).await;
    assert_eq!((map.available_count, map.held_count), (16, 0));
    for hold in &holds {
        let late_ms = db::count(
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
    invariants::wait_until_settled(&app.settings.database.url, Duration::from_secs(30)).await;
    let delivery = invariants::delivery(
        &app.settings.database.url,
        &app.settings.nats.url,
        &app.settings.nats.prefix,
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
    let _heavy = heavy().await;
    let mut postgres = PrivatePostgres::start();
    let database_url = postgres.url();
    let app = TestApp::spawn_with(|s| s.database.url = database_url.clone()).await;
    let session = app.create_session(10, 20).await.session_id;
    let alice = app.user("alice");
    let pending = alice
        .reserve(&session, &["F10"])
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

    let (sessions, booking, venues) = (app.sessions(), app.booking(), alice.venues());
    let tickets = alice.tickets();
    let admin = app.admin();
    let id = pending.reservation_id.clone();
    let sid = &session;
    assert_unavailable_quickly(vec![
        (
            "ReserveSeats",
            call!(
                booking,
                reserve_seats,
                alice.request(ReserveSeatsRequest {
                    session_id: sid.clone(),
                    seat_labels: vec!["F9".into()],
                    ..Default::default()
                })
            ),
        ),
        (
            "ConfirmPayment",
            call!(
                booking,
                confirm_payment,
                alice.request(ConfirmPaymentRequest {
                    reservation_id: id.clone(),
                    payment_reference: "pix".into(),
                    request_id: String::new(),
                })
            ),
        ),
        (
            "CancelReservation",
            call!(
                booking,
                cancel_reservation,
                alice.request(CancelReservationRequest {
                    reservation_id: id.clone(),
                })
            ),
        ),
        (
            "GetReservation",
            call!(
                booking,
                get_reservation,
                alice.request(GetReservationRequest {
                    reservation_id: id.clone(),
                })
            ),
        ),
        (
            "ListPurchases",
            call!(
                booking,
                list_purchases,
                alice.request(ListPurchasesRequest::default())
            ),
        ),
        (
            "GetSession",
            call!(
                sessions,
                get_session,
                alice.request(GetSessionRequest {
                    session_id: sid.clone(),
                })
            ),
        ),
        (
            "GetSeatMap",
            call!(
                sessions,
                get_seat_map,
                alice.request(GetSeatMapRequest {
                    session_id: sid.clone(),
                })
            ),
        ),
        (
            "ListSessions",
            call!(
                sessions,
                list_sessions,
                alice.request(ListSessionsRequest::default())
            ),
        ),
        (
            "AdmitTicket",
            call!(
                tickets,
                admit_ticket,
                admin.request(AdmitTicketRequest {
                    code: TicketSigner::derived_from(SECRET).code(uuid::Uuid::now_v7()),
                    gate: "door".into(),
                })
            ),
        ),
        (
            "RefundSale",
            call!(
                booking,
                refund_sale,
                alice.request(RefundSaleRequest {
                    sale_id: uuid::Uuid::now_v7().to_string(),
                    ..Default::default()
                })
            ),
        ),
        (
            "ReserveBestAvailable",
            call!(
                booking,
                reserve_best_available,
                alice.request(ReserveBestAvailableRequest {
                    session_id: sid.clone(),
                    quantity: 2,
                    ..Default::default()
                })
            ),
        ),
        (
            "ExtendReservation",
            call!(
                booking,
                extend_reservation,
                alice.request(ExtendReservationRequest {
                    reservation_id: id.clone(),
                    request_id: String::new(),
                })
            ),
        ),
        (
            "BlockSeats",
            call!(
                sessions,
                block_seats,
                admin.request(BlockSeatsRequest {
                    session_id: sid.clone(),
                    seat_labels: vec!["F8".into()],
                    reason: "broken".into(),
                })
            ),
        ),
        (
            "CreateRoom",
            call!(
                venues,
                create_room,
                admin.request(room_request(
                    "Sala 2",
                    &[("A", "SSSS_SSSS"), ("B", "SSSS_SSSS")]
                ))
            ),
        ),
        (
            "ListRooms",
            call!(
                venues,
                list_rooms,
                alice.request(ListRoomsRequest::default())
            ),
        ),
        (
            "WatchSeatMap",
            call!(
                sessions,
                watch_seat_map,
                alice.request(WatchSeatMapRequest {
                    session_id: sid.clone(),
                })
            ),
        ),
    ])
    .await;
    wait_for_health(&app, ServingStatus::NotServing, Duration::from_secs(8)).await;

    postgres.start_again();
    wait_for_health(&app, ServingStatus::Serving, Duration::from_secs(20)).await;
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
    assert_sound(&app.settings.database.url, &tally).await;
    let sale = alice
        .confirm(&id)
        .await
        .expect("the hold made before the outage is paid after it");
    assert_eq!(sale.seat_labels, ["F10"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgres_is_answered_within_bounds_and_everything_goes_on_where_it_stopped() {
    let _heavy = heavy().await;
    let mut postgres = PrivatePostgres::start();
    let database_url = postgres.url();
    let app = TestApp::spawn_with(|s| s.database.url = database_url.clone()).await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.user("alice");
    let held = alice
        .reserve(&session, &["A1"])
        .await
        .expect("a hold before PostgreSQL hangs");

    // Hung, not dead: its connections stay open and nothing answers. A call
    // finds out when the pool's check of a connection times out (3 s).
    postgres.freeze();
    let (sessions, booking) = (app.sessions(), app.booking());
    let sid = &session;
    assert_unavailable_quickly(vec![
        (
            "ReserveSeats",
            call!(
                booking,
                reserve_seats,
                alice.request(ReserveSeatsRequest {
                    session_id: sid.clone(),
                    seat_labels: vec!["B1".into()],
                    ..Default::default()
                })
            ),
        ),
        (
            "GetSession",
            call!(
                sessions,
                get_session,
                alice.request(GetSessionRequest {
                    session_id: sid.clone(),
                })
            ),
        ),
        (
            "ListSessions",
            call!(
                sessions,
                list_sessions,
                alice.request(ListSessionsRequest::default())
            ),
        ),
    ])
    .await;
    wait_for_health(&app, ServingStatus::NotServing, Duration::from_secs(8)).await;

    postgres.thaw();
    wait_for_health(&app, ServingStatus::Serving, Duration::from_secs(20)).await;
    let sale = alice
        .confirm(&held.reservation_id)
        .await
        .expect("the hold made before the hang is paid after it");
    assert_eq!(sale.seat_labels, ["A1"]);
    let map = app.seat_map(&session).await;
    assert_eq!((map.sold_count, map.held_count), (1, 0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_leaves_booking_to_postgresql_and_the_gate_resumes_when_it_answers() {
    let _heavy = heavy().await;
    let mut redis = PrivateRedis::start();
    let redis_url = redis.url();
    let app = TestApp::spawn_with(|s| s.redis_url = redis_url).await;
    let session = app.create_session(2, 8).await.session_id;
    let probe = app.create_session(4, 8).await.session_id;
    let mut probe_seats = labels("ABCD", 8).into_iter();
    wait_for_gate(&app, &redis, &probe, &mut probe_seats).await;

    // Hung, not dead: every Redis command waits 250 ms at most, then the
    // gate lets the call through to PostgreSQL, which decides as always.
    redis.freeze();
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    for label in ["A1", "A2", "A3"] {
        let started = tokio::time::Instant::now();
        alice
            .reserve(&session, &[label])
            .await
            .unwrap_or_else(|e| panic!("holding {label} while Redis hangs: {e:?}"));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{label} took {took:?}");
        eprintln!("ReserveSeats {label} while Redis hangs: {took:?}");
    }
    let taken = bob.reserve(&session, &["A2"]).await.unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition, "{taken:?}");

    redis.thaw();
    wait_for_gate(&app, &redis, &probe, &mut probe_seats).await;
    let map = app.seat_map(&session).await;
    assert_eq!(map.held_count, 3);
    app.stop().await;
}
