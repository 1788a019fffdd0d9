//! View: a session with how many of its seats there are and are available
//! now, its prices, its movie's rating and its state.

use sea_orm::entity::prelude::*;

use super::{AgeRating, SessionState};

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
    pub movie_id: Option<Uuid>,
    pub ends_at: Option<DateTimeUtc>,
    /// The movie's; none without a movie.
    pub rating: Option<AgeRating>,
    pub state: SessionState,
    pub cancel_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
