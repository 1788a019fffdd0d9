//! `cinema watch SESSION_ID`: a client of WatchSeatMap that draws the seat
//! map in the terminal, redrawn on every change (or, piped, one line per
//! change), until Ctrl-C or the session is cancelled.
//!
//! [`view`] folds the stream into the map as last seen, [`draw`] decides what
//! to write after each message, and [`map`] lays the seats out by position.

mod draw;
#[cfg(test)]
mod fixtures;
mod map;
mod view;

use std::{
    io::{IsTerminal, Write},
    time::Duration,
};

use anyhow::Context;
use clap::Args;

use super::connect;
use crate::{
    auth::Authenticator,
    config::{OptionalJwtSettings, ServerAddress},
    grpc::status::code_name,
    proto::v1::{WatchSeatMapRequest, session_service_client::SessionServiceClient},
};
use draw::Output;

/// How long `watch` waits for the server to accept its connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A minted watcher token is checked once, when the watch starts.
const WATCHER_TOKEN_TTL: Duration = Duration::from_secs(3600);

#[derive(Args)]
pub struct WatchArgs {
    /// The session to watch (a UUID).
    session_id: String,
    #[command(flatten)]
    server: ServerAddress,
    /// A bearer token; without one, a token for user "watcher" is minted
    /// with CINEMA_JWT_SECRET.
    #[arg(long, env = "CINEMA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Mints the watcher token when no token is given.
    #[command(flatten)]
    jwt: OptionalJwtSettings,
}

/// Draws the seat map on stdout until the stream fails.
pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let session_id = args.session_id.clone();
    follow(args)
        .await
        .with_context(|| format!("watching session {session_id}"))
}

async fn follow(args: WatchArgs) -> anyhow::Result<()> {
    let token = token(&args)?;
    let channel = connect::endpoint(&args.server)?
        .connect_timeout(CONNECT_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("connecting to {}", args.server.addr))?;
    let mut request = tonic::Request::new(WatchSeatMapRequest {
        session_id: args.session_id,
    });
    let bearer = format!("Bearer {token}")
        .parse()
        .context("the token cannot be sent as gRPC metadata")?;
    request.metadata_mut().insert("authorization", bearer);
    let mut stream = SessionServiceClient::new(channel)
        .watch_seat_map(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let output = if std::io::stdout().is_terminal() {
        Output::Terminal
    } else {
        Output::Piped
    };
    let mut seen = None;
    loop {
        let event = match stream.message().await {
            Ok(Some(event)) => event,
            Ok(None) => anyhow::bail!("the server ended the watch"),
            // The map drawn last is the session's final one: a normal end.
            Err(status) if is_cancellation(&status) => {
                print_flushed("The session was cancelled: nothing of it is on sale any more.\n")?;
                return Ok(());
            }
            Err(status) => return Err(status_error(status)),
        };
        let (folded_view, folded) =
            view::fold(seen.take(), event, chrono::Local::now().fixed_offset())?;
        print_flushed(&draw::draw(&folded_view, &folded, output))?;
        seen = Some(folded_view);
    }
}

/// Whether the stream ended because its session was cancelled.
fn is_cancellation(status: &tonic::Status) -> bool {
    use tonic_types::StatusExt;
    status
        .get_details_precondition_failure()
        .is_some_and(|failure| {
            failure
                .violations
                .iter()
                .any(|v| v.r#type == "SESSION_CANCELLED")
        })
}

/// The given token, or one minted for user "watcher".
fn token(args: &WatchArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    let secret = args
        .jwt
        .secret
        .as_ref()
        .context("give --token (CINEMA_TOKEN), or CINEMA_JWT_SECRET to mint one")?;
    Authenticator::new(secret)
        .mint("watcher", false, WATCHER_TOKEN_TTL)
        .context("minting a watcher token")
}

/// A gRPC failure as `NOT_FOUND: session ... not found`.
fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", code_name(status.code()), status.message())
}

/// Writes `text` now: a piped reader should see each update as it happens.
fn print_flushed(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}
