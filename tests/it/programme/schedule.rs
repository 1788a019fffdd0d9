//! Sessions of a movie: what they take from the movie, when they free their
//! room, and one show at a time in a room, exact under a race.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::{sync::Barrier, task::JoinSet};
use tonic::Code;

use super::{SMALL_ROOM, day_after_tomorrow, ids, minutes};
use crate::support::{
    Authenticator, Client, TestApp, assert_not_found, invalid_fields,
    pb::{
        AgeRating, CreateMovieRequest, CreateSessionRequest, ListSessionsRequest, Session,
        SessionState,
    },
    precondition_violations,
    process::ServerProcess,
    programme::{movie_request, movie_session_request, timestamp},
    session_request, violation,
};

/// The sessions of a room, by start time, as anyone lists them.
async fn sessions_in(client: &Client, room_id: &str) -> Vec<String> {
    let page = client
        .list_sessions_where(ListSessionsRequest {
            room_id: room_id.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.next_page_token, "");
    ids(&page.sessions)
}

/// A session of `movie_id` in `room_id` at `starts_at`, every seat R$ 25,00.
fn show(movie_id: &str, room_id: &str, starts_at: DateTime<Utc>) -> CreateSessionRequest {
    movie_session_request(movie_id, room_id, starts_at, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_a_movie_shows_its_title_and_rating_and_ends_after_the_turnaround() {
    // An odd turnaround, so only the setting can explain the end.
    let turnaround = Duration::from_secs(7 * 60 + 30);
    let app = TestApp::spawn_with(|settings| settings.schedule.turnaround = turnaround).await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let movie = admin
        .create_movie(CreateMovieRequest {
            title: "Bacurau".into(),
            // 2 h 11 min 17 s.
            duration: Some(prost_types::Duration {
                seconds: 7_877,
                nanos: 0,
            }),
            rating: AgeRating::AgeRating16.into(),
            synopsis: String::new(),
        })
        .await
        .unwrap();
    let room = admin.create_room("Sala 3", &SMALL_ROOM).await.unwrap();
    let starts = day_after_tomorrow();

    let session = admin
        .create_session(show(&movie.movie_id, &room.room_id, starts))
        .await
        .unwrap();
    let ends = starts + TimeDelta::seconds(7_877) + TimeDelta::seconds(450);
    let expected = Session {
        movie_title: "Bacurau".into(),
        movie_id: movie.movie_id.clone(),
        room_id: room.room_id.clone(),
        room: "Sala 3".into(),
        rating: AgeRating::AgeRating16.into(),
        state: SessionState::Scheduled.into(),
        cancel_reason: String::new(),
        starts_at: Some(timestamp(starts)),
        ends_at: Some(timestamp(ends)),
        ..session.clone()
    };
    assert_eq!(session, expected);
    assert_eq!(
        (
            session.total_seats,
            session.available_seats,
            session.price_cents
        ),
        (16, 16, 2500)
    );
    assert_eq!(
        alice.get_session(&session.session_id).await.unwrap(),
        session
    );

    // The movie's own title may be given too; any other is refused.
    let later = starts + TimeDelta::hours(4);
    let named = admin
        .create_session(CreateSessionRequest {
            movie_title: "Bacurau".into(),
            ..show(&movie.movie_id, &room.room_id, later)
        })
        .await
        .unwrap();
    assert_eq!(
        (named.movie_title.as_str(), named.ends_at),
        (
            "Bacurau",
            Some(timestamp(later + TimeDelta::seconds(7_877 + 450)))
        )
    );
    for title in ["Bacurau (dublado)", "bacurau", " Bacurau"] {
        let refused = admin
            .create_session(CreateSessionRequest {
                movie_title: title.into(),
                ..show(&movie.movie_id, &room.room_id, starts + TimeDelta::hours(8))
            })
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(&refused), ["movie_title"], "{title:?}");
    }

    let unknown = uuid::Uuid::new_v4().to_string();
    let refused = admin
        .create_session(show(&unknown, &room.room_id, starts + TimeDelta::hours(8)))
        .await
        .unwrap_err();
    assert_not_found(&refused, "cinema.v1.Movie", &unknown);
    let refused = admin
        .create_session(show("bacurau", &room.room_id, starts + TimeDelta::hours(8)))
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&refused), ["movie_id"]);
    let refused = alice
        .create_session(show(
            &movie.movie_id,
            &room.room_id,
            starts + TimeDelta::hours(8),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    assert_eq!(
        sessions_in(&alice, &room.room_id).await,
        [session.session_id, named.session_id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_without_a_movie_keep_working_and_take_no_time_in_a_room() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let rectangle = admin
        .create_session(session_request("Sessão Surpresa", 24, 2, 8))
        .await
        .unwrap();
    let room = admin.create_room("Sala 1", &SMALL_ROOM).await.unwrap();
    let starts = day_after_tomorrow();
    let untimed = CreateSessionRequest {
        movie_title: "Maratona".into(),
        ..show("", &room.room_id, starts)
    };
    let first = admin.create_session(untimed.clone()).await.unwrap();
    // The same room at the same time again: neither takes the room.
    let second = admin.create_session(untimed).await.unwrap();
    for session in [&rectangle, &first, &second] {
        assert_eq!(
            (
                session.movie_id.as_str(),
                session.ends_at,
                session.rating(),
                session.state(),
                session.cancel_reason.as_str()
            ),
            (
                "",
                None,
                AgeRating::Unspecified,
                SessionState::Scheduled,
                ""
            ),
            "{session:?}"
        );
        assert_eq!(
            alice.get_session(&session.session_id).await.unwrap(),
            *session
        );
    }
    assert_eq!(
        (rectangle.movie_title.as_str(), rectangle.room_id.as_str()),
        ("Sessão Surpresa", "")
    );
    assert_eq!(
        (first.movie_title.as_str(), first.room.as_str()),
        ("Maratona", "Sala 1")
    );

    // A movie still gets the room at that very time.
    let movie = admin
        .create_movie(movie_request("Aquarius", 146, AgeRating::AgeRating18))
        .await
        .unwrap();
    let timed = admin
        .create_session(show(&movie.movie_id, &room.room_id, starts))
        .await
        .unwrap();
    assert_eq!(timed.ends_at, Some(timestamp(starts + minutes(146 + 15))));
    let mut expected = ids(&[first, second, timed]);
    expected.sort();
    assert_eq!(sessions_in(&alice, &room.room_id).await, expected);
    // Without a movie the title is still required.
    let refused = admin
        .create_session(show("", &room.room_id, starts))
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(&refused), ["movie_title"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_shows_one_movie_at_a_time_and_back_to_back_shows_fit() {
    // The default turnaround: 15 minutes.
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let room = admin.create_room("Sala 1", &SMALL_ROOM).await.unwrap();
    let other_room = admin.create_room("Sala 2", &SMALL_ROOM).await.unwrap();
    // 90 minutes: each show takes its room for 1 h 45 min.
    let movie = admin
        .create_movie(movie_request("Aquarius", 90, AgeRating::AgeRating18))
        .await
        .unwrap()
        .movie_id;
    let short = admin
        .create_movie(movie_request("Curta", 1, AgeRating::L))
        .await
        .unwrap()
        .movie_id;
    let long = admin
        .create_movie(movie_request("Shoah", 360, AgeRating::AgeRating14))
        .await
        .unwrap()
        .movie_id;
    let t = day_after_tomorrow();

    let first = admin
        .create_session(show(&movie, &room.room_id, t))
        .await
        .unwrap();
    assert_eq!(first.ends_at, Some(timestamp(t + minutes(105))));
    let busy = [violation("ROOM_BUSY", &first.session_id)];
    let clashes = [
        ("starting a minute before it ends", &movie, t + minutes(104)),
        ("ending a minute after it starts", &movie, t - minutes(104)),
        ("at the same time", &movie, t),
        ("inside it", &short, t + minutes(30)),
        ("around it", &long, t - minutes(30)),
    ];
    for (what, movie_id, starts) in clashes {
        let refused = admin
            .create_session(show(movie_id, &room.room_id, starts))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::FailedPrecondition,
            "{what}: {refused:?}"
        );
        assert_eq!(precondition_violations(&refused), busy, "{what}");
    }

    // Half-open: a show may start exactly when the previous one ends...
    let after = admin
        .create_session(show(&movie, &room.room_id, t + minutes(105)))
        .await
        .unwrap();
    // ...and end exactly when the next one starts.
    let before = admin
        .create_session(show(&movie, &room.room_id, t - minutes(105)))
        .await
        .unwrap();
    assert_eq!(before.ends_at, first.starts_at);
    // Another room is free at the same time.
    let elsewhere = admin
        .create_session(show(&movie, &other_room.room_id, t + minutes(104)))
        .await
        .unwrap();

    // A minute into `after` names it, not `first`.
    let refused = admin
        .create_session(show(&short, &room.room_id, t + minutes(209)))
        .await
        .unwrap_err();
    assert_eq!(
        precondition_violations(&refused),
        [violation("ROOM_BUSY", &after.session_id)]
    );

    assert_eq!(
        sessions_in(&alice, &room.room_id).await,
        ids(&[before, first, after])
    );
    assert_eq!(
        sessions_in(&alice, &other_room.room_id).await,
        ids(&[elsewhere])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_admins_on_two_instances_race_for_one_slot_and_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let admin = app.admin();
    let movie = admin
        .create_movie(movie_request("Aquarius", 146, AgeRating::AgeRating18))
        .await
        .unwrap();
    let room = admin.create_room("Sala 1", &SMALL_ROOM).await.unwrap();
    let starts = day_after_tomorrow();

    let auth = Authenticator::new(&app.settings.jwt.secret);
    let instances = [&app.channel, &other.channel];
    let callers = 20;
    let barrier = Arc::new(Barrier::new(callers));
    let mut calls = JoinSet::new();
    for i in 0..callers {
        let token = auth
            .mint(&format!("admin-{i}"), true, Duration::from_secs(600))
            .unwrap();
        let caller = Client::new(instances[i % 2], token);
        let request = show(&movie.movie_id, &room.room_id, starts);
        let barrier = Arc::clone(&barrier);
        calls.spawn(async move {
            barrier.wait().await;
            caller.create_session(request).await
        });
    }
    let outcomes = tokio::time::timeout(Duration::from_secs(60), calls.join_all())
        .await
        .expect("every admin is answered within 60 s");

    let (won, refused): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    assert_eq!(won.len(), 1, "won: {won:?}, refused: {refused:?}");
    let winner = won.into_iter().next().unwrap().unwrap();
    assert_eq!(refused.len(), callers - 1);
    for refusal in refused {
        let refusal = refusal.unwrap_err();
        assert_eq!(refusal.code(), Code::FailedPrecondition, "{refusal:?}");
        assert_eq!(
            precondition_violations(&refusal),
            [violation("ROOM_BUSY", &winner.session_id)],
            "{refusal:?}"
        );
    }
    let alice = app.user("alice");
    for reader in [alice.clone(), alice.on(&other.channel)] {
        assert_eq!(
            sessions_in(&reader, &room.room_id).await,
            ids(std::slice::from_ref(&winner))
        );
    }
    drop(other);
    app.stop().await;
}
