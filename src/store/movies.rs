//! Movies: adding one, reading and listing them.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{Db, Tx, entities::movies};
use crate::domain::{
    Movie, Result,
    movie::{MovieCursor, ValidMovie},
};

/// Adds a validated movie, in `tx`.
pub async fn insert(tx: &Tx, movie_id: Uuid, new: ValidMovie) -> Result<()> {
    let movie = movies::ActiveModel {
        movie_id: Set(movie_id),
        title: Set(new.title),
        // At most six hours, checked by the domain and the schema.
        duration_seconds: Set(i32::try_from(new.duration.as_secs()).unwrap_or(i32::MAX)),
        rating: Set(new.rating.into()),
        synopsis: Set(new.synopsis),
        create_time: Set(Utc::now()),
    };
    movies::Entity::insert(movie)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// One movie.
pub async fn get(db: &impl ConnectionTrait, movie_id: Uuid) -> Result<Option<Movie>> {
    let found = movies::Entity::find_by_id(movie_id).one(db).await?;
    Ok(found.map(Movie::from))
}

/// Up to `limit` movies after `cursor`, by title then id.
pub async fn list(db: &Db, cursor: Option<MovieCursor>, limit: u64) -> Result<Vec<Movie>> {
    use movies::Column;
    let mut query = movies::Entity::find()
        .order_by_asc(Column::Title)
        .order_by_asc(Column::MovieId)
        .limit(limit);
    if let Some((after_title, after_id)) = cursor {
        query = query.filter(
            Expr::tuple([Expr::col(Column::Title), Expr::col(Column::MovieId)])
                .gt(Expr::tuple([Expr::val(after_title), Expr::val(after_id)])),
        );
    }
    let found = query.all(db).await?;
    Ok(found.into_iter().map(Movie::from).collect())
}

impl From<movies::Model> for Movie {
    fn from(m: movies::Model) -> Self {
        Self {
            movie_id: m.movie_id,
            title: m.title,
            duration: Duration::from_secs(m.duration_seconds.unsigned_abs().into()),
            rating: m.rating.into(),
            synopsis: m.synopsis,
            create_time: m.create_time,
        }
    }
}
