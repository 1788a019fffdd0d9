//! SessionService, health, reflection and tokens, through the generated client.

mod common;

use std::collections::HashSet;

use chrono::Utc;
use cinema::proto::v1::{
    CreateSessionRequest, GetSeatMapRequest, GetSessionRequest, ListSessionsRequest, SeatStatus,
};
use common::{TestApp, authed, violated_fields};
use prost_types::Timestamp;
use tonic::Code;
use tonic_types::StatusExt;

fn in_hours(hours: i64) -> Option<Timestamp> {
    let at = Utc::now() + chrono::Duration::hours(hours);
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

fn filme_x() -> CreateSessionRequest {
    CreateSessionRequest {
        movie_title: "Filme X".into(),
        room: "Sala 1".into(),
        starts_at: in_hours(24),
        price_cents: 2500,
        currency: String::new(),
        rows: 2,
        seats_per_row: 8,
    }
}

#[tokio::test]
async fn an_admin_creates_a_session_and_everyone_reads_it() {
    let app = TestApp::spawn().await;
    let request = filme_x();
    let created = app
        .sessions()
        .create_session(authed(request.clone(), &app.admin_token()))
        .await
        .expect("create")
        .into_inner();
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
        .sessions()
        .get_session(authed(
            GetSessionRequest {
                session_id: created.session_id.clone(),
            },
            &app.token("alice"),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read, created);
    app.stop().await;
}

#[tokio::test]
async fn a_new_seat_map_has_every_seat_available_in_order() {
    let app = TestApp::spawn().await;
    let session = app
        .sessions()
        .create_session(authed(
            CreateSessionRequest {
                rows: 3,
                seats_per_row: 12,
                ..filme_x()
            },
            &app.admin_token(),
        ))
        .await
        .expect("create")
        .into_inner();
    let map = app
        .sessions()
        .get_seat_map(authed(
            GetSeatMapRequest {
                session_id: session.session_id.clone(),
            },
            &app.token("bob"),
        ))
        .await
        .expect("seat map")
        .into_inner();
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
    let session = app
        .sessions()
        .create_session(authed(largest, &app.admin_token()))
        .await
        .expect("create");
    assert_eq!(session.get_ref().total_seats, 1300);
    let too_many = CreateSessionRequest {
        rows: 27,
        seats_per_row: 50,
        ..filme_x()
    };
    let status = app
        .sessions()
        .create_session(authed(too_many, &app.admin_token()))
        .await
        .unwrap_err();
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
            .sessions()
            .create_session(authed(request.clone(), &app.admin_token()))
            .await
            .expect_err("an invalid request was accepted");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    let listed = app
        .sessions()
        .list_sessions(authed(ListSessionsRequest::default(), &app.token("alice")))
        .await
        .expect("list")
        .into_inner();
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
    let created = app
        .sessions()
        .create_session(authed(request, &app.admin_token()))
        .await
        .expect("create");
    let read = app
        .sessions()
        .get_session(authed(
            GetSessionRequest {
                session_id: created.get_ref().session_id.clone(),
            },
            &app.token("a"),
        ))
        .await
        .expect("get")
        .into_inner();
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
        let session = app
            .sessions()
            .create_session(authed(request, &app.admin_token()))
            .await
            .expect("create");
        created.push(session.into_inner());
    }
    let token = app.token("alice");
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .sessions()
            .list_sessions(authed(
                ListSessionsRequest {
                    page_size: 3,
                    page_token,
                },
                &token,
            ))
            .await
            .expect("list")
            .into_inner();
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
        app.sessions()
            .create_session(authed(filme_x(), &app.admin_token()))
            .await
            .expect("create");
    }
    let token = app.token("alice");
    let first = app
        .sessions()
        .list_sessions(authed(
            ListSessionsRequest {
                page_size: 1,
                page_token: String::new(),
            },
            &token,
        ))
        .await
        .expect("list")
        .into_inner();
    let mut tampered = first.next_page_token.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(tampered).unwrap(),
        "not-a-token".into(),
        "x".repeat(5000),
    ] {
        let status = app
            .sessions()
            .list_sessions(authed(
                ListSessionsRequest {
                    page_size: 1,
                    page_token: bad,
                },
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
    let status = app
        .sessions()
        .list_sessions(authed(
            ListSessionsRequest {
                page_size: -1,
                page_token: String::new(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size"]);
    app.stop().await;
}

#[tokio::test]
async fn unknown_sessions_are_not_found_and_malformed_ids_invalid() {
    let app = TestApp::spawn().await;
    let token = app.token("alice");
    let unknown = uuid::Uuid::new_v4().to_string();
    let status = app
        .sessions()
        .get_session(authed(
            GetSessionRequest {
                session_id: unknown.clone(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let info = status
        .get_details_resource_info()
        .expect("ResourceInfo details");
    assert_eq!(
        (info.resource_type.as_str(), info.resource_name.as_str()),
        ("cinema.v1.Session", unknown.as_str())
    );
    let status = app
        .sessions()
        .get_seat_map(authed(
            GetSeatMapRequest {
                session_id: unknown,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    for bad in ["", "42", "not-a-uuid", "'; DROP TABLE sessions; --"] {
        let status = app
            .sessions()
            .get_session(authed(
                GetSessionRequest {
                    session_id: bad.into(),
                },
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["session_id"], "{bad:?}");
    }
    app.stop().await;
}
