//! Straight to PostgreSQL: correctness checks against the server's own
//! database and its transaction counters, and the connections the
//! bare-database baseline opens.

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The server's database, read by the bench.
pub struct ServerDatabase(DatabaseConnection);

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

    /// Transactions committed and rolled back in this database so far.
    /// PostgreSQL publishes a backend's counts when it goes idle, at most a
    /// second apart, or 10 s later: read this 11 s after a burst.
    pub async fn transactions(&self) -> anyhow::Result<i64> {
        self.count(
            "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
             WHERE datname = current_database()",
            [],
        )
        .await
    }

    /// Seats of these sessions that two confirmed reservations, or two
    /// sales, name: must be 0.
    pub async fn seats_sold_twice(&self, sessions: &[String]) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM (
               SELECT rs.session_id, rs.label FROM reservation_seats rs
                 JOIN reservations r ON r.reservation_id = rs.reservation_id
                WHERE r.status = 'confirmed' AND rs.session_id = ANY(string_to_array($1, ',')::uuid[])
                GROUP BY 1, 2 HAVING count(*) > 1
               UNION ALL
               SELECT session_id, label FROM sale_seats
                WHERE session_id = ANY(string_to_array($1, ',')::uuid[])
                GROUP BY 1, 2 HAVING count(*) > 1) doubles",
            [sessions.join(",").into()],
        )
        .await
    }

    /// Sales recorded for these sessions.
    pub async fn sales(&self, sessions: &[String]) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM sales WHERE session_id = ANY(string_to_array($1, ',')::uuid[])",
            [sessions.join(",").into()],
        )
        .await
    }

    /// Reservations recorded for one session.
    pub async fn reservations(&self, session: &str) -> anyhow::Result<i64> {
        self.count(
            "SELECT count(*)::bigint AS n FROM reservations WHERE session_id = $1::uuid",
            [session.to_owned().into()],
        )
        .await
    }

    async fn count(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = sea_orm::Value>,
    ) -> anyhow::Result<i64> {
        let row = self
            .0
            .query_one_raw(cinema::store::sql(sql, values))
            .await
            .with_context(|| format!("querying {sql}"))?
            .context("a count without a row")?;
        row.try_get::<i64>("", "n").context("reading a count")
    }

    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}

pub async fn connect(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))
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
