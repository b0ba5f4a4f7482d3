//! The conformance suite on PostgreSQL, one fresh schema per test. Needs
// Test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
//! `TPE_TEST_POSTGRES_URL`; skipped loudly without it unless `REQUIRE_POSTGRES=1`.

mod common;

use std::future::Future;
use std::sync::Arc;

use common::suite::{self, Store};
use tpe_store::{PostgresOptions, PostgresStore};

fn url() -> Option<String> {
    tpe_store::testing::postgres_url("the PostgreSQL tests of tpe-store")
}

fn schema_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    format!("t_{:016x}", u64::from_le_bytes(bytes))
}

async fn connect(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::connect_with(
        url,
        PostgresOptions::default().schema(schema).max_connections(8),
    )
    .await
    .unwrap()
}

/// Runs `check` on `instances` stores sharing one fresh schema, then drops the schema.
async fn with_schema<F, Fut>(instances: usize, check: F)
where
    F: FnOnce(Vec<Store>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = url() else { return };
    let schema = schema_name();
    let mut stores = Vec::new();
    for _ in 0..instances {
        stores.push(connect(&url, &schema).await);
    }
    sqlx::raw_sql(suite::POSTGRES_POISON_OUTBOX)
        .execute(stores[0].pool())
        .await
        .unwrap();
    let pool = stores[0].pool().clone();
    let dyns: Vec<Store> = stores.into_iter().map(|s| Arc::new(s) as Store).collect();
    // Drop the schema even when the check panics.
    let outcome = tokio::spawn(async move { check(dyns).await });
    let result = outcome.await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&pool)
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

macro_rules! postgres_suite {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                with_schema(1, |s| async move { suite::$check(s[0].clone()).await }).await;
            }
        )*
    };
}

postgres_suite!(
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
async fn racing_instances_two_pools() {
    with_schema(2, |s| async move {
        suite::racing_instances(s[0].clone(), s[1].clone()).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_notification_batches_two_pools() {
    with_schema(2, |s| async move {
        suite::racing_notification_batches(s[0].clone(), s[1].clone()).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sequences_two_pools() {
    with_schema(2, |s| async move {
        suite::racing_sequences(s[0].clone(), s[1].clone()).await
    })
    .await;
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    if url().is_none() {
        return;
    }
    let e = PostgresStore::connect_with(
        "postgres://postgres@127.0.0.1:1/test",
        PostgresOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
}

/// A database gone while notifications wait: every one of the batch gets the outage at once
/// (the bank retries), none is looked up again on its own, and the committer is told to go on.
#[tokio::test]
async fn notifications_on_a_closed_pool_are_all_unavailable() {
    let Some(url) = url() else { return };
    let schema = schema_name();
    let store = connect(&url, &schema).await;
    let pool = store.pool().clone();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    pool.close().await;
    let batch = ["CLOSED1", "CLOSED2", "CLOSED3"]
        .iter()
        .map(|reference| match suite::accepted(reference, "T1") {
            tpe_store::EventInput::Notification(n) => n,
            _ => unreachable!("a notification"),
        })
        .collect();
    let (writes_done, written) = tpe_store::WritesDone::channel();
    let results = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tpe_store::PaymentStore::apply_notifications(&store, batch, suite::at(1000), writes_done),
    )
    .await
    .expect("answered without waiting on each notification");
    assert_eq!(results.len(), 3);
    for result in &results {
        assert!(matches!(result, Err(e) if e.is_unavailable()), "{result:?}");
    }
    assert!(
        written.await.is_err(),
        "dropped, not told: nothing was written"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
