//! Hostile movies, session filters and cancellations through the server:
//! nothing may panic, every answer carries a code of the contract, and a
//! session is cancelled only by a well-formed request naming it.

use proptest::prelude::*;
use tonic::Code;

use super::{
    CONTRACT_CODES, check_cases, code_of,
    strategies::{cases, id_text, text},
};
use crate::support::{
    TestApp,
    pb::{CreateMovieRequest, ListSessionsRequest, SessionState},
};

/// A wire timestamp that may be far out of range, or have bad nanos.
fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    prop_oneof![
        Just(None),
        (any::<i64>(), any::<i32>())
            .prop_map(|(seconds, nanos)| Some(prost_types::Timestamp { seconds, nanos })),
        (0i64..4_000_000_000)
            .prop_map(|seconds| Some(prost_types::Timestamp { seconds, nanos: 0 })),
    ]
}

#[test]
fn arbitrary_movies_filters_and_cancellations_get_only_contract_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let session = runtime.block_on(app.create_session(2, 8)).session_id;
    let (admin, user) = (app.admin(), app.user("fuzzer"));
    let strategy = (
        (text(), any::<i64>(), any::<i32>(), any::<i32>(), text()),
        (
            prop_oneof![id_text(), Just(session.clone())],
            id_text(),
            timestamp(),
            timestamp(),
            any::<bool>(),
            any::<i32>(),
            text(),
        ),
        text(),
    );
    check_cases(strategy, (cases() / 10).max(1), |case| {
        let ((title, seconds, nanos, rating, synopsis), filters, reason) = case;
        let (some_id, other_id, after, before, only_with_seats, page_size, token) = filters;
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let mut answers = Vec::new();
            let created = admin
                .create_movie(CreateMovieRequest {
                    title: title.clone(),
                    duration: Some(prost_types::Duration { seconds, nanos }),
                    rating,
                    synopsis: synopsis.clone(),
                })
                .await;
            answers.push(("CreateMovie", code_of(&created), format!("{created:?}")));
            let read = user.get_movie(&other_id).await;
            answers.push(("GetMovie", code_of(&read), format!("{read:?}")));
            let listed = user.list_movies(page_size, &token).await;
            answers.push(("ListMovies", code_of(&listed), format!("{listed:?}")));
            let filtered = user
                .list_sessions_where(ListSessionsRequest {
                    page_size,
                    page_token: token.clone(),
                    movie_id: other_id.clone(),
                    room_id: some_id.clone(),
                    starts_after: after,
                    starts_before: before,
                    only_with_seats,
                })
                .await;
            answers.push(("ListSessions", code_of(&filtered), format!("{filtered:?}")));
            // A user may never cancel; an admin's arbitrary request names
            // the session only by chance, and then needs a good reason.
            let refused = user.cancel_session(&session, &reason, &other_id).await;
            let denied = refused.as_ref().err().map(tonic::Status::code);
            answers.push((
                "CancelSession by a user is PERMISSION_DENIED",
                if denied == Some(Code::PermissionDenied) {
                    Code::Ok
                } else {
                    Code::Internal
                },
                format!("{refused:?}"),
            ));
            let cancelled = admin.cancel_session(&some_id, &reason, &other_id).await;
            answers.push((
                "CancelSession",
                code_of(&cancelled),
                format!("{cancelled:?}"),
            ));
            answers
        });
        for (what, code, answer) in answers {
            prop_assert!(CONTRACT_CODES.contains(&code), "{what}: {answer}");
        }
        Ok(())
    });
    let after = runtime.block_on(user.get_session(&session)).unwrap();
    // Only a blank-free reason of 1 to 200 characters could have cancelled it.
    if after.state() == SessionState::Cancelled {
        assert!(
            !after.cancel_reason.trim().is_empty() && after.cancel_reason.chars().count() <= 200
        );
    }
    runtime.block_on(app.stop());
}
