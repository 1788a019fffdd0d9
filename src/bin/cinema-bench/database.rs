//! Straight to PostgreSQL: correctness checks against the server's own
//! database and its transaction counters, and the connections the
//! bare-database baseline opens.

use anyhow::Context;
use cinema::store::{self, Db, checks};
use uuid::Uuid;

/// The server's database, read by the bench.
pub struct ServerDatabase(Db);

impl ServerDatabase {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self(connect(url, 2).await?))
    }

    /// [`Self::connect`] when the bench was given the database's URL.
    pub async fn connect_if_given(url: Option<&str>) -> anyhow::Result<Option<Self>> {
        match url {
            Some(url) => Ok(Some(Self::connect(url).await?)),
            None => Ok(None),
        }
    }

    /// Transactions committed and rolled back in this database so far
    /// (see [`checks::transactions`] for when to read it).
    pub async fn transactions(&self) -> anyhow::Result<i64> {
        Ok(checks::transactions(&self.0).await?)
    }

    /// Seats of these sessions that two confirmed reservations, or two
    /// sales, name: must be 0.
    pub async fn seats_sold_twice(&self, sessions: &[String]) -> anyhow::Result<i64> {
        Ok(checks::seats_sold_twice(&self.0, &ids(sessions)?).await?)
    }

    /// Sales recorded for these sessions.
    pub async fn sales(&self, sessions: &[String]) -> anyhow::Result<i64> {
        Ok(checks::sales(&self.0, &ids(sessions)?).await? as i64)
    }

    /// Reservations recorded for one session.
    pub async fn reservations(&self, session: &str) -> anyhow::Result<i64> {
        Ok(checks::reservations(&self.0, id(session)?).await? as i64)
    }

    /// The connection, for a scenario's own queries.
    pub fn db(&self) -> &Db {
        &self.0
    }

    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}

/// A pool of up to `connections` to `url`, checked at once.
pub async fn connect(url: &str, connections: u32) -> anyhow::Result<Db> {
    let db = store::connect(url, connections)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    anyhow::ensure!(store::ping(&db).await, "{} does not answer", redact(url));
    Ok(db)
}

fn ids(sessions: &[String]) -> anyhow::Result<Vec<Uuid>> {
    sessions.iter().map(|session| id(session)).collect()
}

fn id(session: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(session).with_context(|| format!("{session:?} is not a session id"))
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://...@{host}"),
        _ => url.to_owned(),
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("://") && !s.ends_with('/'))
        .map_or(base, |(s, _)| s);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/app?sslmode=disable", "other"),
            "postgres://u@h:5432/other?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h/app", "x"), "postgres://u@h/x");
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://u:secret@h/app"), "postgres://...@h/app");
    }
}
