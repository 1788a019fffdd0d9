//! The seats a reservation asked for, priced when held, kept after it ends
//! for its history.

use sea_orm::entity::prelude::*;

use super::{SeatKind, TicketType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservation_seats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label: String,
    pub kind: SeatKind,
    pub ticket_type: TicketType,
    pub price_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
