//! Authentication, once per call. [`AuthLayer`] verifies the bearer token of
//! every cinema call and puts who is calling in the request's extensions
//! ([`Identity`]); the rate limit reads it from there (so a call without a
//! valid token is still counted, by its peer's address); then
//! [`RequireCallerLayer`] refuses such a call with UNAUTHENTICATED before it
//! reaches a service, and handlers read the [`Caller`] (with the call's
//! request id, for the audit trail) with [`caller`].
//! Health and reflection need no token.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tonic::{Request, Status, codegen::http};

use crate::{
    auth::Authenticator,
    domain::{Caller, Error},
    grpc::layers::telemetry,
};

/// Who is calling, as the auth layer found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Caller(Caller),
    /// No valid token: why.
    Anonymous(&'static str),
}

/// Whether a call needs a token: every cinema service does.
pub fn is_cinema_call(path: &str) -> bool {
    path.starts_with("/cinema.v1.")
}

/// The caller the auth layer verified.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Error> {
    match request.extensions().get::<Identity>() {
        Some(Identity::Caller(caller)) => Ok(caller.clone()),
        Some(Identity::Anonymous(why)) => Err(Error::Unauthenticated(why)),
        None => Err(Error::Internal(
            "a service is served without the auth layer".into(),
        )),
    }
}

fn identify<B>(auth: &Authenticator, request: &http::Request<B>) -> Identity {
    let header = request.headers().get("authorization").map(|v| v.to_str());
    let verified = match header {
        Some(Err(_)) => Err(Error::Unauthenticated("authorization is not ASCII")),
        Some(Ok(value)) => auth.verify(Some(value)),
        None => auth.verify(None),
    };
    match verified {
        Ok(mut caller) => {
            telemetry::record("user", &caller.user_id);
            caller.request_id = request_id(request);
            Identity::Caller(caller)
        }
        Err(Error::Unauthenticated(why)) => Identity::Anonymous(why),
        Err(_) => Identity::Anonymous("invalid token"),
    }
}

/// The call's request id, which the telemetry layer (outside this one) has
/// set on every request.
fn request_id<B>(request: &http::Request<B>) -> String {
    request
        .headers()
        .get(telemetry::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Verifies the token of every cinema call and records the [`Identity`].
#[derive(Clone)]
pub struct AuthLayer(pub Authenticator);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            auth: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    auth: Authenticator,
}

impl<S, B> tower::Service<http::Request<B>> for Authenticate<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if is_cinema_call(request.uri().path()) {
            let identity = identify(&self.auth, &request);
            request.extensions_mut().insert(identity);
        }
        self.inner.call(request)
    }
}

/// Refuses cinema calls without a valid token, with UNAUTHENTICATED.
#[derive(Clone, Copy, Default)]
pub struct RequireCallerLayer;

impl<S> tower::Layer<S> for RequireCallerLayer {
    type Service = RequireCaller<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireCaller(inner)
    }
}

#[derive(Clone)]
pub struct RequireCaller<S>(S);

impl<S, B, R> tower::Service<http::Request<B>> for RequireCaller<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(Identity::Anonymous(why)) = request.extensions().get::<Identity>() {
            let refused = Status::from(Error::Unauthenticated(why)).into_http();
            return Box::pin(std::future::ready(Ok(refused)));
        }
        Box::pin(self.0.call(request))
    }
}
