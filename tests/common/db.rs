//! Where a test's data lives: a SQLite file or a PostgreSQL schema (`TPE_TEST_POSTGRES_URL`;
//! skipped loudly without it unless `REQUIRE_POSTGRES=1`), dropped at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tpe_store::{PaymentStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

/// Where a test's data lives: a SQLite file or a PostgreSQL schema, dropped at the end.
pub enum Db {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

pub fn random() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

pub fn pg_url() -> Option<String> {
    tpe_store::testing::postgres_url("the PostgreSQL end-to-end tests of tpe-engine")
}

impl Db {
    pub fn sqlite() -> Self {
        Self::Sqlite(std::env::temp_dir().join(format!("tpe-engine-e2e-{:016x}.db", random())))
    }

    pub fn postgres() -> Option<Self> {
        pg_url().map(|url| Self::Postgres {
            url,
            schema: format!("e2e_{:016x}", random()),
        })
    }

    /// A new store instance (a new pool) on this database.
    pub async fn open(&self) -> Arc<dyn PaymentStore> {
        match self {
            Self::Sqlite(path) => {
                let mut o = SqliteOptions::default();
                o.busy_timeout = Duration::from_millis(300);
                Arc::new(SqliteStore::open(path, o).await.unwrap())
            }
            Self::Postgres { url, schema } => Arc::new(
                PostgresStore::connect_with(
                    url,
                    PostgresOptions::default().schema(schema).max_connections(8),
                )
                .await
                .unwrap(),
            ),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Self::Postgres { url, schema } => {
                let (url, schema) = (url.clone(), schema.clone());
                // Dropped on its own thread: Drop may run inside a runtime.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "DROP SCHEMA IF EXISTS {schema} CASCADE"
                            )))
                            .execute(&pool)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
