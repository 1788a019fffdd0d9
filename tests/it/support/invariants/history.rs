//! The outbox read back as the history of every seat and ticket. Each
//! transaction writes its events after the changes they describe, and two
//! transactions that change one seat or ticket take its row lock in turn,
//! so outbox order (`seq`) is the order in which they happened to it.
//! Replaying that order checks what the store alone cannot show: a seat
//! sold at most once *at a time*, a ticket admitted at most once and never
//! refunded after, a refunded seat back on sale in the very transaction of
//! its refund, and seat versions that only grow, each change told once.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message;
use sea_orm::DatabaseConnection;

use crate::support::{db::rows, ev, pb::SeatStatus};

/// A seat: (session id, label).
type SeatKey = (String, String);

/// What replaying the outbox found.
#[derive(Debug, Default)]
pub struct History {
    /// Events replayed.
    pub events: usize,
    /// Seats sold (one per seat of each sale).
    pub sold: usize,
    /// Seats refunded.
    pub refunded: usize,
    /// Seats sold again after a refund of them.
    pub resold: usize,
    /// Tickets admitted.
    pub admitted: usize,
    /// Broken rules, each named with its seat, ticket or sale.
    pub problems: Vec<String>,
}

/// One seat's life so far.
#[derive(Default)]
struct Life {
    /// The sale that holds it now.
    owner: Option<String>,
    /// The event of its last refund.
    refunded_at: Option<i64>,
    /// A refund happened and its own seat change is still to come.
    release_due: bool,
    /// Its last version and status in `seats.changed`.
    version: i64,
    status: i32,
}

#[derive(Default)]
struct Replay {
    history: History,
    seats: HashMap<SeatKey, Life>,
    /// Reservation id -> the seq of its `reservation.created`.
    created: HashMap<String, i64>,
    /// Ticket id -> its `ticket.admitted` events.
    admissions: HashMap<String, usize>,
    /// (sale id, label) of every admitted ticket, and of every refunded seat.
    admitted_seats: HashSet<(String, String)>,
    refunded_seats: HashSet<(String, String)>,
}

impl Replay {
    fn problem(&mut self, problem: String) {
        self.history.problems.push(problem);
    }

    fn event(&mut self, seq: i64, subject: &str, payload: &[u8]) {
        self.history.events += 1;
        let bad = |what: &str| format!("event {seq} ({subject}) is no {what}");
        match subject {
            "reservation.created" => match ev::ReservationCreated::decode(payload) {
                Ok(e) => {
                    self.created.insert(e.reservation_id, seq);
                }
                Err(_) => self.problem(bad("ReservationCreated")),
            },
            "payment.confirmed" => match ev::PaymentConfirmed::decode(payload) {
                Ok(e) => self.sold(seq, &e),
                Err(_) => self.problem(bad("PaymentConfirmed")),
            },
            "sale.refunded" => match ev::SaleRefunded::decode(payload) {
                Ok(e) => self.refunded(seq, &e),
                Err(_) => self.problem(bad("SaleRefunded")),
            },
            "ticket.admitted" => match ev::TicketAdmitted::decode(payload) {
                Ok(e) => self.admitted(seq, e),
                Err(_) => self.problem(bad("TicketAdmitted")),
            },
            "seats.changed" => match ev::SeatsChanged::decode(payload) {
                Ok(e) => self.changed(seq, &e),
                Err(_) => self.problem(bad("SeatsChanged")),
            },
            _ => {}
        }
    }

    fn sold(&mut self, seq: i64, e: &ev::PaymentConfirmed) {
        for label in &e.seat_labels {
            let life = self
                .seats
                .entry((e.session_id.clone(), label.clone()))
                .or_default();
            let before = life.owner.replace(e.sale_id.clone());
            let again = life.refunded_at.is_some();
            self.history.sold += 1;
            self.history.resold += usize::from(again);
            if let Some(other) = before {
                self.problem(format!(
                    "{label} of session {} sold to sale {} while sale {other} held it (event {seq})",
                    e.session_id, e.sale_id
                ));
            }
        }
    }

    fn refunded(&mut self, seq: i64, e: &ev::SaleRefunded) {
        for label in &e.seat_labels {
            let life = self
                .seats
                .entry((e.session_id.clone(), label.clone()))
                .or_default();
            let owner = life.owner.take();
            life.refunded_at = Some(seq);
            life.release_due = true;
            self.history.refunded += 1;
            if owner.as_deref() != Some(e.sale_id.as_str()) {
                self.problem(format!(
                    "{label} of session {} refunded by sale {}, but it was {owner:?}'s (event {seq})",
                    e.session_id, e.sale_id
                ));
            }
            if !self
                .refunded_seats
                .insert((e.sale_id.clone(), label.clone()))
            {
                self.problem(format!(
                    "{label} of sale {} refunded twice (event {seq})",
                    e.sale_id
                ));
            }
        }
    }

    fn admitted(&mut self, seq: i64, e: ev::TicketAdmitted) {
        self.history.admitted += 1;
        let n = {
            let n = self.admissions.entry(e.ticket_id.clone()).or_default();
            *n += 1;
            *n
        };
        if n > 1 {
            self.problem(format!(
                "ticket {} admitted {n} times (event {seq})",
                e.ticket_id
            ));
        }
        let owner = self
            .seats
            .get(&(e.session_id.clone(), e.seat_label.clone()))
            .and_then(|life| life.owner.clone());
        if owner.as_deref() != Some(e.sale_id.as_str()) {
            self.problem(format!(
                "ticket {} of sale {} admitted to {} while {owner:?} held the seat (event {seq})",
                e.ticket_id, e.sale_id, e.seat_label
            ));
        }
        self.admitted_seats.insert((e.sale_id, e.seat_label));
    }

    fn changed(&mut self, seq: i64, e: &ev::SeatsChanged) {
        for seat in &e.seats {
            let life = self
                .seats
                .entry((e.session_id.clone(), seat.label.clone()))
                .or_default();
            let before = (life.version, life.status);
            let due = life.release_due;
            life.version = seat.version;
            life.status = seat.status;
            life.release_due = false;
            if (seat.version, seat.status) == before {
                self.problem(format!(
                    "{} of session {} changed once but seats.changed told it twice: version {} \
                     again (event {seq})",
                    seat.label, e.session_id, seat.version
                ));
            } else if seat.version <= before.0 {
                self.problem(format!(
                    "{} of session {} went from version {} to {} (event {seq})",
                    seat.label, e.session_id, before.0, seat.version
                ));
            }
            if due && seat.status() != SeatStatus::Available {
                self.problem(format!(
                    "{} of session {} became {:?}, not AVAILABLE, after its refund (event {seq})",
                    seat.label,
                    e.session_id,
                    seat.status()
                ));
            }
        }
    }
}

/// Replays the outbox of `db` and compares where it ends with the tables.
pub async fn replay(db: &DatabaseConnection) -> History {
    let mut replay = Replay::default();
    let events = rows(
        db,
        "SELECT seq, subject, payload FROM outbox WHERE subject IN \
         ('reservation.created', 'payment.confirmed', 'sale.refunded', 'ticket.admitted', \
          'seats.changed') ORDER BY seq",
    )
    .await;
    for row in &events {
        let seq: i64 = row.try_get("", "seq").expect("seq");
        let subject: String = row.try_get("", "subject").expect("subject");
        let payload: Vec<u8> = row.try_get("", "payload").expect("payload");
        replay.event(seq, &subject, &payload);
    }
    for (sale, label) in replay.admitted_seats.intersection(&replay.refunded_seats) {
        replay
            .history
            .problems
            .push(format!("{label} of sale {sale} was admitted and refunded"));
    }
    let due: Vec<String> = replay
        .seats
        .iter()
        .filter(|(_, life)| life.release_due)
        .map(|((session, label), _)| format!("{label} of session {session}"))
        .collect();
    for seat in due {
        replay.problem(format!("{seat} was refunded but never put back on sale"));
    }
    compare_tickets(db, &mut replay).await;
    compare_seats(db, &mut replay).await;
    replay.history
}

/// Each ticket is ADMITTED in the table exactly when one event admitted it,
/// and each seat of a sale is refunded exactly when an event refunded it.
async fn compare_tickets(db: &DatabaseConnection, replay: &mut Replay) {
    let tickets = rows(
        db,
        "SELECT t.ticket_id::text AS ticket_id, t.sale_id::text AS sale_id, t.seat_label, \
                t.status, ss.refunded \
         FROM tickets t JOIN sale_seats ss ON ss.sale_id = t.sale_id AND ss.label = t.seat_label",
    )
    .await;
    for row in &tickets {
        let get = |column: &str| row.try_get::<String>("", column).expect(column);
        let (ticket, sale, label) = (get("ticket_id"), get("sale_id"), get("seat_label"));
        let admitted = get("status") == "admitted";
        let events = replay.admissions.get(&ticket).copied().unwrap_or(0);
        if usize::from(admitted) != events {
            replay.problem(format!(
                "ticket {ticket} is {} with {events} ticket.admitted events",
                get("status")
            ));
        }
        let refunded: bool = row.try_get("", "refunded").expect("refunded");
        let pair = (sale, label);
        if refunded != replay.refunded_seats.contains(&pair) {
            replay.problem(format!(
                "{} of sale {} is {}refunded in sale_seats but not by the events",
                pair.1,
                pair.0,
                if refunded { "" } else { "not " }
            ));
        }
    }
}

/// Where each seat stands now agrees with its history: sold to the sale
/// that holds it, and a refunded seat free or taken by a reservation made
/// after its refund.
async fn compare_seats(db: &DatabaseConnection, replay: &mut Replay) {
    let seats = rows(
        db,
        "SELECT s.session_id::text AS session_id, s.label, s.status, \
                s.reservation_id::text AS reservation_id, sa.sale_id::text AS sale_id \
         FROM seats s LEFT JOIN sales sa ON sa.reservation_id = s.reservation_id \
         WHERE s.status IN ('held', 'sold') OR EXISTS \
           (SELECT 1 FROM sale_seats ss WHERE ss.session_id = s.session_id AND ss.label = s.label)",
    )
    .await;
    let mut problems = BTreeMap::new();
    for row in &seats {
        let get = |column: &str| row.try_get::<Option<String>>("", column).expect(column);
        let key = (
            get("session_id").unwrap_or_default(),
            get("label").unwrap_or_default(),
        );
        let status = get("status").unwrap_or_default();
        let Some(life) = replay.seats.get(&key) else {
            if status == "sold" {
                problems.insert(key.clone(), "is SOLD with no sale in the events".to_owned());
            }
            continue;
        };
        let holder = get("reservation_id");
        let sold_to = (status == "sold").then(|| get("sale_id")).flatten();
        if sold_to != life.owner {
            problems.insert(
                key.clone(),
                format!(
                    "is {status} for sale {sold_to:?}; the events say {:?}",
                    life.owner
                ),
            );
        }
        if let (Some(refund), Some(holder)) = (life.refunded_at, holder) {
            let created = replay.created.get(&holder).copied();
            if created.is_none_or(|created| created < refund) {
                problems.insert(
                    key.clone(),
                    format!(
                        "is {status} for reservation {holder} (created at event {created:?}), \
                         not one made after its refund (event {refund})"
                    ),
                );
            }
        }
    }
    for ((session, label), problem) in problems {
        replay.problem(format!("{label} of session {session} {problem}"));
    }
}
