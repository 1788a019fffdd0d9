//! View: a seat as every read sees it (a hold counts only until `held_until`).

use sea_orm::entity::prelude::*;

use super::SeatStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seat_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label: String,
    pub row_letter: String,
    pub seat_number: i32,
    pub status: SeatStatus,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
