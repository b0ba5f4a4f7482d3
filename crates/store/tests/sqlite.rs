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
    notifications_by_bank_reference,
    batch_matches_one_by_one,
    retraction_claims,
    manager_decisions,
    bank_references,
    bank_sequences,
    postponed_effects,
    given_up_effects,
    quarantine_keeps_raw_bytes,
    instalments,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_instances_on_one_file() {
    let db = TempDb::new();
    let a: Store = Arc::new(db.open().await);
    let b: Store = Arc::new(db.open().await);
    suite::racing_instances(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_notification_batches_on_one_file() {
    let db = TempDb::new();
    let a: Store = Arc::new(db.open().await);
    let b: Store = Arc::new(db.open().await);
    suite::racing_notification_batches(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sequences_on_one_file() {
    let db = TempDb::new();
    let a: Store = Arc::new(db.open().await);
    let b: Store = Arc::new(db.open().await);
    suite::racing_sequences(a, b).await;
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
    assert_eq!(n, 9, "nine migrations, each applied once");
}

#[tokio::test]
async fn unreachable_file_is_unavailable() {
    let e = SqliteStore::open("/nonexistent-dir/x/y.db", SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
}

/// Size of a file, 0 when absent.
fn size(path: &std::path::Path, suffix: &str) -> u64 {
    let mut p = path.to_path_buf().into_os_string();
    p.push(suffix);
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Creates `n` checkouts and validates each, in batches of 50 (a group commit each).
async fn write_rounds(store: &Store, tag: &str, n: usize) {
    use common::suite::{accepted, create, r};
    let refs: Vec<String> = (0..n).map(|i| format!("{tag}{i:05}")).collect();
    for chunk in refs.chunks(50) {
        for reference in chunk {
            create(store, reference, None).await;
        }
        let batch = chunk
            .iter()
            .map(|x| (r(x), accepted(x, &format!("T{x}"))))
            .collect();
        for result in store.apply_events(batch, suite::at(1000)).await {
            assert!(!result.unwrap().duplicate);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_leave_checkpoints_to_the_checkpointer() {
    let db = TempDb::new();
    let store = db.open().await;
    let pragma = |name: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        pragma("wal_autocheckpoint").await,
        0,
        "no checkpoint in a commit"
    );
    assert_eq!(pragma("temp_store").await, 2, "temporary tables in memory");
    let store: Store = Arc::new(store);
    let before = size(&db.0, "");

    // Enough pages that SQLite's own checkpoint (at 1000 pages) would have run in a commit.
    write_rounds(&store, "CKPT", 1500).await;
    // Only the checkpointer copies pages into the database file: it grows, soon.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size(&db.0, "") <= before {
        assert!(std::time::Instant::now() < deadline, "nothing checkpointed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Once caught up, the next writes start the log over: it stops growing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let wal = size(&db.0, "-wal");
    for round in 0..5 {
        write_rounds(&store, &format!("W{round}"), 50).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        size(&db.0, "-wal") <= wal,
        "the log grew from {wal} to {} bytes",
        size(&db.0, "-wal")
    );
    // Everything written is there after reopening.
    drop(store);
    let again = db.open().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checkouts WHERE status = 'valid'")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(n, 1750);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stays_bounded_under_sustained_writes() {
    let db = TempDb::new();
    let store: Store = Arc::new(
        SqliteStore::open(&db.0, SqliteOptions::default().wal_restart_pages(64))
            .await
            .unwrap(),
    );
    // Back-to-back group commits, no pause for the checkpointer to catch up by itself.
    write_rounds(&store, "S", 4000).await;
    let wal = size(&db.0, "-wal");
    let pages = wal / 4096;
    assert!(
        wal < 16 << 20,
        "the log reached {pages} pages with a bound of 64 (without it: over 30,000)"
    );
}
