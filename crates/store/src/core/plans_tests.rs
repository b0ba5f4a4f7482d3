//! The group commit's PostgreSQL statements find the batch's checkouts through an index
//! whatever the table's size and statistics, with the plan PostgreSQL caches for a prepared
//! statement (generic) as with the one it makes for given values (custom). A whole-table scan
//! here costs every batch a time that grows with every order ever taken. Needs
//! `TPE_TEST_POSTGRES_URL`; skipped loudly without it unless `REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::{Executor as _, Row as _};

use super::apply::WRITE_POSTGRES;
use super::batch::{LOAD_POSTGRES, LOCK_POSTGRES};
use super::queries::RESOLVE_POSTGRES;
use crate::{PostgresOptions, PostgresStore};

/// Checkouts in the table: enough that a scan of them all costs more than a few lookups.
const CHECKOUTS: u32 = 5_000;

/// Each statement, its parameters (literals of the types the statement casts them to), and
/// what the checkouts' part of its plan must show.
fn statements() -> Vec<(&'static str, &'static str, Vec<&'static str>, &'static str)> {
    let refs = "{R0000000010,R0000002500,R0000004999}";
    // The write: one checkout updated (`$15`–`$25`), every other array empty.
    let mut write = vec!["{}"; 47];
    write[14] = "{R0000000010}";
    write[15] = "{valid}";
    write[16] = "{0}";
    write[23] = "{0}";
    write[24] = "{1}";
    vec![
        (
            "resolve",
            RESOLVE_POSTGRES,
            vec!["paybox", refs],
            "bank_reference",
        ),
        ("lock", LOCK_POSTGRES, vec![refs], "reference"),
        ("load", LOAD_POSTGRES, vec![refs], "reference"),
        ("write", WRITE_POSTGRES, write, "reference"),
    ]
}

/// A migrated store of one connection on a schema of its own, and the schema's name; `None`
/// (the check skipped) without `TPE_TEST_POSTGRES_URL`.
pub(super) async fn scratch_store(what: &str) -> Option<(PostgresStore, String)> {
    let url = crate::testing::postgres_url(what)?;
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let schema = format!("t_{:016x}", u64::from_le_bytes(bytes));
    let store = PostgresStore::connect_with(
        &url,
        PostgresOptions::default()
            .schema(&schema)
            .max_connections(1),
    )
    .await
    .unwrap();
    Some((store, schema))
}

async fn plans_use_the_index(analyzed: bool) {
    let Some((store, schema)) = scratch_store("the plan checks of tpe-store").await else {
        return;
    };
    let mut conn = store.pool().acquire().await.unwrap();
    let seeded = format!(
        "INSERT INTO checkouts (reference, bank_reference, provider, amount_minor, currency, \
         status, customer_email, customer_name, retract_at, created_at, updated_at) \
         SELECT r, r, 'paybox', 1000, 'EUR', 'awaiting_payment', 'jeanne@example.fr', \
         'Jeanne Martin', 0, 0, 0 FROM (SELECT 'R' || lpad(i::text, 10, '0') AS r \
         FROM generate_series(1, {CHECKOUTS}) AS i) AS s"
    );
    conn.execute(sqlx::AssertSqlSafe(seeded)).await.unwrap();
    if analyzed {
        conn.execute("ANALYZE").await.unwrap();
    }
    let mut failures = Vec::new();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        conn.execute(sqlx::AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
            .await
            .unwrap();
        for (name, sql, params, key) in statements() {
            // The parameters' types come from the statement's casts and comparisons.
            conn.execute(sqlx::AssertSqlSafe(format!("PREPARE s_{name} AS {sql}")))
                .await
                .unwrap();
            let args: Vec<String> = params.iter().map(|p| format!("'{p}'")).collect();
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "EXPLAIN EXECUTE s_{name} ({})",
                args.join(", ")
            )))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            let plan = plan.join("\n");
            conn.execute(sqlx::AssertSqlSafe(format!("DEALLOCATE s_{name}")))
                .await
                .unwrap();
            let scans_all = plan.contains("Seq Scan on checkouts");
            let keyed = plan
                .lines()
                .filter(|l| l.contains("Index Cond"))
                .any(|l| l.contains(key));
            if scans_all || !keyed {
                failures.push(format!(
                    "{name} ({mode}, analyzed: {analyzed}) does not look checkouts up by {key}:\n{plan}"
                ));
            }
        }
    }
    drop(conn);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(store.pool())
        .await
        .unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn batch_statements_look_checkouts_up_by_index_before_statistics() {
    plans_use_the_index(false).await;
}

#[tokio::test]
async fn batch_statements_look_checkouts_up_by_index_after_analyze() {
    plans_use_the_index(true).await;
}
