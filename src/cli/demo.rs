//! `cinema demo`: the example session ("Filme X" at 19:00, 2 rows of 8 at
//! R$ 25,00) and a token for each role, printed to try the API with.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Days, FixedOffset, NaiveTime, TimeZone, Utc};

use crate::{
    auth::Authenticator,
    catalog,
    config::{DatabaseSettings, JwtSettings},
    domain::{NewSession, Result, Session},
    store::{self, Db},
};

const MOVIE_TITLE: &str = "Filme X";
const ROOM: &str = "Sala 1";
const PRICE_CENTS: i64 = 2500;
/// 2 rows of 8: A1..A8 and B1..B8.
const ROWS: u32 = 2;
const SEATS_PER_ROW: u32 = 8;
/// The demo's tokens last a day.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Publishes the demo session (once) and prints it with the tokens.
pub async fn run(database: &DatabaseSettings, jwt: &JwtSettings) -> anyhow::Result<()> {
    let auth = Authenticator::new(&jwt.secret);
    let db = store::connect(&database.url, 2).await?;
    store::migrate(&db, store::MIGRATION_WAIT)
        .await
        .context("applying migrations")?;
    print(&seed(&db, &auth).await?);
    Ok(())
}

/// What `cinema demo` prints.
struct Demo {
    session: Session,
    admin_token: String,
    user_tokens: Vec<(String, String)>,
}

/// Publishes "Filme X" at the next 19:00 in São Paulo (once: a second run
/// finds it), and mints tokens for an admin and two users.
async fn seed(db: &Db, auth: &Authenticator) -> Result<Demo> {
    let starts_at = next_evening(Utc::now());
    let existing = store::sessions::find_by_title(db, MOVIE_TITLE, starts_at).await?;
    let session = match existing {
        Some(session_id) => catalog::get_session(db, session_id).await?,
        None => {
            let new = NewSession {
                movie_title: MOVIE_TITLE.into(),
                room: ROOM.into(),
                starts_at: Some(starts_at),
                price_cents: PRICE_CENTS,
                currency: "BRL".into(),
                rows: ROWS,
                seats_per_row: SEATS_PER_ROW,
                room_id: None,
                prices: Vec::new(),
            };
            catalog::create_session(db, new).await?
        }
    };
    let mut user_tokens = Vec::new();
    for user in ["alice", "bob"] {
        user_tokens.push((user.to_owned(), auth.mint(user, false, TOKEN_TTL)?));
    }
    Ok(Demo {
        session,
        admin_token: auth.mint("admin", true, TOKEN_TTL)?,
        user_tokens,
    })
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

fn print(demo: &Demo) {
    let s = &demo.session;
    println!(
        "Demo session: {} in {} at {} ({} seats at {} {:.2})",
        s.movie_title,
        s.room,
        s.starts_at.to_rfc3339(),
        s.total_seats,
        s.currency,
        s.price_cents as f64 / 100.0
    );
    println!("  SESSION_ID={}", s.session_id);
    println!("  ADMIN_TOKEN={}", demo.admin_token);
    for (user, token) in &demo.user_tokens {
        println!("  {}_TOKEN={token}", user.to_uppercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
