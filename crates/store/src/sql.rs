//! The one seam between the shared store logic and each database: run a statement with bound
//! values, read rows of declared column kinds, commit. SQLite and PostgreSQL both accept `$n`
//! placeholders, so most statements are written once.

use async_trait::async_trait;
use tpe_core::Timestamp;

use crate::error::StoreError;

/// A bound or read value. Every column is an integer or text in both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_owned))
    }
}
impl From<Timestamp> for Val {
    fn from(v: Timestamp) -> Self {
        Self::Int(Some(v.as_millisecond()))
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Self::Int(Some(i64::from(v)))
    }
}

/// The kind of a column to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
}

/// Which SQL dialect a backend speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// An open database transaction. Dropping it without commit rolls back.
#[async_trait]
pub(crate) trait Tx: Send {
    /// Runs a statement, returns the rows affected.
    async fn exec(&mut self, sql: &'static str, args: Vec<Val>) -> Result<u64, sqlx::Error>;
    /// Runs a query, returns its rows read as `kinds`.
    async fn rows(
        &mut self,
        sql: &'static str,
        args: Vec<Val>,
        kinds: &[Kind],
    ) -> Result<Vec<Row>, sqlx::Error>;
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), sqlx::Error>;
    /// Rolls back now (rather than when the connection is next used).
    async fn rollback(self: Box<Self>) -> Result<(), sqlx::Error>;
}

/// A database the store logic runs on.
#[async_trait]
pub(crate) trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// Its dialect.
    fn dialect(&self) -> Dialect;
    /// Begins a transaction; `write` transactions take the write lock at once on SQLite
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read lock.
    async fn begin(&self, write: bool) -> Result<Box<dyn Tx>, sqlx::Error>;
}

/// One row read by [`Tx::rows`].
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Val>);

impl Row {
    fn get(&self, i: usize) -> Result<&Val, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::corrupt(format!("missing column {i}")))
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.get(i)? {
            Val::Int(v) => Ok(*v),
            Val::Text(_) => Err(StoreError::corrupt(format!("column {i} is not an integer"))),
        }
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.get(i)? {
            Val::Text(v) => Ok(v.clone()),
            Val::Int(_) => Err(StoreError::corrupt(format!("column {i} is not text"))),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }

    pub(crate) fn time(&self, i: usize) -> Result<Timestamp, StoreError> {
        millis(self.int(i)?)
    }

    pub(crate) fn opt_time(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        self.opt_int(i)?.map(millis).transpose()
    }
}

pub(crate) fn millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|_| StoreError::corrupt(format!("timestamp {ms} ms is out of range")))
}

/// Implements [`Tx`] for a sqlx transaction of one database.
macro_rules! impl_tx {
    ($name:ident, $db:ty) => {
        /// A transaction of this backend.
        pub(crate) struct $name(pub(crate) sqlx::Transaction<'static, $db>);

        #[async_trait::async_trait]
        impl crate::sql::Tx for $name {
            async fn exec(
                &mut self,
                sql: &'static str,
                args: Vec<crate::sql::Val>,
            ) -> Result<u64, sqlx::Error> {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = match a {
                        crate::sql::Val::Int(v) => q.bind(v),
                        crate::sql::Val::Text(v) => q.bind(v),
                    };
                }
                Ok(q.execute(&mut *self.0).await?.rows_affected())
            }

            async fn rows(
                &mut self,
                sql: &'static str,
                args: Vec<crate::sql::Val>,
                kinds: &[crate::sql::Kind],
            ) -> Result<Vec<crate::sql::Row>, sqlx::Error> {
                use sqlx::Row as _;
                let mut q = sqlx::query(sql);
                for a in args {
                    q = match a {
                        crate::sql::Val::Int(v) => q.bind(v),
                        crate::sql::Val::Text(v) => q.bind(v),
                    };
                }
                let rows = q.fetch_all(&mut *self.0).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut vals = Vec::with_capacity(kinds.len());
                    for (i, kind) in kinds.iter().enumerate() {
                        vals.push(match kind {
                            crate::sql::Kind::Int => {
                                crate::sql::Val::Int(row.try_get::<Option<i64>, _>(i)?)
                            }
                            crate::sql::Kind::Text => {
                                crate::sql::Val::Text(row.try_get::<Option<String>, _>(i)?)
                            }
                        });
                    }
                    out.push(crate::sql::Row(vals));
                }
                Ok(out)
            }

            async fn commit(self: Box<Self>) -> Result<(), sqlx::Error> {
                self.0.commit().await
            }

            async fn rollback(self: Box<Self>) -> Result<(), sqlx::Error> {
                self.0.rollback().await
            }
        }
    };
}
pub(crate) use impl_tx;
