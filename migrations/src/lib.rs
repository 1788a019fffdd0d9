//! The database schema of cinema, as plain SQL files applied in order.
//!
//! Each migration is a pair of readable SQL files under `src/sql/`. [`migrate`]
//! applies the pending ones inside one transaction that first takes an
//! advisory lock, so several instances starting at once apply them exactly once.

use sea_orm_migration::prelude::*;
pub use sea_orm_migration::prelude::{DbErr, MigratorTrait};
use sea_orm_migration::sea_orm::{DatabaseConnection, TransactionTrait};

/// A migration made of an `up` and a `down` SQL script.
struct SqlMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await?;
        Ok(())
    }
}

macro_rules! sql_migration {
    ($name:literal) => {
        Box::new(SqlMigration {
            name: $name,
            up: include_str!(concat!("sql/", $name, ".up.sql")),
            down: include_str!(concat!("sql/", $name, ".down.sql")),
        })
    };
}

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            sql_migration!("0001_schema"),
            sql_migration!("0002_sales_figures"),
            sql_migration!("0003_read_views"),
            sql_migration!("0004_rooms"),
            sql_migration!("0005_seat_selection"),
            sql_migration!("0006_tickets"),
            sql_migration!("0007_programme"),
            sql_migration!("0008_audit"),
        ]
    }
}

/// Applies every pending migration, safely when several processes try at once:
/// the advisory lock makes the others wait, and they then find nothing to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    // A migration may rewrite big tables, and others wait for the first to
    // finish: none of the service's per-statement bounds apply here.
    txn.execute_unprepared("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        .await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('cinema.migrations'))")
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}
