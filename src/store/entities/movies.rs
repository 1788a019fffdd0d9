//! A movie of the catalogue: immutable once created.

use sea_orm::entity::prelude::*;

use super::AgeRating;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "movies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub movie_id: Uuid,
    pub title: String,
    pub duration_seconds: i32,
    pub rating: AgeRating,
    pub synopsis: String,
    pub create_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
