//! What a buyer knows of one of their sales, and so what RefundSale and
//! AdmitTicket must answer about it. Every change to the sale goes through
//! its buyer (their refunds, a clerk refunding for them, their tickets
//! scanned by their usher), one answer at a time, so the buyer knows its
//! state exactly and judges each answer exactly. Calls that run at once are
//! judged as one of the orders they could have taken effect in.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use tonic::{Code, Status};

use crate::support::{
    pb::{Admission, AdmissionResult, Sale, TicketStatus},
    precondition_violations, to_chrono,
};

/// Slack between the test's clock and the servers' (same machine).
const SLACK: chrono::Duration = chrono::Duration::milliseconds(250);

/// When refunds and admission are allowed, as the servers are configured
/// (`CINEMA_ADMISSION_OPENS`, `CINEMA_REFUND_CUTOFF`; defaults 1h and 2h).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub admission_opens: Duration,
    pub refund_cutoff: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            admission_opens: Duration::from_secs(3600),
            refund_cutoff: Duration::from_secs(2 * 3600),
        }
    }
}

/// Who asks for a refund: the buyer, or an admin at the box office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refunder {
    Buyer,
    Admin,
}

/// When a call was sent and its answer received, by the test's clock.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub sent: DateTime<Utc>,
    pub received: DateTime<Utc>,
}

/// A sale as its buyer knows it.
#[derive(Debug, Clone)]
pub struct Bought {
    pub sale: Sale,
    /// The first admission (gate, time) of each admitted ticket, by ticket id.
    first: HashMap<String, (String, Option<prost_types::Timestamp>)>,
}

/// A refusal's (type, subject) pairs, sorted as [`precondition_violations`] gives them.
type Violations = Vec<(String, String)>;

/// What a call must answer: this value, or FAILED_PRECONDITION with these violations.
type Expected<T> = Result<T, Violations>;

fn refused(kind: &str, subjects: &[String]) -> Violations {
    let mut violations: Violations = subjects
        .iter()
        .map(|subject| (kind.to_owned(), subject.clone()))
        .collect();
    violations.sort();
    violations
}

/// Whether a window open from `opens` until `closes` (either unbounded)
/// was open when the server decided, somewhere within `span`: both cases
/// when its edge falls within the span, where either answer is right.
fn open_between(
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    span: Span,
) -> Vec<bool> {
    let (early, late) = (span.sent - SLACK, span.received + SLACK);
    let open_at = |t: DateTime<Utc>| opens.is_none_or(|o| t >= o) && closes.is_none_or(|c| t < c);
    let mut cases = vec![open_at(early)];
    if open_at(late) != cases[0] {
        cases.push(!cases[0]);
    }
    cases
}

impl Bought {
    pub fn new(sale: Sale) -> Self {
        Self {
            sale,
            first: HashMap::new(),
        }
    }

    fn status(&self, label: &str) -> TicketStatus {
        self.sale
            .tickets
            .iter()
            .find(|t| t.seat_label == label)
            .map_or(TicketStatus::Unspecified, |t| t.status())
    }

    /// Labels of the sale's seats whose ticket is in `status`.
    pub fn labels_in(&self, status: TicketStatus) -> Vec<String> {
        self.sale
            .tickets
            .iter()
            .filter(|t| t.status() == status)
            .map(|t| t.seat_label.clone())
            .collect()
    }

    /// What refunding `labels` (none: every seat not refunded yet) must
    /// answer while the window is open.
    fn refund_expected(&self, labels: &[String]) -> Expected<Self> {
        let chosen: Vec<String> = if labels.is_empty() {
            let mut left = self.sale.seat_labels.clone();
            left.retain(|l| self.status(l) != TicketStatus::Refunded);
            left
        } else {
            labels.to_vec()
        };
        let with = |status| -> Vec<String> {
            let mut these = chosen.clone();
            these.retain(|l| self.status(l) == status);
            these
        };
        let admitted = with(TicketStatus::Admitted);
        if !admitted.is_empty() {
            return Err(refused("TICKET_ADMITTED", &admitted));
        }
        let again = with(TicketStatus::Refunded);
        if !again.is_empty() {
            return Err(refused("ALREADY_REFUNDED", &again));
        }
        if chosen.is_empty() {
            return Err(refused("ALREADY_REFUNDED", &self.sale.seat_labels));
        }
        let mut after = self.clone();
        for ticket in &mut after.sale.tickets {
            if chosen.contains(&ticket.seat_label) {
                ticket.set_status(TicketStatus::Refunded);
            }
        }
        after.sale.refunded_cents += self
            .sale
            .seats
            .iter()
            .filter(|seat| chosen.contains(&seat.label))
            .map(|seat| seat.price_cents)
            .sum::<i64>();
        Ok(after)
    }

    /// Judges the answer to a refund of `labels` by `who`: the state after
    /// it and a name for the tally, or what is wrong with it.
    pub fn judge_refund(
        &self,
        labels: &[String],
        who: Refunder,
        windows: Windows,
        span: Span,
        answer: &Result<Sale, Status>,
    ) -> Result<(Self, &'static str), String> {
        let start = to_chrono(self.sale.starts_at.as_ref());
        let closes = match who {
            Refunder::Buyer => {
                start - chrono::Duration::from_std(windows.refund_cutoff).expect("a cutoff")
            }
            Refunder::Admin => start,
        };
        for open in open_between(None, Some(closes), span) {
            let expected = if open {
                self.refund_expected(labels)
            } else {
                Err(refused(
                    "REFUND_WINDOW_CLOSED",
                    std::slice::from_ref(&self.sale.sale_id),
                ))
            };
            match (&expected, answer) {
                (Ok(after), Ok(sale)) if *sale == after.sale => {
                    return Ok((after.clone(), "refund ok"));
                }
                (Err(violations), Err(status))
                    if status.code() == Code::FailedPrecondition
                        && precondition_violations(status) == *violations =>
                {
                    let name = match violations[0].0.as_str() {
                        "TICKET_ADMITTED" => "refund admitted",
                        "ALREADY_REFUNDED" => "refund again",
                        _ => "refund window closed",
                    };
                    return Ok((self.clone(), name));
                }
                _ => {}
            }
        }
        Err(format!(
            "refund of {labels:?} of sale {} by {who:?} ({:?}, window closes {closes}, \
             sent {}, answered {}) gave {answer:?}",
            self.sale.sale_id,
            self.ticket_states(),
            span.sent,
            span.received
        ))
    }

    /// Judges the answer to a scan of `ticket_id`'s code at `gate`.
    pub fn judge_admit(
        &self,
        ticket_id: &str,
        gate: &str,
        windows: Windows,
        span: Span,
        answer: &Result<Admission, Status>,
    ) -> Result<(Self, &'static str), String> {
        let wrong = || {
            format!(
                "scan of ticket {ticket_id} of sale {} ({:?}) at {gate} (sent {}, answered {}) \
                 gave {answer:?}",
                self.sale.sale_id,
                self.ticket_states(),
                span.sent,
                span.received
            )
        };
        let Ok(admission) = answer else {
            return Err(wrong());
        };
        let ticket = self
            .sale
            .tickets
            .iter()
            .find(|t| t.ticket_id == ticket_id)
            .unwrap_or_else(|| panic!("ticket {ticket_id} is not of sale {}", self.sale.sale_id));
        let mut after = self.clone();
        let first = self.first.get(ticket_id);
        let (expected, name) = match ticket.status() {
            TicketStatus::Admitted => (AdmissionResult::AlreadyAdmitted, "admit again"),
            TicketStatus::Refunded => (AdmissionResult::Refunded, "admit refunded"),
            _ => {
                let start = to_chrono(self.sale.starts_at.as_ref());
                let opens =
                    start - chrono::Duration::from_std(windows.admission_opens).expect("a window");
                let cases = open_between(Some(opens), None, span);
                if admission.result() == AdmissionResult::Admitted && cases.contains(&true) {
                    let at = admission
                        .first_admit_time
                        .as_ref()
                        .map(|t| to_chrono(Some(t)));
                    let in_span =
                        at.is_some_and(|at| at >= span.sent - SLACK && at <= span.received + SLACK);
                    if !in_span || admission.first_gate != gate {
                        return Err(wrong());
                    }
                    let admitted = after
                        .sale
                        .tickets
                        .iter_mut()
                        .find(|t| t.ticket_id == ticket_id)
                        .expect("the ticket");
                    admitted.set_status(TicketStatus::Admitted);
                    after.first.insert(
                        ticket_id.to_owned(),
                        (gate.to_owned(), admission.first_admit_time),
                    );
                    (AdmissionResult::Admitted, "admit ok")
                } else if cases.contains(&false) {
                    (AdmissionResult::NotYetOpen, "admit not yet open")
                } else {
                    return Err(wrong());
                }
            }
        };
        let ticket = after
            .sale
            .tickets
            .iter()
            .find(|t| t.ticket_id == ticket_id)
            .expect("the ticket");
        let (first_gate, first_time) = after
            .first
            .get(ticket_id)
            .or(first)
            .cloned()
            .unwrap_or_default();
        let fine = admission.result() == expected
            && admission.ticket.as_ref() == Some(ticket)
            && admission.first_gate == first_gate
            && admission.first_admit_time == first_time;
        if fine {
            Ok((after, name))
        } else {
            Err(wrong())
        }
    }

    /// Each seat of the sale with its ticket's status, for messages.
    pub fn ticket_states(&self) -> Vec<(String, TicketStatus)> {
        self.sale
            .tickets
            .iter()
            .map(|t| (t.seat_label.clone(), t.status()))
            .collect()
    }
}
