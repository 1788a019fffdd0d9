//! Movies: added once, then only read.

use uuid::Uuid;

use crate::{
    domain::{
        AuditAction, AuditEntry, Caller, Error, Movie, NewMovie, Result,
        movie::{self, MovieCursor},
    },
    store::{self, Db},
};

/// Checks a new movie against every rule (reporting every problem at
/// once), then adds it, audited.
pub async fn create_movie(db: &Db, caller: &Caller, new: NewMovie) -> Result<Movie> {
    let valid = movie::validate(new)?;
    let movie_id = Uuid::now_v7();
    let audit =
        AuditEntry::new(caller, AuditAction::MovieCreated, movie_id).detail(valid.title.clone());
    let tx = store::begin(db).await?;
    store::movies::insert(&tx, movie_id, valid).await?;
    store::audit::record(&tx, &audit).await?;
    tx.commit().await?;
    get_movie(db, movie_id).await
}

/// One movie, or NOT_FOUND.
pub async fn get_movie(db: &Db, movie_id: Uuid) -> Result<Movie> {
    store::movies::get(db, movie_id)
        .await?
        .ok_or_else(|| Error::not_found("movie", movie_id))
}

/// Up to `limit` movies after `cursor`, by title then id.
pub async fn list_movies(db: &Db, cursor: Option<MovieCursor>, limit: u64) -> Result<Vec<Movie>> {
    store::movies::list(db, cursor, limit).await
}
