//! A crowd of customers that reserve, pay for, cancel and refund seats and
//! have their tickets scanned, on several instances at once until told to
//! stop, while a test breaks things under them. Every call must be answered
//! within [`CALL_BOUND`] with a code the contract allows, and a sale's
//! refunds and scans exactly as its buyer's record of it says
//! ([`bought`]) as long as no answer about it was lost; what the crowd was
//! told is kept, to be checked against the database afterwards.

mod after_sales;
pub mod bought;
pub mod exact;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::task::JoinSet;
use tonic::{Code, Status, transport::Channel};

use super::{
    client::authed,
    eventually,
    invariants::Refusal,
    pb::{
        CancelReservationRequest, ConfirmPaymentRequest, Reservation, ReserveSeatsRequest, Sale,
        booking_service_client::BookingServiceClient,
    },
};
use after_sales::Mine;
use bought::{Bought, Windows};

/// No call may take longer than this, whatever is down.
pub const CALL_BOUND: Duration = Duration::from_secs(5);
/// The deadline every crowd call carries (`grpc-timeout`), as careful
/// clients set one: inside [`CALL_BOUND`], so that a call stuck on a hung
/// dependency ends in time, on the server as well.
const CALL_DEADLINE: Duration = Duration::from_secs(4);

/// A crowd call: `message` with `token` and [`CALL_DEADLINE`].
pub(super) fn call<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = authed(message, token);
    request.set_timeout(CALL_DEADLINE);
    request
}

/// The instances the crowd calls. A slot is `None` while its instance is
/// down; each change of a slot bumps its generation, so an error from an
/// instance that was killed under a call is told apart from a wrong answer.
#[derive(Clone, Default)]
pub struct Targets(Arc<RwLock<Vec<Slot>>>);

/// An instance's channel (`None` while it is down) and its generation.
type Slot = (Option<Channel>, u64);

impl Targets {
    pub fn new(channels: impl IntoIterator<Item = Channel>) -> Self {
        Self(Arc::new(RwLock::new(
            channels.into_iter().map(|c| (Some(c), 0)).collect(),
        )))
    }

    /// Marks instance `slot` down (`None`) or up again on a new channel.
    pub fn set(&self, slot: usize, channel: Option<Channel>) {
        let mut slots = self.0.write().expect("targets");
        let entry = &mut slots[slot];
        *entry = (channel, entry.1 + 1);
    }

    /// The channel of one of the instances that are up, if any.
    pub fn any(&self, roll: usize) -> Option<Channel> {
        self.pick(roll).map(|(_, channel, _)| channel)
    }

    fn pick(&self, roll: usize) -> Option<(usize, Channel, u64)> {
        let slots = self.0.read().expect("targets");
        let up: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].0.is_some()).collect();
        let slot = *up.get(roll % up.len().max(1))?;
        let (channel, generation) = &slots[slot];
        Some((slot, channel.clone()?, *generation))
    }

    fn generation(&self, slot: usize) -> u64 {
        self.0.read().expect("targets")[slot].1
    }
}

/// The sessions the crowd books in. A long run adds new ones as seats sell
/// out; customers book in the newest few.
#[derive(Clone, Default)]
pub struct Sessions(Arc<RwLock<Vec<String>>>);

impl Sessions {
    /// How many of the newest sessions customers book in.
    const OPEN: usize = 3;

    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        Self(Arc::new(RwLock::new(ids.into_iter().collect())))
    }

    pub fn add(&self, id: String) {
        self.0.write().expect("sessions").push(id);
    }

    pub fn newest(&self) -> String {
        self.0
            .read()
            .expect("sessions")
            .last()
            .cloned()
            .expect("a session")
    }

    pub fn all(&self) -> Vec<String> {
        self.0.read().expect("sessions").clone()
    }

    fn pick(&self, roll: usize) -> String {
        let ids = self.0.read().expect("sessions");
        let open = &ids[ids.len().saturating_sub(Self::OPEN)..];
        open[roll % open.len()].clone()
    }
}

/// What the crowd was told, and how.
#[derive(Debug, Default)]
pub struct Tally {
    /// Answers by operation and code, e.g. `"reserve Ok"`.
    pub answers: BTreeMap<String, usize>,
    /// Every sale a customer was given.
    pub sales: Vec<Sale>,
    /// Every reservation a customer was given.
    pub reservations: Vec<Reservation>,
    /// Answers the contract does not allow, and calls that hung.
    pub failures: Vec<String>,
    /// The slowest answer.
    pub slowest: Duration,
    /// Every ticket a scan answered ADMITTED (as often as it did).
    pub admitted: Vec<String>,
    /// Every sale as a successful refund answered it.
    pub refunds: Vec<Sale>,
    /// Seats refused to their buyer right after their refund.
    pub refusals: Vec<Refusal>,
    /// How refunds and scans of sales known exactly went, e.g. `"admit again"`.
    pub outcomes: BTreeMap<String, usize>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (answer, n) in other.answers {
            *self.answers.entry(answer).or_default() += n;
        }
        self.sales.extend(other.sales);
        self.reservations.extend(other.reservations);
        self.failures.extend(other.failures);
        self.slowest = self.slowest.max(other.slowest);
        self.admitted.extend(other.admitted);
        self.refunds.extend(other.refunds);
        self.refusals.extend(other.refusals);
        for (outcome, n) in other.outcomes {
            *self.outcomes.entry(outcome).or_default() += n;
        }
    }

    pub fn operations(&self) -> usize {
        self.answers.values().sum()
    }
}

/// What the crowd does.
#[derive(Clone)]
pub struct Plan {
    pub targets: Targets,
    /// Sessions to book in; every one has `labels`.
    pub sessions: Sessions,
    pub labels: Vec<String>,
    /// A token per customer; there are as many customers as tokens.
    pub tokens: Vec<String>,
    /// Whether UNAVAILABLE and DEADLINE_EXCEEDED are allowed answers (a
    /// dependency is taken down or hangs).
    pub allow_unavailable: bool,
    pub seed: u64,
}

/// Who serves the customers after they pay.
#[derive(Clone, Default)]
pub struct Staff {
    /// A token with the `staff` role: an usher scans customers' tickets.
    /// Without one, nobody scans.
    pub usher: Option<String>,
    /// An admin token: a clerk refunds at the box office, also once the
    /// buyer's own window has closed. Without one, buyers refund alone.
    pub clerk: Option<String>,
    /// The servers' refund and admission windows.
    pub windows: Windows,
}

pub struct Crowd {
    stop: Arc<AtomicBool>,
    workers: JoinSet<Tally>,
    /// Reservations granted so far, to see the crowd make progress.
    pub reserved: Arc<AtomicUsize>,
}

impl Crowd {
    /// Customers who book, pay, cancel and refund their own sales.
    pub fn start(plan: Plan) -> Self {
        Self::start_with(plan, Staff::default())
    }

    /// Customers served by `staff` too.
    pub fn start_with(plan: Plan, staff: Staff) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let reserved = Arc::new(AtomicUsize::new(0));
        let mut workers = JoinSet::new();
        for (customer, token) in plan.tokens.iter().enumerate() {
            workers.spawn(customer_loop(
                plan.clone(),
                staff.clone(),
                token.clone(),
                plan.seed ^ (customer as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                Arc::clone(&stop),
                Arc::clone(&reserved),
            ));
        }
        Self {
            stop,
            workers,
            reserved,
        }
    }

    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Relaxed)
    }

    /// Waits until `more` further reservations were granted, or panics after `limit`.
    pub async fn wait_for_progress(&self, more: usize, limit: Duration) {
        let target = self.reserved() + more;
        eventually(limit, || async {
            let reserved = self.reserved();
            (reserved >= target).then_some(()).ok_or_else(|| {
                format!("the crowd made no progress: {reserved} of {target} reservations")
            })
        })
        .await;
    }

    /// Stops every customer after its current operation; their tallies, merged.
    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut tally = Tally::default();
        for worker in self.workers.join_all().await {
            tally.merge(worker);
        }
        tally
    }
}

/// A xorshift64 generator: a failing run can be replayed from its seed
/// (interleavings still vary).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
}

/// One answer, timed and bounded.
async fn bounded<T>(
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> (Option<Result<T, Status>>, Duration) {
    let started = tokio::time::Instant::now();
    let answer = tokio::time::timeout(CALL_BOUND, call).await.ok();
    let took = started.elapsed();
    let answer = answer.map(|a| {
        a.map(tonic::Response::into_inner).map_err(|status| {
            // tonic's channel ends a call at its deadline itself, as CANCELLED;
            // the server has dropped it by then.
            if status.code() == Code::Cancelled && took >= CALL_DEADLINE {
                Status::deadline_exceeded(status.message())
            } else {
                status
            }
        })
    });
    (answer, took)
}

/// How many of their latest sales a customer refunds and has scanned.
const KEPT_SALES: usize = 6;

async fn customer_loop(
    plan: Plan,
    staff: Staff,
    token: String,
    seed: u64,
    stop: Arc<AtomicBool>,
    reserved: Arc<AtomicUsize>,
) -> Tally {
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut mine: Vec<Mine> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if !mine.is_empty() && rng.below(3) == 0 {
            let mut customer = after_sales::Customer {
                plan: &plan,
                staff: &staff,
                token: &token,
                rng: &mut rng,
                tally: &mut tally,
                reserved: &reserved,
            };
            customer.after_sale(&mut mine).await;
            continue;
        }
        let Some((slot, channel, generation)) = plan.targets.pick(rng.below(1 << 16)) else {
            // Every instance is down (the test restarts one): a customer
            // comes back a moment later, as a person would.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut booking = BookingServiceClient::new(channel);
        let session = plan.sessions.pick(rng.below(1 << 16));
        let mut seats = Vec::new();
        for _ in 0..1 + rng.below(2) {
            let label = plan.labels[rng.below(plan.labels.len())].clone();
            if !seats.contains(&label) {
                seats.push(label);
            }
        }
        let request = ReserveSeatsRequest {
            session_id: session,
            seat_labels: seats,
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let (answer, took) = bounded(booking.reserve_seats(call(request, &token))).await;
        let Some(reservation) = judge(&plan, &mut tally, "reserve", answer, took, slot, generation)
        else {
            continue;
        };
        reserved.fetch_add(1, Ordering::Relaxed);
        let reservation_id = reservation.reservation_id.clone();
        tally.reservations.push(reservation);
        match rng.below(4) {
            0 | 1 => {
                let request = ConfirmPaymentRequest {
                    reservation_id,
                    payment_reference: format!("pix-{}", rng.below(1 << 30)),
                    request_id: uuid::Uuid::new_v4().to_string(),
                };
                let (answer, took) = bounded(booking.confirm_payment(call(request, &token))).await;
                if let Some(sale) =
                    judge(&plan, &mut tally, "confirm", answer, took, slot, generation)
                {
                    if mine.len() == KEPT_SALES {
                        mine.remove(0);
                    }
                    mine.push(Mine::new(Bought::new(sale.clone())));
                    tally.sales.push(sale);
                }
            }
            2 => {
                let request = CancelReservationRequest { reservation_id };
                let (answer, took) =
                    bounded(booking.cancel_reservation(call(request, &token))).await;
                judge(&plan, &mut tally, "cancel", answer, took, slot, generation);
            }
            _ => {} // left to expire
        }
    }
    tally
}

/// Records an answer; the value when it was a success.
fn judge<T>(
    plan: &Plan,
    tally: &mut Tally,
    operation: &str,
    answer: Option<Result<T, Status>>,
    took: Duration,
    slot: usize,
    generation: u64,
) -> Option<T> {
    record(plan, tally, operation, &answer, took, slot, generation);
    answer.and_then(Result::ok)
}

/// Records an answer; whether it is the server's final word on the call
/// (a success or a refusal), so that the caller knows what it did.
fn record<T>(
    plan: &Plan,
    tally: &mut Tally,
    operation: &str,
    answer: &Option<Result<T, Status>>,
    took: Duration,
    slot: usize,
    generation: u64,
) -> bool {
    tally.slowest = tally.slowest.max(took);
    let Some(answer) = answer else {
        *tally
            .answers
            .entry(format!("{operation} hung"))
            .or_default() += 1;
        tally.failures.push(format!(
            "{operation} on instance {slot}: no answer within {CALL_BOUND:?}"
        ));
        return false;
    };
    let code = answer.as_ref().err().map_or(Code::Ok, Status::code);
    let killed_under_the_call = plan.targets.generation(slot) != generation;
    let allowed = match code {
        Code::Ok | Code::FailedPrecondition | Code::Aborted => true,
        // A dependency down or hung: the outcome is unknown.
        Code::Unavailable | Code::DeadlineExceeded => {
            plan.allow_unavailable || killed_under_the_call
        }
        // A connection cut by a crash reaches the client in several ways.
        _ => killed_under_the_call,
    };
    if killed_under_the_call && code != Code::Ok {
        *tally
            .answers
            .entry(format!("{operation} lost with its instance"))
            .or_default() += 1;
    } else {
        *tally
            .answers
            .entry(format!("{operation} {code:?}"))
            .or_default() += 1;
    }
    if !allowed {
        tally.failures.push(format!(
            "{operation} on instance {slot}: {:?}",
            answer.as_ref().err()
        ));
    }
    matches!(code, Code::Ok | Code::FailedPrecondition)
}
