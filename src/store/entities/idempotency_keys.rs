//! A client's request_id, remembered so that a retry gets the first answer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub request_id: Uuid,
    /// Which RPC, and a fingerprint of its arguments.
    pub operation: String,
    pub fingerprint: String,
    /// The reservation or sale the first request produced.
    pub resource_id: Uuid,
    pub create_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
