//! The browser's way in, on the gRPC port itself: gRPC-Web (translated to
//! gRPC by tonic-web, so every service and the WatchSeatMap stream answer
//! it), CORS for the configured origins, and the web app's files for the
//! page loads (GET and HEAD; every call, gRPC or gRPC-Web, is a POST).

use std::{
    convert::Infallible,
    future::Future,
    path::Path,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderName, HeaderValue, Method, Request, Response};
use tonic::body::Body;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    services::{ServeDir, ServeFile},
};

use crate::config::WebSettings;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Headers a page sends with a gRPC-Web call.
const REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "x-request-id",
];

/// Headers a page may read of the answer: the call's status and details.
const RESPONSE_HEADERS: [&str; 4] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
];

/// Serves the web app's files, when a directory is set, to page loads;
/// passes everything else on. A path that is no file gets `index.html`, so
/// the app's own links load it.
#[derive(Clone)]
pub struct AppLayer(Option<ServeDir<ServeFile>>);

impl AppLayer {
    pub fn new(web: &WebSettings) -> Self {
        Self(web.dir.as_deref().map(files))
    }
}

fn files(dir: &Path) -> ServeDir<ServeFile> {
    ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))
}

impl<S> tower::Layer<S> for AppLayer {
    type Service = App<S>;

    fn layer(&self, inner: S) -> Self::Service {
        App {
            inner,
            files: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct App<S> {
    inner: S,
    files: Option<ServeDir<ServeFile>>,
}

impl<S, B> tower::Service<Request<B>> for App<S>
where
    S: tower::Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match &mut self.files {
            Some(files) if matches!(*request.method(), Method::GET | Method::HEAD) => {
                // Always ready: ServeDir has no back-pressure.
                let served = tower::Service::call(files, request);
                Box::pin(async move {
                    let response = served
                        .await
                        .unwrap_or_else(|never: Infallible| match never {});
                    Ok(response.map(Body::new))
                })
            }
            _ => Box::pin(self.inner.call(request)),
        }
    }
}

/// CORS for the configured origins only: with none, browsers let no other
/// origin's page call the API (the app served here needs no CORS).
pub fn cors(web: &WebSettings) -> CorsLayer {
    let origins: Vec<HeaderValue> = web
        .origins
        .iter()
        .flat_map(|origins| &origins.0)
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(RESPONSE_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}
