//! View: a sale with what a receipt shows (its seats, the movie and its start).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sale_details")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sale_id: Uuid,
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub amount_cents: i64,
    pub refunded_cents: i64,
    pub currency: String,
    pub payment_reference: String,
    pub paid_time: DateTimeUtc,
    pub movie_title: String,
    pub starts_at: DateTimeUtc,
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
