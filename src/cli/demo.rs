//! `cinema demo`: a small programme to try the API with, and a token for
//! each role (an admin, an usher with the staff role, two users). Two movies
//! ("Filme X", 1h50, rated 12; "Filme Y", 1h35, rated L), two rooms ("Sala
//! 1": aisles, wheelchair spaces with companion seats, a couple row, a
//! premium back row; the smaller "Sala 2") and three shows on one evening in
//! São Paulo: Filme X at 19:00 and 21:30 in Sala 1, Filme Y at 19:30 in Sala
//! 2, each priced per seat kind and holding its room until its movie ends
//! plus the turnaround (CINEMA_TURNAROUND).
//!
//! Published once: a second run finds every movie, room and show it made
//! (so it adds nothing), and a later day's run finds the movies and rooms
//! and publishes that evening's shows.

mod programme;
mod summary;

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use crate::{
    auth::{Authenticator, STAFF_ROLE},
    catalog,
    config::{DatabaseSettings, JwtSettings, ScheduleSettings},
    domain::{
        Caller, KindPrice, Movie, NewMovie, NewRoom, NewSession, Room, Session, SessionFilter,
    },
    store::{self, Db},
};
use programme::{MOVIES, MovieSpec, ROOMS, RoomSpec, SHOWS, ShowSpec};

const CURRENCY: &str = "BRL";
/// Who the audit trail says published the demo programme.
const OPERATOR: &str = "cinema demo";
/// How many movies or rooms one look-up reads at a time.
const PAGE: u64 = 100;
/// The demo's tokens last a day.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Publishes the demo programme (once) and prints it with the tokens.
pub async fn run(
    database: &DatabaseSettings,
    jwt: &JwtSettings,
    schedule: &ScheduleSettings,
) -> anyhow::Result<()> {
    let auth = Authenticator::new(&jwt.secret);
    let db = store::connect(&database.url, 2).await?;
    store::migrate(&db, store::MIGRATION_WAIT)
        .await
        .context("applying migrations")?;
    let demo = seed(&db, &auth, schedule.turnaround, Utc::now()).await?;
    print!("{}", summary::summary(&demo));
    Ok(())
}

/// What `cinema demo` prints.
struct Demo {
    /// The São Paulo date of the shows.
    evening: NaiveDate,
    turnaround: Duration,
    /// In the order of [`SHOWS`].
    shows: Vec<Session>,
    /// In the order of [`MOVIES`].
    movies: Vec<Movie>,
    /// In the order of [`ROOMS`].
    rooms: Vec<Room>,
    /// (ADMIN, token), (USHER, token: the staff role, to admit tickets at
    /// the door), then the users'.
    tokens: Vec<(String, String)>,
}

/// Finds or publishes the movies, the rooms and the shows of the evening
/// after `now`, and mints tokens for an admin, an usher and two users.
async fn seed(
    db: &Db,
    auth: &Authenticator,
    turnaround: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Demo> {
    let mut movies = Vec::new();
    for spec in &MOVIES {
        let movie = demo_movie(db, spec)
            .await
            .with_context(|| format!("publishing the movie {}", spec.title))?;
        movies.push(movie);
    }
    let mut rooms = Vec::new();
    for spec in &ROOMS {
        let room = demo_room(db, spec)
            .await
            .with_context(|| format!("creating the room {}", spec.name))?;
        rooms.push(room);
    }
    let evening = programme::evening(now);
    let mut shows = Vec::new();
    for spec in &SHOWS {
        let show = demo_show(db, spec, evening, &movies, &rooms, turnaround)
            .await
            .with_context(|| {
                format!(
                    "publishing {} at {:02}:{:02} in {}",
                    MOVIES[spec.movie].title, spec.hour, spec.minute, ROOMS[spec.room].name
                )
            })?;
        shows.push(show);
    }
    let mut tokens = vec![
        ("ADMIN".to_owned(), auth.mint("admin", true, TOKEN_TTL)?),
        (
            "USHER".to_owned(),
            auth.mint_with_roles("usher", &[STAFF_ROLE], TOKEN_TTL)?,
        ),
    ];
    for user in ["alice", "bob"] {
        tokens.push((user.to_uppercase(), auth.mint(user, false, TOKEN_TTL)?));
    }
    Ok(Demo {
        evening,
        turnaround,
        shows,
        movies,
        rooms,
        tokens,
    })
}

/// The movie as an earlier run added it, or added now. A movie of that
/// title with another running time or rating is someone else's.
async fn demo_movie(db: &Db, spec: &MovieSpec) -> crate::domain::Result<Movie> {
    // Movies are listed by title, then id: starting after the smallest id
    // under this title reads this title's movies first.
    let mut cursor = Some((spec.title.to_owned(), Uuid::nil()));
    loop {
        let page = catalog::list_movies(db, cursor, PAGE).await?;
        let full_page = page.len() as u64 == PAGE;
        let past_title = page.last().is_none_or(|last| last.title != spec.title);
        cursor = page.last().map(|last| (last.title.clone(), last.movie_id));
        if let Some(movie) = page.into_iter().find(|movie| {
            movie.title == spec.title
                && movie.duration == spec.duration()
                && movie.rating == spec.rating
        }) {
            return Ok(movie);
        }
        if !full_page || past_title {
            break;
        }
    }
    let new = NewMovie {
        title: spec.title.into(),
        duration: Some(spec.duration()),
        rating: Some(spec.rating),
        synopsis: spec.synopsis.into(),
    };
    catalog::create_movie(db, &Caller::operator(OPERATOR), new).await
}

/// The room as an earlier run created it, or created now. A room of that
/// name with another layout is someone else's: the demo's prices may not
/// fit it.
async fn demo_room(db: &Db, spec: &RoomSpec) -> crate::domain::Result<Room> {
    let rows = spec.rows();
    let mut cursor = None;
    loop {
        let page = catalog::list_rooms(db, cursor, PAGE).await?;
        let full_page = page.len() as u64 == PAGE;
        cursor = page.last().map(|last| (last.create_time, last.room_id));
        if let Some(room) = page
            .into_iter()
            .find(|room| room.name == spec.name && room.rows == rows)
        {
            return Ok(room);
        }
        if !full_page {
            break;
        }
    }
    let new = NewRoom {
        name: spec.name.into(),
        rows,
    };
    catalog::create_room(db, &Caller::operator(OPERATOR), new).await
}

/// The show as an earlier run published it (this movie in this room at
/// this time, cancelled or not), or published now.
async fn demo_show(
    db: &Db,
    spec: &ShowSpec,
    evening: NaiveDate,
    movies: &[Movie],
    rooms: &[Room],
    turnaround: Duration,
) -> crate::domain::Result<Session> {
    let (movie, room) = (&movies[spec.movie], &rooms[spec.room]);
    let starts_at = programme::starts_at(evening, spec);
    let filter = SessionFilter {
        movie_id: Some(movie.movie_id),
        room_id: Some(room.room_id),
        starts_after: Some(starts_at),
        starts_before: Some(starts_at + TimeDelta::seconds(1)),
        only_with_seats: false,
    };
    let found = catalog::list_sessions(db, &filter, None, 1).await?;
    if let Some(show) = found.into_iter().next() {
        return Ok(show);
    }
    let new = NewSession {
        movie_title: movie.title.clone(),
        room: room.name.clone(),
        starts_at: Some(starts_at),
        // STANDARD's price comes with the others, from the room's prices.
        price_cents: 0,
        currency: CURRENCY.into(),
        rows: 0,
        seats_per_row: 0,
        room_id: Some(room.room_id),
        prices: ROOMS[spec.room]
            .prices
            .iter()
            .map(|&(kind, price_cents)| KindPrice {
                kind: Some(kind),
                price_cents,
            })
            .collect(),
        allow_single_seat_gaps: false,
        movie_id: Some(movie.movie_id),
    };
    catalog::create_session(db, &Caller::operator(OPERATOR), new, turnaround).await
}
