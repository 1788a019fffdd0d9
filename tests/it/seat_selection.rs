//! Seat selection: the best available block, no stranded single seats
//! (refused, even when two holds race on both sides of a seat), and the
//! allow-gaps switch; on hand-made maps, over two instances.

use std::sync::Arc;

use tokio::{sync::Barrier, task::JoinSet};
use tonic::Code;

use crate::{
    rooms::{PRICES, vip_session},
    support::{
        Client, TestApp,
        client::{priced, room_session_request},
        db::count,
        pb::{SeatKind, Session, TicketType},
        precondition_violations,
        process::ServerProcess,
        session_request, violation,
    },
};

/// A session of a new room of `rows`, STANDARD seats at 2500, with these
/// seats blocked (the hand-made map's taken seats), gaps as `allow_gaps`.
async fn map(app: &TestApp, rows: &[(&str, &str)], taken: &[&str], allow_gaps: bool) -> Session {
    let admin = app.admin();
    let room = admin.create_room("Sala", rows).await.unwrap();
    let mut request = room_session_request(&room.room_id, 24, &[(SeatKind::Standard, 2500)]);
    request.allow_single_seat_gaps = allow_gaps;
    let session = admin.create_session(request).await.unwrap();
    if !taken.is_empty() {
        admin
            .block(&session.session_id, taken, "taken")
            .await
            .unwrap();
    }
    session
}

async fn best(client: &Client, session: &Session, quantity: u32) -> Vec<String> {
    client
        .reserve_best(&session.session_id, quantity, &[], 0)
        .await
        .unwrap_or_else(|e| panic!("best {quantity}: {e:?}"))
        .seat_labels
}

const FOUR_BY_EIGHT: [(&str, &str); 4] = [
    ("A", "SSSSSSSS"),
    ("B", "SSSSSSSS"),
    ("C", "SSSSSSSS"),
    ("D", "SSSSSSSS"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_best_block_is_nearest_the_sweet_spot_then_the_next_best() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = map(&app, &FOUR_BY_EIGHT, &[], false).await;
    let alice = app.user("alice");
    // Two thirds back of rows A..D is row C; its centre is between 4 and 5.
    assert_eq!(best(&alice, &session, 2).await, ["C4", "C5"]);
    // Next: B and D are as near; B is nearer the screen, so it comes first.
    let bob = app.user("bob").on(&other.channel);
    assert_eq!(best(&bob, &session, 2).await, ["B4", "B5"]);
    assert_eq!(best(&bob, &session, 2).await, ["D4", "D5"]);
    // Three in row C would sit far off centre: row A's middle is nearer.
    assert_eq!(best(&alice, &session, 3).await, ["A3", "A4", "A5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_available_steps_aside_rather_than_strand_a_seat() {
    let app = TestApp::spawn().await;
    // Row C, the sweet spot's, is `__X_______`: its centre pair C5+C6
    // would leave C4 alone, so C4+C5 it is.
    let row = "SSSSSSSSSS";
    let rows = [("A", row), ("B", row), ("C", row), ("D", row)];
    let session = map(&app, &rows, &["C3"], false).await;
    let alice = app.user("alice");
    assert_eq!(best(&alice, &session, 2).await, ["C4", "C5"]);

    // Only blocks that strand a seat are left in row B2..B4 (B1, B5.. taken):
    // best available still holds one rather than none.
    let rows = [("A", "SSSSSSSS"), ("B", "SSSSSSSS")];
    let taken = [
        "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1", "B5", "B6", "B7", "B8",
    ];
    let tight = map(&app, &rows, &taken, false).await;
    assert_eq!(best(&alice, &tight, 2).await, ["B3", "B4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_half_tickets_and_couple_pairs_shape_the_block() {
    let app = TestApp::spawn().await;
    let session = vip_session(&app).await;
    let alice = app.user("alice");

    let premium = alice
        .reserve_best(&session.session_id, 2, &[SeatKind::Premium], 1)
        .await
        .unwrap();
    assert_eq!(
        priced(&premium.seats),
        [
            ("C5".into(), SeatKind::Premium, TicketType::Half, 2000),
            ("C6".into(), SeatKind::Premium, TicketType::Full, 4000)
        ]
    );
    assert_eq!(premium.total_price_cents, 6000);

    let couple = alice
        .reserve_best(&session.session_id, 2, &[SeatKind::Couple], 0)
        .await
        .unwrap();
    assert_eq!(couple.seat_labels, ["D3", "D4"]);
    assert_eq!(couple.total_price_cents, 2 * PRICES[2].1);

    // Three couple halves would split a pair: there is no such block.
    let none = alice
        .reserve_best(&session.session_id, 3, &[SeatKind::Couple], 0)
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&none),
        [violation("NOT_ENOUGH_ADJACENT_SEATS", &session.session_id)]
    );

    let bad = alice
        .reserve_best(&session.session_id, 0, &[SeatKind::Unspecified], 1)
        .await
        .unwrap_err();
    assert_eq!(
        crate::support::violated_fields(&bad),
        ["quantity", "kinds[0]", "half_price_quantity"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_callers_on_two_instances_all_get_disjoint_blocks() {
    let _heavy = crate::support::heavy().await;
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let mut request = session_request("Filme X", 24, 10, 20);
    request.allow_single_seat_gaps = false;
    let session = app.admin().create_session(request).await.unwrap();
    let start = Arc::new(Barrier::new(50));
    let mut callers = JoinSet::new();
    for caller in 0..50 {
        let channel = if caller % 2 == 0 {
            &app.channel
        } else {
            &other.channel
        };
        let client = app.user(&format!("fan-{caller}")).on(channel);
        let (start, session_id) = (Arc::clone(&start), session.session_id.clone());
        callers.spawn(async move {
            start.wait().await;
            client.reserve_best(&session_id, 2, &[], 0).await
        });
    }
    let mut taken = Vec::new();
    for answer in callers.join_all().await {
        let reservation = answer.unwrap_or_else(|e| panic!("a caller was refused: {e:?}"));
        let seats = &reservation.seat_labels;
        let (row, numbers): (Vec<&str>, Vec<u32>) = seats
            .iter()
            .map(|l| (&l[..1], l[1..].parse::<u32>().unwrap()))
            .unzip();
        assert!(
            row[0] == row[1] && numbers[0] + 1 == numbers[1],
            "{seats:?}"
        );
        taken.extend(seats.iter().cloned());
    }
    let total = taken.len();
    taken.sort();
    taken.dedup();
    assert_eq!((total, taken.len()), (100, 100), "every block disjoint");
    let db = app.db().await;
    let stranded = count(
        &db,
        &format!(
            "SELECT count(*)::bigint FROM seats s WHERE s.session_id = '{}' AND s.status = 'available' \
             AND EXISTS (SELECT 1 FROM seats l WHERE l.session_id = s.session_id AND l.y = s.y \
                         AND l.x = s.x - 1 AND l.status <> 'available') \
             AND EXISTS (SELECT 1 FROM seats r WHERE r.session_id = s.session_id AND r.y = s.y \
                         AND r.x = s.x + 1 AND r.status <> 'available')",
            session.session_id
        ),
    )
    .await;
    assert_eq!(stranded, 0, "a seat was left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_that_strands_a_seat_is_refused_unless_the_session_allows_gaps() {
    let app = TestApp::spawn().await;
    let strict = map(&app, &FOUR_BY_EIGHT, &[], false).await;
    let alice = app.user("alice");
    alice.reserve(&strict.session_id, &["A1"]).await.unwrap();
    let refused = alice
        .reserve(&strict.session_id, &["A3", "A6"])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&refused),
        [violation("SINGLE_SEAT_GAP", "A2")]
    );
    // Filling the gap, or leaving two seats, is fine.
    alice
        .reserve(&strict.session_id, &["A2", "A3"])
        .await
        .unwrap();
    alice.reserve(&strict.session_id, &["A6"]).await.unwrap();
    // Freed seats may leave gaps: cancelling A2+A3 is not refused.
    let lenient = map(&app, &FOUR_BY_EIGHT, &[], true).await;
    assert!(lenient.allow_single_seat_gaps && !strict.allow_single_seat_gaps);
    alice.reserve(&lenient.session_id, &["A1"]).await.unwrap();
    alice.reserve(&lenient.session_id, &["A3"]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_holds_racing_on_both_sides_of_a_seat_never_strand_it_together() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let rows: Vec<(String, &str)> = (0..20)
        .map(|r| (char::from(b'A' + r).to_string(), "SSSSSSSS"))
        .collect();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    let session = map(&app, &rows, &[], false).await;
    let (left, right) = (app.user("left"), app.user("right").on(&other.channel));
    for (row, _) in &rows {
        let (l, r) = ([format!("{row}3")], [format!("{row}5")]);
        let (a, b) = tokio::join!(
            left.reserve(&session.session_id, &l),
            right.reserve(&session.session_id, &r)
        );
        let refusals: Vec<_> = [a, b].into_iter().filter_map(Result::err).collect();
        assert_eq!(refusals.len(), 1, "row {row}: {refusals:?}");
        assert_eq!(
            precondition_violations(&refusals[0]),
            [violation("SINGLE_SEAT_GAP", &format!("{row}4"))]
        );
    }
}
