//! SessionService: publish sessions, read them, list them, show seat maps
//! and, for admins, sales figures.

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
};
use crate::{
    catalog,
    domain::NewSession,
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
}

impl SessionApi {
    pub fn new(db: Db, page_tokens: PageTokens, hub: Arc<Hub>) -> Self {
        Self {
            db,
            page_tokens,
            hub,
        }
    }
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
