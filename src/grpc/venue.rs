//! VenueService: rooms and their layouts, created by admins, read by anyone.

use tonic::{Request, Response, Status};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
};
use crate::{
    catalog,
    domain::NewRoom,
    proto::v1::{self as pb, venue_service_server::VenueService},
    store::Db,
};

/// The page-token scope of ListRooms.
const LIST_SCOPE: &str = "rooms";

pub struct VenueApi {
    db: Db,
    page_tokens: PageTokens,
}

impl VenueApi {
    pub fn new(db: Db, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }
}

#[tonic::async_trait]
impl VenueService for VenueApi {
    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> Result<Response<pb::Room>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let r = request.into_inner();
        let new = NewRoom {
            name: r.name,
            rows: r.rows.into_iter().map(convert::row_layout).collect(),
        };
        let room = catalog::create_room(&self.db, &caller, new).await?;
        telemetry::record("room_id", room.room_id);
        tracing::info!(seats = room.seat_count, "room created");
        Ok(Response::new(convert::room(room)))
    }

    async fn get_room(
        &self,
        request: Request<pb::GetRoomRequest>,
    ) -> Result<Response<pb::Room>, Status> {
        let room_id = convert::parse_id("room_id", &request.get_ref().room_id)?;
        let room = catalog::get_room(&self.db, room_id).await?;
        Ok(Response::new(convert::room(room)))
    }

    async fn list_rooms(
        &self,
        request: Request<pb::ListRoomsRequest>,
    ) -> Result<Response<pb::ListRoomsResponse>, Status> {
        let r = request.into_inner();
        let limit = paging::page_size(r.page_size)?;
        let cursor = self.page_tokens.decode(LIST_SCOPE, &r.page_token)?;
        let mut rooms = catalog::list_rooms(&self.db, cursor, limit + 1).await?;
        let next_page_token = self
            .page_tokens
            .finish_page(LIST_SCOPE, &mut rooms, limit, |last| {
                (last.create_time, last.room_id)
            });
        Ok(Response::new(pb::ListRoomsResponse {
            rooms: rooms.into_iter().map(convert::room).collect(),
            next_page_token,
        }))
    }
}
