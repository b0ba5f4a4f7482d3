//! [`SqliteStore`]: the embedded default, one file in WAL mode.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::ops::{Deref, DerefMut};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::core::{Conn, Core};
use crate::db::Backend;
use crate::error::StoreError;
use crate::types::Backoff;

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
    (
        3,
        "bank reference",
        include_str!("../migrations/sqlite/0003_bank_reference.sql"),
    ),
    (
        4,
        "bank sequences",
        include_str!("../migrations/sqlite/0004_bank_sequences.sql"),
    ),
    (
        5,
        "outbox give up",
        include_str!("../migrations/sqlite/0005_outbox_give_up.sql"),
    ),
    (
        6,
        "quarantine raw",
        include_str!("../migrations/sqlite/0006_quarantine_raw.sql"),
    ),
    (
        7,
        "instalments",
        include_str!("../migrations/sqlite/0007_instalments.sql"),
    ),
    (
        8,
        "refunds",
        include_str!("../migrations/sqlite/0008_refunds.sql"),
    ),
    (
        9,
        "awaiting indexes",
        include_str!("../migrations/sqlite/0009_awaiting_indexes.sql"),
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
    /// Failed deliveries after which an effect is given up (at least 1; default
    /// [`DEFAULT_OUTBOX_ATTEMPTS`](crate::DEFAULT_OUTBOX_ATTEMPTS)).
    pub outbox_attempts: u32,
    /// Reconciliation backoff.
    pub reconcile_backoff: Backoff,
    /// Write-ahead log pages past which the checkpointer makes the log start over even under
    /// sustained writes, waiting for the writer to pause (see [`SqliteStore::open`]).
    pub wal_restart_pages: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            outbox_backoff: Backoff::OUTBOX,
            outbox_attempts: crate::DEFAULT_OUTBOX_ATTEMPTS,
            reconcile_backoff: Backoff::RECONCILE,
            wal_restart_pages: 4096,
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

    /// With another bound on the write-ahead log under sustained writes (pages of 4 KiB; at
    /// least 1).
    #[must_use]
    pub fn wal_restart_pages(mut self, pages: u32) -> Self {
        self.wal_restart_pages = pages.max(1);
        self
    }
}

crate::store_impl::shared_options!(SqliteOptions);

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
    /// Woken after each commit.
    checkpoints: Arc<CheckpointSignal>,
    /// [`Durability::Full`]: makes each commit durable once the write lock is released.
    sync: Option<Arc<WalSync>>,
}

/// A write transaction on the writer connection. Dropping it without commit rolls back (on
/// a spawned task, or at the next `begin`).
struct WriterTx {
    guard: OwnedMutexGuard<Writer>,
    /// The writer, for the rollback of a transaction dropped without commit.
    writer: Arc<Mutex<Writer>>,
}

impl WriterTx {
    /// Commits (`commit`) or rolls back the transaction.
    async fn end(mut self, commit: bool) -> Result<(), sqlx::Error> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let w = &mut *self.guard;
        let ended = sqlx::query(sql).execute(&mut w.conn).await;
        if ended.is_err() {
            // A failed COMMIT may leave the transaction open: end it now. If SQLite already
            // did, this fails harmlessly.
            let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
        }
        w.open = false;
        if commit && ended.is_ok() {
            // Only a commit adds pages for the checkpointer to copy.
            w.checkpoints.wake.notify_one();
        }
        // Numbered while the write lock is held, so in commit order.
        let durable = match (&ended, &w.sync) {
            (Ok(_), Some(sync)) if commit => Some((sync.clone(), sync.next())),
            _ => None,
        };
        // The next write transaction runs while this one's commit is synced.
        drop(self);
        ended?;
        match durable {
            Some((sync, seq)) => sync.wait(seq).await,
            None => Ok(()),
        }
    }
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        // Not committed: release the write lock now, so another process is not kept waiting
        // until this store's next write.
        if self.guard.open
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let writer = self.writer.clone();
            runtime.spawn(async move {
                let mut w = writer.lock().await;
                if w.open {
                    let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
                    w.open = false;
                }
            });
        }
    }
}

/// A transaction of a SQLite store: on the writer connection, or on a pooled one.
enum SqliteTx {
    Writer(WriterTx),
    Pooled(Transaction<'static, Sqlite>),
}

impl Deref for SqliteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self {
            Self::Writer(w) => &w.guard.conn,
            Self::Pooled(tx) => tx,
        }
    }
}

impl DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            Self::Writer(w) => &mut w.guard.conn,
            Self::Pooled(tx) => tx,
        }
    }
}

/// Makes commits durable after the write lock is released, so that the next transaction's
/// work overlaps this one's disk sync, and one `fdatasync` of the write-ahead log covers every
/// commit made before it started.
///
/// The writer connection runs `synchronous=NORMAL`: its commits are written to the log but not
/// synced, and a commit call returns only once a sync that began after it succeeded. The log
/// stays consistent across a crash either way (SQLite's own guarantee for `NORMAL`); what a
/// crash may undo is only commits whose call had not returned. Readers on other connections
/// may see a commit up to one sync (about a millisecond) before it is durable; every write
/// transaction, and so every action taken from one (outbox claims), only returns once what it
/// read is durable too, its own sync covering the commits before it.
#[derive(Debug)]
struct WalSync {
    /// The write-ahead log file.
    path: PathBuf,
    /// Commits made on the writer connection, numbered in order.
    committed: AtomicU64,
    /// Commits up to this number are on disk.
    synced: AtomicU64,
    /// Held by the task syncing (others queue on it, then usually find their commit synced),
    /// with the log file open.
    syncing: Mutex<Option<tokio::fs::File>>,
    /// A sync failed: what the kernel had not written may be lost while a later sync succeeds,
    /// so no later commit is reported durable.
    failed: AtomicBool,
}

impl WalSync {
    /// The number of the commit just made (called with the write lock held).
    fn next(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Returns once commit `seq` is on disk.
    async fn wait(&self, seq: u64) -> Result<(), sqlx::Error> {
        loop {
            if self.failed.load(Ordering::Acquire) {
                return Err(sqlx::Error::Io(std::io::Error::other(
                    "an earlier sync of the write-ahead log failed: reopen the store",
                )));
            }
            if self.synced.load(Ordering::Acquire) >= seq {
                return Ok(());
            }
            let mut file = self.syncing.lock().await;
            if self.synced.load(Ordering::Acquire) >= seq {
                return Ok(());
            }
            let target = self.committed.load(Ordering::Acquire);
            let log = match &mut *file {
                Some(f) => f,
                None => file.insert(tokio::fs::File::open(&self.path).await?),
            };
            if let Err(e) = log.sync_data().await {
                self.failed.store(true, Ordering::Release);
                return Err(sqlx::Error::Io(e));
            }
            self.synced.fetch_max(target, Ordering::AcqRel);
        }
    }
}

impl Backend for SqliteBackend {
    type Db = Sqlite;
    type Tx = SqliteTx;
    type Conn = sqlx::pool::PoolConnection<Sqlite>;

    async fn acquire(&self) -> Result<Self::Conn, sqlx::Error> {
        self.pool.acquire().await
    }

    async fn begin(&self, write: bool) -> Result<SqliteTx, sqlx::Error> {
        if write && let Some(writer) = &self.writer {
            let mut w = writer.clone().lock_owned().await;
            if w.open {
                // Left open by a transaction dropped without a runtime; an error here means
                // SQLite had already ended it.
                let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
                w.open = false;
            }
            if w.checkpoints.restart.swap(false, Ordering::AcqRel) {
                // The writer copies what the checkpointer could not catch up with; the log
                // starts over at the next write. A failure only leaves the log longer.
                let _ = checkpoint(&mut w.conn).await;
            }
            // Take the write lock at once (see below).
            sqlx::query("BEGIN IMMEDIATE").execute(&mut w.conn).await?;
            w.open = true;
            return Ok(SqliteTx::Writer(WriterTx {
                guard: w,
                writer: writer.clone(),
            }));
        }
        let tx = if write {
            // Take the write lock at once: a deferred transaction that reads then writes can
            // fail with SQLITE_BUSY without waiting when another writer went first.
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        };
        Ok(SqliteTx::Pooled(tx))
    }

    async fn commit(tx: SqliteTx) -> Result<(), sqlx::Error> {
        match tx {
            SqliteTx::Writer(w) => w.end(true).await,
            SqliteTx::Pooled(tx) => tx.commit().await,
        }
    }

    async fn rollback(tx: SqliteTx) -> Result<(), sqlx::Error> {
        match tx {
            SqliteTx::Writer(w) => w.end(false).await,
            SqliteTx::Pooled(tx) => tx.rollback().await,
        }
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
    core: Core<SqliteBackend>,
    pool: SqlitePool,
    /// File databases: stops the checkpointer when the store is dropped.
    checkpoints: Option<Arc<CheckpointSignal>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(c) = &self.checkpoints {
            c.stop.store(true, Ordering::Release);
            c.wake.notify_one();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    ///
    /// Commits never copy the write-ahead log into the database file themselves: a task on
    /// its own connection does, shortly after commits, so that no notification waits for a
    /// checkpoint (SQLite's automatic checkpoint runs inside the commit that crosses its
    /// threshold). Past [`SqliteOptions::wal_restart_pages`] pages in the log, it waits for
    /// the writer to pause and makes the log start over. Must be called within a tokio
    /// runtime; the task ends when the store is dropped.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened, or a migration error.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            // No connection checkpoints when it commits: the checkpointer does, on its own
            // connection (see `checkpointer`).
            .pragma("wal_autocheckpoint", "0")
            // Temporary b-trees and statement journals of the batch writes stay in memory.
            .pragma("temp_store", "memory")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
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
        let open = |options: SqliteConnectOptions| async move {
            SqliteConnection::connect_with(&options)
                .await
                .map_err(|e| StoreError::from_db("open sqlite database", e))
        };
        // With full durability, the writer's commits are synced by `WalSync` instead.
        let (conn, sync) = match options.durability {
            Durability::Full => {
                let mut wal = std::path::absolute(path)
                    .map_err(|e| StoreError::from_db("open sqlite database", sqlx::Error::Io(e)))?
                    .into_os_string();
                wal.push("-wal");
                let sync = WalSync {
                    path: wal.into(),
                    committed: AtomicU64::new(0),
                    synced: AtomicU64::new(0),
                    syncing: Mutex::new(None),
                    failed: AtomicBool::new(false),
                };
                let conn = open(connect.clone().synchronous(SqliteSynchronous::Normal)).await?;
                (conn, Some(Arc::new(sync)))
            }
            Durability::Normal => (open(connect.clone()).await?, None),
        };
        let checkpoints = Arc::new(CheckpointSignal {
            wake: Notify::new(),
            restart: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let checkpointing = open(connect).await?;
        tokio::spawn(checkpointer(
            checkpointing,
            checkpoints.clone(),
            options.wal_restart_pages,
        ));
        store.core.backend = SqliteBackend {
            pool: store.pool.clone(),
            writer: Some(Arc::new(Mutex::new(Writer {
                conn,
                open: false,
                checkpoints: checkpoints.clone(),
                sync,
            }))),
        };
        // One group commit syncs while the next one writes.
        store.core.concurrent_writers = 2;
        store.checkpoints = Some(checkpoints);
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
                backend: SqliteBackend {
                    pool: pool.clone(),
                    writer: None,
                },
                outbox_backoff: options.outbox_backoff,
                outbox_attempts: options.outbox_attempts.max(1),
                reconcile_backoff: options.reconcile_backoff,
                concurrent_writers: 1,
            },
            pool,
            checkpoints: None,
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

/// Size the write-ahead log is cut back to when it starts over (bytes).
const WAL_SIZE_LIMIT: u64 = 64 << 20;
/// How long the checkpointer lets commits accumulate before copying them.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(20);

/// Between the writer and the checkpointer.
#[derive(Debug)]
struct CheckpointSignal {
    /// Notified after each commit, and when the store is dropped.
    wake: Notify,
    /// The log is past its bound: the writer checkpoints before its next transaction.
    restart: AtomicBool,
    /// The store is gone.
    stop: AtomicBool,
}

/// Copies committed pages from the write-ahead log into the database file, on its own
/// connection, so that no commit waits for it: with SQLite's automatic checkpoint, the commit
/// that crosses the threshold copies the whole log and syncs the database file before it
/// returns, and every notification of that group commit waits with it.
///
/// A `PASSIVE` checkpoint never blocks the writer or readers; the log starts over at the next
/// write transaction that finds everything copied. Under sustained writes that moment never
/// comes (a commit always lands while the checkpointer copies), so past `restart_pages` the
/// writer is asked to copy the few pages left itself before its next transaction (see
/// [`SqliteBackend::begin`]): nothing can be added meanwhile, the log starts over, stays
/// small and is rewritten in place, which an `fdatasync` syncs without a file system journal
/// commit.
async fn checkpointer(
    mut conn: SqliteConnection,
    signal: Arc<CheckpointSignal>,
    restart_pages: u32,
) {
    loop {
        signal.wake.notified().await;
        if signal.stop.load(Ordering::Acquire) {
            break;
        }
        tokio::time::sleep(CHECKPOINT_DELAY).await;
        // A busy or failing checkpoint loses nothing: the pages stay in the log, and the next
        // commit wakes the checkpointer again.
        if let Ok(pages) = checkpoint(&mut conn).await
            && pages > i64::from(restart_pages)
        {
            signal.restart.store(true, Ordering::Release);
        }
    }
    // The last connection to close checkpoints what is left.
    let _ = conn.close().await;
}

/// Runs a `PASSIVE` checkpoint; returns the pages in the log.
async fn checkpoint(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let (_busy, pages, _copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(conn)
        .await?;
    Ok(pages)
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
        Conn::<Sqlite>(&mut tx)
            .migrate(*version, name, sql)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
    }
    Ok(())
}

crate::store_impl::delegate!(SqliteStore);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn wal_sync(path: PathBuf) -> Arc<WalSync> {
        Arc::new(WalSync {
            path,
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            syncing: Mutex::new(None),
            failed: AtomicBool::new(false),
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_sync_covers_every_commit_before_it() {
        let path = std::env::temp_dir().join(format!("tpe-walsync-{}", std::process::id()));
        std::fs::write(&path, b"log").unwrap();
        let sync = wal_sync(path.clone());
        let seqs: Vec<u64> = (0..3).map(|_| sync.next()).collect();
        assert_eq!(seqs, [1, 2, 3]);
        sync.wait(2).await.unwrap();
        // The sync began after commit 3: it covers it too.
        assert_eq!(sync.synced.load(Ordering::Acquire), 3);
        sync.wait(3).await.unwrap();
        // Concurrent waiters all return, each once its own commit is covered.
        let waiters: Vec<_> = (0..16)
            .map(|_| {
                let sync = sync.clone();
                let seq = sync.next();
                tokio::spawn(async move { sync.wait(seq).await.map(|()| seq) })
            })
            .collect();
        for w in waiters {
            let seq = w.await.unwrap().unwrap();
            assert!(sync.synced.load(Ordering::Acquire) >= seq);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn a_commit_that_cannot_be_synced_is_an_error_and_so_is_every_later_one() {
        let sync = wal_sync(std::env::temp_dir().join("tpe-walsync-missing/none-wal"));
        let seq = sync.next();
        assert!(sync.wait(seq).await.is_err(), "no log file to sync");
        assert_eq!(sync.synced.load(Ordering::Acquire), 0);
        sync.failed.store(true, Ordering::Release);
        let seq = sync.next();
        let e = sync.wait(seq).await.unwrap_err();
        assert!(e.to_string().contains("reopen the store"), "{e}");
    }
}
