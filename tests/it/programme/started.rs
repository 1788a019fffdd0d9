//! A session that has started takes no more bookings, of either kind.

use std::time::Duration;

use chrono::{SubsecRound, TimeDelta, Utc};
use tonic::Code;

use super::SMALL_ROOM;
use crate::support::{
    TestApp,
    pb::{AgeRating, SeatStatus},
    precondition_violations,
    programme::{movie_request, movie_session_request},
    to_chrono, violation,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_books_a_session_once_it_has_started() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let movie = admin
        .create_movie(movie_request("Curta", 1, AgeRating::L))
        .await
        .unwrap();
    let room = admin.create_room("Sala 1", &SMALL_ROOM).await.unwrap();
    // Whole seconds, three to four seconds ahead: still to come when published,
    // even on a busy machine.
    let starts = (Utc::now() + TimeDelta::seconds(4)).trunc_subsecs(0);
    let of_movie = admin
        .create_session(movie_session_request(
            &movie.movie_id,
            &room.room_id,
            starts,
            &[],
        ))
        .await
        .unwrap()
        .session_id;
    // And a session without a movie: the rule is the same.
    let rectangle = app.session_starting_in(TimeDelta::seconds(4)).await;

    let mut started = starts;
    for session in [&of_movie, &rectangle] {
        let read = alice.get_session(session).await.unwrap();
        started = started.max(to_chrono(read.starts_at.as_ref()));
    }
    let wait = (started - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;

    for session in [&of_movie, &rectangle] {
        let started = [violation("SESSION_STARTED", session)];
        let refused = alice.reserve(session, &["A1", "A2"]).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(precondition_violations(&refused), started);
        let refused = alice.reserve_best(session, 2, &[], 0).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(precondition_violations(&refused), started);

        let map = app.seat_map(session).await;
        assert_eq!(
            (
                map.available_count,
                map.held_count,
                map.sold_count,
                map.blocked_count
            ),
            (16, 0, 0, 0)
        );
        assert!(
            map.seats
                .iter()
                .all(|s| s.status() == SeatStatus::Available),
            "{map:?}"
        );
    }
}
