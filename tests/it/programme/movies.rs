//! MovieService: adding, reading and listing movies.

use chrono::{TimeDelta, Utc};
use tonic::Code;

use crate::support::{
    TestApp, assert_not_found, invalid_fields,
    pb::{AgeRating, CreateMovieRequest, Movie},
    programme::movie_request,
    to_chrono,
};

/// A wire duration of `seconds` and `nanos`.
fn duration(seconds: i64, nanos: i32) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos })
}

/// "Aquarius", 2 h 26 min, rated 18: a movie with nothing wrong with it.
fn aquarius() -> CreateMovieRequest {
    movie_request("Aquarius", 146, AgeRating::AgeRating18)
}

/// The request's fields as a movie shows them.
fn as_given(request: &CreateMovieRequest) -> (String, Option<prost_types::Duration>, i32, String) {
    (
        request.title.clone(),
        request.duration,
        request.rating,
        request.synopsis.clone(),
    )
}

fn shown(movie: &Movie) -> (String, Option<prost_types::Duration>, i32, String) {
    (
        movie.title.clone(),
        movie.duration,
        movie.rating,
        movie.synopsis.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_movie_and_anyone_reads_it_exactly_as_given() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let request = CreateMovieRequest {
        // Verbatim: accents, punctuation and the spaces around it.
        title: " Central do Brasil (versão restaurada) ".into(),
        // 1 h 50 min 37 s: whole seconds, not whole minutes.
        duration: duration(6_637, 0),
        rating: AgeRating::AgeRating12.into(),
        synopsis: "Dora escreve cartas para quem não sabe escrever.\nJosué procura o pai.".into(),
    };

    let before = Utc::now();
    let movie = admin.create_movie(request.clone()).await.unwrap();
    let after = Utc::now();
    assert_eq!(shown(&movie), as_given(&request));
    assert!(uuid::Uuid::try_parse(&movie.movie_id).is_ok(), "{movie:?}");
    // The database keeps microseconds.
    let created = to_chrono(movie.create_time.as_ref());
    assert!(
        before - TimeDelta::milliseconds(1) <= created && created <= after,
        "created at {created}, asked between {before} and {after}"
    );
    assert_eq!(alice.get_movie(&movie.movie_id).await.unwrap(), movie);

    let denied = alice.create_movie(aquarius()).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let listed = alice.list_movies(0, "").await.unwrap();
    assert_eq!(
        (listed.movies, listed.next_page_token.as_str()),
        (vec![movie], "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_of_a_movie_is_named_at_once_and_nothing_is_added() {
    let app = TestApp::spawn().await;
    let admin = app.admin();

    let everything_short = CreateMovieRequest {
        title: " \t ".into(),
        duration: duration(59, 0),
        rating: AgeRating::Unspecified.into(),
        synopsis: "s".repeat(2_001),
    };
    let refused = admin.create_movie(everything_short).await.unwrap_err();
    assert_eq!(
        invalid_fields(&refused),
        ["duration", "rating", "synopsis", "title"]
    );
    let everything_long = CreateMovieRequest {
        title: "t".repeat(201),
        // Six hours and one second.
        duration: duration(21_601, 0),
        rating: 99,
        synopsis: "é".repeat(2_001),
    };
    let refused = admin.create_movie(everything_long).await.unwrap_err();
    assert_eq!(
        invalid_fields(&refused),
        ["duration", "rating", "synopsis", "title"]
    );

    let cases = [
        (
            "an empty title",
            CreateMovieRequest {
                title: String::new(),
                ..aquarius()
            },
            "title",
        ),
        (
            "201 characters of title",
            CreateMovieRequest {
                title: "á".repeat(201),
                ..aquarius()
            },
            "title",
        ),
        (
            "59 seconds",
            CreateMovieRequest {
                duration: duration(59, 0),
                ..aquarius()
            },
            "duration",
        ),
        (
            "six hours and one second",
            CreateMovieRequest {
                duration: duration(21_601, 0),
                ..aquarius()
            },
            "duration",
        ),
        (
            "a fraction of a second",
            CreateMovieRequest {
                duration: duration(5_400, 500_000_000),
                ..aquarius()
            },
            "duration",
        ),
        (
            "a nanosecond",
            CreateMovieRequest {
                duration: duration(5_400, 1),
                ..aquarius()
            },
            "duration",
        ),
        (
            // Not a google.protobuf.Duration at all (nanos must stay under a
            // second), however it might add up.
            "a whole second in nanos",
            CreateMovieRequest {
                duration: duration(5_399, 1_000_000_000),
                ..aquarius()
            },
            "duration",
        ),
        (
            "a negative duration",
            CreateMovieRequest {
                duration: duration(-5_400, 0),
                ..aquarius()
            },
            "duration",
        ),
        (
            "no duration",
            CreateMovieRequest {
                duration: None,
                ..aquarius()
            },
            "duration",
        ),
        (
            "no rating",
            CreateMovieRequest {
                rating: AgeRating::Unspecified.into(),
                ..aquarius()
            },
            "rating",
        ),
        (
            "an unknown rating",
            CreateMovieRequest {
                rating: 7,
                ..aquarius()
            },
            "rating",
        ),
        (
            "2001 characters of synopsis",
            CreateMovieRequest {
                synopsis: "s".repeat(2_001),
                ..aquarius()
            },
            "synopsis",
        ),
    ];
    for (what, request, field) in cases {
        let refused = admin.create_movie(request).await.unwrap_err();
        assert_eq!(invalid_fields(&refused), [field], "{what}: {refused:?}");
    }

    let listed = admin.list_movies(0, "").await.unwrap();
    assert_eq!(listed.movies, []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shortest_and_longest_movies_and_every_rating_are_accepted() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let cases = [
        // 200 characters of 2 bytes each: characters count, not bytes.
        ("é".repeat(200), 60, AgeRating::L, "s".repeat(2_000)),
        (
            "t".repeat(200),
            21_600,
            AgeRating::AgeRating10,
            String::new(),
        ),
        (
            "Shoah".into(),
            21_600,
            AgeRating::AgeRating12,
            String::new(),
        ),
        (
            "Ilha das Flores".into(),
            780,
            AgeRating::AgeRating14,
            "ç".repeat(2_000),
        ),
        (
            "Tropa de Elite".into(),
            6_900,
            AgeRating::AgeRating16,
            String::new(),
        ),
        ("x".into(), 61, AgeRating::AgeRating18, String::new()),
    ];
    for (title, seconds, rating, synopsis) in cases {
        let request = CreateMovieRequest {
            title,
            duration: duration(seconds, 0),
            rating: rating.into(),
            synopsis,
        };
        let movie = admin.create_movie(request.clone()).await.unwrap();
        assert_eq!(shown(&movie), as_given(&request), "{seconds} s, {rating:?}");
        assert_eq!(movie.rating(), rating);
        assert_eq!(admin.get_movie(&movie.movie_id).await.unwrap(), movie);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_movie_is_found_by_its_id_and_nothing_else() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice");
    app.admin().create_movie(aquarius()).await.unwrap();

    let unknown = uuid::Uuid::new_v4().to_string();
    assert_not_found(
        &alice.get_movie(&unknown).await.unwrap_err(),
        "cinema.v1.Movie",
        &unknown,
    );
    for malformed in ["aquarius", "", "123e4567-e89b-12d3-a456-42661417400"] {
        let refused = alice.get_movie(malformed).await.unwrap_err();
        assert_eq!(invalid_fields(&refused), ["movie_id"], "{malformed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn movies_are_listed_by_title_then_id_each_once_across_pages() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    // Out of order, two titles twice: the id decides between them.
    let titles = [
        "Bacurau",
        "Aquarius",
        "Zama",
        "Bacurau",
        "Marighella",
        "O Som ao Redor",
        "Aquarius",
        "Cidade de Deus",
    ];
    let mut created = Vec::new();
    for title in titles {
        let movie = admin
            .create_movie(movie_request(title, 100, AgeRating::AgeRating14))
            .await
            .unwrap();
        created.push(movie);
    }
    created.sort_by(|a, b| (&a.title, &a.movie_id).cmp(&(&b.title, &b.movie_id)));

    let mut listed = Vec::new();
    let mut sizes = Vec::new();
    let mut token = String::new();
    let mut first_token = None;
    loop {
        let page = alice.list_movies(3, &token).await.unwrap();
        sizes.push(page.movies.len());
        listed.extend(page.movies);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(sizes.len() < 10, "the pages never end");
        first_token.get_or_insert_with(|| page.next_page_token.clone());
        token = page.next_page_token;
    }
    assert_eq!(sizes, [3, 3, 2]);
    assert_eq!(listed, created);
    let everything = alice.list_movies(0, "").await.unwrap();
    assert_eq!(
        (everything.movies, everything.next_page_token.as_str()),
        (created, "")
    );

    // A token edited anywhere, or made by another listing, opens nothing.
    let token = first_token.expect("a second page");
    let mut edited = token.clone().into_bytes();
    edited[2] = if edited[2] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    let sessions_token = {
        for hours in [24, 25] {
            admin
                .create_session(crate::support::session_request("Filme X", hours, 2, 8))
                .await
                .unwrap();
        }
        alice.list_sessions(1, "").await.unwrap().next_page_token
    };
    for bad in [
        edited,
        token[..token.len() - 1].to_owned(),
        format!("{token}A"),
        "not a token".to_owned(),
        sessions_token,
    ] {
        let refused = alice.list_movies(3, &bad).await.unwrap_err();
        assert_eq!(invalid_fields(&refused), ["page_token"], "{bad:?}");
    }
    let refused = alice.list_sessions(3, &token).await.unwrap_err();
    assert_eq!(invalid_fields(&refused), ["page_token"]);
    let refused = alice.list_movies(-1, "").await.unwrap_err();
    assert_eq!(invalid_fields(&refused), ["page_size"]);
}
