//! SessionService: publish sessions, read them, list them, show seat maps
//! and, for admins, block seats and read sales figures.

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
};
use crate::{
    catalog::{self, SeatSelection},
    domain::{Error, NewSession, Violations, labels, seat::parse_reason, valid},
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
}

impl SessionApi {
    pub fn new(db: Db, page_tokens: PageTokens, hub: Arc<Hub>, events: Signal) -> Self {
        Self {
            db,
            page_tokens,
            hub,
            events,
        }
    }
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
        caller(&request)?.require_admin()?;
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
        };
        let session = catalog::create_session(&self.db, new).await?;
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
        let limit = paging::page_size(r.page_size)?;
        let cursor = self.page_tokens.decode(LIST_SCOPE, &r.page_token)?;
        let mut sessions = catalog::list_sessions(&self.db, cursor, limit + 1).await?;
        let next_page_token =
            self.page_tokens
                .finish_page(LIST_SCOPE, &mut sessions, limit, |last| {
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
        caller(&request)?.require_admin()?;
        let r = request.into_inner();
        let selection = selection(&r.session_id, r.seat_labels, &r.reason)?;
        let map = catalog::block_seats(&self.db, &self.events, selection).await?;
        Ok(Response::new(convert::seat_map(map)))
    }

    async fn unblock_seats(
        &self,
        request: Request<pb::UnblockSeatsRequest>,
    ) -> Result<Response<pb::SeatMap>, Status> {
        caller(&request)?.require_admin()?;
        let r = request.into_inner();
        let selection = selection(&r.session_id, r.seat_labels, &r.reason)?;
        let map = catalog::unblock_seats(&self.db, &self.events, selection).await?;
        Ok(Response::new(convert::seat_map(map)))
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
