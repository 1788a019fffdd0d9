//! SessionService: publish sessions, read them, list them, show seat maps
//! and, for admins, block seats, cancel sessions and read sales figures.

use std::{sync::Arc, time::Duration};

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
};
use crate::{
    booking::{Booking, CancelSession},
    catalog::{self, SeatSelection},
    domain::{
        Error, NewSession, SessionFilter, Violations, labels, seat::parse_reason, text::is_name,
        valid,
    },
    events::Signal,
    live::{self, Hub},
    proto::v1::{self as pb, session_service_server::SessionService},
    store::Db,
};

/// The page-token scope of ListSessions.
const LIST_SCOPE: &str = "sessions";

pub struct SessionApi {
    db: Db,
    page_tokens: PageTokens,
    hub: Arc<Hub>,
    events: Signal,
    booking: Arc<Booking>,
    /// How long a room needs between two shows.
    turnaround: Duration,
}

impl SessionApi {
    pub fn new(
        db: Db,
        page_tokens: PageTokens,
        hub: Arc<Hub>,
        events: Signal,
        booking: Arc<Booking>,
        turnaround: Duration,
    ) -> Self {
        Self {
            db,
            page_tokens,
            hub,
            events,
            booking,
            turnaround,
        }
    }
}

/// The filters of a ListSessions, each field checked.
fn filter(r: &pb::ListSessionsRequest) -> Result<SessionFilter, Status> {
    let mut violations = Violations::default();
    let movie_id = violations.check(convert::parse_optional_id("movie_id", &r.movie_id))?;
    let room_id = violations.check(convert::parse_optional_id("room_id", &r.room_id))?;
    let time = |field: &str, at: Option<prost_types::Timestamp>| match at {
        None => Ok(None),
        Some(at) => convert::datetime(Some(at))
            .map(Some)
            .ok_or_else(|| Error::invalid(field, "must be a valid timestamp")),
    };
    let starts_after = violations.check(time("starts_after", r.starts_after))?;
    let starts_before = violations.check(time("starts_before", r.starts_before))?;
    violations.finish()?;
    let filter = SessionFilter {
        movie_id: valid(movie_id)?,
        room_id: valid(room_id)?,
        starts_after: valid(starts_after)?,
        starts_before: valid(starts_before)?,
        only_with_seats: r.only_with_seats,
    };
    Ok(filter.checked()?)
}

/// Longest reason an admin may give for a cancellation.
const MAX_REASON_CHARS: usize = 200;

/// A CancelSession request, each field checked.
fn cancellation(r: pb::CancelSessionRequest) -> Result<CancelSession, Status> {
    let mut violations = Violations::default();
    let session_id = violations.check(convert::parse_id("session_id", &r.session_id))?;
    if !is_name(&r.reason, MAX_REASON_CHARS) {
        violations.check::<()>(Err(Error::invalid(
            "reason",
            "must be 1 to 200 characters, not blank, with no NUL character",
        )))?;
    }
    let request_id = violations.check(convert::parse_optional_id("request_id", &r.request_id))?;
    violations.finish()?;
    Ok(CancelSession {
        session_id: valid(session_id)?,
        reason: r.reason.trim().to_owned(),
        request_id: valid(request_id)?,
    })
}

/// Seats an admin blocks or unblocks at once, at most.
const MAX_SEATS_PER_BLOCK: usize = 100;

/// The session, seats and reason of a BlockSeats or UnblockSeats, each
/// field checked, every problem reported at once.
fn selection(
    session_id: &str,
    seat_labels: Vec<String>,
    reason: &str,
) -> Result<SeatSelection, Status> {
    let mut violations = Violations::default();
    let session_id = violations.check(convert::parse_id("session_id", session_id))?;
    let seats = violations.check(
        labels::parse_labels(&seat_labels, MAX_SEATS_PER_BLOCK).map_err(Error::InvalidArgument),
    )?;
    let reason = violations.check(parse_reason(reason))?;
    violations.finish()?;
    Ok(SeatSelection {
        session_id: valid(session_id)?,
        seats: valid(seats)?,
        reason: valid(reason)?,
        requested: seat_labels,
    })
}

#[tonic::async_trait]
impl SessionService for SessionApi {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let r = request.into_inner();
        let new = NewSession {
            movie_title: r.movie_title,
            room: r.room,
            starts_at: convert::datetime(r.starts_at),
            price_cents: r.price_cents,
            currency: r.currency,
            rows: r.rows,
            seats_per_row: r.seats_per_row,
            room_id: convert::parse_optional_id("room_id", &r.room_id)?,
            prices: r.prices.into_iter().map(convert::kind_price).collect(),
            allow_single_seat_gaps: r.allow_single_seat_gaps,
            movie_id: convert::parse_optional_id("movie_id", &r.movie_id)?,
        };
        let session = catalog::create_session(&self.db, &caller, new, self.turnaround).await?;
        telemetry::record("session_id", session.session_id);
        tracing::info!("session created");
        Ok(Response::new(convert::session(session)))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session_id = convert::parse_id("session_id", &request.get_ref().session_id)?;
        let session = catalog::get_session(&self.db, session_id).await?;
        Ok(Response::new(convert::session(session)))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let r = request.into_inner();
        let filter = filter(&r)?;
        let limit = paging::page_size(r.page_size)?;
        // A token is good only for the filters it was made with.
        let scope = format!("{LIST_SCOPE}?{}", filter.key());
        let cursor = self.page_tokens.decode(&scope, &r.page_token)?;
        let mut sessions = catalog::list_sessions(&self.db, &filter, cursor, limit + 1).await?;
        let next_page_token = self
            .page_tokens
            .finish_page(&scope, &mut sessions, limit, |last| {
                (last.starts_at, last.session_id)
            });
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions.into_iter().map(convert::session).collect(),
            next_page_token,
        }))
    }

    async fn get_seat_map(
        &self,
        request: Request<pb::GetSeatMapRequest>,
    ) -> Result<Response<pb::SeatMap>, Status> {
        let session_id = convert::parse_id("session_id", &request.get_ref().session_id)?;
        let map = catalog::seat_map(&self.db, session_id).await?;
        Ok(Response::new(convert::seat_map(map)))
    }

    async fn get_session_sales(
        &self,
        request: Request<pb::GetSessionSalesRequest>,
    ) -> Result<Response<pb::SessionSales>, Status> {
        caller(&request)?.require_admin()?;
        let session_id = convert::parse_id("session_id", &request.get_ref().session_id)?;
        let sales = catalog::session_sales(&self.db, session_id).await?;
        Ok(Response::new(convert::session_sales(sales)))
    }

    async fn block_seats(
        &self,
        request: Request<pb::BlockSeatsRequest>,
    ) -> Result<Response<pb::SeatMap>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let r = request.into_inner();
        let selection = selection(&r.session_id, r.seat_labels, &r.reason)?;
        let map = catalog::block_seats(&self.db, &self.events, &caller, selection).await?;
        Ok(Response::new(convert::seat_map(map)))
    }

    async fn unblock_seats(
        &self,
        request: Request<pb::UnblockSeatsRequest>,
    ) -> Result<Response<pb::SeatMap>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let r = request.into_inner();
        let selection = selection(&r.session_id, r.seat_labels, &r.reason)?;
        let map = catalog::unblock_seats(&self.db, &self.events, &caller, selection).await?;
        Ok(Response::new(convert::seat_map(map)))
    }

    async fn cancel_session(
        &self,
        request: Request<pb::CancelSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let cancel = cancellation(request.into_inner())?;
        let session_id = cancel.session_id;
        self.booking.cancel_session(&caller, cancel).await?;
        tracing::info!("session cancelled");
        let session = catalog::get_session(&self.db, session_id).await?;
        Ok(Response::new(convert::session(session)))
    }

    async fn watch_seat_map(
        &self,
        request: Request<pb::WatchSeatMapRequest>,
    ) -> Result<Response<BoxStream<pb::SeatMapEvent>>, Status> {
        let session_id = convert::parse_id("session_id", &request.get_ref().session_id)?;
        let events = live::watch(&self.hub, self.db.clone(), session_id).await?;
        let stream = events.map(|event| event.map(convert::seat_map_event).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }
}
