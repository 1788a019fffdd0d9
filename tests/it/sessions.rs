//! SessionService, health, reflection and tokens, through the generated client.

use std::collections::HashSet;

use prost_types::Timestamp;
use tonic::Code;

use crate::support::{
    TestApp, assert_not_found, in_hours,
    pb::{CreateSessionRequest, SeatStatus},
    violated_fields,
};

fn filme_x() -> CreateSessionRequest {
    CreateSessionRequest {
        movie_title: "Filme X".into(),
        room: "Sala 1".into(),
        starts_at: in_hours(24),
        price_cents: 2500,
        currency: String::new(),
        rows: 2,
        seats_per_row: 8,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_admin_creates_a_session_and_everyone_reads_it() {
    let app = TestApp::spawn().await;
    let request = filme_x();
    let created = app
        .admin()
        .create_session(request.clone())
        .await
        .expect("create");
    assert_eq!(created.movie_title, "Filme X");
    assert_eq!(created.room, "Sala 1");
    assert_eq!(created.starts_at, request.starts_at);
    assert_eq!(created.price_cents, 2500);
    assert_eq!(created.currency, "BRL");
    assert_eq!((created.total_seats, created.available_seats), (16, 16));
    assert_eq!((created.rows, created.seats_per_row), (2, 8));
    assert!(created.create_time.is_some());
    uuid::Uuid::parse_str(&created.session_id).expect("a UUID id");

    let read = app
        .user("alice")
        .get_session(&created.session_id)
        .await
        .expect("get");
    assert_eq!(read, created);
    app.stop().await;
}

#[tokio::test]
async fn a_new_seat_map_has_every_seat_available_in_order() {
    let app = TestApp::spawn().await;
    let session = app
        .admin()
        .create_session(CreateSessionRequest {
            rows: 3,
            seats_per_row: 12,
            ..filme_x()
        })
        .await
        .expect("create");
    let map = app
        .user("bob")
        .seat_map(&session.session_id)
        .await
        .expect("seat map");
    assert_eq!(map.session_id, session.session_id);
    assert_eq!(
        (map.available_count, map.held_count, map.sold_count),
        (36, 0, 0)
    );
    let labels: Vec<&str> = map.seats.iter().map(|s| s.label.as_str()).collect();
    let expected: Vec<String> = ["A", "B", "C"]
        .iter()
        .flat_map(|row| (1..=12).map(move |n| format!("{row}{n}")))
        .collect();
    assert_eq!(labels, expected);
    let c12 = map.seats.last().expect("a seat");
    assert_eq!((c12.row.as_str(), c12.number, c12.version), ("C", 12, 0));
    assert!(
        map.seats
            .iter()
            .all(|s| s.status == SeatStatus::Available as i32)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_largest_room_is_accepted_and_one_more_row_is_not() {
    let app = TestApp::spawn().await;
    let largest = CreateSessionRequest {
        rows: 26,
        seats_per_row: 50,
        ..filme_x()
    };
    let session = app.admin().create_session(largest).await.expect("create");
    assert_eq!(session.total_seats, 1300);
    let too_many = CreateSessionRequest {
        rows: 27,
        seats_per_row: 50,
        ..filme_x()
    };
    let status = app.admin().create_session(too_many).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["rows"]);
    app.stop().await;
}

#[tokio::test]
async fn each_invalid_field_gets_its_own_violation_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let cases: Vec<(CreateSessionRequest, Vec<&str>)> = vec![
        (
            CreateSessionRequest {
                movie_title: " ".into(),
                ..filme_x()
            },
            vec!["movie_title"],
        ),
        (
            CreateSessionRequest {
                movie_title: "x".repeat(201),
                ..filme_x()
            },
            vec!["movie_title"],
        ),
        (
            CreateSessionRequest {
                room: String::new(),
                ..filme_x()
            },
            vec!["room"],
        ),
        (
            CreateSessionRequest {
                starts_at: None,
                ..filme_x()
            },
            vec!["starts_at"],
        ),
        (
            CreateSessionRequest {
                starts_at: in_hours(-1),
                ..filme_x()
            },
            vec!["starts_at"],
        ),
        (
            CreateSessionRequest {
                starts_at: Some(Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..filme_x()
            },
            vec!["starts_at"],
        ),
        (
            CreateSessionRequest {
                price_cents: 0,
                ..filme_x()
            },
            vec!["price_cents"],
        ),
        (
            CreateSessionRequest {
                price_cents: -2500,
                ..filme_x()
            },
            vec!["price_cents"],
        ),
        (
            CreateSessionRequest {
                currency: "REAL".into(),
                ..filme_x()
            },
            vec!["currency"],
        ),
        (
            CreateSessionRequest {
                currency: "R$1".into(),
                ..filme_x()
            },
            vec!["currency"],
        ),
        (
            CreateSessionRequest {
                rows: 0,
                ..filme_x()
            },
            vec!["rows"],
        ),
        (
            CreateSessionRequest {
                seats_per_row: 51,
                ..filme_x()
            },
            vec!["seats_per_row"],
        ),
        (
            CreateSessionRequest {
                rows: 3,
                seats_per_row: 5,
                ..filme_x()
            },
            vec!["seats_per_row"],
        ),
        (
            CreateSessionRequest {
                movie_title: String::new(),
                price_cents: 0,
                rows: 30,
                ..filme_x()
            },
            vec!["movie_title", "price_cents", "rows"],
        ),
    ];
    for (request, fields) in cases {
        let status = app
            .admin()
            .create_session(request.clone())
            .await
            .expect_err("an invalid request was accepted");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    let listed = app.user("alice").list_sessions(0, "").await.expect("list");
    assert!(
        listed.sessions.is_empty(),
        "a rejected request wrote a session"
    );
    app.stop().await;
}

#[tokio::test]
async fn text_is_stored_verbatim() {
    let app = TestApp::spawn().await;
    let title = "O'Brien'); DROP TABLE sessions;-- Ação 🎬 「映画」";
    let request = CreateSessionRequest {
        movie_title: title.into(),
        room: "Sala \"VIP\" ñ".into(),
        ..filme_x()
    };
    let created = app.admin().create_session(request).await.expect("create");
    let read = app
        .user("a")
        .get_session(&created.session_id)
        .await
        .expect("get");
    assert_eq!(read.movie_title, title);
    assert_eq!(read.room, "Sala \"VIP\" ñ");
    app.stop().await;
}

#[tokio::test]
async fn pages_cover_every_session_once_in_start_order() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    // Out of start order, and two at the same time, to exercise the tie-break on id.
    for hours in [5, 3, 9, 1, 7, 3, 2] {
        let request = CreateSessionRequest {
            starts_at: in_hours(hours),
            ..filme_x()
        };
        let session = app.admin().create_session(request).await.expect("create");
        created.push(session);
    }
    let alice = app.user("alice");
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = alice.list_sessions(3, &page_token).await.expect("list");
        pages += 1;
        assert!(page.sessions.len() <= 3);
        seen.extend(page.sessions);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    created.sort_by_key(|s| (s.starts_at.map(|t| t.seconds), s.session_id.clone()));
    assert_eq!(seen, created);
    let ids: HashSet<_> = seen.iter().map(|s| &s.session_id).collect();
    assert_eq!(ids.len(), 7);
    app.stop().await;
}

#[tokio::test]
async fn tampered_page_tokens_and_negative_sizes_are_invalid() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        app.admin().create_session(filme_x()).await.expect("create");
    }
    let alice = app.user("alice");
    let first = alice.list_sessions(1, "").await.expect("list");
    let mut tampered = first.next_page_token.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(tampered).unwrap(),
        "not-a-token".into(),
        "x".repeat(5000),
    ] {
        let status = alice.list_sessions(1, &bad).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
    let status = alice.list_sessions(-1, "").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size"]);
    app.stop().await;
}

#[tokio::test]
async fn unknown_sessions_are_not_found_and_malformed_ids_invalid() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice");
    let unknown = uuid::Uuid::new_v4().to_string();
    let status = alice.get_session(&unknown).await.unwrap_err();
    assert_not_found(&status, "cinema.v1.Session", &unknown);
    let status = alice.seat_map(&unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    for bad in ["", "42", "not-a-uuid", "'; DROP TABLE sessions; --"] {
        let status = alice.get_session(bad).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["session_id"], "{bad:?}");
    }
    app.stop().await;
}
