//! A reservation as recorded: `pending` until paid, cancelled or recorded expired.

use sea_orm::entity::prelude::*;

use super::ReservationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub status: ReservationStatus,
    pub expires_at: DateTimeUtc,
    pub total_price_cents: i64,
    pub currency: String,
    pub create_time: DateTimeUtc,
    pub finish_time: Option<DateTimeUtc>,
    pub extensions_left: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
