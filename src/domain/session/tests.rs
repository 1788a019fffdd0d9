use proptest::prelude::*;

use super::*;
use crate::arbitrary;
use chrono::Duration;

fn request() -> NewSession {
    NewSession {
        movie_title: "Filme X".into(),
        room: "Sala 1".into(),
        starts_at: Some(Utc::now() + Duration::hours(2)),
        price_cents: 2500,
        currency: String::new(),
        rows: 4,
        seats_per_row: 4,
        room_id: None,
        prices: vec![],
        allow_single_seat_gaps: false,
        movie_id: None,
    }
}

fn context(room: Option<&Room>) -> Context<'_> {
    Context {
        room,
        movie: None,
        turnaround: std::time::Duration::from_secs(15 * 60),
        now: Utc::now(),
    }
}

fn fields(err: Error) -> Vec<String> {
    match err {
        Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn a_good_request_defaults_to_brl() {
    let valid = validate(request(), context(None)).unwrap();
    assert_eq!(valid.currency, "BRL");
    let usd = validate(
        NewSession {
            currency: "usd".into(),
            ..request()
        },
        context(None),
    )
    .unwrap();
    assert_eq!(usd.currency, "USD");
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad = NewSession {
        movie_title: "  ".into(),
        room: String::new(),
        starts_at: None,
        price_cents: 0,
        currency: "R$".into(),
        rows: 27,
        seats_per_row: 0,
        room_id: None,
        prices: vec![],
        allow_single_seat_gaps: false,
        movie_id: None,
    };
    assert_eq!(
        fields(validate(bad, context(None)).unwrap_err()),
        [
            "movie_title",
            "room",
            "starts_at",
            "price_cents",
            "currency",
            "rows",
            "seats_per_row"
        ]
    );
}

#[test]
fn a_room_needs_sixteen_seats_and_a_future_start() {
    let small = NewSession {
        rows: 3,
        seats_per_row: 5,
        ..request()
    };
    assert_eq!(
        fields(validate(small, context(None)).unwrap_err()),
        ["seats_per_row"]
    );
    let past = NewSession {
        starts_at: Some(Utc::now() - Duration::minutes(1)),
        ..request()
    };
    assert_eq!(
        fields(validate(past, context(None)).unwrap_err()),
        ["starts_at"]
    );
    let largest = NewSession {
        rows: 26,
        seats_per_row: 50,
        ..request()
    };
    assert!(validate(largest, context(None)).is_ok());
}

fn room() -> Room {
    Room {
        room_id: Uuid::nil(),
        name: "Sala VIP".into(),
        rows: vec![
            RowLayout {
                label: "A".into(),
                seats: "WC_SSSSSS_CW".into(),
            },
            RowLayout {
                label: "B".into(),
                seats: "PPPP_LRLR".into(),
            },
        ],
        seat_count: 18,
        create_time: Utc::now(),
    }
}

#[test]
fn a_session_in_a_room_takes_its_name_and_layout() {
    let new = NewSession {
        room: String::new(),
        rows: 0,
        seats_per_row: 0,
        room_id: Some(Uuid::nil()),
        prices: vec![
            KindPrice {
                kind: Some(SeatKind::Premium),
                price_cents: 4000,
            },
            KindPrice {
                kind: Some(SeatKind::Couple),
                price_cents: 3000,
            },
        ],
        ..request()
    };
    let valid = validate(new.clone(), context(Some(&room()))).unwrap();
    assert_eq!(valid.room, "Sala VIP");
    assert_eq!((valid.layout.len(), valid.seats_per_row), (2, 0));
    assert_eq!(valid.prices.get(SeatKind::Wheelchair), Some(2500));
    let shaped = NewSession {
        rows: 4,
        seats_per_row: 4,
        room: "Sala 2".into(),
        ..new
    };
    assert_eq!(
        fields(validate(shaped, context(Some(&room()))).unwrap_err()),
        ["room", "rows", "seats_per_row"]
    );
}

proptest! {
    #![proptest_config(arbitrary::config())]

    #[test]
    fn a_new_session_is_valid_or_each_problem_is_named(
        movie_title in arbitrary::text(), room in arbitrary::text(), seconds in any::<i64>(),
        price_cents in any::<i64>(), currency in arbitrary::text(), rows in any::<u32>(),
        seats_per_row in any::<u32>(),
    ) {
        let new = NewSession {
            movie_title, room, starts_at: DateTime::from_timestamp(seconds, 0),
            price_cents, currency, rows, seats_per_row, room_id: None, prices: vec![], allow_single_seat_gaps: false, movie_id: None,
        };
        match validate(new, context(None)) {
            Ok(valid) => {
                prop_assert!((1..=26).contains(&valid.layout.len()) && (1..=50).contains(&valid.seats_per_row));
                prop_assert!(valid.layout.len() as u32 * valid.seats_per_row >= 16);
                prop_assert!(valid.prices.get(SeatKind::Standard).is_some_and(|p| p > 0));
                prop_assert!(valid.currency.len() == 3);
            }
            Err(Error::InvalidArgument(problems)) => {
                const FIELDS: [&str; 7] = ["movie_title", "room", "starts_at", "price_cents", "currency", "rows", "seats_per_row"];
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| FIELDS.contains(&p.field.as_str())));
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }
}

fn movie() -> Movie {
    Movie {
        movie_id: Uuid::nil(),
        title: "Filme X".into(),
        duration: std::time::Duration::from_secs(100 * 60),
        rating: AgeRating::Fourteen,
        synopsis: String::new(),
        create_time: Utc::now(),
    }
}

#[test]
fn a_session_of_a_movie_ends_after_the_movie_and_the_turnaround() {
    let movie = movie();
    let with_movie = Context {
        movie: Some(&movie),
        ..context(None)
    };
    let new = NewSession {
        movie_title: String::new(),
        movie_id: Some(movie.movie_id),
        ..request()
    };
    let valid = validate(new.clone(), with_movie).unwrap();
    let starts_at = new.starts_at.unwrap();
    assert_eq!(valid.movie_title, "Filme X");
    assert_eq!(valid.ends_at, Some(starts_at + Duration::minutes(115)));
    let other_title = NewSession {
        movie_title: "Filme Y".into(),
        ..new
    };
    assert_eq!(
        fields(validate(other_title, with_movie).unwrap_err()),
        ["movie_title"]
    );
    assert_eq!(validate(request(), context(None)).unwrap().ends_at, None);
}

#[test]
fn an_empty_window_of_start_times_is_refused() {
    let now = Utc::now();
    let filter = |after: i64, before: i64| SessionFilter {
        starts_after: Some(now + Duration::minutes(after)),
        starts_before: Some(now + Duration::minutes(before)),
        ..SessionFilter::default()
    };
    assert!(filter(0, 1).checked().is_ok());
    assert!(filter(1, 1).checked().is_err());
    assert_ne!(filter(0, 1).key(), filter(0, 2).key());
}
