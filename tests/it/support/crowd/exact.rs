//! One customer's refunds and scans judged exactly, on two instances and
//! without faults (the torture of `booking_instances`): refunds by the
//! buyer or a clerk, sometimes sent twice with one request_id (after the
//! answer, or both at once on both instances); scans by an usher,
//! sometimes twice (after the answer, or both at once), sometimes of an
//! edited code; and a scan racing a refund of the same seat. Each answer
//! is judged by [`Bought`]; calls made at once as one of the orders they
//! could have taken effect in.

use std::collections::HashMap;

use chrono::Utc;
use tonic::{Status, transport::Channel};
use uuid::Uuid;

use super::bought::{Bought, Refunder, Span, Windows};
use crate::support::{
    Client,
    invariants::Refusal,
    pb::{Admission, AdmissionResult, Sale, TicketStatus},
    precondition_violations,
};

/// How many answers of each kind.
pub type Tally = HashMap<&'static str, usize>;

/// A small deterministic generator (xorshift64), so a failing run can be
/// replayed operation for operation (interleavings still vary).
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("a small number")
    }
}

/// A customer's sales as they know them, and who serves them after they pay.
pub struct AfterSales {
    /// The two instances.
    pub instances: [Channel; 2],
    /// The servers' refund and admission windows.
    pub windows: Windows,
    /// An usher (the staff role) at the doors.
    pub usher: Client,
    /// An admin at the box office, who refunds for the buyer.
    pub clerk: Client,
    pub bought: Vec<Bought>,
    /// ADMITTED answers, by ticket id.
    pub admitted: HashMap<String, usize>,
    /// Refunded seats refused to their buyer right after the refund.
    pub refusals: Vec<Refusal>,
}

/// One of `len` things, mostly one of the last few.
pub fn pick(rng: &mut XorShift, len: usize) -> usize {
    let recent = len.saturating_sub(4);
    if rng.below(4) == 0 {
        rng.below(len)
    } else {
        recent + rng.below(len - recent)
    }
}

/// When a call was sent and answered.
pub async fn timed<T>(call: impl Future<Output = T>) -> (T, Span) {
    let sent = Utc::now();
    let answer = call.await;
    (
        answer,
        Span {
            sent,
            received: Utc::now(),
        },
    )
}

/// Whether two answers to one request are the same answer.
fn same_answer(first: &Result<Sale, Status>, second: &Result<Sale, Status>) -> bool {
    match (first, second) {
        (Ok(first), Ok(second)) => first == second,
        (Err(first), Err(second)) => {
            first.code() == second.code()
                && precondition_violations(first) == precondition_violations(second)
        }
        _ => false,
    }
}

impl AfterSales {
    pub fn new(instances: [Channel; 2], windows: Windows, usher: Client, clerk: Client) -> Self {
        Self {
            instances,
            windows,
            usher,
            clerk,
            bought: Vec::new(),
            admitted: HashMap::new(),
            refusals: Vec::new(),
        }
    }

    /// One of the user's sales (none yet: `None`), mostly one with a ticket
    /// still valid, mostly a recent one.
    pub fn pick(&self, rng: &mut XorShift) -> Option<usize> {
        if self.bought.is_empty() {
            return None;
        }
        let valid: Vec<usize> = (0..self.bought.len())
            .filter(|&s| !self.bought[s].labels_in(TicketStatus::Valid).is_empty())
            .collect();
        Some(if valid.is_empty() || rng.below(4) == 0 {
            pick(rng, self.bought.len())
        } else {
            valid[pick(rng, valid.len())]
        })
    }

    fn count_admitted(&mut self, ticket_id: &str, answer: &Result<Admission, Status>) {
        if answer
            .as_ref()
            .is_ok_and(|a| a.result() == AdmissionResult::Admitted)
        {
            *self.admitted.entry(ticket_id.to_owned()).or_default() += 1;
        }
    }

    /// Refunds seats of sale `s`: by the buyer or the clerk, some or all of
    /// them, sometimes sent twice with one request_id (one after the other,
    /// or both at once, on both instances). The seats it freed, if any.
    pub async fn refund(
        &mut self,
        me: &Client,
        instance: usize,
        s: usize,
        rng: &mut XorShift,
        tally: &mut Tally,
    ) -> Result<Vec<String>, String> {
        let sale = self.bought[s].sale.clone();
        let labels: Vec<String> = match rng.below(3) {
            0 => Vec::new(),
            _ => {
                let mut some: Vec<String> = sale
                    .seat_labels
                    .iter()
                    .filter(|_| rng.below(2) == 0)
                    .cloned()
                    .collect();
                if some.is_empty() {
                    some.push(sale.seat_labels[rng.below(sale.seat_labels.len())].clone());
                }
                some
            }
        };
        let seats: Vec<&str> = labels.iter().map(String::as_str).collect();
        let (who, by) = if rng.below(4) == 0 {
            (Refunder::Admin, self.clerk.on(&self.instances[instance]))
        } else {
            (Refunder::Buyer, me.clone())
        };
        let request_id = if rng.below(4) == 0 {
            String::new()
        } else {
            Uuid::new_v4().to_string()
        };
        let other = by.on(&self.instances[1 - instance]);
        // 0: sent twice at once; 1: sent again after the answer.
        let retry = if request_id.is_empty() {
            usize::MAX
        } else {
            rng.below(6)
        };
        let (answer, span) = if retry == 0 {
            // Both at once: the twin gets the same answer, and the seats are
            // refunded once.
            let ((first, second), span) = timed(async {
                tokio::join!(
                    by.refund(&sale.sale_id, &seats, &request_id),
                    other.refund(&sale.sale_id, &seats, &request_id)
                )
            })
            .await;
            if !same_answer(&first, &second) {
                return Err(format!(
                    "refund {labels:?} of sale {} sent twice at once with request_id \
                     {request_id} gave {first:?} and {second:?}",
                    sale.sale_id
                ));
            }
            *tally.entry("refund twins").or_default() += 1;
            (first, span)
        } else {
            timed(by.refund(&sale.sale_id, &seats, &request_id)).await
        };
        let before = self.bought[s].labels_in(TicketStatus::Refunded);
        let (after, outcome) =
            self.bought[s].judge_refund(&labels, who, self.windows, span, &answer)?;
        *tally.entry(outcome).or_default() += 1;
        self.bought[s] = after;
        if retry == 1 {
            let again = other.refund(&sale.sale_id, &seats, &request_id).await;
            if !same_answer(&answer, &again) {
                return Err(format!(
                    "refund {labels:?} of sale {} retried with request_id {request_id} \
                     gave {again:?}, first {answer:?}",
                    sale.sale_id
                ));
            }
            *tally.entry("refund retried").or_default() += 1;
        }
        let mut freed = self.bought[s].labels_in(TicketStatus::Refunded);
        freed.retain(|label| !before.contains(label));
        Ok(freed)
    }

    /// The usher scans a ticket of sale `s`, sometimes twice (one after the
    /// other, or at once on both instances), sometimes with its code
    /// edited.
    pub async fn scan(
        &mut self,
        instance: usize,
        s: usize,
        rng: &mut XorShift,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let tickets = &self.bought[s].sale.tickets;
        let ticket = tickets[rng.below(tickets.len())].clone();
        let usher = self.usher.on(&self.instances[instance]);
        let other = self.usher.on(&self.instances[1 - instance]);
        let (gate, other_gate) = (format!("door-{instance}"), format!("door-{}", 1 - instance));
        match rng.below(8) {
            0 => {
                let mut code = ticket.code.clone().into_bytes();
                let at = rng.below(code.len());
                code[at] = if code[at] == b'x' { b'y' } else { b'x' };
                let code = String::from_utf8(code).expect("ASCII");
                let answer = usher.admit(&code, &gate).await;
                match answer {
                    Ok(a) if a.result() == AdmissionResult::Invalid && a.ticket.is_none() => {
                        *tally.entry("admit edited code").or_default() += 1;
                        Ok(())
                    }
                    other => Err(format!(
                        "an edited code {code} of {} gave {other:?}",
                        ticket.ticket_id
                    )),
                }
            }
            1 => {
                let ((first, second), span) = timed(async {
                    tokio::join!(
                        usher.admit(&ticket.code, &gate),
                        other.admit(&ticket.code, &other_gate)
                    )
                })
                .await;
                self.count_admitted(&ticket.ticket_id, &first);
                self.count_admitted(&ticket.ticket_id, &second);
                let bought = &self.bought[s];
                type Scan<'a> = (&'a Result<Admission, Status>, &'a str);
                let judge = |(a, a_gate): Scan, (b, b_gate): Scan| {
                    let (mid, _) =
                        bought.judge_admit(&ticket.ticket_id, a_gate, self.windows, span, a)?;
                    mid.judge_admit(&ticket.ticket_id, b_gate, self.windows, span, b)
                };
                let one = (&first, gate.as_str());
                let two = (&second, other_gate.as_str());
                let (after, outcome) = judge(one, two).or_else(|_| judge(two, one))?;
                *tally.entry("admit twice at once").or_default() += 1;
                *tally.entry(outcome).or_default() += 1;
                self.bought[s] = after;
                Ok(())
            }
            n => {
                let (answer, span) = timed(usher.admit(&ticket.code, &gate)).await;
                self.count_admitted(&ticket.ticket_id, &answer);
                let (after, outcome) = self.bought[s].judge_admit(
                    &ticket.ticket_id,
                    &gate,
                    self.windows,
                    span,
                    &answer,
                )?;
                *tally.entry(outcome).or_default() += 1;
                self.bought[s] = after;
                if n == 2 {
                    let (again, span) = timed(other.admit(&ticket.code, &other_gate)).await;
                    self.count_admitted(&ticket.ticket_id, &again);
                    let (after, outcome) = self.bought[s].judge_admit(
                        &ticket.ticket_id,
                        &other_gate,
                        self.windows,
                        span,
                        &again,
                    )?;
                    *tally.entry(outcome).or_default() += 1;
                    self.bought[s] = after;
                }
                Ok(())
            }
        }
    }

    /// A ticket of sale `s` scanned while its buyer refunds its seat (and
    /// maybe others) at the same moment: exactly one of them happens.
    pub async fn race(
        &mut self,
        me: &Client,
        instance: usize,
        s: usize,
        rng: &mut XorShift,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let bought = &self.bought[s];
        let valid = bought.labels_in(TicketStatus::Valid);
        if valid.is_empty() {
            return Ok(());
        }
        let label = valid[rng.below(valid.len())].clone();
        let ticket = bought
            .sale
            .tickets
            .iter()
            .find(|t| t.seat_label == label)
            .expect("its ticket")
            .clone();
        let others = valid.iter().filter(|l| **l != label && rng.below(3) == 0);
        let mut labels: Vec<String> = others.cloned().collect();
        labels.insert(0, label);
        let seats: Vec<&str> = labels.iter().map(String::as_str).collect();
        let usher = self.usher.on(&self.instances[1 - instance]);
        let gate = format!("door-{}", 1 - instance);
        let ((scan, refund), span) = timed(async {
            tokio::join!(
                usher.admit(&ticket.code, &gate),
                me.refund(&bought.sale.sale_id, &seats, "")
            )
        })
        .await;
        self.count_admitted(&ticket.ticket_id, &scan);
        let bought = &self.bought[s];
        let scan_first = || {
            let (mid, _) =
                bought.judge_admit(&ticket.ticket_id, &gate, self.windows, span, &scan)?;
            mid.judge_refund(&labels, Refunder::Buyer, self.windows, span, &refund)
        };
        let refund_first = || {
            let (mid, _) =
                bought.judge_refund(&labels, Refunder::Buyer, self.windows, span, &refund)?;
            mid.judge_admit(&ticket.ticket_id, &gate, self.windows, span, &scan)
        };
        let (after, _) = scan_first().or_else(|_| refund_first())?;
        let won = if after.labels_in(TicketStatus::Admitted).contains(&labels[0]) {
            "race: admitted"
        } else {
            "race: refunded"
        };
        *tally.entry(won).or_default() += 1;
        self.bought[s] = after;
        Ok(())
    }
}
