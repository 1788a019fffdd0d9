//! `cinema demo`: the example room ("Sala 1": aisles, wheelchair spaces with
//! companion seats, a couple row, a premium back row) and session ("Filme X"
//! there at 19:00, priced per seat kind), and a token for each role (an
//! admin, an usher with the staff role, two users), printed to try the API
//! with.

use std::{fmt::Write as _, time::Duration};

use anyhow::Context;
use chrono::{DateTime, Days, FixedOffset, NaiveTime, TimeZone, Utc};

use crate::{
    auth::{Authenticator, STAFF_ROLE},
    catalog,
    config::{DatabaseSettings, JwtSettings},
    domain::{KindPrice, NewRoom, NewSession, Result, Room, RowLayout, SeatKind, Session},
    store::{self, Db},
};

const MOVIE_TITLE: &str = "Filme X";
const ROOM: &str = "Sala 1";
/// Sala 1 from the screen back: two aisles; wheelchair spaces in row A, each
/// with a companion seat beside it and room to turn; couple seats in row H;
/// a premium back row. 104 seats.
const ROWS: [(&str, &str); 9] = [
    ("A", "WC__SSSSSS__CW"),
    ("B", "SSS_SSSSSS_SSS"),
    ("C", "SSS_SSSSSS_SSS"),
    ("D", "SSS_SSSSSS_SSS"),
    ("E", "SSS_SSSSSS_SSS"),
    ("F", "SSS_SSSSSS_SSS"),
    ("G", "SSS_SSSSSS_SSS"),
    ("H", "_LR_LRLRLR_LR_"),
    ("I", "PPP_PPPPPP_PPP"),
];
/// In cents; a couple seat's price is per half. Wheelchair spaces and
/// companion seats cost the standard price, which is their default.
const PRICES: [(SeatKind, i64); 3] = [
    (SeatKind::Standard, 2500),
    (SeatKind::Premium, 3500),
    (SeatKind::Couple, 3000),
];
const CURRENCY: &str = "BRL";
/// How many rooms one look-up reads at a time.
const ROOM_PAGE: u64 = 100;
/// The demo's tokens last a day.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Publishes the demo room and session (once) and prints them with the tokens.
pub async fn run(database: &DatabaseSettings, jwt: &JwtSettings) -> anyhow::Result<()> {
    let auth = Authenticator::new(&jwt.secret);
    let db = store::connect(&database.url, 2).await?;
    store::migrate(&db, store::MIGRATION_WAIT)
        .await
        .context("applying migrations")?;
    print!("{}", summary(&seed(&db, &auth).await?));
    Ok(())
}

/// What `cinema demo` prints.
struct Demo {
    session: Session,
    /// The session's room; `None` for a session that is a plain rectangle
    /// (published by an older demo).
    room: Option<Room>,
    admin_token: String,
    /// An usher's: the staff role, to admit tickets at the door.
    usher_token: String,
    user_tokens: Vec<(String, String)>,
}

/// Publishes "Filme X" at the next 19:00 in São Paulo in Sala 1 (once: a
/// second run finds the session, and a later day's run finds the room), and
/// mints tokens for an admin, an usher and two users.
async fn seed(db: &Db, auth: &Authenticator) -> Result<Demo> {
    let starts_at = next_evening(Utc::now());
    let existing = store::sessions::find_by_title(db, MOVIE_TITLE, starts_at).await?;
    let (session, room) = match existing {
        Some(session_id) => {
            let session = catalog::get_session(db, session_id).await?;
            let room = match session.room_id {
                Some(room_id) => Some(catalog::get_room(db, room_id).await?),
                None => None,
            };
            (session, room)
        }
        None => {
            let room = demo_room(db).await?;
            let session =
                catalog::create_session(db, new_session(&room, starts_at), Duration::ZERO).await?;
            (session, Some(room))
        }
    };
    let mut user_tokens = Vec::new();
    for user in ["alice", "bob"] {
        user_tokens.push((user.to_owned(), auth.mint(user, false, TOKEN_TTL)?));
    }
    Ok(Demo {
        session,
        room,
        admin_token: auth.mint("admin", true, TOKEN_TTL)?,
        usher_token: auth.mint_with_roles("usher", &[STAFF_ROLE], TOKEN_TTL)?,
        user_tokens,
    })
}

fn rows() -> Vec<RowLayout> {
    ROWS.iter()
        .map(|(label, seats)| RowLayout {
            label: (*label).to_owned(),
            seats: (*seats).to_owned(),
        })
        .collect()
}

/// Sala 1 as an earlier run created it, or created now. A room of that name
/// with another layout is someone else's: the demo's prices may not fit it.
async fn demo_room(db: &Db) -> Result<Room> {
    let rows = rows();
    let mut cursor = None;
    loop {
        let page = catalog::list_rooms(db, cursor, ROOM_PAGE).await?;
        let full_page = page.len() as u64 == ROOM_PAGE;
        cursor = page.last().map(|last| (last.create_time, last.room_id));
        if let Some(room) = page
            .into_iter()
            .find(|room| room.name == ROOM && room.rows == rows)
        {
            return Ok(room);
        }
        if !full_page {
            break;
        }
    }
    let new = NewRoom {
        name: ROOM.into(),
        rows,
    };
    catalog::create_room(db, new).await
}

fn new_session(room: &Room, starts_at: DateTime<Utc>) -> NewSession {
    NewSession {
        movie_title: MOVIE_TITLE.into(),
        room: room.name.clone(),
        starts_at: Some(starts_at),
        // STANDARD's price comes with the others, from PRICES.
        price_cents: 0,
        currency: CURRENCY.into(),
        rows: 0,
        seats_per_row: 0,
        room_id: Some(room.room_id),
        prices: PRICES
            .iter()
            .map(|&(kind, price_cents)| KindPrice {
                kind: Some(kind),
                price_cents,
            })
            .collect(),
        allow_single_seat_gaps: false,
        movie_id: None,
    }
}

/// The next 19:00 in UTC-3 (São Paulo) after `now`.
fn next_evening(now: DateTime<Utc>) -> DateTime<Utc> {
    let sao_paulo = FixedOffset::west_opt(3 * 3600).expect("UTC-3 is a valid offset");
    let local = now.with_timezone(&sao_paulo);
    let seven_pm = NaiveTime::from_hms_opt(19, 0, 0).expect("19:00 is a valid time");
    let mut day = local.date_naive();
    if local.time() >= seven_pm {
        day = day + Days::new(1);
    }
    sao_paulo
        .from_local_datetime(&day.and_time(seven_pm))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The session, its prices and room, the ids and the tokens.
fn summary(demo: &Demo) -> String {
    let s = &demo.session;
    let mut text = format!(
        "Demo session: {} in {} at {} ({} seats)\n",
        s.movie_title,
        s.room,
        s.starts_at.to_rfc3339(),
        s.total_seats,
    );
    let _ = writeln!(text, "  prices ({}): {}", s.currency, prices(s));
    match &demo.room {
        Some(room) => text.push_str(&layout(room)),
        None => text.push_str("  room: a rectangle of standard seats\n"),
    }
    let _ = writeln!(text, "  SESSION_ID={}", s.session_id);
    if let Some(room) = &demo.room {
        let _ = writeln!(text, "  ROOM_ID={}", room.room_id);
    }
    let _ = writeln!(text, "  ADMIN_TOKEN={}", demo.admin_token);
    let _ = writeln!(text, "  USHER_TOKEN={}", demo.usher_token);
    for (user, token) in &demo.user_tokens {
        let _ = writeln!(text, "  {}_TOKEN={token}", user.to_uppercase());
    }
    text
}

/// `STANDARD 25.00, ..., COUPLE 30.00 a half`.
fn prices(session: &Session) -> String {
    let prices: Vec<String> = session
        .prices
        .iter()
        .map(|(kind, cents)| {
            let per = if kind == SeatKind::Couple {
                " a half"
            } else {
                ""
            };
            format!("{kind} {}{per}", money(cents))
        })
        .collect();
    prices.join(", ")
}

/// `25.00` for 2500 cents: money stays in integers.
fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// The room's rows as their patterns, from the screen back.
fn layout(room: &Room) -> String {
    let mut text = format!(
        "  room {}, from the screen back (S standard, P premium, W wheelchair space, \
         C companion, LR couple seat, _ aisle):\n",
        room.name,
    );
    for row in &room.rows {
        let _ = writeln!(text, "    {:<2} {}", row.label, row.seats);
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::layout;

    #[test]
    fn the_demo_is_at_the_next_seven_pm_in_sao_paulo() {
        let morning = "2026-11-22T12:00:00Z".parse().unwrap();
        assert_eq!(
            next_evening(morning).to_rfc3339(),
            "2026-11-22T22:00:00+00:00"
        );
        let late = "2026-11-22T22:30:00Z".parse().unwrap();
        assert_eq!(next_evening(late).to_rfc3339(), "2026-11-23T22:00:00+00:00");
    }

    #[test]
    fn the_demo_room_is_valid_and_has_every_kind_of_seat() {
        let room = NewRoom {
            name: ROOM.into(),
            rows: rows(),
        };
        let room = layout::validate_room(room).expect("a valid room");
        let seats = layout::place(&room.rows);
        assert_eq!(seats.len(), 104);
        let kinds: BTreeSet<SeatKind> = seats.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, SeatKind::ALL.into_iter().collect());
    }

    #[test]
    fn money_is_printed_from_whole_cents() {
        assert_eq!(
            [money(2500), money(3005), money(7)],
            ["25.00", "30.05", "0.07"]
        );
    }
}
