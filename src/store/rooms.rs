//! Rooms: creating one with its rows, reading and listing them.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Db, Tx,
    entities::{room_rows, rooms},
};
use crate::domain::{
    NewRoom, Result, Room, RowLayout,
    layout::{RoomCursor, room_seat_count},
};

/// Creates a validated room with its rows, in `tx`.
pub async fn insert(tx: &Tx, room_id: Uuid, new: &NewRoom) -> Result<()> {
    let room = rooms::ActiveModel {
        room_id: Set(room_id),
        name: Set(new.name.clone()),
        seat_count: Set(room_seat_count(&new.rows) as i32),
        create_time: Set(Utc::now()),
    };
    let rows = new
        .rows
        .iter()
        .enumerate()
        .map(|(position, row)| room_rows::ActiveModel {
            room_id: Set(room_id),
            position: Set(position as i32),
            label: Set(row.label.clone()),
            seats: Set(row.seats.clone()),
        });
    rooms::Entity::insert(room)
        .exec_without_returning(tx)
        .await?;
    room_rows::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// One room with its rows.
pub async fn get(db: &impl ConnectionTrait, room_id: Uuid) -> Result<Option<Room>> {
    let Some(room) = rooms::Entity::find_by_id(room_id).one(db).await? else {
        return Ok(None);
    };
    Ok(with_rows(db, vec![room]).await?.pop())
}

/// Up to `limit` rooms after `cursor`, oldest first.
pub async fn list(db: &Db, cursor: Option<RoomCursor>, limit: u64) -> Result<Vec<Room>> {
    use rooms::Column;
    let mut query = rooms::Entity::find()
        .order_by_asc(Column::CreateTime)
        .order_by_asc(Column::RoomId)
        .limit(limit);
    if let Some((after_time, after_id)) = cursor {
        query = query.filter(
            Expr::tuple([Expr::col(Column::CreateTime), Expr::col(Column::RoomId)])
                .gt(Expr::tuple([Expr::val(after_time), Expr::val(after_id)])),
        );
    }
    let found = query.all(db).await?;
    with_rows(db, found).await
}

/// The rooms with their rows, read in one more query.
async fn with_rows(db: &impl ConnectionTrait, found: Vec<rooms::Model>) -> Result<Vec<Room>> {
    use room_rows::Column;
    let rows = room_rows::Entity::find()
        .filter(Column::RoomId.is_in(found.iter().map(|room| room.room_id)))
        .order_by_asc(Column::RoomId)
        .order_by_asc(Column::Position)
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|room| Room {
            rows: rows
                .iter()
                .filter(|row| row.room_id == room.room_id)
                .map(|row| RowLayout {
                    label: row.label.clone(),
                    seats: row.seats.clone(),
                })
                .collect(),
            room_id: room.room_id,
            name: room.name,
            seat_count: room.seat_count.unsigned_abs(),
            create_time: room.create_time,
        })
        .collect())
}
