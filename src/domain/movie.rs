//! Movies: what a session shows, with its running time and age rating, and
//! the rules a new one must meet.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Error, FieldViolation, Result,
    text::{fits, is_name},
};

const MAX_TITLE_CHARS: usize = 200;
const MAX_SYNOPSIS_CHARS: usize = 2_000;
const SHORTEST: Duration = Duration::from_secs(60);
const LONGEST: Duration = Duration::from_secs(6 * 60 * 60);

/// Brazil's classificação indicativa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeRating {
    /// Livre: for all ages.
    L,
    Ten,
    Twelve,
    Fourteen,
    Sixteen,
    Eighteen,
}

/// A request to add a movie, as the client sent it.
#[derive(Debug, Clone)]
pub struct NewMovie {
    pub title: String,
    /// `None` when the client sent none, or one with a fraction of a second
    /// or a negative one.
    pub duration: Option<Duration>,
    /// `None` when the client sent none or an unknown one.
    pub rating: Option<AgeRating>,
    pub synopsis: String,
}

/// A movie that meets every rule.
#[derive(Debug, Clone)]
pub struct ValidMovie {
    pub title: String,
    pub duration: Duration,
    pub rating: AgeRating,
    pub synopsis: String,
}

/// A movie of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub movie_id: Uuid,
    pub title: String,
    pub duration: Duration,
    pub rating: AgeRating,
    pub synopsis: String,
    pub create_time: DateTime<Utc>,
}

/// Where a page of movies starts: after this (title, movie_id).
pub type MovieCursor = (String, Uuid);

/// Checks a new movie against every rule, reporting every problem at once.
pub fn validate(new: NewMovie) -> Result<ValidMovie> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, field: &str, description: &str| {
        if !ok {
            problems.push(FieldViolation::new(field, description));
        }
    };
    check(
        is_name(&new.title, MAX_TITLE_CHARS),
        "title",
        "must be 1 to 200 characters, not blank, with no NUL character",
    );
    check(
        new.duration
            .is_some_and(|d| (SHORTEST..=LONGEST).contains(&d) && d.subsec_nanos() == 0),
        "duration",
        "must be from 1 minute to 6 hours, in whole seconds",
    );
    check(
        new.rating.is_some(),
        "rating",
        "must be an age rating, such as AGE_RATING_L or AGE_RATING_12",
    );
    check(
        fits(&new.synopsis, MAX_SYNOPSIS_CHARS),
        "synopsis",
        "must be at most 2000 characters, with no NUL character",
    );
    match (problems.is_empty(), new.duration, new.rating) {
        (true, Some(duration), Some(rating)) => Ok(ValidMovie {
            title: new.title,
            duration,
            rating,
            synopsis: new.synopsis,
        }),
        _ => Err(Error::InvalidArgument(problems)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    fn request() -> NewMovie {
        NewMovie {
            title: "Filme X".into(),
            duration: Some(Duration::from_secs(100 * 60)),
            rating: Some(AgeRating::Twelve),
            synopsis: String::new(),
        }
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn durations_run_from_one_minute_to_six_hours_in_whole_seconds() {
        for (seconds, nanos, ok) in [
            (59, 0, false),
            (60, 0, true),
            (21_600, 0, true),
            (21_601, 0, false),
            (90, 500, false),
        ] {
            let new = NewMovie {
                duration: Some(Duration::new(seconds, nanos)),
                ..request()
            };
            assert_eq!(validate(new).is_ok(), ok, "{seconds}s {nanos}ns");
        }
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let bad = NewMovie {
            title: " ".into(),
            duration: None,
            rating: None,
            synopsis: "x".repeat(2_001),
        };
        assert_eq!(
            fields(validate(bad).unwrap_err()),
            ["title", "duration", "rating", "synopsis"]
        );
        let longest = NewMovie {
            title: "t".repeat(200),
            synopsis: "s".repeat(2_000),
            ..request()
        };
        assert!(validate(longest).is_ok());
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn a_new_movie_is_valid_or_each_problem_is_named(
            title in arbitrary::text(), synopsis in arbitrary::text(), seconds in any::<u64>(),
        ) {
            let new = NewMovie { title, duration: Some(Duration::from_secs(seconds)), rating: Some(AgeRating::L), synopsis };
            match validate(new) {
                Ok(valid) => prop_assert!((60..=21_600).contains(&valid.duration.as_secs())),
                Err(Error::InvalidArgument(problems)) => {
                    prop_assert!(!problems.is_empty());
                    prop_assert!(problems.iter().all(|p| ["title", "duration", "synopsis"].contains(&p.field.as_str())));
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
