//! One ticket: a seat of a sale, its code, and whether it admitted someone.

use sea_orm::entity::prelude::*;

use super::{TicketStatus, TicketType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: Uuid,
    pub sale_id: Uuid,
    pub session_id: Uuid,
    pub seat_label: String,
    pub ticket_type: TicketType,
    pub code: String,
    pub status: TicketStatus,
    pub admit_time: Option<DateTimeUtc>,
    pub admit_gate: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
