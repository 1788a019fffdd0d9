//! Rooms: created once with their layout, then only read.

use uuid::Uuid;

use crate::{
    domain::{
        AuditAction, AuditEntry, Caller, Error, NewRoom, Result, Room,
        layout::{self, RoomCursor, room_seat_count},
    },
    store::{self, Db},
};

/// Checks a new room's layout against every rule (reporting every problem
/// at once), then creates it, audited.
pub async fn create_room(db: &Db, caller: &Caller, new: NewRoom) -> Result<Room> {
    let new = layout::validate_room(new)?;
    let room_id = Uuid::now_v7();
    let audit = AuditEntry::new(caller, AuditAction::RoomCreated, room_id).detail(format!(
        "{}, {} seats",
        new.name,
        room_seat_count(&new.rows)
    ));
    let tx = store::begin(db).await?;
    store::rooms::insert(&tx, room_id, &new).await?;
    store::audit::record(&tx, &audit).await?;
    tx.commit().await?;
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
