//! The seats of a sale. A partial unique index sells a seat at most once
//! at a time: of all the sales of a seat, at most one is not refunded.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sale_seats")]
pub struct Model {
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sale_id: Uuid,
    pub refunded: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
