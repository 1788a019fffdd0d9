//! Sales figures of one session, seat kind and ticket type.

use sea_orm::entity::prelude::*;

use super::{SeatKind, TicketType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_sales_by_kind")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: SeatKind,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_type: TicketType,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
