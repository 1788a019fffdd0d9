//! Rooms with real layouts (VenueService), and sessions whose seat maps
//! follow them: aisles, seat kinds, couple seats, prices per kind; and the
//! old rectangle of identical seats, unchanged.

use tonic::Code;

use crate::support::{
    TestApp, assert_not_found,
    client::field_descriptions,
    client::room_session_request,
    pb::{KindPrice, RowLayout, SeatKind, SeatMap},
    violated_fields,
};

/// "Sala VIP": wheelchair spaces with companions at both ends of row A,
/// standard row B, premium row C, three couple seats in row D; 30 seats.
pub const SALA_VIP: [(&str, &str); 4] = [
    ("A", "WC_SSSS_CW"),
    ("B", "SSSS_SSSS"),
    ("C", "PPPP_PPPP"),
    ("D", "LR_LR_LR"),
];

/// STANDARD at an odd price (HALF rounds up), PREMIUM and COUPLE (per half);
/// WHEELCHAIR and COMPANION cost STANDARD's price.
pub const PRICES: [(SeatKind, i64); 3] = [
    (SeatKind::Standard, 2501),
    (SeatKind::Premium, 4000),
    (SeatKind::Couple, 3000),
];

/// A session of "Filme X" in a new "Sala VIP", priced with [`PRICES`].
pub async fn vip_session(app: &TestApp) -> crate::support::pb::Session {
    let admin = app.admin();
    let room = admin.create_room("Sala VIP", &SALA_VIP).await.unwrap();
    admin
        .create_session(room_session_request(&room.room_id, 24, &PRICES))
        .await
        .unwrap()
}

/// (label, kind, x, y, price, pair) of the seats of row `row` of `map`.
fn row(map: &SeatMap, row: &str) -> Vec<(String, SeatKind, u32, u32, i64, String)> {
    map.seats
        .iter()
        .filter(|s| s.row == row)
        .map(|s| {
            (
                s.label.clone(),
                s.kind(),
                s.x,
                s.y,
                s.price_cents,
                s.pair_label.clone(),
            )
        })
        .collect()
}

fn rows(layout: &[(&str, &str)]) -> Vec<RowLayout> {
    layout
        .iter()
        .map(|(label, seats)| RowLayout {
            label: (*label).into(),
            seats: (*seats).into(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_created_read_and_listed_by_anyone_but_created_by_admins() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));

    let room = admin.create_room("Sala VIP", &SALA_VIP).await.unwrap();
    assert_eq!(
        (room.name.as_str(), room.rows.clone(), room.seat_count),
        ("Sala VIP", rows(&SALA_VIP), 30)
    );
    assert!(uuid::Uuid::try_parse(&room.room_id).is_ok());
    assert_eq!(alice.get_room(&room.room_id).await.unwrap(), room);

    let denied = alice.create_room("Sala 2", &SALA_VIP).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_not_found(
        &alice.get_room(&unknown).await.unwrap_err(),
        "cinema.v1.Room",
        &unknown,
    );
    let bad = alice.get_room("sala").await.unwrap_err();
    assert_eq!(violated_fields(&bad), ["room_id"]);

    let second = admin
        .create_room("Sala 2", &[("A", "SSSSSSSS"), ("B", "SSSSSSSS")])
        .await
        .unwrap();
    let first_page = alice.list_rooms(1, "").await.unwrap();
    assert_eq!(first_page.rooms, [room]);
    let last_page = alice
        .list_rooms(1, &first_page.next_page_token)
        .await
        .unwrap();
    assert_eq!(
        (last_page.rooms, last_page.next_page_token.as_str()),
        (vec![second], "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_layout_problem_is_named_at_once_by_its_row() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let too_wide = "S".repeat(61);
    let bad = admin
        .create_room(
            " ",
            &[
                ("A", "SSSSSSSSSS"),
                ("a", "SSXS"),
                ("A", "SLSR"),
                ("D", "___"),
                ("ABC", &too_wide),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        [
            "name",
            "rows[1].label",
            "rows[1].seats",
            "rows[2].label",
            "rows[2].seats",
            "rows[3].seats",
            "rows[4].label",
            "rows[4].seats"
        ]
    );
    let small = admin
        .create_room("Sala 3", &[("A", "SSSS_SSSS"), ("B", "SSSS_SSS")])
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&small), ["rows"]);
    let tall: Vec<(String, &str)> = (0..27).map(|i| (format!("A{i}"), "S")).collect();
    let tall: Vec<(&str, &str)> = tall.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    let tall = admin.create_room("Sala 4", &tall).await.unwrap_err();
    assert_eq!(violated_fields(&tall)[0], "rows");
    assert!(alice_sees_no_rooms(&app).await);
}

async fn alice_sees_no_rooms(app: &TestApp) -> bool {
    app.user("alice")
        .list_rooms(0, "")
        .await
        .unwrap()
        .rooms
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_a_room_follows_its_layout_and_prices_each_kind() {
    let app = TestApp::spawn().await;
    let session = vip_session(&app).await;
    assert_eq!(
        (
            session.room.as_str(),
            session.rows,
            session.seats_per_row,
            session.total_seats,
            session.available_seats,
            session.price_cents,
        ),
        ("Sala VIP", 4, 0, 30, 30, 2501)
    );
    let prices: Vec<(SeatKind, i64)> = session
        .prices
        .iter()
        .map(|p| (p.kind(), p.price_cents))
        .collect();
    use SeatKind::*;
    assert_eq!(
        prices,
        [
            (Standard, 2501),
            (Premium, 4000),
            (Wheelchair, 2501),
            (Companion, 2501),
            (Couple, 3000)
        ]
    );
    let read = app.user("alice").get_session(&session.session_id).await;
    assert_eq!(read.unwrap(), session);

    let map = app.seat_map(&session.session_id).await;
    assert_eq!(map.seats.len(), 30);
    let seat = |label: &str, kind, x, y, price, pair: &str| {
        (label.to_owned(), kind, x, y, price, pair.to_owned())
    };
    assert_eq!(
        row(&map, "A"),
        [
            seat("A1", Wheelchair, 0, 0, 2501, ""),
            seat("A2", Companion, 1, 0, 2501, ""),
            seat("A3", Standard, 3, 0, 2501, ""),
            seat("A4", Standard, 4, 0, 2501, ""),
            seat("A5", Standard, 5, 0, 2501, ""),
            seat("A6", Standard, 6, 0, 2501, ""),
            seat("A7", Companion, 8, 0, 2501, ""),
            seat("A8", Wheelchair, 9, 0, 2501, ""),
        ]
    );
    assert_eq!(
        row(&map, "D"),
        [
            seat("D1", Couple, 0, 3, 3000, "D2"),
            seat("D2", Couple, 1, 3, 3000, "D1"),
            seat("D3", Couple, 3, 3, 3000, "D4"),
            seat("D4", Couple, 4, 3, 3000, "D3"),
            seat("D5", Couple, 6, 3, 3000, "D6"),
            seat("D6", Couple, 7, 3, 3000, "D5"),
        ]
    );
    assert_eq!(row(&map, "C")[4], seat("C5", Premium, 5, 2, 4000, ""));
    let order: Vec<(u32, u32)> = map.seats.iter().map(|s| (s.y, s.x)).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "row by row, left to right"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_a_room_needs_a_price_for_every_kind_and_no_shape_of_its_own() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let room = admin.create_room("Sala VIP", &SALA_VIP).await.unwrap();

    let unpriced = room_session_request(&room.room_id, 24, &[(SeatKind::Standard, 2500)]);
    let status = admin.create_session(unpriced).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let descriptions = field_descriptions(&status);
    assert_eq!(
        descriptions,
        [
            "prices: the room has PREMIUM seats: give SEAT_KIND_PREMIUM a price",
            "prices: the room has COUPLE seats: give SEAT_KIND_COUPLE a price"
        ]
    );

    let mut shaped = room_session_request(&room.room_id, 24, &PRICES);
    (shaped.rows, shaped.seats_per_row, shaped.room) = (4, 8, "Sala 9".into());
    shaped.prices.push(KindPrice {
        kind: SeatKind::Premium.into(),
        price_cents: 1,
    });
    let status = admin.create_session(shaped).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["room", "prices[3].kind", "rows", "seats_per_row"]
    );

    let unknown = uuid::Uuid::new_v4().to_string();
    let status = admin
        .create_session(room_session_request(&unknown, 24, &PRICES))
        .await
        .unwrap_err();
    assert_not_found(&status, "cinema.v1.Room", &unknown);
    let status = admin
        .create_session(room_session_request("sala", 24, &PRICES))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["room_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rectangle_session_is_standard_seats_at_one_price_as_before() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await;
    assert_eq!(
        (
            session.room.as_str(),
            session.room_id.as_str(),
            session.rows,
            session.seats_per_row,
            session.total_seats,
            session.price_cents
        ),
        ("Sala 1", "", 2, 8, 16, 2500)
    );
    let prices: Vec<(SeatKind, i64)> = session
        .prices
        .iter()
        .map(|p| (p.kind(), p.price_cents))
        .collect();
    assert_eq!(prices, [(SeatKind::Standard, 2500)]);
    let map = app.seat_map(&session.session_id).await;
    let b8 = map.seats.last().unwrap();
    assert_eq!(
        (b8.label.as_str(), b8.kind(), b8.x, b8.y, b8.price_cents),
        ("B8", SeatKind::Standard, 7, 1, 2500)
    );
    let reservation = app
        .user("alice")
        .reserve(&session.session_id, &["A1", "B8"])
        .await
        .unwrap();
    assert_eq!(reservation.total_price_cents, 5000);
}
