//! `expiry`: how late after its `expire_time` an unpaid hold shows as
//! AVAILABLE, on the seat map (GetSeatMap polled every `--poll`) and on a
//! WatchSeatMap stream (the update the sweeper's events produce).
//!
//! The bench holds `--holds` seats, one every `--interval`, each for a user
//! of its own, and never pays. Holds last as long as the server's
//! `CINEMA_HOLD_SECONDS` says (run it with a short one, e.g. 2). Once every
//! hold has shown AVAILABLE, another user reserves each seat again (and
//! cancels at once): that must succeed, so no gate in front of PostgreSQL
//! outlives a hold. Lateness is wall-clock time (bench and server share the machine's
//! clock) from `expire_time` to the moment the bench saw the change.

mod figures;
mod sightings;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use cinema::proto::v1::booking_service_client::BookingServiceClient;
use clap::Args;
use tonic::{Code, transport::Channel};

use self::{
    figures::{Figures, figures, text},
    sightings::{poll_map, wait_until_seen, watch},
};
use crate::{
    Target,
    client::{
        Minter, cancel, code_of, connect, create_session, reserve, room_labels, status_error,
    },
    database::ServerDatabase,
    report::{Check, finish},
};

#[derive(Args)]
pub struct ExpiryArgs {
    #[command(flatten)]
    target: Target,
    /// Holds to let expire (at most 260).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=260))]
    holds: u32,
    /// Time between two holds.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// How often the seat map is read.
    #[arg(long, default_value = "10ms", value_parser = humantime::parse_duration)]
    poll: Duration,
    /// How long after the last hold's end the bench waits for it to show.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

const ROWS: u32 = 26;
const SEATS_PER_ROW: u32 = 10;

/// One hold, and when the bench saw it end.
struct Hold {
    label: String,
    /// When the ReserveSeats call returned: map reads sent earlier say
    /// nothing about this hold.
    made: DateTime<Utc>,
    expire_time: DateTime<Utc>,
    on_map: Option<DateTime<Utc>>,
    on_stream: Option<DateTime<Utc>>,
    retaken: Option<Code>,
}

pub async fn run(args: ExpiryArgs) -> anyhow::Result<bool> {
    let minter = Minter::from_env()?;
    let control = connect(&args.target.server).await?;
    let session_id = create_session(&control, &minter.admin()?, ROWS, SEATS_PER_ROW).await?;
    let reader = minter.bearer("bench-expiry-reader", false)?;
    let holds: Arc<Mutex<Vec<Hold>>> = Arc::default();
    let stream = tokio::spawn(watch(
        control.clone(),
        reader.clone(),
        session_id.clone(),
        Arc::clone(&holds),
    ));
    // The stream's snapshot comes before the first hold.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let poller = tokio::spawn(poll_map(
        control.clone(),
        reader,
        session_id.clone(),
        Arc::clone(&holds),
        args.poll,
    ));
    let hold_seconds = make_holds(&control, &minter, &session_id, &holds, &args).await?;
    eprintln!("{} holds made; waiting for them to end", args.holds);
    let last_end = lock(&holds).iter().map(|h| h.expire_time).max();
    wait_until_seen(&holds, last_end, args.timeout).await;
    poller.abort();
    stream.abort();
    retake(&control, &minter, &session_id, &holds).await?;

    let holds = std::mem::take(&mut *lock(&holds));
    let figures = figures(&holds, hold_seconds, &args);
    let checks = checks(&holds, &figures, &args, session_id).await?;
    finish(
        "expiry",
        &text(&figures),
        &figures,
        &checks,
        args.target.json.as_deref(),
    )
}

fn lock(holds: &Mutex<Vec<Hold>>) -> std::sync::MutexGuard<'_, Vec<Hold>> {
    holds
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn to_chrono(at: Option<&prost_types::Timestamp>) -> anyhow::Result<DateTime<Utc>> {
    let at = at.context("a reservation without its times")?;
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or_default())
        .context("a timestamp out of range")
}

/// Holds `--holds` seats, one every `--interval`, each for a user of its
/// own; returns how long the server holds a seat.
async fn make_holds(
    channel: &Channel,
    minter: &Minter,
    session_id: &str,
    holds: &Mutex<Vec<Hold>>,
    args: &ExpiryArgs,
) -> anyhow::Result<Option<f64>> {
    let labels: Vec<String> = room_labels(ROWS, SEATS_PER_ROW);
    let mut booking = BookingServiceClient::new(channel.clone());
    let mut hold_seconds = None;
    for (i, label) in labels.iter().take(args.holds as usize).enumerate() {
        let bearer = minter.bearer(&format!("bench-expiry-{i}"), false)?;
        let held = reserve(
            &mut booking,
            &bearer,
            session_id,
            std::slice::from_ref(label),
        )
        .await
        .map_err(status_error)
        .with_context(|| format!("holding {label}"))?;
        let expire_time = to_chrono(held.expire_time.as_ref())?;
        let created = to_chrono(held.create_time.as_ref())?;
        hold_seconds.get_or_insert((expire_time - created).as_seconds_f64());
        lock(holds).push(Hold {
            label: label.clone(),
            made: Utc::now(),
            expire_time,
            on_map: None,
            on_stream: None,
            retaken: None,
        });
        tokio::time::sleep(args.interval).await;
    }
    Ok(hold_seconds)
}

/// Reserves every ended hold's seat for another user, then cancels.
async fn retake(
    channel: &Channel,
    minter: &Minter,
    session_id: &str,
    holds: &Mutex<Vec<Hold>>,
) -> anyhow::Result<()> {
    let bearer = minter.bearer("bench-expiry-retaker", false)?;
    let mut booking = BookingServiceClient::new(channel.clone());
    let labels: Vec<String> = lock(holds).iter().map(|h| h.label.clone()).collect();
    for label in labels {
        let answer = reserve(
            &mut booking,
            &bearer,
            session_id,
            std::slice::from_ref(&label),
        )
        .await;
        let code = code_of(&answer);
        if let Ok(reservation) = answer {
            cancel(&mut booking, &bearer, reservation.reservation_id)
                .await
                .map_err(status_error)
                .context("cancelling a retaken seat")?;
        }
        if let Some(hold) = lock(holds).iter_mut().find(|h| h.label == label) {
            hold.retaken = Some(code);
        }
    }
    Ok(())
}

/// Every hold shown AVAILABLE on both, none early, every seat reserved
/// again; with the database, no seat sold twice.
async fn checks(
    holds: &[Hold],
    figures: &Figures,
    args: &ExpiryArgs,
    session_id: String,
) -> anyhow::Result<Vec<Check>> {
    let mut checks = vec![
        Check::equal(
            "holds shown AVAILABLE on the map",
            holds.len(),
            figures.seen_on_map,
        ),
        Check::equal(
            "holds shown AVAILABLE on the stream",
            holds.len(),
            figures.seen_on_stream,
        ),
        Check::equal("shown AVAILABLE before expire_time", 0, figures.early),
        Check::equal(
            "refused when reserved again after the end",
            0,
            holds.iter().filter(|h| h.retaken != Some(Code::Ok)).count(),
        ),
    ];
    if let Some(url) = &args.target.database_url {
        let database = ServerDatabase::connect(url).await?;
        checks.push(Check::equal(
            "seats sold twice",
            0,
            database.seats_sold_twice(&[session_id]).await?,
        ));
        database.close().await;
    }
    Ok(checks)
}
