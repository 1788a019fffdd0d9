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

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use tonic::{
    Code,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use crate::{
    Target,
    client::{
        Minter, authed, code_of, connect, create_session, reserve, room_labels, status_error,
    },
    database::ServerDatabase,
    report::{Check, finish},
    stats::{Latencies, Summary, millis, summary_text},
};
use cinema::proto::v1::{
    CancelReservationRequest, GetSeatMapRequest, SeatStatus, WatchSeatMapRequest,
    booking_service_client::BookingServiceClient, seat_map_event::Event,
    session_service_client::SessionServiceClient,
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

#[derive(Serialize)]
struct Figures {
    holds: usize,
    hold_seconds: Option<f64>,
    poll_ms: f64,
    /// expire_time -> the seat map showed AVAILABLE (includes up to one poll).
    seat_map_late_ms: Option<Summary>,
    /// expire_time -> a watch stream delivered AVAILABLE.
    stream_late_ms: Option<Summary>,
    seen_on_map: usize,
    seen_on_stream: usize,
    /// Shown AVAILABLE before its expire_time.
    early: usize,
    /// Reserving each seat again once all had shown AVAILABLE: answers by code.
    retake_codes: HashMap<String, usize>,
}

pub async fn run(args: ExpiryArgs) -> anyhow::Result<bool> {
    let minter = Minter::from_env()?;
    let control = connect(&args.target.addr).await?;
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
    let labels: Vec<String> = room_labels(ROWS, SEATS_PER_ROW);
    let mut booking = BookingServiceClient::new(control.clone());
    let mut hold_seconds = None;
    for (i, label) in labels.iter().take(args.holds as usize).enumerate() {
        let bearer = minter.bearer(&format!("bench-expiry-{i}"), false)?;
        let held = reserve(
            &mut booking,
            &bearer,
            &session_id,
            std::slice::from_ref(label),
        )
        .await
        .map_err(status_error)
        .with_context(|| format!("holding {label}"))?;
        let expire_time = to_chrono(held.expire_time.as_ref())?;
        let created = to_chrono(held.create_time.as_ref())?;
        hold_seconds.get_or_insert((expire_time - created).as_seconds_f64());
        lock(&holds).push(Hold {
            label: label.clone(),
            made: Utc::now(),
            expire_time,
            on_map: None,
            on_stream: None,
            retaken: None,
        });
        tokio::time::sleep(args.interval).await;
    }
    eprintln!("{} holds made; waiting for them to end", args.holds);
    let last_end = lock(&holds).iter().map(|h| h.expire_time).max();
    wait_until_seen(&holds, last_end, args.timeout).await;
    poller.abort();
    stream.abort();
    retake(&control, &minter, &session_id, &holds).await?;

    let holds = std::mem::take(&mut *lock(&holds));
    let figures = figures(&holds, hold_seconds, &args);
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

/// Reads one stream and stamps the first AVAILABLE update of each hold.
async fn watch(
    channel: Channel,
    bearer: MetadataValue<Ascii>,
    session_id: String,
    holds: Arc<Mutex<Vec<Hold>>>,
) -> anyhow::Result<()> {
    let request = authed(WatchSeatMapRequest { session_id }, &bearer);
    let mut stream = SessionServiceClient::new(channel)
        .watch_seat_map(request)
        .await
        .map_err(status_error)?
        .into_inner();
    while let Some(event) = stream.message().await.map_err(status_error)? {
        let at = Utc::now();
        let Some(Event::Update(update)) = event.event else {
            continue;
        };
        let mut holds = lock(&holds);
        for seat in update.seats {
            if seat.status() != SeatStatus::Available {
                continue;
            }
            if let Some(hold) = holds.iter_mut().find(|h| h.label == seat.label) {
                hold.on_stream.get_or_insert(at);
            }
        }
    }
    Ok(())
}

/// Reads the seat map every `every` and stamps each hold seen AVAILABLE.
async fn poll_map(
    channel: Channel,
    bearer: MetadataValue<Ascii>,
    session_id: String,
    holds: Arc<Mutex<Vec<Hold>>>,
    every: Duration,
) {
    let mut sessions = SessionServiceClient::new(channel);
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let request = authed(
            GetSeatMapRequest {
                session_id: session_id.clone(),
            },
            &bearer,
        );
        let sent = Utc::now();
        let Ok(map) = sessions.get_seat_map(request).await else {
            continue;
        };
        let at = Utc::now();
        let mut holds = lock(&holds);
        for seat in map.into_inner().seats {
            if seat.status() != SeatStatus::Available {
                continue;
            }
            let hold = holds
                .iter_mut()
                .find(|h| h.label == seat.label && h.made < sent);
            if let Some(hold) = hold {
                hold.on_map.get_or_insert(at);
            }
        }
    }
}

/// Waits until every hold was seen on both, or `timeout` after the last end.
async fn wait_until_seen(
    holds: &Mutex<Vec<Hold>>,
    last_end: Option<DateTime<Utc>>,
    timeout: Duration,
) {
    let Some(last_end) = last_end else { return };
    let give_up = last_end + chrono::Duration::from_std(timeout).unwrap_or_default();
    while Utc::now() < give_up {
        let all_seen = lock(holds)
            .iter()
            .all(|h| h.on_map.is_some() && h.on_stream.is_some());
        if all_seen {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
            let cancel = CancelReservationRequest {
                reservation_id: reservation.reservation_id,
            };
            booking
                .cancel_reservation(authed(cancel, &bearer))
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

fn figures(holds: &[Hold], hold_seconds: Option<f64>, args: &ExpiryArgs) -> Figures {
    let late = |seen: fn(&Hold) -> Option<DateTime<Utc>>| -> Vec<Duration> {
        holds
            .iter()
            .filter_map(|h| seen(h).map(|at| (at - h.expire_time).to_std().unwrap_or_default()))
            .collect()
    };
    let early = holds
        .iter()
        .filter(|h| {
            [h.on_map, h.on_stream]
                .iter()
                .flatten()
                .any(|at| *at < h.expire_time)
        })
        .count();
    let mut retake_codes = HashMap::new();
    for hold in holds {
        let code = hold
            .retaken
            .map_or("not tried", cinema::watch_view::code_name);
        *retake_codes.entry(code.to_owned()).or_default() += 1;
    }
    Figures {
        holds: holds.len(),
        hold_seconds,
        poll_ms: millis(args.poll),
        seat_map_late_ms: Latencies::new(late(|h| h.on_map)).summary(),
        stream_late_ms: Latencies::new(late(|h| h.on_stream)).summary(),
        seen_on_map: holds.iter().filter(|h| h.on_map.is_some()).count(),
        seen_on_stream: holds.iter().filter(|h| h.on_stream.is_some()).count(),
        early,
        retake_codes,
    }
}

fn text(f: &Figures) -> String {
    format!(
        "expiry: {} holds of {} s, seat map read every {} ms\n\
         seat map late  {}\n\
         stream late    {}\n\
         seen on map {}/{}, on stream {}/{}, early {}\n\
         reserved again after the end: {:?}\n",
        f.holds,
        f.hold_seconds.map_or("?".to_owned(), |s| format!("{s:.1}")),
        f.poll_ms,
        summary_text(f.seat_map_late_ms.as_ref()),
        summary_text(f.stream_late_ms.as_ref()),
        f.seen_on_map,
        f.holds,
        f.seen_on_stream,
        f.holds,
        f.early,
        f.retake_codes
    )
}
