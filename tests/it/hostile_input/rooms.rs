//! Hostile rooms, prices, ticket types, blocks, best-available parties and
//! extensions through the server: arbitrary layouts, price lists,
//! ticket-type maps, seat lists, reasons, quantities, kinds and ids. Nothing may panic; every answer carries a code of the contract,
//! and a layout the server accepts reads back exactly as sent.

use proptest::prelude::*;
use tonic::Code;

use super::{
    CONTRACT_CODES, check_cases, code_of,
    strategies::{cases, id_text, label_texts, layouts, text, ticket_maps},
};
use crate::{
    rooms::vip_session,
    support::{
        TestApp,
        client::room_request,
        in_hours,
        pb::{CreateSessionRequest, KindPrice, ReserveBestAvailableRequest, ReserveSeatsRequest},
        violated_fields,
    },
};

#[test]
fn arbitrary_layouts_prices_tickets_blocks_parties_and_extensions_get_only_contract_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let session = runtime.block_on(vip_session(&app));
    let (admin, user) = (app.admin(), app.user("fuzzer"));
    let strategy = (
        (text(), layouts()),
        prop::collection::vec(
            (any::<i32>(), prop_oneof![1i64..10_000, any::<i64>()]),
            0..7,
        ),
        label_texts(),
        ticket_maps(),
        text(),
        (
            prop_oneof![1u32..12, any::<u32>()],
            prop::collection::vec(prop_oneof![0i32..7, any::<i32>()], 0..4),
            prop_oneof![0u32..4, any::<u32>()],
        ),
        id_text(),
    );
    check_cases(strategy, (cases() / 10).max(1), |case| {
        let ((name, rows), prices, seat_labels, ticket_types, reason, party, some_id) = case;
        let (quantity, kinds, half) = party;
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let mut answers = Vec::new();
            let mut note = |what, code, answer: String| answers.push((what, code, answer));
            let layout: Vec<(&str, &str)> =
                rows.iter().map(|(l, s)| (l.as_str(), s.as_str())).collect();
            let created = admin.create_room(&name, &layout).await;
            if let Ok(room) = &created {
                let sent = room_request(&name, &layout);
                let echoed = (room.name == sent.name) && (room.rows == sent.rows);
                note(
                    "CreateRoom echoes",
                    if echoed { Code::Ok } else { Code::Internal },
                    format!("{room:?}"),
                );
                let priced = admin
                    .create_session(CreateSessionRequest {
                        movie_title: "Fuzz".into(),
                        starts_at: in_hours(24),
                        room_id: room.room_id.clone(),
                        prices: prices
                            .iter()
                            .map(|&(kind, price_cents)| KindPrice { kind, price_cents })
                            .collect(),
                        ..Default::default()
                    })
                    .await;
                note(
                    "CreateSession in the room",
                    code_of(&priced),
                    format!("{priced:?}"),
                );
            }
            note("CreateRoom", code_of(&created), format!("{created:?}"));
            let request = user.request(ReserveSeatsRequest {
                session_id: session.session_id.clone(),
                seat_labels: seat_labels.clone(),
                ticket_types: ticket_types.iter().cloned().collect(),
                ..Default::default()
            });
            let reserved = user.booking().reserve_seats(request).await;
            note("ReserveSeats", code_of(&reserved), format!("{reserved:?}"));
            let labels: Vec<&str> = seat_labels.iter().map(String::as_str).collect();
            let blocked = admin.block(&session.session_id, &labels, &reason).await;
            note("BlockSeats", code_of(&blocked), format!("{blocked:?}"));
            let unblocked = admin.unblock(&session.session_id, &labels).await;
            note(
                "UnblockSeats",
                code_of(&unblocked),
                format!("{unblocked:?}"),
            );
            let request = user.request(ReserveBestAvailableRequest {
                session_id: session.session_id.clone(),
                quantity,
                kinds: kinds.clone(),
                half_price_quantity: half,
                request_id: some_id.clone(),
            });
            let best = user.booking().reserve_best_available(request).await;
            if let Ok(held) = &best {
                let id = held.get_ref().reservation_id.clone();
                let extended = user.extend(&id, &some_id).await;
                note(
                    "ExtendReservation",
                    code_of(&extended),
                    format!("{extended:?}"),
                );
                user.cancel(&id).await.ok();
            }
            note("ReserveBestAvailable", code_of(&best), format!("{best:?}"));
            let extended = user.extend(&some_id, &some_id).await;
            note(
                "ExtendReservation of anything",
                code_of(&extended),
                format!("{extended:?}"),
            );
            answers
        });
        for (what, code, answer) in answers {
            prop_assert!(CONTRACT_CODES.contains(&code), "{what}: {answer}");
        }
        Ok(())
    });
    runtime.block_on(app.stop());
}

#[tokio::test]
async fn a_layout_of_garbage_is_refused_in_a_status_a_client_can_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let thousands: Vec<(String, &str)> = (0..10_000).map(|i| (format!("R{i}"), "X")).collect();
    let thousands: Vec<(&str, &str)> = thousands.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    let status = admin.create_room("Sala", &thousands).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["rows"]);

    // Every row as wrong as it can be: the answer still fits in its headers.
    let garbage = "🎬L'R\0".repeat(12);
    let rows: Vec<(&str, &str)> = (0..26).map(|_| ("a1", garbage.as_str())).collect();
    let status = admin.create_room("", &rows).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields = violated_fields(&status);
    assert_eq!(fields[..3], ["name", "rows[0].label", "rows[0].seats"]);
    assert_eq!(
        fields.last().map(String::as_str),
        Some(""),
        "the rest are counted"
    );
    app.stop().await;
}
