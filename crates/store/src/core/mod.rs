//! The store logic, written once over sqlx's [`sqlx::Database`] (see [`crate::db`]): both
//! databases run exactly this code.
//!
//! - [`rows`]: rows read by column name, and their conversion to records;
//! - [`plan`]: an event's rows to write, from the lifecycle's pure state machine;
//! - [`apply`]: the executor of plans, applying events alone or as a group commit;
//! - [`batch`]: the group commit's set-based fast path (same plans, same executor);
//! - [`queries`]: the read views;
//! - [`jobs`]: outbox, retraction and reconciliation claims.

use jiff::SignedDuration;
use tpe_core::Timestamp;

use crate::db::Db;
use crate::error::{StoreError, is_retryable};
use crate::types::{Backoff, MAX_LIMIT};

mod apply;
pub(crate) use apply::{Conn, WriteRows};
mod batch;
mod jobs;
mod plan;
#[cfg(all(test, feature = "postgres"))]
mod plans_tests;
mod queries;
mod rows;
#[cfg(all(test, feature = "postgres"))]
mod write_tests;

/// How many times a transaction that PostgreSQL aborted for a deadlock or a serialization
/// failure is run again before giving up.
const RETRIES: u32 = 5;

/// The shared logic and its configuration, over one database's [`crate::db::Backend`].
#[derive(Debug)]
pub(crate) struct Core<B> {
    pub(crate) backend: B,
    pub(crate) outbox_backoff: Backoff,
    pub(crate) outbox_attempts: u32,
    pub(crate) reconcile_backoff: Backoff,
    /// Writers that may usefully run at once (1 for SQLite).
    pub(crate) concurrent_writers: usize,
}

/// A failure inside a transaction: a database error (maybe retryable), a store error, or
/// rows written that are not the rows planned.
#[derive(Debug)]
pub(crate) enum Fail {
    Db(&'static str, sqlx::Error),
    Store(StoreError),
    /// What an event was planned from changed before its rows were written (a replay that
    /// raced past the in-memory check): roll back, and run it again.
    Raced {
        expected: usize,
        written: u64,
    },
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Fail {
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Self::Db(op, e) => StoreError::from_db(op, e),
            Self::Store(e) => e,
            Self::Raced { expected, written } => StoreError::corrupt(format!(
                "event write: {written} rows instead of {expected}, again after retries"
            )),
        }
    }

    /// Running the transaction again may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            Self::Db(_, e) => is_retryable(e),
            Self::Raced { .. } => true,
            Self::Store(_) => false,
        }
    }
}

/// Tags database errors with the operation.
pub(crate) trait Op<T> {
    fn op(self, op: &'static str) -> Result<T, Fail>;
}
impl<T> Op<T> for Result<T, sqlx::Error> {
    fn op(self, op: &'static str) -> Result<T, Fail> {
        self.map_err(|e| Fail::Db(op, e))
    }
}

fn check_limit(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(StoreError::invalid(
            "limit",
            format!("{limit} is outside 1 to {MAX_LIMIT}"),
        ));
    }
    Ok(i64::from(limit))
}

fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// Keeps at most `max` characters, without control characters: quarantine input comes from
/// outside and must be stored whatever it is.
fn clip(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// A migration recorded in `tpe_schema`.
#[derive(Debug, sqlx::FromRow)]
struct MigrationRow {
    #[allow(dead_code)] // read to tell whether the row exists
    version: i64,
}

crate::db::sqlx_impl! {
impl<DB: Db> Conn<'_, DB> {
    /// Applies migration `version` (`sql`, called `name`) unless `tpe_schema` records it,
    /// inside the caller's transaction.
    pub(crate) async fn migrate(
        &mut self,
        version: i64,
        name: &str,
        sql: &'static str,
    ) -> Result<(), sqlx::Error> {
        let done = sqlx::query_as::<DB, MigrationRow>(
            "SELECT version FROM tpe_schema WHERE version = $1",
        )
        .bind(version)
        .fetch_optional(&mut *self.0)
        .await?;
        if done.is_none() {
            sqlx::raw_sql(sql).execute(&mut *self.0).await?;
            sqlx::query("INSERT INTO tpe_schema (version, name) VALUES ($1, $2)")
                .bind(version)
                .bind(name)
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }
}
}
