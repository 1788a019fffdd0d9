//! Rooms: created once with their layout, then only read.

use uuid::Uuid;

use crate::{
    domain::{
        Error, NewRoom, Result, Room,
        layout::{self, RoomCursor},
    },
    store::{self, Db},
};

/// Checks a new room's layout against every rule (reporting every problem
/// at once), then creates it.
pub async fn create_room(db: &Db, new: NewRoom) -> Result<Room> {
    let new = layout::validate_room(new)?;
    let room_id = Uuid::now_v7();
    store::rooms::insert(db, room_id, &new).await?;
    get_room(db, room_id).await
}

/// One room, or NOT_FOUND.
pub async fn get_room(db: &Db, room_id: Uuid) -> Result<Room> {
    store::rooms::get(db, room_id)
        .await?
        .ok_or_else(|| Error::not_found("room", room_id))
}

/// Up to `limit` rooms after `cursor`, oldest first.
pub async fn list_rooms(db: &Db, cursor: Option<RoomCursor>, limit: u64) -> Result<Vec<Room>> {
    store::rooms::list(db, cursor, limit).await
}
