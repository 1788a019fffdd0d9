//! View: a session with how many of its seats there are and are available
//! now, and its prices.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_states")]
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
    pub total_seats: i64,
    pub available_seats: i64,
    /// With `price_amounts`: the price of each kind, in one order.
    pub price_kinds: Vec<String>,
    pub price_amounts: Vec<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
