//! View: a seat as every read sees it (a hold counts only until
//! `held_until`), with the price of its kind.

use sea_orm::entity::prelude::*;

use super::{SeatKind, SeatStatus};

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
    pub kind: SeatKind,
    pub price_cents: i64,
    pub x: i32,
    pub y: i32,
    pub pair_label: Option<String>,
    pub block_reason: Option<String>,
    pub hold_expire_time: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
