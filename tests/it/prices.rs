//! Prices per seat: kinds, HALF tickets (half price rounded up to the
//! cent), couple seats sold as a pair, totals fixed at hold time, and the
//! sales figures split by kind and ticket type.

use prost::Message;
use tonic::Code;

use crate::{
    rooms::vip_session,
    support::{
        PATIENCE, TestApp,
        client::field_descriptions,
        client::priced,
        db::{rows, strings},
        ev, eventually,
        pb::{KindSales, ReserveSeatsRequest, SeatKind, TicketType},
        process::ServerProcess,
        violated_fields,
    },
};

use SeatKind::{Companion, Couple, Premium, Standard, Wheelchair};
use TicketType::{Full, Half};

fn seat(
    label: &str,
    kind: SeatKind,
    ticket: TicketType,
    price: i64,
) -> (String, SeatKind, TicketType, i64) {
    (label.to_owned(), kind, ticket, price)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_seat_is_priced_by_kind_and_ticket_type_and_the_price_stays_fixed() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = vip_session(&app).await;
    // Held on one instance, paid and read on the other.
    let alice = app.user("alice");

    let reservation = alice
        .on(&other.channel)
        .reserve_typed(
            &session.session_id,
            &["C1", "A4", "A3", "A1", "A2"],
            &["A3", "C1", "A1"],
        )
        .await
        .unwrap();
    let expected = [
        seat("A1", Wheelchair, Half, 1251),
        seat("A2", Companion, Full, 2501),
        seat("A3", Standard, Half, 1251),
        seat("A4", Standard, Full, 2501),
        seat("C1", Premium, Half, 2000),
    ];
    assert_eq!(priced(&reservation.seats), expected);
    assert_eq!(reservation.seat_labels, ["A1", "A2", "A3", "A4", "C1"]);
    assert_eq!(reservation.total_price_cents, 9504);

    let db = app.db().await;
    let created = rows(
        &db,
        "SELECT payload FROM outbox WHERE subject = 'reservation.created'",
    )
    .await;
    let payload: Vec<u8> = created[0].try_get_by_index(0).unwrap();
    let event = ev::ReservationCreated::decode(payload.as_slice()).unwrap();
    assert_eq!(
        (priced(&event.seats), event.total_price_cents),
        (expected.to_vec(), 9504)
    );

    let sale = alice.confirm(&reservation.reservation_id).await.unwrap();
    assert_eq!(
        (priced(&sale.seats), sale.amount_cents),
        (expected.to_vec(), 9504)
    );

    // A later price change alters neither the hold nor the sale.
    rows(
        &db,
        &format!(
            "UPDATE session_prices SET price_cents = 9999 WHERE session_id = '{}' RETURNING kind",
            session.session_id
        ),
    )
    .await;
    let again = alice
        .get_reservation(&reservation.reservation_id)
        .await
        .unwrap();
    assert_eq!(
        (priced(&again.seats), again.total_price_cents),
        (expected.to_vec(), 9504)
    );
    let purchases = alice.list_purchases(10, "").await.unwrap();
    assert_eq!(purchases.sales, [sale]);
    let stored = strings(
        &db,
        &format!(
            "SELECT label || ':' || ticket_type || ':' || price_cents FROM reservation_seats \
             WHERE reservation_id = '{}' ORDER BY label",
            reservation.reservation_id
        ),
    )
    .await;
    assert_eq!(
        stored,
        [
            "A1:half:1251",
            "A2:full:2501",
            "A3:half:1251",
            "A4:full:2501",
            "C1:half:2000"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_types_must_name_requested_seats_and_real_types() {
    let app = TestApp::spawn().await;
    let session = vip_session(&app).await;
    let alice = app.user("alice");

    let stray = alice
        .reserve_typed(&session.session_id, &["A3"], &["B9"])
        .await
        .unwrap_err();
    assert_eq!(stray.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&stray), ["ticket_types[B9]"]);

    let request = alice.request(ReserveSeatsRequest {
        session_id: session.session_id.clone(),
        seat_labels: vec!["A3".into(), "A4".into()],
        ticket_types: [("A4".to_owned(), 7), ("A3".to_owned(), 0)].into(),
        ..Default::default()
    });
    let unknown = alice.booking().reserve_seats(request).await.unwrap_err();
    assert_eq!(violated_fields(&unknown), ["ticket_types[A4]"]);

    // UNSPECIFIED is FULL.
    let request = alice.request(ReserveSeatsRequest {
        session_id: session.session_id.clone(),
        seat_labels: vec!["A3".into()],
        ticket_types: [("A3".to_owned(), 0)].into(),
        ..Default::default()
    });
    let full = alice
        .booking()
        .reserve_seats(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(priced(&full.seats), [seat("A3", Standard, Full, 2501)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_couple_seat_is_sold_only_as_a_pair_priced_per_half() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = vip_session(&app).await;
    let alice = app.user("alice").on(&other.channel);

    let half_a_couple = alice
        .reserve(&session.session_id, &["D1"])
        .await
        .unwrap_err();
    assert_eq!(half_a_couple.code(), Code::InvalidArgument);
    let described = field_descriptions(&half_a_couple);
    assert_eq!(
        described,
        ["seat_labels[0]: D1 and D2 are one couple seat: reserve both or neither"]
    );
    let one_and_a_half = alice
        .reserve(&session.session_id, &["D2", "D1", "D4"])
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&one_and_a_half), ["seat_labels[2]"]);

    let couple = alice
        .reserve_typed(&session.session_id, &["D4", "D3"], &["D3"])
        .await
        .unwrap();
    assert_eq!(
        priced(&couple.seats),
        [
            seat("D3", Couple, Half, 1500),
            seat("D4", Couple, Full, 3000)
        ]
    );
    assert_eq!(couple.total_price_cents, 4500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_figures_split_revenue_by_kind_and_ticket_type() {
    let app = TestApp::spawn().await;
    let session = vip_session(&app).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let first = alice
        .reserve_typed(&session.session_id, &["A3", "A4", "C1"], &["A3"])
        .await
        .unwrap();
    alice.confirm(&first.reservation_id).await.unwrap();
    let second = bob
        .reserve_typed(&session.session_id, &["A5", "D1", "D2"], &["A5"])
        .await
        .unwrap();
    bob.confirm(&second.reservation_id).await.unwrap();

    let admin = app.admin();
    let sales = eventually(PATIENCE, || async {
        let sales = admin.session_sales(&session.session_id).await.unwrap();
        (sales.tickets_sold == 6).then_some(sales)
    })
    .await;
    assert_eq!(sales.revenue_cents, 1251 + 2501 + 4000 + 1251 + 3000 + 3000);
    let by_kind = |kind: SeatKind, ticket: TicketType, tickets, revenue| KindSales {
        kind: kind.into(),
        ticket_type: ticket.into(),
        tickets_sold: tickets,
        revenue_cents: revenue,
    };
    assert_eq!(
        sales.by_kind,
        [
            by_kind(Standard, Full, 1, 2501),
            by_kind(Standard, Half, 2, 2502),
            by_kind(Premium, Full, 1, 4000),
            by_kind(Couple, Full, 2, 6000),
        ]
    );
}
