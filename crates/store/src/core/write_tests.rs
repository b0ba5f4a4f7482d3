//! On PostgreSQL the rows written with a checkout have no foreign key to it (migration 0011):
//! the write statement itself inserts a row only with its checkout's update, so a row naming
//! a checkout the statement did not update is left out and the count it returns falls short
//! (which makes the store roll the transaction back). Needs `TPE_TEST_POSTGRES_URL`; skipped
//! loudly without it unless `REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Executor as _;

use super::apply::WRITE_POSTGRES;

/// One row of each child table for `reference`, as the store passes them (JSON arrays).
fn children(references: &[&str]) -> [String; 4] {
    let each = |row: &dyn Fn(&str) -> String| {
        let rows: Vec<String> = references.iter().map(|r| row(r)).collect();
        format!("[{}]", rows.join(","))
    };
    [
        each(&|r| {
            format!(
                r#"{{"provider":"paybox","reference":"{r}","bank_transaction_id":"T-{r}","outcome":"accepted","amount_minor":1000,"currency":"EUR","source":"notification","received_at":1}}"#
            )
        }),
        each(&|r| {
            format!(
                r#"{{"reference":"{r}","effect_key":"mail","kind":"mail","payload":"{{}}","created_at":1}}"#
            )
        }),
        each(&|r| {
            format!(
                r#"{{"reference":"{r}","record_key":"pay","amount_minor":1000,"currency":"EUR","source":"bank","recorded_at":1}}"#
            )
        }),
        each(&|r| {
            format!(
                r#"{{"reference":"{r}","event":"paid","status_before":"awaiting_payment","status_after":"valid","at":1}}"#
            )
        }),
    ]
}

/// Rows written by one execution of the write statement, and the child rows found after it
/// for `missing`.
async fn write(
    conn: &mut sqlx::PgConnection,
    updated: &[&str],
    children_of: &[&str],
    missing: &str,
) -> (u64, i64) {
    let checkouts: Vec<String> = updated
        .iter()
        .map(|r| format!(r#"{{"reference":"{r}","status":"valid","amount_mismatch":0,"updated_at":1,"version":1}}"#))
        .collect();
    let [bank, outbox, payments, audit] = children(children_of);
    let done = sqlx::query(WRITE_POSTGRES)
        .bind(bank)
        .bind(format!("[{}]", checkouts.join(",")))
        .bind(outbox)
        .bind(payments)
        .bind(audit)
        .execute(&mut *conn)
        .await
        .unwrap();
    let orphans: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM bank_transactions WHERE reference = $1) \
         + (SELECT count(*) FROM outbox WHERE reference = $1) \
         + (SELECT count(*) FROM payment_records WHERE reference = $1) \
         + (SELECT count(*) FROM audit WHERE reference = $1)",
    )
    .bind(missing)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    (done.rows_affected(), orphans)
}

#[tokio::test]
async fn write_leaves_out_rows_whose_checkout_it_did_not_update() {
    let Some((store, schema)) =
        super::plans_tests::scratch_store("the write statement checks of tpe-store").await
    else {
        return;
    };
    let mut conn = store.pool().acquire().await.unwrap();
    conn.execute(
        "INSERT INTO checkouts (reference, bank_reference, provider, amount_minor, currency, \
         status, customer_email, customer_name, retract_at, created_at, updated_at) VALUES \
         ('R0000000001', 'R0000000001', 'paybox', 1000, 'EUR', 'awaiting_payment', \
         'jeanne@example.fr', 'Jeanne Martin', 0, 0, 0), \
         ('R0000000002', 'R0000000002', 'paybox', 1000, 'EUR', 'awaiting_payment', \
         'jeanne@example.fr', 'Jeanne Martin', 0, 0, 0)",
    )
    .await
    .unwrap();

    // A checkout that does not exist: its rows are left out, the others written.
    let (written, orphans) = write(
        &mut conn,
        &["R0000000001", "R0000000404"],
        &["R0000000001", "R0000000404"],
        "R0000000404",
    )
    .await;
    assert_eq!((written, orphans), (5, 0), "1 update + 4 rows, not 10");

    // A checkout that exists but that the statement does not update: left out too.
    let (written, orphans) = write(&mut conn, &[], &["R0000000002"], "R0000000002").await;
    assert_eq!((written, orphans), (0, 0));

    // Its own update lets them in.
    let (written, orphans) =
        write(&mut conn, &["R0000000002"], &["R0000000002"], "R0000000002").await;
    assert_eq!((written, orphans), (5, 4));

    drop(conn);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(store.pool())
        .await
        .unwrap();
}
