//! The soak: three `cinema serve` instances on a private PostgreSQL, Redis
//! and NATS, under a crowd that reserves, pays, cancels, refunds, has its
//! tickets scanned at the door and watches for a configurable time, while
//! faults are injected at random: Redis, NATS or PostgreSQL killed (or
//! PostgreSQL stopped) and restarted, or hung (SIGSTOP) and resumed, an
//! instance SIGKILLed and started again. Sessions open by turns tomorrow (buyers refund; the doors are not
//! open yet) and in 45 minutes (the doors are open; only the box office
//! refunds). At the end every promise is checked (a seat sold at most once
//! at a time, a ticket admitted at most once, every refunded seat on sale
//! again at once...) and the figures are printed. Run it with
//! `scripts/soak --duration 10m`.
//!
//! Settings (environment): `CINEMA_SOAK_DURATION` (default 5m),
//! `CINEMA_SOAK_SEED` (default: from the clock; printed, to replay a run).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::{
    Authenticator, Client, Settings,
    crowd::{Crowd, Plan, Sessions, Staff, Targets},
    db::connect,
    fresh_prefix, invariants,
    nats::PrivateNats,
    pb::{CreateSessionRequest, seat_map_event::Event},
    postgres::PrivatePostgres,
    process::ServerProcess,
    redis::PrivateRedis,
    session_request, test_settings,
    wait::poll,
    watch::folded,
};

const INSTANCES: usize = 3;
const CUSTOMERS: usize = 12;
const WATCHERS: usize = 6;
const HOLD: Duration = Duration::from_secs(3);
/// A hold still HELD this long after its end means the sweepers fell behind.
const SWEEP_MARGIN: Duration = Duration::from_secs(3);
/// A fresh session replaces the oldest open one this often, so seats never run out.
const NEW_SESSION_EVERY: Duration = Duration::from_secs(10);
/// Quiet time between two faults, and how long a part stays down.
const BETWEEN_FAULTS: (u64, u64) = (4_000, 12_000);
const OUTAGE: (u64, u64) = (1_000, 6_000);

/// A xorshift64 generator, so a run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn between(&mut self, (low, high): (u64, u64)) -> Duration {
        Duration::from_millis(low + self.next() % (high - low))
    }
}

/// What a watcher saw: its session and that session's folded seat map.
#[derive(Default)]
struct Watched {
    session_id: String,
    seats: HashMap<String, (i32, i64)>,
}

#[derive(Default)]
struct WatchFigures {
    snapshots: AtomicUsize,
    updates: AtomicUsize,
    reconnects: AtomicUsize,
}

#[test]
#[ignore = "a long run: scripts/soak"]
fn soak() {
    let duration = std::env::var("CINEMA_SOAK_DURATION")
        .ok()
        .map(|d| humantime::parse_duration(&d).expect("CINEMA_SOAK_DURATION: a duration"))
        .unwrap_or(Duration::from_secs(300));
    let seed = std::env::var("CINEMA_SOAK_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("CINEMA_SOAK_SEED: a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let postgres = PrivatePostgres::start();
    let redis = PrivateRedis::start();
    let nats = PrivateNats::start();
    // Everything on the private services: the servers' data goes with them.
    let mut settings = test_settings(&postgres.url(), &redis.url(), &nats.url(), &fresh_prefix());
    settings.hold_duration = HOLD;
    // The stream must keep every event of the run for the final count.
    settings.stream_limits.max_bytes = 4 << 30;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(settings, duration, seed, postgres, redis, nats));
}

async fn run(
    settings: Settings,
    duration: Duration,
    seed: u64,
    mut postgres: PrivatePostgres,
    mut redis: PrivateRedis,
    mut nats: PrivateNats,
) {
    eprintln!(
        "soak: {duration:?}, seed {seed}, {INSTANCES} instances, {CUSTOMERS} customers, {WATCHERS} watchers"
    );
    let started = Instant::now();
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(Some(ServerProcess::spawn_with(&settings).await));
    }
    let auth = Authenticator::new(&settings.jwt.secret);
    let admin = auth
        .mint("admin", true, Duration::from_secs(24 * 3600))
        .unwrap();
    let reader = auth
        .mint("reader", false, Duration::from_secs(24 * 3600))
        .unwrap();
    let usher = auth
        .mint_with_roles("usher", &["staff"], Duration::from_secs(24 * 3600))
        .unwrap();
    let targets = Targets::new(instances.iter().flatten().map(|i| i.channel.clone()));
    let sessions = Sessions::new([]);
    let mut created = 0;
    for _ in 0..3 {
        sessions.add(
            create_session(&targets, &admin, created)
                .await
                .expect("the first sessions"),
        );
        created += 1;
    }
    let labels: Vec<String> = ('A'..='Z')
        .flat_map(|row| (1..=50).map(move |n| format!("{row}{n}")))
        .collect();
    let crowd = Crowd::start_with(
        Plan {
            targets: targets.clone(),
            sessions: sessions.clone(),
            labels,
            tokens: (0..CUSTOMERS)
                .map(|i| {
                    auth.mint(
                        &format!("customer-{i}"),
                        false,
                        Duration::from_secs(24 * 3600),
                    )
                    .unwrap()
                })
                .collect(),
            allow_unavailable: true,
            seed,
        },
        // The servers' windows are the defaults.
        Staff {
            usher: Some(usher),
            clerk: Some(admin.clone()),
            ..Staff::default()
        },
    );

    let stop_watching = Arc::new(AtomicBool::new(false));
    let watch_figures = Arc::new(WatchFigures::default());
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        let watched = Arc::new(Mutex::new(Watched::default()));
        watchers.push(Arc::clone(&watched));
        tokio::spawn(watch_loop(
            targets.clone(),
            sessions.clone(),
            reader.clone(),
            watched,
            Arc::clone(&watch_figures),
            Arc::clone(&stop_watching),
            seed ^ (w as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D),
        ));
    }

    // Faults, one at a time, until the time is up.
    let mut rng = Rng(seed ^ 0xFA17);
    let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
    let mut last_session = Instant::now();
    let until = started + duration;
    while Instant::now() < until {
        // Quiet time between faults, and below each outage's length: the
        // pauses are the scenario.
        tokio::time::sleep(rng.between(BETWEEN_FAULTS)).await;
        if last_session.elapsed() >= NEW_SESSION_EVERY
            && let Ok(id) = create_session(&targets, &admin, created).await
        {
            sessions.add(id);
            created += 1;
            last_session = Instant::now();
        }
        if Instant::now() >= until {
            break;
        }
        let outage = rng.between(OUTAGE);
        let kind = match rng.next() % 5 {
            // Dead or hung (SIGSTOP: connections open, nothing answers).
            0 if rng.next().is_multiple_of(2) => {
                redis.kill();
                tokio::time::sleep(outage).await;
                redis.start_again();
                "Redis killed"
            }
            0 => {
                redis.freeze();
                tokio::time::sleep(outage).await;
                redis.thaw();
                "Redis hung"
            }
            1 if rng.next().is_multiple_of(2) => {
                nats.kill();
                tokio::time::sleep(outage).await;
                nats.start_again();
                "NATS killed"
            }
            1 => {
                nats.freeze();
                tokio::time::sleep(outage).await;
                nats.thaw();
                "NATS hung"
            }
            2 => {
                let how = (rng.next() % 3) as usize;
                match how {
                    0 => postgres.kill(),
                    1 => postgres.stop(),
                    _ => postgres.freeze(),
                }
                tokio::time::sleep(outage).await;
                if how == 2 {
                    postgres.thaw();
                } else {
                    postgres.start_again();
                }
                [
                    "PostgreSQL crashed",
                    "PostgreSQL stopped",
                    "PostgreSQL hung",
                ][how]
            }
            _ => {
                let slot = (rng.next() % INSTANCES as u64) as usize;
                // Callers stop choosing it; calls already on their way die with it.
                targets.set(slot, None);
                if let Some(dead) = instances[slot].take() {
                    dead.kill();
                }
                tokio::time::sleep(outage).await;
                let fresh = ServerProcess::spawn_with(&settings).await;
                targets.set(slot, Some(fresh.channel.clone()));
                instances[slot] = Some(fresh);
                "instance SIGKILLed"
            }
        };
        *faults.entry(kind).or_default() += 1;
        eprintln!(
            "soak: {:>5.0} s  {kind} for {outage:?}; {} reservations so far",
            started.elapsed().as_secs_f64(),
            crowd.reserved()
        );
    }
    let tally = crowd.stop().await;
    let run_time = started.elapsed();

    // Waiting out the last holds is part of the check: every hold has ended
    // more than SWEEP_MARGIN ago, so none may still be HELD.
    tokio::time::sleep(HOLD + SWEEP_MARGIN).await;
    let mut checks: Vec<(String, bool)> = Vec::new();
    let problems =
        invariants::store_problems(&settings.database.url, &tally.sales, &tally.reservations).await;
    checks.push((
        format!(
            "no seat sold twice at a time, no ticket admitted twice nor refunded once \
             admitted, every refunded seat on sale again at once (the store and its outbox \
             history), {} acknowledged sales and {} reservations present as told, every \
             reservation and sale whole: {} problems {:?}",
            tally.sales.len(),
            tally.reservations.len(),
            problems.len(),
            &problems[..problems.len().min(5)]
        ),
        problems.is_empty(),
    ));
    let told =
        invariants::after_sales_problems(&settings.database.url, &tally.admitted, &tally.refunds)
            .await;
    checks.push((
        format!(
            "{} admissions and {} refunds acknowledged are stored as told, no ticket \
             admitted twice: {told:?}",
            tally.admitted.len(),
            tally.refunds.len()
        ),
        told.is_empty(),
    ));
    let unexplained =
        invariants::unexplained_refusals(&settings.database.url, &tally.refusals).await;
    checks.push((
        format!(
            "refunded seats on sale again at once: {} asked for again and refused, \
             unexplained: {unexplained:?}",
            tally.refusals.len()
        ),
        unexplained.is_empty(),
    ));
    let stuck = invariants::seats_held_past_expiry(&settings.database.url, SWEEP_MARGIN).await;
    checks.push((
        format!("seats HELD past their expiry + {SWEEP_MARGIN:?}: {stuck}"),
        stuck == 0,
    ));
    invariants::wait_until_settled(&settings.database.url, Duration::from_secs(120)).await;
    let delivery = invariants::delivery(
        &settings.database.url,
        &settings.nats.url,
        &settings.nats.prefix,
    )
    .await;
    checks.push((
        format!("every event in the stream exactly once: {delivery:?}"),
        delivery.exactly_once(),
    ));
    checks.push((
        format!(
            "every call answered within 5 s with a contract code: {} failures {:?}",
            tally.failures.len(),
            &tally.failures[..tally.failures.len().min(5)]
        ),
        tally.failures.is_empty(),
    ));
    let converged = watchers_converge(&watchers, &targets, &reader).await;
    checks.push((
        format!("{converged} of {WATCHERS} watchers show their seat map as it is"),
        converged == WATCHERS,
    ));
    stop_watching.store(true, Ordering::Relaxed);
    let history = {
        let db = connect(&settings.database.url).await;
        let history = invariants::history::replay(&db).await;
        db.close().await.expect("close");
        history
    };

    println!("\n==== soak figures ====");
    println!("duration {run_time:.0?} (asked {duration:?}), seed {seed}");
    println!(
        "operations {} ({:.1}/s), slowest answer {:?}",
        tally.operations(),
        tally.operations() as f64 / run_time.as_secs_f64(),
        tally.slowest
    );
    for (answer, n) in &tally.answers {
        println!("  {answer:<32} {n}");
    }
    println!("refunds and scans of sales known exactly");
    for (outcome, n) in &tally.outcomes {
        println!("  {outcome:<32} {n}");
    }
    println!(
        "sessions {}, sales {}, reservations {}",
        sessions.all().len(),
        tally.sales.len(),
        tally.reservations.len()
    );
    println!(
        "history: {} events, {} seats sold, {} refunded, {} sold again, {} tickets admitted",
        history.events, history.sold, history.refunded, history.resold, history.admitted
    );
    println!(
        "watch: {} snapshots, {} updates, {} reconnects",
        watch_figures.snapshots.load(Ordering::Relaxed),
        watch_figures.updates.load(Ordering::Relaxed),
        watch_figures.reconnects.load(Ordering::Relaxed)
    );
    println!("faults {}", faults.values().sum::<usize>());
    for (kind, n) in &faults {
        println!("  {kind:<32} {n}");
    }
    println!("checks");
    for (check, passed) in &checks {
        println!("  [{}] {check}", if *passed { "pass" } else { "FAIL" });
    }
    assert!(
        checks.iter().all(|(_, passed)| *passed),
        "an invariant broke"
    );
}

/// The `n`th session of the run: tomorrow when `n` is even, in 45 minutes
/// when it is odd.
async fn create_session(targets: &Targets, admin: &str, n: usize) -> Result<String, tonic::Status> {
    let channel = targets
        .any(0)
        .ok_or_else(|| tonic::Status::unavailable("no instance is up"))?;
    let mut request = CreateSessionRequest {
        room: "Sala 9".into(),
        ..session_request("Soak", 24, 26, 50)
    };
    if n % 2 == 1 {
        let at = chrono::Utc::now() + chrono::Duration::minutes(45);
        request.starts_at = Some(prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: 0,
        });
    }
    Ok(Client::new(&channel, admin)
        .create_session(request)
        .await?
        .session_id)
}

/// A watcher: watches the newest session on some instance, folds what it
/// receives, and starts over (fresh snapshot) when its stream breaks or a
/// newer session opens.
async fn watch_loop(
    targets: Targets,
    sessions: Sessions,
    token: String,
    watched: Arc<Mutex<Watched>>,
    figures: Arc<WatchFigures>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        // A person watching retries a moment later when every instance is
        // down or the watch is refused.
        let Some(channel) = targets.any(rng.next() as usize) else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let session_id = sessions.newest();
        let stream = Client::new(&channel, token.as_str())
            .watch(&session_id)
            .await;
        let Ok(mut stream) = stream else {
            figures.reconnects.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        {
            let mut watched = watched.lock().unwrap();
            watched.session_id = session_id.clone();
            watched.seats.clear();
        }
        loop {
            let message = tokio::time::timeout(Duration::from_secs(1), stream.message()).await;
            if stop.load(Ordering::Relaxed) || sessions.newest() != session_id {
                break;
            }
            let message = match message {
                Err(_) => continue,
                Ok(Ok(Some(message))) => message,
                Ok(_) => {
                    figures.reconnects.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            };
            let mut watched = watched.lock().unwrap();
            let seats = match message.event {
                Some(Event::Snapshot(map)) => {
                    figures.snapshots.fetch_add(1, Ordering::Relaxed);
                    watched.seats.clear();
                    map.seats
                }
                Some(Event::Update(update)) => {
                    figures.updates.fetch_add(1, Ordering::Relaxed);
                    update.seats
                }
                None => Vec::new(),
            };
            for seat in seats {
                watched
                    .seats
                    .insert(seat.label, (seat.status, seat.version));
            }
        }
    }
}

/// How many watchers come to show their session's seat map as it is.
async fn watchers_converge(
    watchers: &[Arc<Mutex<Watched>>],
    targets: &Targets,
    token: &str,
) -> usize {
    let converged = poll(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let mut converged = 0;
            for watched in watchers {
                let session_id = watched.lock().unwrap().session_id.clone();
                if session_id.is_empty() {
                    continue;
                }
                let Some(channel) = targets.any(0) else {
                    continue;
                };
                let Ok(map) = Client::new(&channel, token).seat_map(&session_id).await else {
                    continue;
                };
                let truth = folded(map);
                let watched = watched.lock().unwrap();
                if watched.session_id == session_id && watched.seats == truth {
                    converged += 1;
                }
            }
            if converged == watchers.len() {
                Ok(converged)
            } else {
                Err(converged)
            }
        },
    )
    .await;
    converged.unwrap_or_else(|converged| converged)
}
