//! Two server instances on one database, as behind a load balancer: the
//! in-process server (instance A) and the real binary in a child process
//! (instance B). Many callers at once, spread over both, never sell a seat
//! twice (at a time: refunded seats are sold again), never admit a ticket
//! twice and never hold part of a request.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::{sync::Barrier, task::JoinSet};
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

use crate::support::{
    Client, PATIENCE, TestApp,
    client::room_session_request,
    crowd::{
        bought::{Bought, Windows},
        exact::{AfterSales, XorShift, timed},
    },
    db::{count, rows, strings},
    eventually, heavy,
    invariants::{self, Refusal},
    labels,
    pb::{
        Reservation, ReservationStatus, Sale, SeatKind, SeatMap, SeatStatus, Session, TicketStatus,
    },
    precondition_violations,
    process::ServerProcess,
    seat, session_request, to_chrono,
};

/// Slack between the test's clock and PostgreSQL's (same machine) when
/// judging whether a call happened before or after a hold ended.
const EXPIRY_SLACK: chrono::Duration = chrono::Duration::milliseconds(250);

async fn seat_map(reader: &Client, session_id: &str) -> SeatMap {
    reader.seat_map(session_id).await.expect("seat map")
}

/// A refusal of ReserveSeats the contract allows: ABORTED, or
/// FAILED_PRECONDITION naming only requested seats, each as SEAT_UNAVAILABLE.
fn check_reserve_refusal(status: &Status, seats: &[String]) -> Result<(), String> {
    match status.code() {
        Code::Aborted => Ok(()),
        Code::FailedPrecondition => {
            let violations = precondition_violations(status);
            let fine = !violations.is_empty()
                && violations
                    .iter()
                    .all(|(kind, subject)| kind == "SEAT_UNAVAILABLE" && seats.contains(subject));
            if fine {
                Ok(())
            } else {
                Err(format!("bad violations for {seats:?}: {violations:?}"))
            }
        }
        _ => Err(format!(
            "unexpected answer to reserve {seats:?}: {status:?}"
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_callers_on_two_instances_race_for_one_seat_and_one_wins() {
    let _heavy = heavy().await;
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(2, 8).await;
    let instances = [&app.channel, &other.channel];
    let callers = 200;
    let barrier = Arc::new(Barrier::new(callers));
    let seats = vec!["A1".to_owned()];
    let mut calls = JoinSet::new();
    for i in 0..callers {
        let caller = app.user(&format!("user-{i}")).on(instances[i % 2]);
        let (barrier, sid, seats) = (
            Arc::clone(&barrier),
            session.session_id.clone(),
            seats.clone(),
        );
        calls.spawn(async move {
            barrier.wait().await;
            (i, caller.reserve(&sid, &seats).await)
        });
    }
    let outcomes = tokio::time::timeout(Duration::from_secs(60), calls.join_all())
        .await
        .expect("every caller is answered within 60 s");

    let winners: Vec<&(usize, Result<Reservation, Status>)> =
        outcomes.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let (winner, Ok(won)) = winners[0] else {
        unreachable!()
    };
    assert_eq!(won.user_id, format!("user-{winner}"));
    assert_eq!(won.seat_labels, seats);
    assert_eq!(won.status(), ReservationStatus::Pending);
    let mut codes: HashMap<Code, usize> = HashMap::new();
    for (i, outcome) in &outcomes {
        if let Err(status) = outcome {
            *codes.entry(status.code()).or_default() += 1;
            check_reserve_refusal(status, &seats).unwrap_or_else(|e| panic!("caller {i}: {e}"));
        }
    }
    eprintln!("refusals by code: {codes:?}");

    let reader = app.user("reader");
    for map in [
        seat_map(&reader, &session.session_id).await,
        seat_map(&reader.on(&other.channel), &session.session_id).await,
    ] {
        assert_eq!(
            (map.available_count, map.held_count, map.sold_count),
            (15, 1, 0)
        );
        assert_eq!(seat(&map, "A1"), (SeatStatus::Held, 1));
    }
    let db = app.db().await;
    let users: Vec<String> = rows(&db, "SELECT user_id FROM reservations")
        .await
        .iter()
        .map(|r| r.try_get::<String>("", "user_id").expect("user_id"))
        .collect();
    assert_eq!(users, [format!("user-{winner}")]);
    db.close().await.expect("close");
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossed_requests_on_two_instances_never_deadlock_nor_hold_half_a_request() {
    let _heavy = heavy().await;
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let instances = [&app.channel, &other.channel];
    let reader = app.user("reader").on(&other.channel);
    let pairs = 30;
    for round in 0..3 {
        // Pair i takes seats X(k+1) and X(k+6) of row X = A + i / 5, k = i % 5.
        let session = app.create_session(6, 10).await;
        let seats_of = |i: usize| {
            let row = char::from(b'A' + u8::try_from(i / 5).expect("a row"));
            let k = i % 5;
            (format!("{row}{}", k + 1), format!("{row}{}", k + 6))
        };
        let barrier = Arc::new(Barrier::new(2 * pairs));
        let mut calls = JoinSet::new();
        for i in 0..pairs {
            let (first, second) = seats_of(i);
            for (side, seats) in [
                (0, vec![first.clone(), second.clone()]),
                (1, vec![second.clone(), first.clone()]),
            ] {
                let caller = app
                    .user(&format!("pair-{i}-side-{side}"))
                    .on(instances[side]);
                let (barrier, sid) = (Arc::clone(&barrier), session.session_id.clone());
                calls.spawn(async move {
                    barrier.wait().await;
                    (i, side, caller.reserve(&sid, &seats).await)
                });
            }
        }
        let outcomes = tokio::time::timeout(Duration::from_secs(30), calls.join_all())
            .await
            .unwrap_or_else(|_| panic!("round {round}: crossed requests still running after 30 s"));

        let mut winners: HashMap<usize, Vec<Reservation>> = HashMap::new();
        for (i, side, outcome) in outcomes {
            let (first, second) = seats_of(i);
            match outcome {
                Ok(reservation) => {
                    assert_eq!(reservation.seat_labels, [first, second], "round {round}");
                    assert_eq!(reservation.user_id, format!("pair-{i}-side-{side}"));
                    winners.entry(i).or_default().push(reservation);
                }
                Err(status) => check_reserve_refusal(&status, &[first, second])
                    .unwrap_or_else(|e| panic!("round {round}, pair {i}, side {side}: {e}")),
            }
        }
        let map = seat_map(&reader, &session.session_id).await;
        let mut free_pairs = Vec::new();
        for i in 0..pairs {
            let won = winners.get(&i).map_or(0, Vec::len);
            assert!(won <= 1, "round {round}: pair {i} has {won} winners");
            let (first, second) = seats_of(i);
            let expected = if won == 1 {
                (SeatStatus::Held, 1)
            } else {
                free_pairs.push(i);
                (SeatStatus::Available, 0)
            };
            assert_eq!(seat(&map, &first), expected, "round {round}, pair {i}");
            assert_eq!(seat(&map, &second), expected, "round {round}, pair {i}");
        }
        let won = pairs - free_pairs.len();
        assert_eq!(map.held_count as usize, 2 * won, "round {round}");
        eprintln!("round {round}: {won} of {pairs} pairs had a winner");

        // Nothing is left locked: alone, a loser now gets both seats at once.
        for i in free_pairs {
            let (first, second) = seats_of(i);
            let retry = app
                .user(&format!("pair-{i}-side-0"))
                .on(instances[i % 2])
                .reserve(&session.session_id, &[second, first])
                .await;
            let retry =
                retry.unwrap_or_else(|e| panic!("round {round}: pair {i} stays refused: {e:?}"));
            assert_eq!(retry.status(), ReservationStatus::Pending);
        }
    }
    drop(other);
    app.stop().await;
}

/// What a user knows of one of their reservations.
#[derive(Debug, Clone)]
enum Known {
    Pending,
    Expired,
    Cancelled,
    /// Paid: the sale is this one of the user's sales.
    Confirmed(usize),
}

#[derive(Debug)]
struct Mine {
    reservation: Reservation,
    expire: DateTime<Utc>,
    known: Known,
}

/// Everything a torture worker needs, shared.
struct Torture {
    instances: [Channel; 2],
    sessions: Vec<Session>,
    labels: Vec<String>,
    /// The price of each seat of each session, by session id then label.
    prices: HashMap<String, HashMap<String, i64>>,
}

impl Torture {
    /// What `seats` of `session` cost together, FULL.
    fn price(&self, session: &Session, seats: &[String]) -> i64 {
        let prices = &self.prices[&session.session_id];
        seats.iter().map(|label| prices[label]).sum()
    }
}

/// A session in a room with aisles and seat kinds at two prices whose
/// labels are those of a 2 x 8 rectangle: A1..A8 and B1..B8.
async fn layout_session(app: &TestApp) -> Session {
    let admin = app.admin();
    let room = admin
        .create_room("Sala 2", &[("A", "SS_PPPP_SS"), ("B", "WC_SSSS_CW")])
        .await
        .expect("create a room");
    let prices = [(SeatKind::Standard, 2500), (SeatKind::Premium, 4000)];
    let mut request = room_session_request(&room.room_id, 0, &prices);
    request.starts_at = soon();
    // The crowd picks seats at random.
    request.allow_single_seat_gaps = true;
    admin
        .create_session(request)
        .await
        .expect("create a session in the room")
}

/// Half an hour from now: admission is open (it opens an hour before), and
/// the test's servers let buyers refund until the start.
fn soon() -> Option<prost_types::Timestamp> {
    let at = Utc::now() + chrono::Duration::minutes(30);
    Some(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

/// What a worker saw: its user, its sales as it knows them, and how many
/// answers of each kind.
struct Report {
    user: String,
    client: Client,
    sales: Vec<Sale>,
    tally: HashMap<&'static str, usize>,
    /// ADMITTED answers, by ticket id.
    admitted: HashMap<String, usize>,
    refusals: Vec<Refusal>,
}

const SEED: u64 = 0x5EED_C1DE_2024_0001;
const WORKERS: usize = 16;
const OPS_PER_WORKER: usize = 94;

async fn torture_worker(
    world: Arc<Torture>,
    worker: usize,
    client: Client,
    mut after: AfterSales,
) -> Result<Report, String> {
    let user = format!("user-{worker}");
    let mut rng = XorShift::new(SEED ^ (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut mine: Vec<Mine> = Vec::new();
    let mut tally: HashMap<&'static str, usize> = HashMap::new();
    for op in 0..OPS_PER_WORKER {
        let instance = rng.below(2);
        let me = client.on(&world.instances[instance]);
        let context =
            |what: String| format!("worker {worker}, op {op}, instance {instance}: {what}");
        let roll = rng.below(100);
        let target = if mine.is_empty() {
            None
        } else {
            // Mostly recent reservations, sometimes old ones.
            let recent = mine.len().saturating_sub(4);
            Some(if rng.below(4) == 0 {
                rng.below(mine.len())
            } else {
                recent + rng.below(mine.len() - recent)
            })
        };
        let sale = after.pick(&mut rng);
        match (roll, target, sale) {
            (64..78, _, Some(s)) => {
                let freed = after
                    .refund(&me, instance, s, &mut rng, &mut tally)
                    .await
                    .map_err(context)?;
                // Seats refunded are on sale again at once: the buyer asks
                // for them back at once.
                if !freed.is_empty() && rng.below(2) == 0 {
                    let session_id = after.bought[s].sale.session_id.clone();
                    let (answer, span) =
                        timed(me.on(&world.instances[rng.below(2)]).reserve_with_id(
                            &session_id,
                            &freed,
                            &Uuid::new_v4().to_string(),
                        ))
                        .await;
                    match answer {
                        Ok(reservation) => {
                            let mut freed = freed.clone();
                            freed.sort_by_key(|l| {
                                (l[..1].to_owned(), l[1..].parse::<u32>().unwrap())
                            });
                            let fine = reservation.seat_labels == freed
                                && reservation.status() == ReservationStatus::Pending;
                            if !fine {
                                return Err(context(format!(
                                    "asking again for {freed:?} gave {reservation:?}"
                                )));
                            }
                            *tally.entry("rebuy ok").or_default() += 1;
                            let expire = to_chrono(reservation.expire_time.as_ref());
                            mine.push(Mine {
                                reservation,
                                expire,
                                known: Known::Pending,
                            });
                        }
                        Err(status) => {
                            check_reserve_refusal(&status, &freed).map_err(context)?;
                            *tally.entry("rebuy refused").or_default() += 1;
                            for (kind, label) in precondition_violations(&status) {
                                if kind == "SEAT_UNAVAILABLE" {
                                    after.refusals.push(Refusal {
                                        session_id: session_id.clone(),
                                        label,
                                        refunded: after.bought[s].sale.reservation_id.clone(),
                                        sent: span.sent,
                                        received: span.received,
                                    });
                                }
                            }
                        }
                    }
                }
            }
            (78..85, _, Some(s)) => {
                after
                    .scan(instance, s, &mut rng, &mut tally)
                    .await
                    .map_err(context)?;
            }
            (85..88, _, Some(s)) => {
                after
                    .race(&me, instance, s, &mut rng, &mut tally)
                    .await
                    .map_err(context)?;
            }
            (0..36 | 64..88, _, _) | (36..58, None, _) => {
                let s = rng.below(world.sessions.len());
                let session = &world.sessions[s];
                let n = 1 + rng.below(3);
                let mut seats: Vec<String> = Vec::new();
                while seats.len() < n {
                    let label = &world.labels[rng.below(world.labels.len())];
                    if !seats.contains(label) {
                        seats.push(label.clone());
                    }
                }
                let request_id = Uuid::new_v4().to_string();
                let sent = Utc::now();
                match me
                    .reserve_with_id(&session.session_id, &seats, &request_id)
                    .await
                {
                    Ok(reservation) => {
                        *tally.entry("reserve ok").or_default() += 1;
                        let mut expected = seats.clone();
                        expected
                            .sort_by_key(|l| (l[..1].to_owned(), l[1..].parse::<u32>().unwrap()));
                        let fine = reservation.user_id == user
                            && reservation.session_id == session.session_id
                            && reservation.seat_labels == expected
                            && reservation.status() == ReservationStatus::Pending
                            && reservation.total_price_cents == world.price(session, &seats);
                        if !fine {
                            return Err(context(format!("reserve {seats:?} gave {reservation:?}")));
                        }
                        let expire = to_chrono(reservation.expire_time.as_ref());
                        if expire < sent + chrono::Duration::seconds(2) - EXPIRY_SLACK {
                            return Err(context(format!(
                                "a hold shorter than 2 s: {reservation:?}"
                            )));
                        }
                        // Sometimes the client retries on the other instance.
                        if rng.below(8) == 0 {
                            let retry = client
                                .on(&world.instances[1 - instance])
                                .reserve_with_id(&session.session_id, &seats, &request_id)
                                .await;
                            match retry {
                                Ok(again) if again.reservation_id == reservation.reservation_id => {
                                }
                                other => {
                                    return Err(context(format!(
                                        "retry of {request_id} gave {other:?}, first {reservation:?}"
                                    )));
                                }
                            }
                        }
                        mine.push(Mine {
                            reservation,
                            expire,
                            known: Known::Pending,
                        });
                    }
                    Err(status) => {
                        check_reserve_refusal(&status, &seats).map_err(context)?;
                        *tally
                            .entry(if status.code() == Code::Aborted {
                                "reserve aborted"
                            } else {
                                "reserve unavailable"
                            })
                            .or_default() += 1;
                    }
                }
            }
            (36..46, Some(t), _) => {
                let target = &mut mine[t];
                let id = target.reservation.reservation_id.clone();
                let sent = Utc::now();
                let answer = me
                    .confirm_with(&id, &format!("psp-{worker}-{op}"), "")
                    .await;
                let received = Utc::now();
                let refused = |status: &Status, kind: &str| {
                    status.code() == Code::FailedPrecondition
                        && precondition_violations(status) == [(kind.to_owned(), id.clone())]
                };
                match (&target.known, answer) {
                    (Known::Confirmed(s), Ok(again)) if again == after.bought[*s].sale => {
                        *tally.entry("confirm again").or_default() += 1;
                    }
                    (Known::Cancelled, Err(status))
                        if refused(&status, "RESERVATION_CANCELLED") =>
                    {
                        *tally.entry("confirm cancelled").or_default() += 1;
                    }
                    (Known::Expired, Err(status)) if refused(&status, "RESERVATION_EXPIRED") => {
                        *tally.entry("confirm expired").or_default() += 1;
                    }
                    (Known::Pending, Ok(sale)) if sent <= target.expire + EXPIRY_SLACK => {
                        let r = &target.reservation;
                        let fine = sale.reservation_id == r.reservation_id
                            && sale.session_id == r.session_id
                            && sale.user_id == user
                            && sale.seat_labels == r.seat_labels
                            && sale.amount_cents == r.total_price_cents
                            && sale.payment_reference == format!("psp-{worker}-{op}");
                        if !fine {
                            return Err(context(format!("confirm of {r:?} gave {sale:?}")));
                        }
                        let fine = sale.tickets.len() == sale.seat_labels.len()
                            && sale.refunded_cents == 0
                            && sale
                                .tickets
                                .iter()
                                .zip(&sale.seat_labels)
                                .all(|(t, label)| {
                                    t.seat_label == *label
                                        && t.sale_id == sale.sale_id
                                        && t.status() == TicketStatus::Valid
                                });
                        if !fine {
                            return Err(context(format!("the tickets of {sale:?}")));
                        }
                        *tally.entry("confirm ok").or_default() += 1;
                        target.known = Known::Confirmed(after.bought.len());
                        after.bought.push(Bought::new(sale));
                    }
                    (Known::Pending, Err(status))
                        if refused(&status, "RESERVATION_EXPIRED")
                            && received >= target.expire - EXPIRY_SLACK =>
                    {
                        *tally.entry("confirm expired").or_default() += 1;
                        target.known = Known::Expired;
                    }
                    (known, answer) => {
                        return Err(context(format!(
                            "confirm of {known:?} reservation {id} (expires {}, sent {sent}, answered {received}) gave {answer:?}",
                            target.expire
                        )));
                    }
                }
            }
            (46..53, Some(t), _) => {
                let target = &mut mine[t];
                let id = target.reservation.reservation_id.clone();
                let sent = Utc::now();
                let answer = me.cancel(&id).await;
                let received = Utc::now();
                let status_of = |answer: &Result<Reservation, Status>| {
                    answer.as_ref().ok().map(Reservation::status)
                };
                match (&target.known, status_of(&answer)) {
                    (Known::Cancelled, Some(ReservationStatus::Cancelled))
                    | (Known::Expired, Some(ReservationStatus::Expired)) => {
                        *tally.entry("cancel again").or_default() += 1;
                    }
                    (Known::Pending, Some(ReservationStatus::Cancelled))
                        if sent <= target.expire + EXPIRY_SLACK =>
                    {
                        *tally.entry("cancel ok").or_default() += 1;
                        target.known = Known::Cancelled;
                    }
                    (Known::Pending, Some(ReservationStatus::Expired))
                        if received >= target.expire - EXPIRY_SLACK =>
                    {
                        *tally.entry("cancel expired").or_default() += 1;
                        target.known = Known::Expired;
                    }
                    (Known::Confirmed(_), None)
                        if answer.as_ref().is_err_and(|status| {
                            status.code() == Code::FailedPrecondition
                                && precondition_violations(status)
                                    == [("RESERVATION_CONFIRMED".to_owned(), id.clone())]
                        }) =>
                    {
                        *tally.entry("cancel confirmed").or_default() += 1;
                    }
                    (known, _) => {
                        return Err(context(format!(
                            "cancel of {known:?} reservation {id} (expires {}, sent {sent}, answered {received}) gave {answer:?}",
                            target.expire
                        )));
                    }
                }
            }
            (53..58, Some(t), _) => {
                let target = &mut mine[t];
                let id = target.reservation.reservation_id.clone();
                let sent = Utc::now();
                let answer = me.get_reservation(&id).await;
                let received = Utc::now();
                let status = answer.as_ref().ok().map(Reservation::status);
                let expire = target.expire;
                let fine = match (&target.known, status) {
                    (Known::Confirmed(_), Some(ReservationStatus::Confirmed))
                    | (Known::Cancelled, Some(ReservationStatus::Cancelled))
                    | (Known::Expired, Some(ReservationStatus::Expired)) => true,
                    // A pending reservation reads EXPIRED within a second of its end.
                    (Known::Pending, Some(ReservationStatus::Pending)) => {
                        sent <= expire + chrono::Duration::seconds(1)
                    }
                    (Known::Pending, Some(ReservationStatus::Expired)) => {
                        target.known = Known::Expired;
                        received >= expire - EXPIRY_SLACK
                    }
                    _ => false,
                };
                if !fine {
                    return Err(context(format!(
                        "reading reservation {id} (expires {expire}, sent {sent}, answered {received}) gave {answer:?}"
                    )));
                }
                if let Ok(read) = answer
                    && read.seat_labels != target.reservation.seat_labels
                {
                    return Err(context(format!("{read:?} is not {:?}", target.reservation)));
                }
                *tally.entry("get").or_default() += 1;
            }
            (58..64, _, _) => {
                let session = &world.sessions[rng.below(world.sessions.len())];
                let map = seat_map(&me, &session.session_id).await;
                let total = world.labels.len() as u32;
                let (available, held, sold) =
                    map.seats
                        .iter()
                        .fold((0, 0, 0), |(a, h, s), seat| match seat.status() {
                            SeatStatus::Available => (a + 1, h, s),
                            SeatStatus::Held => (a, h + 1, s),
                            SeatStatus::Sold => (a, h, s + 1),
                            SeatStatus::Blocked | SeatStatus::Unspecified => (a, h, s),
                        });
                let fine = map.seats.len() as u32 == total
                    && (available, held, sold)
                        == (map.available_count, map.held_count, map.sold_count)
                    && available + held + sold == total;
                if !fine {
                    return Err(context(format!("an inconsistent seat map: {map:?}")));
                }
                // What this user bought and did not refund stays sold, on
                // every instance.
                for bought in after
                    .bought
                    .iter()
                    .filter(|b| b.sale.session_id == session.session_id)
                {
                    let mut kept = bought.labels_in(TicketStatus::Valid);
                    kept.extend(bought.labels_in(TicketStatus::Admitted));
                    for label in &kept {
                        if seat(&map, label).0 != SeatStatus::Sold {
                            return Err(context(format!(
                                "{label} of {:?} is not SOLD in {map:?}",
                                bought.sale
                            )));
                        }
                    }
                }
                *tally.entry("seat map").or_default() += 1;
            }
            _ => {
                // A customer pausing is part of the workload: some holds
                // run out meanwhile.
                tokio::time::sleep(Duration::from_millis(200 + rng.below(1000) as u64)).await;
                *tally.entry("wait").or_default() += 1;
            }
        }
    }
    Ok(Report {
        user,
        client,
        sales: after.bought.into_iter().map(|b| b.sale).collect(),
        tally,
        admitted: after.admitted,
        refusals: after.refusals,
    })
}

/// Sixteen users on three small sessions, each a seeded random sequence of
/// calls on either instance: hold seats (sometimes retried elsewhere), pay,
/// cancel, read, read the seat map, wait; refund some or all seats of a
/// sale (by the buyer or an admin; sometimes sent twice with one
/// request_id, after the answer or both at once) and ask for the refunded
/// seats again at once; have an usher scan a ticket (sometimes twice, also
/// both at once, sometimes an edited code); scan a ticket while its seat is
/// being refunded. Every answer is judged against what the user knows;
/// then the store and the outbox's history are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_randomized_crowd_on_two_instances_never_sells_a_seat_twice() {
    let _heavy = heavy().await;
    // Buyers refund until the start (both instances); sessions start in
    // half an hour, so admission is open.
    let app = TestApp::spawn_with(|settings| {
        settings.hold_duration = Duration::from_secs(2);
        settings.tickets.refund_cutoff = Duration::ZERO;
    })
    .await;
    let other = ServerProcess::spawn_with_env(&app, &[("CINEMA_REFUND_CUTOFF", "0s")]).await;
    let windows = Windows {
        admission_opens: app.settings.tickets.admission_opens,
        refund_cutoff: Duration::ZERO,
    };
    // Two rectangles, and a room with aisles and two prices.
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let mut rectangle = session_request("Filme X", 0, 2, 8);
        rectangle.starts_at = soon();
        let rectangle = app.admin().create_session(rectangle).await;
        sessions.push(rectangle.expect("create a session"));
    }
    sessions.push(layout_session(&app).await);
    let mut prices = HashMap::new();
    for session in &sessions {
        let map = app.seat_map(&session.session_id).await;
        let seats = map.seats.iter().map(|s| (s.label.clone(), s.price_cents));
        prices.insert(session.session_id.clone(), seats.collect());
    }
    let world = Arc::new(Torture {
        instances: [app.channel.clone(), other.channel.clone()],
        sessions: sessions.clone(),
        labels: labels("AB", 8),
        prices,
    });

    let started = std::time::Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..WORKERS {
        let client = app.user(&format!("user-{worker}"));
        let after = AfterSales::new(
            world.instances.clone(),
            windows,
            app.staff(&format!("usher-{worker}")),
            app.admin(),
        );
        workers.spawn(torture_worker(Arc::clone(&world), worker, client, after));
    }
    let reports = tokio::time::timeout(Duration::from_secs(60), workers.join_all())
        .await
        .expect("the crowd finishes within 60 s");
    eprintln!(
        "{} operations in {:?}",
        WORKERS * OPS_PER_WORKER,
        started.elapsed()
    );
    let reports: Vec<Report> = reports
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("seed {SEED:#x}: {e}"));
    let mut tally: HashMap<&str, usize> = HashMap::new();
    for report in &reports {
        for (kind, n) in &report.tally {
            *tally.entry(kind).or_default() += n;
        }
    }
    let mut tally: Vec<_> = tally.into_iter().collect();
    tally.sort();
    eprintln!("answers: {tally:?}");
    let client_sales: Vec<&Sale> = reports.iter().flat_map(|r| &r.sales).collect();
    assert!(!client_sales.is_empty(), "nothing was ever sold");

    let db = app.db().await;
    let doubles = rows(
        &db,
        "SELECT session_id::text AS session_id, label, count(*)::bigint AS n \
         FROM sale_seats WHERE NOT refunded GROUP BY 1, 2 HAVING count(*) > 1",
    )
    .await;
    assert!(
        doubles.is_empty(),
        "{} seats in two live sales",
        doubles.len()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM sale_seats ss \
             JOIN seats s ON s.session_id = ss.session_id AND s.label = ss.label \
             WHERE NOT ss.refunded AND s.status <> 'sold'"
        )
        .await,
        0,
        "a seat of a live sale is not sold"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM seats s WHERE s.status = 'sold' AND NOT EXISTS \
             (SELECT 1 FROM sale_seats ss WHERE ss.session_id = s.session_id \
              AND ss.label = s.label AND NOT ss.refunded)"
        )
        .await,
        0,
        "a sold seat belongs to no live sale"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM sale_seats ss \
             JOIN sales sa ON sa.sale_id = ss.sale_id \
             JOIN seats s ON s.session_id = ss.session_id AND s.label = ss.label \
             WHERE (NOT ss.refunded AND s.reservation_id IS DISTINCT FROM sa.reservation_id) \
                OR (ss.refunded AND s.reservation_id = sa.reservation_id)"
        )
        .await,
        0,
        "a seat sold names another reservation than its sale's, or a refunded one still its sale's"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM ( \
               SELECT sa.sale_id FROM sales sa \
               LEFT JOIN sale_seats ss ON ss.sale_id = sa.sale_id \
               LEFT JOIN seats s ON s.session_id = ss.session_id AND s.label = ss.label \
               LEFT JOIN session_prices p ON p.session_id = s.session_id AND p.kind = s.kind \
               GROUP BY sa.sale_id, sa.amount_cents, sa.refunded_cents \
               HAVING sa.amount_cents IS DISTINCT FROM sum(p.price_cents) \
                   OR sa.refunded_cents IS DISTINCT FROM \
                      coalesce(sum(p.price_cents) FILTER (WHERE ss.refunded), 0)) wrong"
        )
        .await,
        0,
        "a sale's amount is not its seats' price, or its refunded amount not its refunded seats'"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM reservations r \
             WHERE (r.status = 'confirmed') <> EXISTS \
             (SELECT 1 FROM sales sa WHERE sa.reservation_id = r.reservation_id)"
        )
        .await,
        0,
        "a confirmed reservation without a sale, or a sale of an unconfirmed one"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint AS n FROM seats s \
             JOIN reservations r ON r.reservation_id = s.reservation_id \
             WHERE s.status = 'held' AND r.status IN ('cancelled', 'confirmed')"
        )
        .await,
        0,
        "a seat is still held for a cancelled or confirmed reservation"
    );

    // Every sale a client was given is in the database, as it last heard
    // of it, and no other.
    let stored_sales = rows(
        &db,
        "SELECT sa.sale_id::text AS sale_id, sa.reservation_id::text AS reservation_id, \
                sa.user_id, sa.amount_cents, sa.refunded_cents, \
                coalesce((SELECT string_agg(ss.label || CASE WHEN ss.refunded THEN '-' ELSE '' END, \
                                            ',' ORDER BY ss.label) \
                          FROM sale_seats ss WHERE ss.sale_id = sa.sale_id), '') AS labels \
         FROM sales sa",
    )
    .await;
    let stored: HashMap<String, (String, String, i64, i64, String)> = stored_sales
        .iter()
        .map(|row| {
            let get = |column: &str| row.try_get::<String>("", column).expect(column);
            let cents = |column: &str| row.try_get::<i64>("", column).expect(column);
            (
                get("sale_id"),
                (
                    get("reservation_id"),
                    get("user_id"),
                    cents("amount_cents"),
                    cents("refunded_cents"),
                    get("labels"),
                ),
            )
        })
        .collect();
    for sale in &client_sales {
        let mut labels: Vec<String> = sale
            .tickets
            .iter()
            .map(|t| match t.status() {
                TicketStatus::Refunded => format!("{}-", t.seat_label),
                _ => t.seat_label.clone(),
            })
            .collect();
        labels.sort();
        let expected = (
            sale.reservation_id.clone(),
            sale.user_id.clone(),
            sale.amount_cents,
            sale.refunded_cents,
            labels.join(","),
        );
        assert_eq!(
            stored.get(&sale.sale_id),
            Some(&expected),
            "sale {} as the client knows it",
            sale.sale_id
        );
    }
    let given: HashSet<&str> = client_sales.iter().map(|s| s.sale_id.as_str()).collect();
    assert_eq!(given.len(), client_sales.len(), "a sale was given twice");
    assert_eq!(stored.len(), given.len(), "sales no client was told of");

    // A ticket admits once: each admitted ticket was answered ADMITTED
    // exactly once and admitted by exactly one event; no other ticket was.
    let mut answered: HashMap<String, usize> = HashMap::new();
    for report in &reports {
        for (ticket, n) in &report.admitted {
            *answered.entry(ticket.clone()).or_default() += n;
        }
    }
    let admitted: HashMap<String, usize> = strings(
        &db,
        "SELECT ticket_id::text FROM tickets WHERE status = 'admitted'",
    )
    .await
    .into_iter()
    .map(|ticket| (ticket, 1))
    .collect();
    assert_eq!(answered, admitted, "ADMITTED answers by ticket");
    // The outbox as the history of every seat and ticket: no seat in two
    // live sales at any moment, no ticket admitted twice (one
    // ticket.admitted event each) nor refunded after, every refunded seat
    // AVAILABLE at once and since then free or taken by a later reservation.
    let history = invariants::history::replay(&db).await;
    eprintln!(
        "history: {} events, {} seats sold, {} refunded, {} sold again, {} tickets admitted",
        history.events, history.sold, history.refunded, history.resold, history.admitted
    );
    assert!(history.problems.is_empty(), "{:#?}", history.problems);
    assert_eq!(history.admitted, admitted.len());
    let problems = invariants::store_problems(
        &app.settings.database.url,
        &client_sales
            .iter()
            .map(|s| (*s).clone())
            .collect::<Vec<_>>(),
        &[],
    )
    .await;
    assert!(problems.is_empty(), "{problems:#?}");
    // A seat asked for right after its refund was refused only because
    // someone else had taken it meanwhile.
    let refusals: Vec<Refusal> = reports.iter().flat_map(|r| r.refusals.clone()).collect();
    let unexplained = invariants::unexplained_refusals(&app.settings.database.url, &refusals).await;
    assert!(unexplained.is_empty(), "{unexplained:#?}");

    // Both instances show as many sold seats as the live sales hold.
    for session in &sessions {
        let in_sales = count(
            &db,
            &format!(
                "SELECT count(*)::bigint AS n FROM sale_seats \
                 WHERE session_id = '{}' AND NOT refunded",
                session.session_id
            ),
        )
        .await;
        for instance in &world.instances {
            let map = seat_map(&reports[0].client.on(instance), &session.session_id).await;
            assert_eq!(
                i64::from(map.sold_count),
                in_sales,
                "{}",
                session.session_id
            );
        }
    }

    // Each user's history is exactly their sales as they know them, newest
    // first, on either instance.
    for (i, report) in reports.iter().enumerate() {
        let page = report
            .client
            .on(&world.instances[i % 2])
            .list_purchases(100, "")
            .await
            .expect("list purchases");
        let mut expected = report.sales.clone();
        expected.sort_by_key(|s| std::cmp::Reverse(to_chrono(s.paid_time.as_ref())));
        let listed: Vec<&str> = page.sales.iter().map(|s| s.sale_id.as_str()).collect();
        let ids: Vec<&str> = expected.iter().map(|s| s.sale_id.as_str()).collect();
        assert_eq!(listed, ids, "history of {}", report.user);
        assert_eq!(page.sales, expected, "history of {}", report.user);
        assert!(page.next_page_token.is_empty());
    }

    // Once every hold has run out, nothing is held any more.
    for session in &sessions {
        for instance in &world.instances {
            let reader = reports[0].client.on(instance);
            let map = eventually(PATIENCE, || async {
                let map = seat_map(&reader, &session.session_id).await;
                (map.held_count == 0)
                    .then_some(map)
                    .ok_or_else(|| format!("seats still held in {}", session.session_id))
            })
            .await;
            assert_eq!(map.available_count + map.sold_count, 16);
        }
    }
    db.close().await.expect("close");
    drop(world);
    drop(other);
    app.stop().await;
}
