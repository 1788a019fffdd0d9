//! `flow`: whole purchases at a steady rate. Every 1/`--rate` seconds a new
//! user starts one: ReserveSeats (one seat), ConfirmPayment, then
//! ListPurchases, which must show the sale just made. The rate does not
//! slow down when the server does (open loop), up to `--max-in-flight`
//! purchases at once; purchases that would go past it are skipped and
//! counted.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tokio::{sync::Semaphore, task::JoinSet};
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};
use uuid::Uuid;

use crate::{
    Target,
    client::{
        Minter, authed, code_of, confirm, connect, connections_for, create_sessions, reserve,
    },
    database::ServerDatabase,
    memory::{RssPeak, peak_rss_line},
    progress::Progress,
    report::{Check, finish},
    seat_supply::SeatSupply,
    stats::{CallFigures, Calls, Latencies, Summary, summary_text},
};
use cinema::proto::v1::{ListPurchasesRequest, booking_service_client::BookingServiceClient};

#[derive(Args)]
pub struct FlowArgs {
    #[command(flatten)]
    target: Target,
    /// Purchases started per second.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// How long new purchases are started.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Sessions the seats come from (26 x 50 seats each).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    sessions: u32,
    /// HTTP/2 connections the purchases share.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Purchases in flight at most.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
}

const ROWS: u32 = 26;
const SEATS_PER_ROW: u32 = 50;

#[derive(Serialize)]
struct Figures {
    rate: u32,
    duration_seconds: f64,
    started: u64,
    completed: u64,
    /// Not started: `--max-in-flight` purchases were already running.
    skipped: u64,
    reserve: CallFigures,
    confirm: CallFigures,
    history: CallFigures,
    /// A whole purchase, reserve to history.
    purchase_ms: Option<Summary>,
    /// Purchases whose history did not show their sale.
    history_missing_sale: u64,
    server_peak_rss_kib: Option<u64>,
}

/// What every purchase task shares.
struct Shop {
    minter: Minter,
    run: String,
    seats: SeatSupply<String>,
    missing: AtomicU64,
}

/// One purchase's calls.
#[derive(Default)]
struct Purchase {
    reserve: Calls,
    confirm: Calls,
    history: Calls,
    took: Option<Duration>,
}

pub async fn run(args: FlowArgs) -> anyhow::Result<bool> {
    let minter = Minter::from_env()?;
    let control = connect(&args.target.server).await?;
    let admin = minter.admin()?;
    let sessions = create_sessions(&control, &admin, args.sessions, ROWS, SEATS_PER_ROW).await?;
    let connections = connections_for(&args.target.server, args.connections).await?;
    let shop = Arc::new(Shop {
        minter,
        // Users are new in every run, so each history holds one sale.
        run: Uuid::new_v4().simple().to_string()[..8].to_owned(),
        seats: SeatSupply::new(sessions.clone(), ROWS, SEATS_PER_ROW)?,
        missing: AtomicU64::new(0),
    });
    let rss = RssPeak::watch(args.target.server_pid);
    let ticker = Arc::new(Progress::default());
    let printer = ticker.tick("flow");
    let started = Instant::now();
    let (purchases, started_count, skipped) = drive(&args, &shop, &connections, &ticker).await?;
    let seconds = started.elapsed().as_secs_f64();
    ticker.stop(printer);

    let (all, took) = Purchase::add_up(purchases);
    let figures = Figures {
        rate: args.rate,
        duration_seconds: seconds,
        started: started_count,
        completed: took.len() as u64,
        skipped,
        reserve: all.reserve.figures(seconds),
        confirm: all.confirm.figures(seconds),
        history: all.history.figures(seconds),
        purchase_ms: Latencies::new(took).summary(),
        history_missing_sale: shop.missing.load(Ordering::Relaxed),
        server_peak_rss_kib: rss.stop(),
    };
    let checks = checks(&figures, all.confirm.ok(), &args, &sessions).await?;
    finish(
        "flow",
        &text(&figures),
        &figures,
        &checks,
        args.target.json.as_deref(),
    )
}

/// Every purchase in the history, nothing INTERNAL; with the database, no
/// seat sold twice and a sale stored for each of the `confirmed` payments.
async fn checks(
    figures: &Figures,
    confirmed: u64,
    args: &FlowArgs,
    sessions: &[String],
) -> anyhow::Result<Vec<Check>> {
    let mut checks = vec![
        Check::equal(
            "purchases missing from the history",
            0,
            figures.history_missing_sale,
        ),
        Check::equal(
            "INTERNAL answers",
            0,
            [&figures.reserve, &figures.confirm, &figures.history]
                .iter()
                .map(|f| f.internal_answers())
                .sum::<u64>(),
        ),
    ];
    if let Some(url) = &args.target.database_url {
        let database = ServerDatabase::connect(url).await?;
        checks.push(Check::equal(
            "seats sold twice",
            0,
            database.seats_sold_twice(sessions).await?,
        ));
        checks.push(Check::equal(
            "sales stored = payments confirmed",
            confirmed,
            database.sales(sessions).await?,
        ));
        database.close().await;
    }
    Ok(checks)
}

/// Starts a purchase every 1/rate seconds until the time is up, then waits
/// for the last ones. Returns them, how many started and how many were skipped.
async fn drive(
    args: &FlowArgs,
    shop: &Arc<Shop>,
    connections: &[Channel],
    ticker: &Arc<Progress>,
) -> anyhow::Result<(Vec<Purchase>, u64, u64)> {
    let permits = Arc::new(Semaphore::new(args.max_in_flight as usize));
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let deadline = Instant::now() + args.duration;
    let mut purchases = JoinSet::new();
    let (mut started, mut skipped) = (0u64, 0u64);
    while Instant::now() < deadline {
        interval.tick().await;
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let booking =
            BookingServiceClient::new(connections[started as usize % connections.len()].clone());
        let (shop, ticker) = (Arc::clone(shop), Arc::clone(ticker));
        let n = started;
        purchases.spawn(async move {
            let purchase = purchase(&shop, booking, n).await;
            ticker.call(purchase.as_ref().is_ok_and(|p| p.took.is_some()));
            drop(permit);
            purchase
        });
        started += 1;
    }
    let mut done = Vec::new();
    while let Some(purchase) = purchases.join_next().await {
        done.push(purchase.context("a purchase task failed")??);
    }
    Ok((done, started, skipped))
}

impl Purchase {
    /// Every purchase's calls together, and how long each whole purchase
    /// took (completed ones only).
    fn add_up(purchases: Vec<Purchase>) -> (Purchase, Vec<Duration>) {
        let mut all = Purchase::default();
        let mut took = Vec::new();
        for purchase in purchases {
            all.reserve.merge(purchase.reserve);
            all.confirm.merge(purchase.confirm);
            all.history.merge(purchase.history);
            took.extend(purchase.took);
        }
        (all, took)
    }
}

/// Reserve, pay, read the history; stops at the first refusal.
async fn purchase(
    shop: &Shop,
    mut booking: BookingServiceClient<Channel>,
    n: u64,
) -> anyhow::Result<Purchase> {
    let mut purchase = Purchase::default();
    let Some((session_id, label)) = shop.seats.next() else {
        return Ok(purchase);
    };
    let bearer = shop
        .minter
        .bearer(&format!("bench-flow-{}-{n}", shop.run), false)?;
    let started = Instant::now();
    let held = reserve(&mut booking, &bearer, &session_id, &[label.to_string()]).await;
    purchase.reserve.record(started, code_of(&held));
    let Ok(reservation) = held else {
        return Ok(purchase);
    };
    let call = Instant::now();
    let paid = confirm(&mut booking, &bearer, &reservation.reservation_id).await;
    purchase.confirm.record(call, code_of(&paid));
    let Ok(sale) = paid else {
        return Ok(purchase);
    };
    let call = Instant::now();
    let history = history(&mut booking, &bearer).await;
    purchase.history.record(call, code_of(&history));
    if let Ok(sales) = history {
        if !sales.contains(&sale.sale_id) {
            shop.missing.fetch_add(1, Ordering::Relaxed);
        }
        purchase.took = Some(started.elapsed());
    }
    Ok(purchase)
}

/// The sale ids on the first page of the caller's history.
async fn history(
    booking: &mut BookingServiceClient<Channel>,
    bearer: &MetadataValue<Ascii>,
) -> Result<Vec<String>, tonic::Status> {
    let request = ListPurchasesRequest {
        page_size: 10,
        page_token: String::new(),
    };
    let page = booking.list_purchases(authed(request, bearer)).await?;
    Ok(page
        .into_inner()
        .sales
        .into_iter()
        .map(|sale| sale.sale_id)
        .collect())
}

fn text(f: &Figures) -> String {
    let mut text = format!(
        "flow: {} purchases/s for {:.1} s: {} started, {} completed, {} skipped\n",
        f.rate, f.duration_seconds, f.started, f.completed, f.skipped
    );
    text.push_str(&f.reserve.line("reserve"));
    text.push_str(&f.confirm.line("confirm"));
    text.push_str(&f.history.line("history"));
    text.push_str(&format!(
        "purchase       {}\n",
        summary_text(f.purchase_ms.as_ref())
    ));
    text.push_str(&peak_rss_line(f.server_peak_rss_kib));
    text
}
