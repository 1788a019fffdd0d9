//! Running sales figures of a session, kept by the sales-figures consumer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_sales")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub holds_expired: i64,
    pub tickets_admitted: i64,
    pub tickets_refunded: i64,
    pub refunded_cents: i64,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
