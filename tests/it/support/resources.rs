//! What a test creates on the shared services, each part owned by a guard
//! that removes it when dropped: a test that panics leaves nothing behind.
//!
//! `Drop` is synchronous and often runs inside a test's tokio runtime (or
//! while a panic unwinds out of it), where no runtime may be started: the
//! removal runs on a thread of its own with a small runtime of its own, and
//! `Drop` waits for that thread, so it is done before the test process
//! exits. Each removal is bounded in time and best effort: a service that is
//! down (a private one already killed, an address nothing listens on) is
//! reported on stderr, not waited for.

use std::{future::Future, time::Duration};

use fred::prelude::{Builder, ClientLike, Config, KeysInterface};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};

use super::{Topology, service_url, with_database};

/// The longest one removal may take.
const REMOVAL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for a connection to a service: generous, since the
/// shared PostgreSQL forks a backend per connection on a busy machine.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database of its own for one test, on the shared PostgreSQL, named
/// `cinema_test_<uuid>`; dropped (`WITH (FORCE)`) with this guard.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    removed: bool,
}

impl TestDatabase {
    /// Creates an empty database.
    pub async fn create() -> Self {
        let server = service_url("DATABASE_URL");
        let name = format!("cinema_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = with_database(&server, "postgres");
        let admin = Database::connect(admin_options(&admin_url))
            .await
            .expect("connect to PostgreSQL as admin");
        // The guard exists before the database does: a failure below still
        // tries to remove it.
        let database = Self {
            url: with_database(&server, &name),
            name,
            admin_url,
            removed: false,
        };
        admin
            .execute_unprepared(&format!("CREATE DATABASE {}", database.name))
            .await
            .expect("create a test database");
        admin.close().await.expect("close the admin connection");
        database
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now.
    pub async fn remove(mut self) {
        self.removed = true;
        report(
            &self.what(),
            drop_database(self.admin_url.clone(), self.name.clone()).await,
        );
    }

    fn what(&self) -> String {
        format!("dropping database {}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.removed {
            let removal = drop_database(self.admin_url.clone(), self.name.clone());
            finish_on_own_thread(&self.what(), removal);
        }
    }
}

/// The JetStream streams of one NATS prefix (`<PREFIX>` and `<PREFIX>_DLQ`,
/// see [`Topology`]); deleted with this guard.
pub struct Streams {
    nats_url: String,
    topology: Topology,
    removed: bool,
}

impl Streams {
    pub fn new(nats_url: &str, prefix: &str) -> Self {
        Self {
            nats_url: nats_url.to_owned(),
            topology: Topology::new(prefix),
            removed: false,
        }
    }

    /// Deletes the streams now.
    pub async fn remove(mut self) {
        self.removed = true;
        report(&self.what(), self.deletion().await);
    }

    fn deletion(&self) -> impl Future<Output = Result<(), String>> + Send + 'static {
        delete_streams(
            self.nats_url.clone(),
            [
                self.topology.stream.clone(),
                self.topology.dlq_stream.clone(),
            ],
        )
    }

    fn what(&self) -> String {
        format!(
            "deleting streams {} and {} on {}",
            self.topology.stream, self.topology.dlq_stream, self.nats_url
        )
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        if !self.removed {
            finish_on_own_thread(&self.what(), self.deletion());
        }
    }
}

/// The Redis keys under one prefix (`<prefix>:*`: seat locks, hold markers,
/// rate budgets); deleted with this guard.
pub struct RedisKeys {
    redis_url: String,
    prefix: String,
    removed: bool,
}

impl RedisKeys {
    pub fn new(redis_url: &str, prefix: &str) -> Self {
        Self {
            redis_url: redis_url.to_owned(),
            prefix: prefix.to_owned(),
            removed: false,
        }
    }

    /// Deletes the keys now.
    pub async fn remove(mut self) {
        self.removed = true;
        report(
            &self.what(),
            delete_keys(self.redis_url.clone(), self.prefix.clone()).await,
        );
    }

    fn what(&self) -> String {
        format!("deleting keys {}:* on {}", self.prefix, self.redis_url)
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        if !self.removed {
            let deletion = delete_keys(self.redis_url.clone(), self.prefix.clone());
            finish_on_own_thread(&self.what(), deletion);
        }
    }
}

fn admin_options(admin_url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(admin_url);
    options
        .max_connections(1)
        .connect_timeout(CONNECT_TIMEOUT)
        .sqlx_logging(false);
    options
}

async fn drop_database(admin_url: String, name: String) -> Result<(), String> {
    bounded(async move {
        let admin = Database::connect(admin_options(&admin_url))
            .await
            .map_err(|e| e.to_string())?;
        let dropped = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map(drop)
            .map_err(|e| e.to_string());
        let _ = admin.close().await;
        dropped
    })
    .await
}

async fn delete_streams(nats_url: String, streams: [String; 2]) -> Result<(), String> {
    use async_nats::jetstream::{ErrorCode, context::DeleteStreamErrorKind};
    bounded(async move {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(&nats_url)
            .await
            .map_err(|e| e.to_string())?;
        let js = async_nats::jetstream::new(client.clone());
        let mut failures = Vec::new();
        for stream in streams {
            match js.delete_stream(&stream).await {
                Ok(_) => {}
                // Never created (the test did not get that far), or gone.
                Err(e)
                    if matches!(e.kind(), DeleteStreamErrorKind::JetStream(ref js)
                        if js.error_code() == ErrorCode::STREAM_NOT_FOUND) => {}
                Err(e) => failures.push(format!("{stream}: {e}")),
            }
        }
        let _ = client.drain().await;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    })
    .await
}

async fn delete_keys(redis_url: String, prefix: String) -> Result<(), String> {
    bounded(async move {
        let config = Config::from_url(&redis_url).map_err(|e| e.to_string())?;
        let client = Builder::from_config(config)
            .with_connection_config(|conn| conn.connection_timeout = CONNECT_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        client.init().await.map_err(|e| e.to_string())?;
        let pattern = format!("{prefix}:*");
        let mut cursor = "0".to_owned();
        let deleted = loop {
            let page: Result<(String, Vec<String>), _> = client
                .scan_page(cursor.clone(), pattern.clone(), Some(1000), None)
                .await;
            let (next, keys) = match page {
                Ok(page) => page,
                Err(e) => break Err(e.to_string()),
            };
            if !keys.is_empty()
                && let Err(e) = client.del::<i64, _>(keys).await
            {
                break Err(e.to_string());
            }
            if next == "0" {
                break Ok(());
            }
            cursor = next;
        };
        let _ = client.quit().await;
        deleted
    })
    .await
}

async fn bounded(removal: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(REMOVAL_TIMEOUT, removal)
        .await
        .unwrap_or_else(|_| Err(format!("not done within {REMOVAL_TIMEOUT:?}")))
}

fn report(what: &str, outcome: Result<(), String>) {
    if let Err(e) = outcome {
        eprintln!("test clean-up: {what}: {e}");
    }
}

/// Runs `removal` to its end on a new thread with a runtime of its own, and
/// waits for it. Never panics: it runs in `Drop`, maybe during a panic.
fn finish_on_own_thread(
    what: &str,
    removal: impl Future<Output = Result<(), String>> + Send + 'static,
) {
    let thread = std::thread::Builder::new()
        .name("test-clean-up".into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("no runtime: {e}"))?
                .block_on(removal)
        });
    let outcome = match thread {
        Ok(thread) => thread
            .join()
            .unwrap_or_else(|_| Err("the clean-up thread panicked".into())),
        Err(e) => Err(format!("no clean-up thread: {e}")),
    };
    report(what, outcome);
}
