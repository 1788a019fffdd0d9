//! What a customer of the crowd does with what they bought: refunds (by
//! themselves or at the box office, sometimes sent twice with one
//! request_id), the refunded seats asked for again at once, and tickets
//! scanned at the door (sometimes twice). A sale whose answer was lost (an
//! instance, PostgreSQL or the network failed under the call) is no longer
//! known exactly: from then on only its answers' codes are judged.

use std::{sync::atomic::AtomicUsize, time::Duration};

use chrono::Utc;
use tonic::{Code, Status};

use super::{
    Plan, Rng, Staff, Tally,
    bought::{Bought, Refunder, Span},
    bounded, call, record,
};
use crate::support::{
    invariants::Refusal,
    pb::{
        AdmissionResult, AdmitTicketRequest, RefundSaleRequest, ReserveSeatsRequest, Sale,
        TicketStatus, booking_service_client::BookingServiceClient,
        ticket_service_client::TicketServiceClient,
    },
    precondition_violations, to_chrono,
};

/// One of a customer's latest sales.
pub struct Mine {
    bought: Bought,
    /// Whether every answer about it arrived, so its state is known.
    known: bool,
}

impl Mine {
    pub fn new(bought: Bought) -> Self {
        Self {
            bought,
            known: true,
        }
    }
}

/// A customer between two bookings.
pub struct Customer<'a> {
    pub plan: &'a Plan,
    pub staff: &'a Staff,
    pub token: &'a str,
    pub rng: &'a mut Rng,
    pub tally: &'a mut Tally,
    pub reserved: &'a AtomicUsize,
}

/// A call's answer (if any, within the bound), how long it took, where it
/// went, and when it was sent and answered.
struct Call<T> {
    answer: Option<Result<T, Status>>,
    took: Duration,
    slot: usize,
    generation: u64,
    span: Span,
}

impl Customer<'_> {
    /// Refunds or has scanned one of `mine`, mostly a recent one.
    pub async fn after_sale(&mut self, mine: &mut [Mine]) {
        let recent = mine.len().saturating_sub(3);
        let t = recent + self.rng.below(mine.len() - recent);
        if self.staff.usher.is_some() && self.rng.below(2) == 0 {
            self.scan(&mut mine[t]).await;
        } else {
            self.refund(&mut mine[t]).await;
        }
    }

    /// Sends one call to an instance that is up (none: `None`).
    async fn call<T, F, Fut>(&mut self, send: F) -> Option<Call<T>>
    where
        F: FnOnce(tonic::transport::Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let (slot, channel, generation) = self.plan.targets.pick(self.rng.below(1 << 16))?;
        let sent = Utc::now();
        let (answer, took) = bounded(send(channel)).await;
        Some(Call {
            answer,
            took,
            slot,
            generation,
            span: Span {
                sent,
                received: Utc::now(),
            },
        })
    }

    /// Records a call; true when its answer says what it did.
    fn record<T>(&mut self, operation: &str, call: &Call<T>) -> bool {
        record(
            self.plan,
            self.tally,
            operation,
            &call.answer,
            call.took,
            call.slot,
            call.generation,
        )
    }

    /// Judges a definite answer about a sale known exactly, with `judge`;
    /// anything else leaves the sale unknown from then on.
    fn settle(
        &mut self,
        mine: &mut Mine,
        definite: bool,
        judge: impl FnOnce(&Bought) -> Result<(Bought, &'static str), String>,
    ) -> bool {
        if !mine.known {
            return false;
        }
        if !definite {
            mine.known = false;
            return false;
        }
        match judge(&mine.bought) {
            Ok((after, outcome)) => {
                *self.tally.outcomes.entry(outcome.to_owned()).or_default() += 1;
                mine.bought = after;
                true
            }
            Err(problem) => {
                self.tally.failures.push(problem);
                mine.known = false;
                false
            }
        }
    }

    async fn refund(&mut self, mine: &mut Mine) {
        let sale = mine.bought.sale.clone();
        let labels: Vec<String> = if self.rng.below(3) == 0 {
            Vec::new()
        } else {
            let mut some: Vec<String> = sale
                .seat_labels
                .iter()
                .filter(|_| self.rng.below(2) == 0)
                .cloned()
                .collect();
            if some.is_empty() {
                some.push(sale.seat_labels[self.rng.below(sale.seat_labels.len())].clone());
            }
            some
        };
        let start = to_chrono(sale.starts_at.as_ref());
        let cutoff =
            chrono::Duration::from_std(self.staff.windows.refund_cutoff).expect("a cutoff");
        let buyer_late = Utc::now() >= start - cutoff;
        let (who, token) = match &self.staff.clerk {
            Some(clerk) if (buyer_late && self.rng.below(4) != 0) || self.rng.below(8) == 0 => {
                (Refunder::Admin, clerk.clone())
            }
            _ => (Refunder::Buyer, self.token.to_owned()),
        };
        let request = RefundSaleRequest {
            sale_id: sale.sale_id.clone(),
            seat_labels: labels.clone(),
            reason: "plans changed".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        let send = |request: RefundSaleRequest, token: String| {
            move |channel| async move {
                BookingServiceClient::new(channel)
                    .refund_sale(call(request, &token))
                    .await
            }
        };
        let Some(call) = self.call(send(request.clone(), token.clone())).await else {
            return;
        };
        let definite = self.record("refund", &call);
        if let Some(Ok(refunded)) = &call.answer {
            self.tally.refunds.push(refunded.clone());
        }
        let before = mine.bought.clone();
        let windows = self.staff.windows;
        let judged = self.settle(mine, definite, |bought| {
            let answer = call.answer.as_ref().expect("a definite answer");
            bought.judge_refund(&labels, who, windows, call.span, answer)
        });
        if !judged {
            return;
        }
        // The same request again, maybe elsewhere: the same answer, and
        // nothing refunded twice.
        if self.rng.below(4) == 0 {
            let Some(again) = self.call(send(request, token)).await else {
                return;
            };
            if self.record("refund retried", &again) {
                let same = match (&call.answer, &again.answer) {
                    (Some(Ok(first)), Some(Ok(second))) => first == second,
                    (Some(Err(first)), Some(Err(second))) => {
                        first.code() == second.code()
                            && precondition_violations(first) == precondition_violations(second)
                    }
                    _ => false,
                };
                if !same {
                    self.tally.failures.push(format!(
                        "refund {:?} of sale {} retried gave {:?}, first {:?}",
                        labels, sale.sale_id, again.answer, call.answer
                    ));
                    mine.known = false;
                    return;
                }
            } else {
                mine.known = false;
                return;
            }
        }
        let freed: Vec<String> = mine
            .bought
            .labels_in(TicketStatus::Refunded)
            .into_iter()
            .filter(|label| !before.labels_in(TicketStatus::Refunded).contains(label))
            .collect();
        if !freed.is_empty() && self.rng.below(2) == 0 {
            self.rebuy(&sale, freed).await;
        }
    }

    /// Asks at once for seats just refunded: they are on sale again, so only
    /// someone else taking them in between explains a refusal.
    async fn rebuy(&mut self, sale: &Sale, seats: Vec<String>) {
        let request = ReserveSeatsRequest {
            session_id: sale.session_id.clone(),
            seat_labels: seats.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let token = self.token.to_owned();
        let Some(call) = self
            .call(|channel| async move {
                BookingServiceClient::new(channel)
                    .reserve_seats(call(request, &token))
                    .await
            })
            .await
        else {
            return;
        };
        self.record("rebuy", &call);
        match &call.answer {
            Some(Ok(reservation)) => {
                self.reserved
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.tally.reservations.push(reservation.clone());
            }
            Some(Err(status)) if status.code() == Code::FailedPrecondition => {
                for (kind, label) in precondition_violations(status) {
                    if kind != "SEAT_UNAVAILABLE" || !seats.contains(&label) {
                        self.tally
                            .failures
                            .push(format!("rebuy of {seats:?} refused with {kind} {label}"));
                        continue;
                    }
                    self.tally.refusals.push(Refusal {
                        session_id: sale.session_id.clone(),
                        label,
                        refunded: sale.reservation_id.clone(),
                        sent: call.span.sent,
                        received: call.span.received,
                    });
                }
            }
            _ => {}
        }
    }

    /// The usher scans one of the sale's tickets, sometimes twice.
    async fn scan(&mut self, mine: &mut Mine) {
        let Some(usher) = self.staff.usher.clone() else {
            return;
        };
        let tickets = &mine.bought.sale.tickets;
        let ticket = tickets[self.rng.below(tickets.len())].clone();
        for _ in 0..1 + usize::from(self.rng.below(4) == 0) {
            let gate = format!("gate-{}", self.rng.below(4));
            let request = AdmitTicketRequest {
                code: ticket.code.clone(),
                gate: gate.clone(),
            };
            let usher = usher.clone();
            let Some(call) = self
                .call(|channel| async move {
                    TicketServiceClient::new(channel)
                        .admit_ticket(call(request, &usher))
                        .await
                })
                .await
            else {
                return;
            };
            let definite = self.record("admit", &call);
            if let Some(Ok(admission)) = &call.answer
                && admission.result() == AdmissionResult::Admitted
            {
                self.tally.admitted.push(ticket.ticket_id.clone());
            }
            let windows = self.staff.windows;
            self.settle(mine, definite, |bought| {
                let answer = call.answer.as_ref().expect("a definite answer");
                bought.judge_admit(&ticket.ticket_id, &gate, windows, call.span, answer)
            });
        }
    }
}
