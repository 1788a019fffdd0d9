//! MovieService: the movies of the programme, added by admins, read by anyone.

use tonic::{Request, Response, Status};

use super::{
    convert,
    layers::{auth::caller, telemetry},
    paging::{self, PageTokens},
};
use crate::{
    catalog,
    domain::NewMovie,
    proto::v1::{self as pb, movie_service_server::MovieService},
    store::Db,
};

/// The page-token scope of ListMovies.
const LIST_SCOPE: &str = "movies";

pub struct MovieApi {
    db: Db,
    page_tokens: PageTokens,
}

impl MovieApi {
    pub fn new(db: Db, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }
}

#[tonic::async_trait]
impl MovieService for MovieApi {
    async fn create_movie(
        &self,
        request: Request<pb::CreateMovieRequest>,
    ) -> Result<Response<pb::Movie>, Status> {
        let caller = caller(&request)?;
        caller.require_admin()?;
        let r = request.into_inner();
        let new = NewMovie {
            title: r.title,
            duration: convert::duration(r.duration),
            rating: convert::age_rating(r.rating),
            synopsis: r.synopsis,
        };
        let movie = catalog::create_movie(&self.db, &caller, new).await?;
        telemetry::record("movie_id", movie.movie_id);
        tracing::info!("movie created");
        Ok(Response::new(convert::movie(movie)))
    }

    async fn get_movie(
        &self,
        request: Request<pb::GetMovieRequest>,
    ) -> Result<Response<pb::Movie>, Status> {
        let movie_id = convert::parse_id("movie_id", &request.get_ref().movie_id)?;
        let movie = catalog::get_movie(&self.db, movie_id).await?;
        Ok(Response::new(convert::movie(movie)))
    }

    async fn list_movies(
        &self,
        request: Request<pb::ListMoviesRequest>,
    ) -> Result<Response<pb::ListMoviesResponse>, Status> {
        let r = request.into_inner();
        let limit = paging::page_size(r.page_size)?;
        let cursor = self.page_tokens.decode(LIST_SCOPE, &r.page_token)?;
        let mut movies = catalog::list_movies(&self.db, cursor, limit + 1).await?;
        let next_page_token =
            self.page_tokens
                .finish_page(LIST_SCOPE, &mut movies, limit, |last| {
                    (last.title.clone(), last.movie_id)
                });
        Ok(Response::new(pb::ListMoviesResponse {
            movies: movies.into_iter().map(convert::movie).collect(),
            next_page_token,
        }))
    }
}
