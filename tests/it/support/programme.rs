//! The programme's calls: movies, sessions of a movie, filtered lists and
//! cancellations, as [`Client`] methods and request builders.

use chrono::{DateTime, Utc};
use tonic::{Status, transport::Channel};

use super::{
    client::{Client, within},
    pb::{
        AgeRating, CancelSessionRequest, CreateMovieRequest, CreateSessionRequest, GetMovieRequest,
        KindPrice, ListMoviesRequest, ListMoviesResponse, ListSessionsRequest,
        ListSessionsResponse, Movie, SeatKind, Session, movie_service_client::MovieServiceClient,
    },
};

impl Client {
    pub fn movies(&self) -> MovieServiceClient<Channel> {
        MovieServiceClient::new(self.channel())
    }

    pub async fn create_movie(&self, request: CreateMovieRequest) -> Result<Movie, Status> {
        let request = self.request(request);
        within(self.movies().create_movie(request)).await
    }

    pub async fn get_movie(&self, movie_id: &str) -> Result<Movie, Status> {
        let request = self.request(GetMovieRequest {
            movie_id: movie_id.into(),
        });
        within(self.movies().get_movie(request)).await
    }

    pub async fn list_movies(
        &self,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListMoviesResponse, Status> {
        let request = self.request(ListMoviesRequest {
            page_size,
            page_token: page_token.into(),
        });
        within(self.movies().list_movies(request)).await
    }

    /// ListSessions with filters.
    pub async fn list_sessions_where(
        &self,
        request: ListSessionsRequest,
    ) -> Result<ListSessionsResponse, Status> {
        let request = self.request(request);
        within(self.sessions().list_sessions(request)).await
    }

    pub async fn cancel_session(
        &self,
        session_id: &str,
        reason: &str,
        request_id: &str,
    ) -> Result<Session, Status> {
        let request = self.request(CancelSessionRequest {
            session_id: session_id.into(),
            reason: reason.into(),
            request_id: request_id.into(),
        });
        within(self.sessions().cancel_session(request)).await
    }
}

/// A CreateMovie request: `title`, `minutes` long, rated `rating`.
pub fn movie_request(title: &str, minutes: i64, rating: AgeRating) -> CreateMovieRequest {
    CreateMovieRequest {
        title: title.into(),
        duration: Some(prost_types::Duration {
            seconds: minutes * 60,
            nanos: 0,
        }),
        rating: rating.into(),
        synopsis: String::new(),
    }
}

/// A CreateSession request for movie `movie_id` in room `room_id` at
/// `starts_at`, every seat kind of the room at R$ 25,00 unless `prices`
/// says otherwise.
pub fn movie_session_request(
    movie_id: &str,
    room_id: &str,
    starts_at: DateTime<Utc>,
    prices: &[(SeatKind, i64)],
) -> CreateSessionRequest {
    CreateSessionRequest {
        movie_id: movie_id.into(),
        room_id: room_id.into(),
        starts_at: Some(timestamp(starts_at)),
        price_cents: 2500,
        prices: prices
            .iter()
            .map(|&(kind, price_cents)| KindPrice {
                kind: kind.into(),
                price_cents,
            })
            .collect(),
        ..Default::default()
    }
}

/// A chrono time on the wire.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
