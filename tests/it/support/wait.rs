//! Waiting for something to happen: poll a check with a short pause until it
//! succeeds, or fail with the last thing it saw once a generous deadline has
//! passed. Tests wait for the condition itself, never for a fixed time.

use std::{fmt::Display, future::Future, time::Duration};

/// The pause between two checks.
const PAUSE: Duration = Duration::from_millis(50);

/// What a check says: done (with a value), or not yet (and why).
pub trait Progress<T> {
    fn into_result(self) -> Result<T, String>;
}

impl<T> Progress<T> for Option<T> {
    fn into_result(self) -> Result<T, String> {
        self.ok_or_else(|| "the condition did not hold".to_owned())
    }
}

impl<T, E: Display> Progress<T> for Result<T, E> {
    fn into_result(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Runs `check` until it gives `Some`/`Ok`, pausing briefly between tries;
/// panics with its last `Err` if that has not happened within `limit`.
pub async fn eventually<T, P, Fut>(limit: Duration, check: impl FnMut() -> Fut) -> T
where
    P: Progress<T>,
    Fut: Future<Output = P>,
{
    eventually_every(limit, PAUSE, check).await
}

/// [`eventually`] with another pause between tries, for checks that cost
/// something (a probe that takes a seat, a scrape).
pub async fn eventually_every<T, P, Fut>(
    limit: Duration,
    pause: Duration,
    check: impl FnMut() -> Fut,
) -> T
where
    P: Progress<T>,
    Fut: Future<Output = P>,
{
    let mut check = check;
    poll(limit, pause, || {
        let progress = check();
        async move { progress.await.into_result() }
    })
    .await
    .unwrap_or_else(|last| panic!("not so within {limit:?}: {last}"))
}

/// Runs `check` until it gives `Ok`, pausing `pause` between tries; its last
/// `Err` if it has not within `limit`.
pub async fn poll<T, E, Fut>(
    limit: Duration,
    pause: Duration,
    mut check: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(last) if tokio::time::Instant::now() >= deadline => return Err(last),
            Err(_) => tokio::time::sleep(pause).await,
        }
    }
}

/// The time from now until `at` (zero once it has passed): the limit of a
/// wait for something the service promises by a given time.
pub fn time_until(at: chrono::DateTime<chrono::Utc>) -> Duration {
    (at - chrono::Utc::now()).to_std().unwrap_or_default()
}
