//! View: a reservation as every read sees it (expired once its hold has passed), with its seats.

use sea_orm::entity::prelude::*;

use super::ReservationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservation_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub status: ReservationStatus,
    pub expires_at: DateTimeUtc,
    pub create_time: DateTimeUtc,
    pub total_price_cents: i64,
    pub currency: String,
    pub extensions_left: i32,
    /// With the three arrays below: each seat's label, kind, ticket type
    /// and price, in one order.
    pub seat_labels: Vec<String>,
    pub seat_kinds: Vec<String>,
    pub ticket_types: Vec<String>,
    pub seat_prices: Vec<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
