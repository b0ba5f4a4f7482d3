//! The conformance suite on SQLite, in memory and on a WAL file.
// Test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::suite::{self, Store};
use tpe_store::{SqliteOptions, SqliteStore};

async fn memory() -> Store {
    let store = SqliteStore::in_memory().await.unwrap();
    sqlx::raw_sql(suite::SQLITE_POISON_OUTBOX)
        .execute(store.pool())
        .await
        .unwrap();
    Arc::new(store)
}

/// A fresh database file, removed when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let name = format!("tpe-store-test-{}.db", u64::from_le_bytes(bytes));
        Self(std::env::temp_dir().join(name))
    }

    async fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.0, SqliteOptions::default())
            .await
            .unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn file(db: &TempDb) -> Store {
    let store = db.open().await;
    sqlx::raw_sql(suite::SQLITE_POISON_OUTBOX)
        .execute(store.pool())
        .await
        .unwrap();
    Arc::new(store)
}

macro_rules! sqlite_suite {
    ($($check:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    suite::$check(memory().await).await;
                }
            )*
        }
        mod file {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = TempDb::new();
                    suite::$check(file(&db).await).await;
                }
            )*
        }
    };
}

sqlite_suite!(
    lifecycle_table,
    concurrent_replays,
    success_wins,
    failure_writes_nothing,
    outbox,
    paging,
    date_ranges,
    retraction_boundary,
    reconciliation,
    hostile_text,
    checkout_details,
    group_commit,
    batch_matches_one_by_one,
    retraction_claims,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_instances_on_one_file() {
    let db = TempDb::new();
    let a: Store = Arc::new(db.open().await);
    let b: Store = Arc::new(db.open().await);
    suite::racing_instances(a, b).await;
}

#[tokio::test]
async fn file_is_wal_with_foreign_keys_and_full_sync() {
    let db = TempDb::new();
    let store = db.open().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    // Reopening runs no migration twice.
    store.close().await;
    let again = db.open().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tpe_schema")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(n, 2, "two migrations, each applied once");
}

#[tokio::test]
async fn unreachable_file_is_unavailable() {
    let e = SqliteStore::open("/nonexistent-dir/x/y.db", SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
}
