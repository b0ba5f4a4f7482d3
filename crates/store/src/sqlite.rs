//! [`SqliteStore`]: the embedded default, one file in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::core::Core;
use crate::error::StoreError;
use crate::sql::{Backend, Dialect, Kind, Row, Tx, Val, impl_tx};
use crate::types::Backoff;

impl_tx!(SqliteTx, Sqlite);

/// Embedded migrations, applied in order at connect.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "checkout details and retraction lease",
        include_str!("../migrations/sqlite/0002_checkout_details_and_retraction_lease.sql"),
    ),
];

/// How a SQLite store syncs commits to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL` (the default): in WAL mode every commit is fsynced before it returns,
    /// so a payment acknowledged to the bank survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits are fsynced at checkpoints only; a power loss may undo
    /// the last commits (the database stays consistent). Faster; for tests and benchmarks.
    Normal,
}

/// Options of a SQLite store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Sync policy.
    pub durability: Durability,
    /// How long a writer waits for the write lock before [`StoreError::Unavailable`].
    pub busy_timeout: Duration,
    /// Pool size (readers run in parallel in WAL mode; writers take turns).
    pub max_connections: u32,
    /// Outbox retry backoff.
    pub outbox_backoff: Backoff,
    /// Reconciliation backoff.
    pub reconcile_backoff: Backoff,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            outbox_backoff: Backoff::OUTBOX,
            reconcile_backoff: Backoff::RECONCILE,
        }
    }
}

impl SqliteOptions {
    /// With another durability.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// With another pool size.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// With other backoffs.
    #[must_use]
    pub fn backoff(mut self, outbox: Backoff, reconcile: Backoff) -> Self {
        self.outbox_backoff = outbox;
        self.reconcile_backoff = reconcile;
        self
    }
}

#[derive(Debug)]
struct SqliteBackend {
    pool: SqlitePool,
    /// File databases: the one connection every write transaction of this store uses (SQLite
    /// has one writer anyway), so its page cache stays warm from one transaction to the next
    /// instead of being re-read by whichever pooled connection comes next.
    writer: Option<Arc<Mutex<Writer>>>,
}

/// The writer connection and whether a transaction is left open on it (dropped without
/// commit while no runtime could roll it back): the next `begin` rolls it back first.
#[derive(Debug)]
struct Writer {
    conn: SqliteConnection,
    open: bool,
}

/// A write transaction on the writer connection. Dropping it without commit rolls back (on
/// a spawned task, or at the next `begin`).
struct WriterTx(Option<OwnedMutexGuard<Writer>>);

impl WriterTx {
    fn conn(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        self.0
            .as_mut()
            .map(|w| &mut w.conn)
            .ok_or(sqlx::Error::WorkerCrashed)
    }

    async fn end(mut self: Box<Self>, sql: &'static str) -> Result<(), sqlx::Error> {
        let mut w = self.0.take().ok_or(sqlx::Error::WorkerCrashed)?;
        let ended = sqlx::query(sql).execute(&mut w.conn).await;
        if ended.is_err() {
            // A failed COMMIT may leave the transaction open: end it now. If SQLite already
            // did, this fails harmlessly.
            let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
        }
        w.open = false;
        ended.map(|_| ())
    }
}

fn bind(
    sql: &'static str,
    args: Vec<Val>,
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Val::Int(v) => q.bind(v),
            Val::Text(v) => q.bind(v),
        };
    }
    q
}

#[async_trait]
impl Tx for WriterTx {
    async fn exec(&mut self, sql: &'static str, args: Vec<Val>) -> Result<u64, sqlx::Error> {
        Ok(bind(sql, args).execute(self.conn()?).await?.rows_affected())
    }

    async fn rows(
        &mut self,
        sql: &'static str,
        args: Vec<Val>,
        kinds: &[Kind],
    ) -> Result<Vec<Row>, sqlx::Error> {
        use sqlx::Row as _;
        let rows = bind(sql, args).fetch_all(self.conn()?).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut vals = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                vals.push(match kind {
                    Kind::Int => Val::Int(row.try_get::<Option<i64>, _>(i)?),
                    Kind::Text => Val::Text(row.try_get::<Option<String>, _>(i)?),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    async fn commit(self: Box<Self>) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    async fn rollback(self: Box<Self>) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        // Not committed: release the write lock now, so another process is not kept waiting
        // until this store's next write.
        if let Some(mut w) = self.0.take()
            && w.open
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
                w.open = false;
            });
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn begin(&self, write: bool) -> Result<Box<dyn Tx>, sqlx::Error> {
        if write && let Some(writer) = &self.writer {
            let mut w = writer.clone().lock_owned().await;
            if w.open {
                // Left open by a transaction dropped without a runtime; an error here means
                // SQLite had already ended it.
                let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
                w.open = false;
            }
            // Take the write lock at once (see below).
            sqlx::query("BEGIN IMMEDIATE").execute(&mut w.conn).await?;
            w.open = true;
            return Ok(Box::new(WriterTx(Some(w))));
        }
        let tx = if write {
            // Take the write lock at once: a deferred transaction that reads then writes can
            // fail with SQLITE_BUSY without waiting when another writer went first.
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        };
        Ok(Box::new(SqliteTx(tx)))
    }
}

/// The payment store on SQLite: one file, WAL, foreign keys on, a busy timeout, and
/// `synchronous=FULL` by default (see [`Durability`]).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tpe_store::{PaymentStore, SqliteStore};
/// let store = SqliteStore::in_memory().await?;
/// let page = store.list_checkouts(tpe_store::CheckoutQuery::new(None, 10)).await?;
/// assert!(page.items.is_empty());
/// # Ok::<(), tpe_store::StoreError>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    core: Core,
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened, or a migration error.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            });
        // A file connection cannot go stale like a network one: no ping before each use (a
        // round trip to the connection's worker thread per transaction).
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(options.max_connections)
            .acquire_timeout(options.busy_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::from_db("open sqlite database", e))?;
        let mut store = Self::with_pool(pool, &options).await?;
        let conn = SqliteConnection::connect_with(&connect)
            .await
            .map_err(|e| StoreError::from_db("open sqlite database", e))?;
        store.core.backend = Box::new(SqliteBackend {
            pool: store.pool.clone(),
            writer: Some(Arc::new(Mutex::new(Writer { conn, open: false }))),
        });
        Ok(store)
    }

    /// A private in-memory database for tests: one connection kept open for the life of the
    /// store (the database disappears with it).
    ///
    /// # Errors
    /// A migration error.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteOptions::default();
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::from_db("open sqlite memory database", e))?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::from_db("open sqlite memory database", e))?;
        Self::with_pool(pool, &options).await
    }

    async fn with_pool(pool: SqlitePool, options: &SqliteOptions) -> Result<Self, StoreError> {
        migrate(&pool).await?;
        Ok(Self {
            core: Core {
                backend: Box::new(SqliteBackend {
                    pool: pool.clone(),
                    writer: None,
                }),
                outbox_backoff: options.outbox_backoff,
                reconcile_backoff: options.reconcile_backoff,
                concurrent_writers: 1,
            },
            pool,
        })
    }

    /// The connection pool (health checks, tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Applies the embedded migrations not yet recorded in `tpe_schema`, each in its own
/// `BEGIN IMMEDIATE` transaction so two processes opening one file cannot both apply one.
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let op = "migrate sqlite database";
    let db = |e| StoreError::from_db(op, e);
    let mut conn = pool.acquire().await.map_err(db)?;
    for (version, name, sql) in MIGRATIONS {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS tpe_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM tpe_schema WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if done.is_none() {
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(db)?;
            sqlx::query("INSERT INTO tpe_schema (version, name) VALUES ($1, $2)")
                .bind(version)
                .bind(*name)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
    }
    Ok(())
}

crate::store_impl::delegate!(SqliteStore);
