//! A published session: a movie in a room at a time, its price and state.

use sea_orm::entity::prelude::*;

use super::SessionState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    pub movie_title: String,
    pub room: String,
    pub starts_at: DateTimeUtc,
    pub price_cents: i64,
    pub currency: String,
    pub seat_rows: i32,
    pub seats_per_row: i32,
    pub create_time: DateTimeUtc,
    pub room_id: Option<Uuid>,
    pub allow_single_seat_gaps: bool,
    pub movie_id: Option<Uuid>,
    /// When the room is free again; only with a movie.
    pub ends_at: Option<DateTimeUtc>,
    pub state: SessionState,
    pub cancel_reason: Option<String>,
    pub cancel_time: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
