//! ListSessions with filters: by movie, by room, in a time window, only
//! with seats left, and any of them together, page by page.

use chrono::{DateTime, TimeDelta, Utc};

use super::{SMALL_ROOM, day_after_tomorrow, ids};
use crate::support::{
    Client, TestApp, invalid_fields, labels,
    pb::{AgeRating, CreateSessionRequest, ListSessionsRequest, Session},
    programme::{movie_request, movie_session_request, timestamp},
    session_request,
};

/// Every session `request` lists, `page_size` at a time, and how many pages
/// that took; every page but the last is full.
async fn every_page(
    client: &Client,
    request: &ListSessionsRequest,
    page_size: i32,
) -> (Vec<Session>, usize) {
    let mut sessions = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_sessions_where(ListSessionsRequest {
                page_size,
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap_or_else(|status| panic!("page {pages} of {request:?}: {status:?}"));
        pages += 1;
        let size = page.sessions.len();
        sessions.extend(page.sessions);
        if page.next_page_token.is_empty() {
            assert!(size <= page_size as usize, "{request:?}");
            return (sessions, pages);
        }
        assert_eq!(
            size, page_size as usize,
            "a page before the last of {request:?}"
        );
        assert!(pages < 50, "the pages of {request:?} never end");
        token = page.next_page_token;
    }
}

/// The token of the second page of `request`, `page_size` at a time.
async fn second_page_token(
    client: &Client,
    request: &ListSessionsRequest,
    page_size: i32,
) -> String {
    let page = client
        .list_sessions_where(ListSessionsRequest {
            page_size,
            ..request.clone()
        })
        .await
        .unwrap();
    assert!(!page.next_page_token.is_empty(), "{request:?} has one page");
    page.next_page_token
}

/// A published session, as the test knows it.
struct Show {
    session: Session,
    movie: &'static str,
    room: &'static str,
    starts: DateTime<Utc>,
}

/// The programme of the test: what it published, and what it expects of
/// each filter.
struct Programme {
    shows: Vec<Show>,
}

impl Programme {
    /// The ids of the shows that `keep` keeps, by start time then id.
    fn expected(&self, keep: impl Fn(&Show) -> bool) -> Vec<String> {
        let mut kept: Vec<&Show> = self.shows.iter().filter(|show| keep(show)).collect();
        kept.sort_by(|a, b| {
            (a.starts, &a.session.session_id).cmp(&(b.starts, &b.session.session_id))
        });
        kept.iter()
            .map(|show| show.session.session_id.clone())
            .collect()
    }

    fn id(&self, movie: &str, room: &str, starts: DateTime<Utc>) -> &str {
        let show = self
            .shows
            .iter()
            .find(|s| (s.movie, s.room, s.starts) == (movie, room, starts))
            .expect("a show of the programme");
        &show.session.session_id
    }
}

/// `request` lists exactly `expected`, in that order, in as many pages of
/// `page_size` as they fill.
async fn assert_lists(
    client: &Client,
    what: &str,
    request: ListSessionsRequest,
    page_size: i32,
    expected: &[String],
) {
    let (listed, pages) = every_page(client, &request, page_size).await;
    let wanted_pages = expected.len().div_ceil(page_size as usize).max(1);
    assert_eq!(
        (ids(&listed), pages),
        (expected.to_vec(), wanted_pages),
        "{what}: {request:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_filtered_by_movie_room_window_and_seats_left_across_pages() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let aquarius = admin
        .create_movie(movie_request("Aquarius", 146, AgeRating::AgeRating18))
        .await
        .unwrap()
        .movie_id;
    let bacurau = admin
        .create_movie(movie_request("Bacurau", 131, AgeRating::AgeRating16))
        .await
        .unwrap()
        .movie_id;
    let sala_1 = admin
        .create_room("Sala 1", &SMALL_ROOM)
        .await
        .unwrap()
        .room_id;
    let sala_2 = admin
        .create_room("Sala 2", &SMALL_ROOM)
        .await
        .unwrap()
        .room_id;
    let movie_id = |name: &str| match name {
        "aquarius" => aquarius.clone(),
        "bacurau" => bacurau.clone(),
        _ => String::new(),
    };
    let room_id = |name: &str| match name {
        "sala 1" => sala_1.clone(),
        "sala 2" => sala_2.clone(),
        _ => String::new(),
    };

    // Both rooms show at the same hours, three hours apart, the movies
    // alternating; a surprise show without a movie in Sala 1 at +6 h, and a
    // preview with neither movie nor room (a rectangle of seats) at +4 h.
    let t = day_after_tomorrow();
    let at = |hours: i64| t + TimeDelta::hours(hours);
    let plan: [(&'static str, &'static str, i64); 10] = [
        ("aquarius", "sala 1", 0),
        ("bacurau", "sala 2", 0),
        ("bacurau", "sala 1", 3),
        ("aquarius", "sala 2", 3),
        ("", "", 4),
        ("aquarius", "sala 1", 6),
        ("", "sala 1", 6),
        ("bacurau", "sala 2", 6),
        ("bacurau", "sala 1", 9),
        ("aquarius", "sala 2", 9),
    ];
    let mut shows = Vec::new();
    // Published out of order, so the ids do not follow the start times.
    for &(movie, room, hours) in plan.iter().rev() {
        let request = match (movie, room) {
            ("", "") => CreateSessionRequest {
                starts_at: Some(timestamp(at(hours))),
                ..session_request("Pré-estreia", 0, 2, 8)
            },
            ("", room) => CreateSessionRequest {
                movie_title: "Sessão Surpresa".into(),
                ..movie_session_request("", &room_id(room), at(hours), &[])
            },
            (movie, room) => {
                movie_session_request(&movie_id(movie), &room_id(room), at(hours), &[])
            }
        };
        let session = admin.create_session(request).await.unwrap();
        shows.push(Show {
            session,
            movie,
            room,
            starts: at(hours),
        });
    }
    let programme = Programme { shows };
    let window = |after: Option<i64>, before: Option<i64>| ListSessionsRequest {
        starts_after: after.map(|h| timestamp(at(h))),
        starts_before: before.map(|h| timestamp(at(h))),
        ..Default::default()
    };

    // Nothing filtered: every session, as published.
    let (everything, pages) = every_page(&alice, &ListSessionsRequest::default(), 3).await;
    let mut published: Vec<Session> = programme.shows.iter().map(|s| s.session.clone()).collect();
    published.sort_by(|a, b| {
        (a.starts_at.map(|t| t.seconds), &a.session_id)
            .cmp(&(b.starts_at.map(|t| t.seconds), &b.session_id))
    });
    assert_eq!((everything, pages), (published, 4));

    let cases = [
        (
            "one movie",
            ListSessionsRequest {
                movie_id: aquarius.clone(),
                ..Default::default()
            },
            3,
            programme.expected(|s| s.movie == "aquarius"),
        ),
        (
            "one room, a movie or not",
            ListSessionsRequest {
                room_id: sala_1.clone(),
                ..Default::default()
            },
            2,
            programme.expected(|s| s.room == "sala 1"),
        ),
        (
            "one movie in one room",
            ListSessionsRequest {
                movie_id: bacurau.clone(),
                room_id: sala_2.clone(),
                ..Default::default()
            },
            1,
            programme.expected(|s| (s.movie, s.room) == ("bacurau", "sala 2")),
        ),
        (
            "one movie from +3 h (included) to +9 h (excluded)",
            ListSessionsRequest {
                movie_id: aquarius.clone(),
                ..window(Some(3), Some(9))
            },
            1,
            vec![
                programme.id("aquarius", "sala 2", at(3)).to_owned(),
                programme.id("aquarius", "sala 1", at(6)).to_owned(),
            ],
        ),
        (
            "what's on tonight: +3 h to +9 h",
            window(Some(3), Some(9)),
            2,
            programme.expected(|s| (at(3)..at(9)).contains(&s.starts)),
        ),
        (
            "from +6 h on",
            window(Some(6), None),
            2,
            programme.expected(|s| s.starts >= at(6)),
        ),
        (
            "before +3 h",
            window(None, Some(3)),
            1,
            programme.expected(|s| s.starts < at(3)),
        ),
        (
            "a window of one second",
            ListSessionsRequest {
                starts_before: Some(timestamp(at(4) + TimeDelta::seconds(1))),
                ..window(Some(4), None)
            },
            1,
            vec![programme.id("", "", at(4)).to_owned()],
        ),
        (
            "a movie nobody shows",
            ListSessionsRequest {
                movie_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            },
            2,
            vec![],
        ),
        (
            "one room, only with seats, before any sale",
            ListSessionsRequest {
                room_id: sala_1.clone(),
                only_with_seats: true,
                ..Default::default()
            },
            2,
            programme.expected(|s| s.room == "sala 1"),
        ),
    ];
    for (what, request, page_size, expected) in cases {
        assert_lists(&alice, what, request, page_size, &expected).await;
    }

    // Sala 1 at +3 h sells out: sold, held and blocked seats all count as
    // taken. Sala 1 at +6 h keeps one seat.
    let full = programme.id("bacurau", "sala 1", at(3)).to_owned();
    app.user("bob").buy(&full, &["A1", "A2", "A3", "A4"]).await;
    app.user("carol")
        .reserve(&full, &["A5", "A6", "A7", "A8"])
        .await
        .unwrap();
    let map = admin
        .block(
            &full,
            &["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8"],
            "obras",
        )
        .await
        .unwrap();
    assert_eq!(
        (
            map.available_count,
            map.held_count,
            map.sold_count,
            map.blocked_count
        ),
        (0, 4, 4, 8)
    );
    let last_seat = programme.id("aquarius", "sala 1", at(6)).to_owned();
    let mut all_but_one = labels("AB", 8);
    all_but_one.pop();
    let all_but_one: Vec<&str> = all_but_one.iter().map(String::as_str).collect();
    admin
        .block(&last_seat, &all_but_one, "obras")
        .await
        .unwrap();
    let listed = alice.get_session(&last_seat).await.unwrap();
    assert_eq!(listed.available_seats, 1);
    assert_eq!(alice.get_session(&full).await.unwrap().available_seats, 0);

    let with_seats = |s: &Show| s.session.session_id != full;
    let cases = [
        (
            "one room, only with seats",
            ListSessionsRequest {
                room_id: sala_1.clone(),
                only_with_seats: true,
                ..Default::default()
            },
            2,
            programme.expected(|s| s.room == "sala 1" && with_seats(s)),
        ),
        (
            "one room, sold out or not",
            ListSessionsRequest {
                room_id: sala_1.clone(),
                ..Default::default()
            },
            2,
            programme.expected(|s| s.room == "sala 1"),
        ),
        (
            "only with seats",
            ListSessionsRequest {
                only_with_seats: true,
                ..Default::default()
            },
            3,
            programme.expected(with_seats),
        ),
        (
            "tonight, only with seats",
            ListSessionsRequest {
                only_with_seats: true,
                ..window(Some(3), Some(9))
            },
            2,
            programme.expected(|s| (at(3)..at(9)).contains(&s.starts) && with_seats(s)),
        ),
        (
            "one movie, only with seats",
            ListSessionsRequest {
                movie_id: bacurau.clone(),
                only_with_seats: true,
                ..Default::default()
            },
            1,
            programme.expected(|s| s.movie == "bacurau" && with_seats(s)),
        ),
    ];
    for (what, request, page_size, expected) in cases {
        assert_lists(&alice, what, request, page_size, &expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_opens_only_its_own_filter_and_bad_filters_are_named() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let movie = admin
        .create_movie(movie_request("Aquarius", 146, AgeRating::AgeRating18))
        .await
        .unwrap()
        .movie_id;
    let other_movie = admin
        .create_movie(movie_request("Bacurau", 131, AgeRating::AgeRating16))
        .await
        .unwrap()
        .movie_id;
    let room = admin
        .create_room("Sala 1", &SMALL_ROOM)
        .await
        .unwrap()
        .room_id;
    let t = day_after_tomorrow();
    for hours in [0, 3, 6] {
        admin
            .create_session(movie_session_request(
                &movie,
                &room,
                t + TimeDelta::hours(hours),
                &[],
            ))
            .await
            .unwrap();
    }
    let of_movie = ListSessionsRequest {
        movie_id: movie.clone(),
        ..Default::default()
    };
    let of_room = ListSessionsRequest {
        room_id: room.clone(),
        ..Default::default()
    };
    let tonight = ListSessionsRequest {
        starts_after: Some(timestamp(t)),
        starts_before: Some(timestamp(t + TimeDelta::hours(7))),
        ..Default::default()
    };
    let token = second_page_token(&alice, &of_movie, 1).await;
    // Its own filter takes it.
    let second = alice
        .list_sessions_where(ListSessionsRequest {
            page_size: 1,
            page_token: token.clone(),
            ..of_movie.clone()
        })
        .await
        .unwrap();
    assert_eq!(second.sessions.len(), 1);

    let others = [
        ("another filter", of_room.clone()),
        (
            "another movie",
            ListSessionsRequest {
                movie_id: other_movie.clone(),
                ..Default::default()
            },
        ),
        ("no filter", ListSessionsRequest::default()),
        (
            "the same movie, only with seats",
            ListSessionsRequest {
                only_with_seats: true,
                ..of_movie.clone()
            },
        ),
        (
            "the same movie in its room",
            ListSessionsRequest {
                room_id: room.clone(),
                ..of_movie.clone()
            },
        ),
        (
            "the same movie tonight",
            ListSessionsRequest {
                movie_id: movie.clone(),
                ..tonight.clone()
            },
        ),
    ];
    for (what, request) in others {
        let refused = alice
            .list_sessions_where(ListSessionsRequest {
                page_size: 1,
                page_token: token.clone(),
                ..request
            })
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(&refused), ["page_token"], "{what}");
    }
    // Nor the other way round: a window's token with another window.
    let token = second_page_token(&alice, &tonight, 1).await;
    let refused = alice
        .list_sessions_where(ListSessionsRequest {
            page_size: 1,
            page_token: token,
            starts_before: Some(timestamp(t + TimeDelta::hours(8))),
            ..tonight.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&refused), ["page_token"]);

    let bad = [
        (
            ListSessionsRequest {
                movie_id: "aquarius".into(),
                ..Default::default()
            },
            vec!["movie_id"],
        ),
        (
            ListSessionsRequest {
                room_id: "sala-1".into(),
                ..Default::default()
            },
            vec!["room_id"],
        ),
        (
            ListSessionsRequest {
                movie_id: format!("{movie}x"),
                room_id: room[1..].to_owned(),
                ..Default::default()
            },
            vec!["movie_id", "room_id"],
        ),
        (
            ListSessionsRequest {
                starts_after: Some(timestamp(t)),
                starts_before: Some(timestamp(t)),
                ..Default::default()
            },
            vec!["starts_before"],
        ),
        (
            ListSessionsRequest {
                starts_after: Some(timestamp(t + TimeDelta::seconds(1))),
                starts_before: Some(timestamp(t)),
                ..of_movie.clone()
            },
            vec!["starts_before"],
        ),
    ];
    for (request, fields) in bad {
        let refused = alice
            .list_sessions_where(request.clone())
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(&refused), fields, "{request:?}");
    }
}
