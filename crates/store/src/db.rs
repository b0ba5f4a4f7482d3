//! What the store logic asks of a database, in sqlx's own terms: [`Db`] is a sqlx
//! [`Database`] whose SQL dialect the store knows, [`Backend`] opens the store's transactions
//! on it. Rows are read with `sqlx::query_as` into `#[derive(sqlx::FromRow)]` structs, by
//! column name, in both databases; SQLite and PostgreSQL both accept `$n` placeholders, so
//! most statements are written once.

use std::fmt::Debug;
use std::future::Future;
use std::ops::DerefMut;

use sqlx::Database;
use sqlx::query::Query;

use crate::core::WriteRows;
use crate::error::StoreError;

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

    /// A list of texts bound as one parameter: a JSON array on SQLite (read with
    /// `json_each`), a `text[]` on PostgreSQL (read as it is, where a `json` parameter is
    /// parsed once to be checked and once more to be read).
    type Texts: for<'q> sqlx::Encode<'q, Self> + sqlx::Type<Self> + Send + 'static;

    /// `texts` as [`Db::Texts`].
    ///
    /// # Errors
    /// The list cannot be encoded.
    fn texts(texts: &[&str]) -> Result<Self::Texts, StoreError>;

    /// The one statement that writes `rows`, its parameters bound as this database takes
    /// them best (see [`crate::core::WriteRows`]).
    ///
    /// # Errors
    /// A row that cannot be encoded.
    fn write_rows(
        rows: &WriteRows<'_>,
    ) -> Result<Query<'static, Self, Self::Arguments>, StoreError>;
}

#[cfg(feature = "sqlite")]
impl Db for sqlx::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    type Texts = String;
    fn texts(texts: &[&str]) -> Result<String, StoreError> {
        serde_json::to_string(texts).map_err(|e| StoreError::corrupt(format!("texts: {e}")))
    }
    fn write_rows(
        rows: &WriteRows<'_>,
    ) -> Result<Query<'static, Self, Self::Arguments>, StoreError> {
        rows.sqlite()
    }
}

#[cfg(feature = "postgres")]
impl Db for sqlx::Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    type Texts = Vec<String>;
    fn texts(texts: &[&str]) -> Result<Vec<String>, StoreError> {
        Ok(texts.iter().map(|&t| t.to_owned()).collect())
    }
    fn write_rows(
        rows: &WriteRows<'_>,
    ) -> Result<Query<'static, Self, Self::Arguments>, StoreError> {
        Ok(rows.postgres())
    }
}

/// Writes one `impl` block of the store logic (over a generic `DB: Db`) with the sqlx bounds
/// they all need. Rust does not carry a trait's `where` clauses to its users, so they are
/// spelled out once here: a connection is an executor, its arguments are arguments, and the
/// column types the store binds and reads (`BIGINT`/`INTEGER` as `i64`, `TEXT` as `String`,
/// `BYTEA`/`BLOB` as bytes, rows read by column name) are known to the database.
macro_rules! sqlx_impl {
    (impl<$($param:ident: $bound:path),+> $target:ty { $($body:tt)* }) => {
        impl<$($param: $bound),+> $target
        where
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            DB::Arguments: sqlx::IntoArguments<DB>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<i64>: sqlx::Encode<'q, DB>,
            for<'q> String: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<String>: sqlx::Encode<'q, DB>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'r> &'r str: sqlx::ColumnIndex<DB::Row>,
            for<'q> Option<Vec<u8>>: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
        {
            $($body)*
        }
    };
}
pub(crate) use sqlx_impl;

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
}
