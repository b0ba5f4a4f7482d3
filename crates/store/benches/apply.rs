//! Applied notifications per second with 1, 8 and 32 concurrent writers on distinct references,
//! on SQLite (`synchronous=FULL` and `NORMAL`) and, when `TPE_TEST_POSTGRES_URL` is set,
//! PostgreSQL. `TPE_BENCH_N` sets the notifications per run (default 2000).
//!
//! `cargo bench -p tpe-store --bench apply`

use std::sync::Arc;
use std::time::Instant;

use jiff::SignedDuration;
use tpe_core::{
    Amount, BankOutcome, Currency, PaymentReference, ProviderId, Timestamp, VerifiedNotification,
};
use tpe_store::{
    Durability, EventInput, NewCheckout, PaymentStore, PostgresOptions, PostgresStore,
    SqliteOptions, SqliteStore,
};

const WRITERS: [usize; 3] = [1, 8, 32];

fn main() {
    let n: usize = std::env::var("TPE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for (label, durability) in [
            ("sqlite FULL", Durability::Full),
            ("sqlite NORMAL", Durability::Normal),
        ] {
            for writers in WRITERS {
                let path = std::env::temp_dir()
                    .join(format!("tpe-bench-{writers}-{label}.db").replace(' ', "-"));
                remove(&path);
                let store = SqliteStore::open(
                    &path,
                    SqliteOptions::default()
                        .durability(durability)
                        .max_connections(u32::try_from(writers.min(16)).unwrap_or(16)),
                )
                .await
                .expect("open sqlite");
                run(label, Arc::new(store), writers, n).await;
                remove(&path);
            }
        }
        match std::env::var("TPE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                for writers in WRITERS {
                    let schema = format!("bench_{writers}");
                    let store = PostgresStore::connect_with(
                        &url,
                        PostgresOptions::default()
                            .schema(&schema)
                            .max_connections(u32::try_from(writers).unwrap_or(32)),
                    )
                    .await
                    .expect("connect postgres");
                    let pool = store.pool().clone();
                    run("postgres", Arc::new(store), writers, n).await;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                        .execute(&pool)
                        .await
                        .expect("drop schema");
                }
            }
            _ => eprintln!("SKIPPED postgres: TPE_TEST_POSTGRES_URL unset"),
        }
    });
}

fn remove(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

async fn run(label: &str, store: Arc<dyn PaymentStore>, writers: usize, n: usize) {
    let now = Timestamp::from_second(1_764_000_000).expect("time");
    let amount = Amount::new(4321, Currency::EUR).expect("amount");
    let paybox = ProviderId::from_static("paybox");
    let refs: Vec<PaymentReference> = (0..n)
        .map(|i| PaymentReference::parse(&format!("B{i}")).expect("reference"))
        .collect();
    for r in &refs {
        store
            .create_checkout(NewCheckout::new(
                r.clone(),
                paybox.clone(),
                amount,
                "jeanne@example.fr",
                "Jeanne Martin",
                now + SignedDuration::from_hours(48),
                now,
            ))
            .await
            .expect("create");
    }
    let refs = Arc::new(refs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, refs, paybox) = (store.clone(), refs.clone(), paybox.clone());
            tokio::spawn(async move {
                for r in refs.iter().skip(w).step_by(writers) {
                    let note = VerifiedNotification::new(
                        paybox.clone(),
                        tpe_core::BankReference::of_reference(r),
                        "T1",
                        BankOutcome::Accepted {
                            authorization: None,
                        },
                        amount,
                    );
                    let applied = store
                        .apply_event(r, EventInput::Notification(note), now)
                        .await
                        .expect("apply");
                    assert!(!applied.duplicate);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let elapsed = start.elapsed();
    let per_sec = u128::try_from(n).unwrap_or(0) * 1_000_000 / elapsed.as_micros().max(1);
    println!(
        "{label:>14} writers={writers:>2} notifications={n} elapsed={elapsed:?} -> {per_sec} applied/s"
    );
}
