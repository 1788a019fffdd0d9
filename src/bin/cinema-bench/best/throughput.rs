//! The throughput part: `--clients` clients, each its own user, call
//! ReserveBestAvailable for `--quantity` seats over `--sessions` fresh
//! sessions until every session has answered NOT_ENOUGH_ADJACENT_SEATS
//! (or `--timeout` passes).

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Instant, SystemTime},
};

use anyhow::Context;
use cinema::proto::v1::booking_service_client::BookingServiceClient;
use serde::Serialize;
use tokio::task::JoinSet;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use super::{
    BestArgs,
    audit::Audit,
    calls::{Call, as_calls, holds_ended_before, refusals},
    judge::refused_while_a_block_was_left,
};
use crate::{
    client::{Minter, connect, create_session_with_gaps},
    cpu::{CpuSample, CpuUsage},
    database::ServerDatabase,
    memory::RssPeak,
    progress::Progress,
    stats::{CallFigures, Summary},
};

#[derive(Serialize)]
pub(super) struct ThroughputFigures {
    pub(super) clients: u32,
    pub(super) connections: u32,
    pub(super) sessions: u32,
    pub(super) seats_per_session: u32,
    /// From the first call to the last answer.
    pub(super) seconds: f64,
    /// Every call: calls/s, latency percentiles, answers by code.
    pub(super) calls: CallFigures,
    /// Latency of the calls that got a block.
    pub(super) held_latency_ms: Option<Summary>,
    /// Refusals by code and precondition type.
    pub(super) refusals: BTreeMap<String, u64>,
    /// Sessions that answered NOT_ENOUGH_ADJACENT_SEATS before the timeout.
    pub(super) sessions_filled: usize,
    /// Answered before another caller's successful call on the same
    /// session was sent: a block was certainly left.
    pub(super) aborted_while_a_block_was_left: usize,
    pub(super) not_enough_while_a_block_was_left: usize,
    /// Holds that had ended by the time the database was read (the server's
    /// holds must outlast the run).
    pub(super) holds_ended: usize,
    pub(super) server_peak_rss_kib: Option<u64>,
    pub(super) cpu: CpuUsage,
    pub(super) database: Option<Audit>,
}

/// The sessions being filled, handed out round-robin until each is full.
struct OpenSessions {
    ids: Vec<String>,
    full: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl OpenSessions {
    fn new(ids: Vec<String>) -> Self {
        let full = ids.iter().map(|_| AtomicBool::new(false)).collect();
        Self {
            ids,
            full,
            next: AtomicUsize::new(0),
        }
    }

    /// The next session not yet known to be full, with its index.
    fn next(&self) -> Option<(usize, &str)> {
        (0..self.ids.len()).find_map(|_| {
            let index = self.next.fetch_add(1, Ordering::Relaxed) % self.ids.len();
            let open = !self.full[index].load(Ordering::Relaxed);
            open.then(|| (index, self.ids[index].as_str()))
        })
    }

    fn mark_full(&self, index: usize) {
        self.full[index].store(true, Ordering::Relaxed);
    }

    fn filled(&self) -> usize {
        self.full
            .iter()
            .filter(|f| f.load(Ordering::Relaxed))
            .count()
    }
}

pub(super) async fn run(
    args: &BestArgs,
    minter: &Minter,
    connections: &[Channel],
    database: Option<&ServerDatabase>,
) -> anyhow::Result<(ThroughputFigures, Vec<Call>)> {
    let control = connect(&args.target.server).await?;
    let admin = minter.admin()?;
    let mut ids = Vec::new();
    for _ in 0..args.sessions {
        let (rows, seats) = (args.rows, args.seats_per_row);
        ids.push(create_session_with_gaps(&control, &admin, rows, seats, false).await?);
    }
    eprintln!(
        "throughput: {} clients filling {} sessions of {} seats, {} seats a call",
        args.clients,
        ids.len(),
        args.rows * args.seats_per_row,
        args.quantity
    );
    let sessions = Arc::new(OpenSessions::new(ids));
    let rss = RssPeak::watch(args.target.server_pid);
    let cpu_before = CpuSample::take(args.target.server_pid)?;
    let (calls, seconds) = drive(args, minter, connections, Arc::clone(&sessions)).await?;
    let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
    let server_peak_rss_kib = rss.stop();
    let audit = match database {
        Some(database) => Some(Audit::read(database, &sessions.ids, args.quantity).await?),
        None => None,
    };
    let holds_ended = holds_ended_before(&calls, SystemTime::now());
    let held = calls.iter().filter(|call| call.held().is_some());
    let figures = ThroughputFigures {
        clients: args.clients,
        connections: args.connections,
        sessions: args.sessions,
        seats_per_session: args.rows * args.seats_per_row,
        seconds,
        calls: as_calls(&calls).figures(seconds),
        held_latency_ms: as_calls(held).figures(seconds).latency_ms,
        refusals: refusals(&calls),
        sessions_filled: sessions.filled(),
        aborted_while_a_block_was_left: refused_while_a_block_was_left(&calls, Call::aborted),
        not_enough_while_a_block_was_left: refused_while_a_block_was_left(&calls, Call::not_enough),
        holds_ended,
        server_peak_rss_kib,
        cpu,
        database: audit,
    };
    Ok((figures, calls))
}

/// Runs the clients until every session is full or the time is up;
/// returns every call and the seconds they took.
async fn drive(
    args: &BestArgs,
    minter: &Minter,
    connections: &[Channel],
    sessions: Arc<OpenSessions>,
) -> anyhow::Result<(Vec<Call>, f64)> {
    let progress = Arc::new(Progress::default());
    let ticker = progress.tick("best");
    let started = Instant::now();
    let deadline = started + args.timeout;
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        let bearer = minter.bearer(&format!("bench-best-client-{client}"), false)?;
        let booking =
            BookingServiceClient::new(connections[client as usize % connections.len()].clone());
        let (sessions, progress) = (Arc::clone(&sessions), Arc::clone(&progress));
        let quantity = args.quantity;
        clients.spawn(client_loop(
            booking, bearer, sessions, progress, deadline, quantity,
        ));
    }
    let mut calls = Vec::new();
    while let Some(client) = clients.join_next().await {
        calls.extend(client.context("a client task failed")?);
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.stop(ticker);
    Ok((calls, seconds))
}

/// One client: asks for a block of the next open session, again and
/// again; a NOT_ENOUGH_ADJACENT_SEATS answer closes that session for all.
async fn client_loop(
    mut booking: BookingServiceClient<Channel>,
    bearer: MetadataValue<Ascii>,
    sessions: Arc<OpenSessions>,
    progress: Arc<Progress>,
    deadline: Instant,
    quantity: u32,
) -> Vec<Call> {
    let mut calls = Vec::new();
    while Instant::now() < deadline {
        let Some(session) = sessions.next() else {
            break;
        };
        let call = Call::make(&mut booking, &bearer, session, quantity).await;
        if call.not_enough() {
            sessions.mark_full(call.session);
        }
        progress.call(call.held().is_some());
        calls.push(call);
    }
    calls
}
