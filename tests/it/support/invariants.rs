//! The promises of the box office, checked from outside after faults: in
//! PostgreSQL (the only truth), in its outbox read as a history
//! ([`history`]) and in the JetStream event stream.

pub mod history;

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use chrono::{DateTime, Utc};

use super::{
    Topology,
    db::{connect, count, strings},
    eventually,
    pb::{Reservation, Sale, TicketStatus},
};

/// Each query counts rows that break one rule; every count must be zero.
const RULES: &[(&str, &str)] = &[
    (
        "a seat sold twice",
        "SELECT count(*)::bigint FROM (SELECT 1 FROM sale_seats WHERE NOT refunded \
         GROUP BY session_id, label HAVING count(*) > 1) twice",
    ),
    (
        "a seat of a sale is not SOLD",
        "SELECT count(*)::bigint FROM sale_seats ss JOIN seats s USING (session_id, label) \
         WHERE NOT ss.refunded AND s.status <> 'sold'",
    ),
    (
        "a SOLD seat belongs to no sale",
        "SELECT count(*)::bigint FROM seats s WHERE s.status = 'sold' AND NOT EXISTS \
         (SELECT 1 FROM sale_seats ss WHERE ss.session_id = s.session_id AND ss.label = s.label \
         AND NOT ss.refunded)",
    ),
    (
        "a refunded seat still held or sold for the sale that refunded it",
        "SELECT count(*)::bigint FROM sale_seats ss JOIN sales sa USING (sale_id) \
         JOIN seats s ON s.session_id = ss.session_id AND s.label = ss.label \
         WHERE ss.refunded AND s.reservation_id = sa.reservation_id",
    ),
    (
        "a ticket whose state disagrees with its seat's sale",
        "SELECT count(*)::bigint FROM tickets t JOIN sale_seats ss \
         ON ss.sale_id = t.sale_id AND ss.label = t.seat_label \
         WHERE (t.status = 'refunded') <> ss.refunded",
    ),
    (
        "a sale whose refunded amount is not its refunded seats' prices",
        "SELECT count(*)::bigint FROM sales sa WHERE sa.refunded_cents <> COALESCE( \
         (SELECT sum(rs.price_cents) FROM sale_seats ss JOIN reservation_seats rs \
          ON rs.reservation_id = sa.reservation_id AND rs.label = ss.label \
          WHERE ss.sale_id = sa.sale_id AND ss.refunded), 0)",
    ),
    (
        "a seat of a sale without its one ticket, or a ticket of no seat of its sale",
        "SELECT count(*)::bigint FROM sale_seats ss FULL JOIN tickets t \
         ON t.sale_id = ss.sale_id AND t.seat_label = ss.label \
         WHERE ss.sale_id IS NULL OR t.ticket_id IS NULL",
    ),
    (
        "a refunded seat in no refund or in several, or a refund of a seat not refunded",
        "SELECT count(*)::bigint FROM sale_seats ss WHERE ss.refunded::int <> \
         (SELECT count(*) FROM refunds f WHERE f.sale_id = ss.sale_id AND ss.label = ANY(f.seat_labels))",
    ),
    (
        "a sale whose refunds do not add up to its refunded amount",
        "SELECT count(*)::bigint FROM sales sa WHERE sa.refunded_cents <> \
         COALESCE((SELECT sum(f.amount_cents) FROM refunds f WHERE f.sale_id = sa.sale_id), 0)",
    ),
    (
        "a reservation whose total is not the sum of its seats' prices",
        "SELECT count(*)::bigint FROM reservations r WHERE r.total_price_cents IS DISTINCT FROM \
         (SELECT sum(rs.price_cents) FROM reservation_seats rs WHERE rs.reservation_id = r.reservation_id)",
    ),
    (
        "a reserved seat priced otherwise than its kind and ticket type",
        "SELECT count(*)::bigint FROM reservation_seats rs JOIN seats s USING (session_id, label) \
         JOIN session_prices p ON p.session_id = s.session_id AND p.kind = s.kind \
         WHERE rs.kind <> s.kind OR rs.price_cents <> CASE rs.ticket_type \
         WHEN 'half' THEN p.price_cents - p.price_cents / 2 ELSE p.price_cents END",
    ),
    (
        "half a couple seat reserved without its other half",
        "SELECT count(*)::bigint FROM reservation_seats rs JOIN seats s USING (session_id, label) \
         WHERE s.pair_label IS NOT NULL AND NOT EXISTS (SELECT 1 FROM reservation_seats o \
         WHERE o.reservation_id = rs.reservation_id AND o.label = s.pair_label)",
    ),
    (
        "a sale whose amount is not its seats' price",
        "SELECT count(*)::bigint FROM sales sa WHERE sa.amount_cents IS DISTINCT FROM \
         (SELECT sum(rs.price_cents) FROM reservation_seats rs \
         JOIN sale_seats ss ON ss.session_id = rs.session_id AND ss.label = rs.label \
         WHERE rs.reservation_id = sa.reservation_id AND ss.sale_id = sa.sale_id)",
    ),
    (
        "a sale whose seats are not its reservation's",
        "SELECT count(*)::bigint FROM sale_seats ss JOIN sales sa USING (sale_id) \
         WHERE NOT EXISTS (SELECT 1 FROM reservation_seats rs \
         WHERE rs.reservation_id = sa.reservation_id AND rs.label = ss.label)",
    ),
    (
        "a confirmed reservation without a sale, or a sale of an unconfirmed one",
        "SELECT count(*)::bigint FROM reservations r WHERE (r.status = 'confirmed') <> \
         EXISTS (SELECT 1 FROM sales sa WHERE sa.reservation_id = r.reservation_id)",
    ),
    (
        "a seat still HELD for a cancelled, expired or confirmed reservation",
        "SELECT count(*)::bigint FROM seats s JOIN reservations r USING (reservation_id) \
         WHERE s.status = 'held' AND r.status <> 'pending'",
    ),
];

/// Every broken rule of the store and of its history (a seat sold at most
/// once at a time, a ticket admitted at most once, a refunded seat back on
/// sale at once: [`history`]), and every acknowledged sale or hold that is
/// missing from it or differs from what the client was told.
pub async fn store_problems(
    database_url: &str,
    sales: &[Sale],
    holds: &[Reservation],
) -> Vec<String> {
    let db = connect(database_url).await;
    let mut problems = Vec::new();
    for (rule, sql) in RULES {
        let n = count(&db, sql).await;
        if n != 0 {
            problems.push(format!("{n} x {rule}"));
        }
    }
    problems.extend(history::replay(&db).await.problems);
    // sale id -> "reservation id|sorted labels"
    let stored_sales: HashMap<String, String> = strings(
        &db,
        "SELECT sa.sale_id::text || ' ' || sa.reservation_id::text || '|' || \
         coalesce((SELECT string_agg(label, ',' ORDER BY label) FROM sale_seats ss \
                   WHERE ss.sale_id = sa.sale_id), '') FROM sales sa",
    )
    .await
    .into_iter()
    .filter_map(|line| {
        line.split_once(' ')
            .map(|(id, rest)| (id.to_owned(), rest.to_owned()))
    })
    .collect();
    for sale in sales {
        let mut labels = sale.seat_labels.clone();
        labels.sort();
        let expected = format!("{}|{}", sale.reservation_id, labels.join(","));
        if stored_sales.get(&sale.sale_id) != Some(&expected) {
            problems.push(format!(
                "acknowledged sale {} ({expected}) is stored as {:?}",
                sale.sale_id,
                stored_sales.get(&sale.sale_id)
            ));
        }
    }
    let stored_holds: HashMap<String, String> = strings(
        &db,
        "SELECT r.reservation_id::text || ' ' || \
         coalesce((SELECT string_agg(label, ',' ORDER BY label) FROM reservation_seats rs \
                   WHERE rs.reservation_id = r.reservation_id), '') FROM reservations r",
    )
    .await
    .into_iter()
    .filter_map(|line| {
        line.split_once(' ')
            .map(|(id, rest)| (id.to_owned(), rest.to_owned()))
    })
    .collect();
    for hold in holds {
        let mut labels = hold.seat_labels.clone();
        labels.sort();
        let expected = labels.join(",");
        if stored_holds.get(&hold.reservation_id) != Some(&expected) {
            problems.push(format!(
                "acknowledged reservation {} ({expected}) is stored as {:?}",
                hold.reservation_id,
                stored_holds.get(&hold.reservation_id)
            ));
        }
    }
    db.close().await.expect("close");
    problems
}

/// Every acknowledged admission and refund that the store does not hold
/// as told: `admitted`, the tickets a scan answered ADMITTED (each at most
/// once: a ticket admits once); `refunds`, the sales RefundSale answered
/// (their REFUNDED and ADMITTED tickets stay so for good).
pub async fn after_sales_problems(
    database_url: &str,
    admitted: &[String],
    refunds: &[Sale],
) -> Vec<String> {
    let db = connect(database_url).await;
    let mut problems = Vec::new();
    let tickets: HashMap<String, String> = strings(
        &db,
        "SELECT ticket_id::text || ' ' || status || CASE WHEN ss.refunded THEN '+refunded' ELSE '' END \
         FROM tickets t JOIN sale_seats ss ON ss.sale_id = t.sale_id AND ss.label = t.seat_label",
    )
    .await
    .into_iter()
    .filter_map(|line| {
        line.split_once(' ')
            .map(|(id, status)| (id.to_owned(), status.to_owned()))
    })
    .collect();
    let mut answers: HashMap<&str, usize> = HashMap::new();
    for ticket in admitted {
        *answers.entry(ticket).or_default() += 1;
    }
    for (ticket, n) in answers {
        let stored = tickets.get(ticket).map(String::as_str);
        if n > 1 || stored != Some("admitted") {
            problems.push(format!(
                "ticket {ticket} was answered ADMITTED {n} times and is stored as {stored:?}"
            ));
        }
    }
    for sale in refunds {
        for ticket in &sale.tickets {
            let told = match ticket.status() {
                TicketStatus::Refunded => "refunded+refunded",
                TicketStatus::Admitted => "admitted",
                _ => continue,
            };
            let stored = tickets.get(&ticket.ticket_id).map(String::as_str);
            if stored != Some(told) {
                problems.push(format!(
                    "{} of sale {} was told {told} and is stored as {stored:?}",
                    ticket.seat_label, sale.sale_id
                ));
            }
        }
    }
    db.close().await.expect("close");
    problems
}

/// A seat refused (SEAT_UNAVAILABLE) to its buyer right after they had it
/// refunded: only right if someone else took it in between.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub session_id: String,
    pub label: String,
    /// The reservation of the sale that refunded the seat.
    pub refunded: String,
    pub sent: DateTime<Utc>,
    pub received: DateTime<Utc>,
}

/// The refusals no other reservation explains: none held or bought the
/// seat at any moment between the call and its answer, so the refunded
/// seat was not on sale again at once.
pub async fn unexplained_refusals(database_url: &str, refusals: &[Refusal]) -> Vec<String> {
    let db = connect(database_url).await;
    let mut problems = Vec::new();
    for refusal in refusals {
        // Until when another reservation kept the seat: its hold's end, its
        // cancellation, or, once paid, the refund of the seat (if any).
        let sql = format!(
            "SELECT count(*)::bigint FROM reservations r JOIN reservation_seats rs USING (reservation_id) \
             WHERE r.session_id = '{session}' AND rs.label = '{label}' \
               AND r.reservation_id <> '{refunded}' \
               AND r.create_time <= '{received}'::timestamptz + interval '250 milliseconds' \
               AND CASE r.status \
                     WHEN 'cancelled' THEN r.finish_time \
                     WHEN 'confirmed' THEN COALESCE((SELECT min(f.create_time) FROM refunds f \
                          JOIN sales sa USING (sale_id) \
                          WHERE sa.reservation_id = r.reservation_id AND rs.label = ANY(f.seat_labels)), \
                          'infinity') \
                     ELSE r.expires_at END \
                   >= '{sent}'::timestamptz - interval '250 milliseconds'",
            session = refusal.session_id,
            label = refusal.label,
            refunded = refusal.refunded,
            received = refusal.received.to_rfc3339(),
            sent = refusal.sent.to_rfc3339(),
        );
        if count(&db, &sql).await == 0 {
            problems.push(format!(
                "{} of session {} was refused between {} and {}, just after its refund, \
                 and nobody else held it",
                refusal.label, refusal.session_id, refusal.sent, refusal.received
            ));
        }
    }
    db.close().await.expect("close");
    problems
}

/// Seats still HELD `margin` after their hold ended: the sweeper is late.
pub async fn seats_held_past_expiry(database_url: &str, margin: Duration) -> i64 {
    let db = connect(database_url).await;
    let n = count(
        &db,
        &format!(
            "SELECT count(*)::bigint FROM seats WHERE status = 'held' \
             AND held_until < now() - interval '{} milliseconds'",
            margin.as_millis()
        ),
    )
    .await;
    db.close().await.expect("close");
    n
}

/// Waits until every outbox row is marked published.
pub async fn wait_until_relayed(database_url: &str, limit: Duration) {
    let db = connect(database_url).await;
    eventually(limit, || async {
        let pending = count(
            &db,
            "SELECT count(*)::bigint FROM outbox WHERE published_time IS NULL",
        )
        .await;
        (pending == 0)
            .then_some(())
            .ok_or_else(|| format!("{pending} events still unpublished"))
    })
    .await;
    db.close().await.expect("close");
}

/// Waits until no reservation is pending any more (so the sweepers write no
/// further events) and every outbox row is published: only then do the
/// outbox and the stream hold the same events at any one time.
pub async fn wait_until_settled(database_url: &str, limit: Duration) {
    let db = connect(database_url).await;
    eventually(limit, || async {
        let pending = count(
            &db,
            "SELECT count(*)::bigint FROM reservations WHERE status = 'pending'",
        )
        .await;
        let unpublished = count(
            &db,
            "SELECT count(*)::bigint FROM outbox WHERE published_time IS NULL",
        )
        .await;
        (pending == 0 && unpublished == 0)
            .then_some(())
            .ok_or_else(|| format!("{pending} holds pending, {unpublished} events unpublished"))
    })
    .await;
    db.close().await.expect("close");
}

/// What the stream holds compared with the outbox.
#[derive(Debug)]
pub struct Delivery {
    /// Events in the outbox.
    pub outbox: usize,
    /// Messages in the stream.
    pub messages: usize,
    /// Event ids found in the stream more than once.
    pub repeated: usize,
    /// Outbox events missing from the stream.
    pub missing: usize,
    /// Stream messages that are no outbox event.
    pub unknown: usize,
}

impl Delivery {
    /// Each outbox event is in the stream exactly once, and nothing else is.
    pub fn exactly_once(&self) -> bool {
        self.repeated == 0 && self.missing == 0 && self.unknown == 0 && self.messages == self.outbox
    }
}

/// Reads the whole event stream of `nats_prefix` and compares it with the
/// outbox, by event id (`Nats-Msg-Id`).
pub async fn delivery(database_url: &str, nats_url: &str, nats_prefix: &str) -> Delivery {
    let db = connect(database_url).await;
    let outbox: HashSet<String> = strings(&db, "SELECT event_id::text FROM outbox")
        .await
        .into_iter()
        .collect();
    db.close().await.expect("close");
    let topology = Topology::new(nats_prefix);
    let js = async_nats::jetstream::new(
        async_nats::connect(nats_url)
            .await
            .expect("connect to NATS"),
    );
    let mut stream = js.get_stream(&topology.stream).await.expect("the stream");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut seen = HashSet::new();
    let (mut messages, mut repeated, mut unknown) = (0, 0, 0);
    for seq in state.first_sequence..=state.last_sequence {
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        messages += 1;
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .map(ToString::to_string)
            .unwrap_or_default();
        if !outbox.contains(&id) {
            unknown += 1;
        }
        if !seen.insert(id) {
            repeated += 1;
        }
    }
    Delivery {
        outbox: outbox.len(),
        messages,
        repeated,
        missing: outbox.difference(&seen).count(),
        unknown,
    }
}
