//! [`PostgresStore`]: for shops running several instances on one database.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Transaction};

use crate::core::{Conn, Core};
use crate::db::Backend;
use crate::error::StoreError;
use crate::types::Backoff;

/// Embedded migrations, applied in order at connect.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "checkout details and retraction lease",
        include_str!("../migrations/postgres/0002_checkout_details_and_retraction_lease.sql"),
    ),
    (
        3,
        "bank reference",
        include_str!("../migrations/postgres/0003_bank_reference.sql"),
    ),
    (
        4,
        "bank sequences",
        include_str!("../migrations/postgres/0004_bank_sequences.sql"),
    ),
    (
        5,
        "outbox give up",
        include_str!("../migrations/postgres/0005_outbox_give_up.sql"),
    ),
    (
        6,
        "quarantine raw",
        include_str!("../migrations/postgres/0006_quarantine_raw.sql"),
    ),
    (
        7,
        "instalments",
        include_str!("../migrations/postgres/0007_instalments.sql"),
    ),
    (
        8,
        "refunds",
        include_str!("../migrations/postgres/0008_refunds.sql"),
    ),
    (
        9,
        "awaiting indexes",
        include_str!("../migrations/postgres/0009_awaiting_indexes.sql"),
    ),
    (
        10,
        "byte order keys",
        include_str!("../migrations/postgres/0010_byte_order_keys.sql"),
    ),
    (
        11,
        "lean write path",
        include_str!("../migrations/postgres/0011_lean_write_path.sql"),
    ),
];

/// Any fixed key: the advisory lock that serializes migrations between instances.
const MIGRATION_LOCK: i64 = 0x7470_655f_7374_6f72; // "tpe_stor"

/// Options of a PostgreSQL store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a pooled connection before [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// A schema to create if missing and put first on the `search_path` of every connection
    /// (`[a-z_][a-z0-9_]{0,62}`); tests use one per test.
    pub schema: Option<String>,
    /// Outbox retry backoff.
    pub outbox_backoff: Backoff,
    /// Failed deliveries after which an effect is given up (at least 1; default
    /// [`DEFAULT_OUTBOX_ATTEMPTS`](crate::DEFAULT_OUTBOX_ATTEMPTS)).
    pub outbox_attempts: u32,
    /// Reconciliation backoff.
    pub reconcile_backoff: Backoff,
    /// Group commits that may run at once ([`PaymentStore::concurrent_writers`]); default 1.
    /// Fewer committers make larger batches, and the server's work per batch (executor
    /// start, round trips, one commit) is shared by more notifications: on the engine's
    /// `notify` bench (50 connections, 2 cores) one committer made batches of 25 and gave
    /// 3,560-3,770 notifications/s with 180-200 µs of server CPU each, two made batches of
    /// 11 and gave 3,310-3,450/s with 255-275 µs (`docs/performance.md`). Instances of a
    /// shop each have their own committers, so they still commit side by side.
    ///
    /// [`PaymentStore::concurrent_writers`]: crate::PaymentStore::concurrent_writers
    pub committers: u32,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            schema: None,
            outbox_backoff: Backoff::OUTBOX,
            outbox_attempts: crate::DEFAULT_OUTBOX_ATTEMPTS,
            reconcile_backoff: Backoff::RECONCILE,
            committers: 1,
        }
    }
}

impl PostgresOptions {
    /// With a schema.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// With another number of group commits at once (at least 1, at most half the pool).
    #[must_use]
    pub fn committers(mut self, n: u32) -> Self {
        self.committers = n.max(1);
        self
    }
}

crate::store_impl::shared_options!(PostgresOptions);

#[derive(Debug)]
struct PgBackend {
    pool: PgPool,
}

impl Backend for PgBackend {
    type Db = Postgres;
    type Tx = Transaction<'static, Postgres>;
    type Conn = sqlx::pool::PoolConnection<Postgres>;

    async fn acquire(&self) -> Result<Self::Conn, sqlx::Error> {
        self.pool.acquire().await
    }

    async fn begin(&self, _write: bool) -> Result<Self::Tx, sqlx::Error> {
        // READ COMMITTED: writers serialize on row locks (`FOR UPDATE`), and each statement
        // after a lock wait sees what the previous holder committed.
        self.pool.begin().await
    }

    async fn commit(tx: Self::Tx) -> Result<(), sqlx::Error> {
        tx.commit().await
    }

    async fn rollback(tx: Self::Tx) -> Result<(), sqlx::Error> {
        tx.rollback().await
    }
}

/// The payment store on PostgreSQL: a connection pool; concurrent events for one checkout
/// serialize on its row lock, and outbox and reconciliation claims use `FOR UPDATE SKIP LOCKED`
/// so several instances never take the same work.
#[derive(Debug)]
pub struct PostgresStore {
    core: Core<PgBackend>,
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` with default options and migrates.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached, or a migration error.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with `options` and migrates.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a bad URL or schema name, [`StoreError::Unavailable`] when
    /// the server cannot be reached, or a migration error.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let connect: PgConnectOptions = url
            .parse()
            .map_err(|_| StoreError::invalid("url", "not a PostgreSQL connection URL"))?;
        let mut pool_options = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // No ping before each use: a round trip per transaction on the notification path;
            // a broken connection fails its statement instead, which is answered 503 and
            // retried by the bank.
            .test_before_acquire(false);
        if let Some(schema) = &options.schema {
            check_schema(schema)?;
            create_schema(&connect, schema).await?;
            let set = format!("SET search_path TO {schema}");
            pool_options = pool_options.after_connect(move |conn, _meta| {
                let set = set.clone();
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(set)).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::from_db("connect to postgresql", e))?;
        migrate(&pool).await?;
        Ok(Self {
            core: Core {
                backend: PgBackend { pool: pool.clone() },
                outbox_backoff: options.outbox_backoff,
                outbox_attempts: options.outbox_attempts.max(1),
                reconcile_backoff: options.reconcile_backoff,
                // Each committer holds a connection while it writes: leave half the pool to
                // the reads.
                concurrent_writers: usize::try_from(
                    options
                        .committers
                        .clamp(1, (options.max_connections / 2).max(1)),
                )
                .unwrap_or(1),
            },
            pool,
        })
    }

    /// The connection pool (health checks, tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Schema names are interpolated into `SET search_path`, so only plain identifiers pass.
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let ok = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "schema",
            "expected [a-z_][a-z0-9_]{0,62}",
        ))
    }
}

async fn create_schema(connect: &PgConnectOptions, schema: &str) -> Result<(), StoreError> {
    use sqlx::ConnectOptions as _;
    let op = "create postgresql schema";
    let mut conn = connect
        .connect()
        .await
        .map_err(|e| StoreError::from_db(op, e))?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .await
    .map_err(|e| StoreError::from_db(op, e))?;
    Ok(())
}

/// Applies the embedded migrations not yet recorded in `tpe_schema`, under a transaction-level
/// advisory lock so instances starting together apply each once.
async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let op = "migrate postgresql database";
    let db = |e| StoreError::from_db(op, e);
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS tpe_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    for (version, name, sql) in MIGRATIONS {
        Conn::<Postgres>(&mut tx)
            .migrate(*version, name, sql)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(())
}

crate::store_impl::delegate!(PostgresStore);
