//! Reading a test's database directly, behind the server's back.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult, Statement};

use super::TestApp;

pub async fn connect(database_url: &str) -> DatabaseConnection {
    Database::connect(database_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {database_url}: {e}"))
}

/// Every row `sql` selects.
pub async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<QueryResult> {
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The one row `sql` selects.
pub async fn row(db: &DatabaseConnection, sql: &str) -> QueryResult {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

/// One number: the first column of the one row `sql` selects, a bigint.
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    row(db, sql)
        .await
        .try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: not a bigint: {e}"))
}

/// The first column, text, of every row `sql` selects.
pub async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    rows(db, sql)
        .await
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("a text column"))
        .collect()
}

impl TestApp {
    /// A connection to this server's database.
    pub async fn db(&self) -> DatabaseConnection {
        connect(&self.settings.database.url).await
    }

    /// One number from this server's database (see [`count`]).
    pub async fn count(&self, sql: &str) -> i64 {
        let db = self.db().await;
        let n = count(&db, sql).await;
        db.close().await.expect("close");
        n
    }
}
