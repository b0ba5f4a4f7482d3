//! What the store logic asks of a database, in sqlx's own terms: [`Db`] is a sqlx
//! [`Database`] whose SQL dialect the store knows, [`Backend`] opens the store's transactions
//! on it. Rows are read with `sqlx::query_as` into `#[derive(sqlx::FromRow)]` structs, by
//! column name, in both databases; SQLite and PostgreSQL both accept `$n` placeholders, so
//! most statements are written once.

use std::fmt::Debug;
use std::future::Future;
use std::ops::DerefMut;

use sqlx::Database;
use tpe_core::{PaymentReference, Timestamp};

use crate::core::{Fail, batch::FastBatch};
use crate::types::EventInput;

/// Which SQL dialect a backend speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A sqlx database the store runs on.
pub(crate) trait Db: Database {
    /// Its dialect.
    const DIALECT: Dialect;
    /// Rows written by a statement (sqlx has it per driver only). For a PostgreSQL statement
    /// ending in a `SELECT`, the rows it returned.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

#[cfg(feature = "sqlite")]
impl Db for sqlx::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

#[cfg(feature = "postgres")]
impl Db for sqlx::Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

// Rust does not carry a trait's `where` clauses to its users, so each generic `impl` block of
// the store repeats the sqlx bounds it needs: a connection is an executor, its arguments are
// arguments, and the column types the store binds and reads (`BIGINT`/`INTEGER` as `i64`,
// `TEXT` as `String`, rows read by column name) are known to the database.

/// Opens, commits and rolls back the store's transactions on one database.
pub(crate) trait Backend: Send + Sync + Debug + 'static {
    /// The database.
    type Db: Db;
    /// An open transaction; dropping it without commit rolls back.
    type Tx: DerefMut<Target = <Self::Db as Database>::Connection> + Send;
    /// A pooled connection outside any transaction, for a read that is one statement (one
    /// round trip instead of `BEGIN`, the read and the end of the transaction).
    type Conn: DerefMut<Target = <Self::Db as Database>::Connection> + Send;

    /// A connection from the pool for one statement.
    fn acquire(&self) -> impl Future<Output = Result<Self::Conn, sqlx::Error>> + Send;

    /// Begins a transaction; `write` transactions take the write lock at once on SQLite
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read lock.
    fn begin(&self, write: bool) -> impl Future<Output = Result<Self::Tx, sqlx::Error>> + Send;

    /// Commits.
    fn commit(tx: Self::Tx) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Rolls back now (rather than when the connection is next used).
    fn rollback(tx: Self::Tx) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// A faster way to apply a whole batch inside `tx`, if this database has one (both do:
    /// [`crate::core::batch`]); `None` applies it event by event.
    fn apply_batch<'a>(
        tx: &'a mut Self::Tx,
        batch: &'a [(PaymentReference, EventInput)],
        todo: &'a [usize],
        now: Timestamp,
    ) -> impl Future<Output = Option<Result<FastBatch, Fail>>> + Send + 'a {
        let _ = (tx, batch, todo, now);
        async { None }
    }
}
