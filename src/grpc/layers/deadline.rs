//! The server's own deadline for every call, answered with DEADLINE_EXCEEDED.
//!
//! tonic already ends a call at the client's deadline (`grpc-timeout`); this
//! bounds the calls of clients that set none. Ending a call drops its
//! handler: an open transaction rolls back, so a call cut short leaves
//! nothing half-written. A stream's handler answers as soon as the stream is
//! set up, so watches are not cut.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tonic::{Status, codegen::http};

/// The tower layer that gives every call at most `0` to answer.
#[derive(Clone, Copy)]
pub struct DeadlineLayer(pub Duration);

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            limit: self.0,
        }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S, B, R> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_) => {
                    let message = format!("no answer within the server's limit of {limit:?}");
                    Ok(Status::deadline_exceeded(message).into_http())
                }
            }
        })
    }
}
