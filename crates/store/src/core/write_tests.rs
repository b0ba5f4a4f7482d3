//! On PostgreSQL the rows written with a checkout have no foreign key to it (migration 0011):
//! the write statement itself inserts a row only with its checkout's update, so a row naming
//! a checkout the statement did not update is left out and the count it returns falls short
//! (which makes the store roll the transaction back). Needs `TPE_TEST_POSTGRES_URL`; skipped
//! loudly without it unless `REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Executor as _;

use super::apply::WriteRows;
use super::plan::{AuditRow, BankRow, CheckoutUpdate, OutboxRow, PaymentRow};

fn bank(r: &str) -> BankRow {
    BankRow {
        provider: "paybox".into(),
        reference: r.into(),
        bank_transaction_id: format!("T-{r}"),
        outcome: "accepted",
        amount_minor: 1000,
        currency: "EUR",
        source: "notification",
        reason_kind: None,
        reason_code: None,
        authorization_code: None,
        card: None,
        event_id: None,
        instalment: None,
        received_at: 1,
    }
}

fn outbox(r: &str) -> OutboxRow {
    OutboxRow {
        reference: r.into(),
        effect_key: "mail".into(),
        kind: "mail",
        payload: "{}".into(),
        created_at: 1,
        delivered_at: None,
    }
}

fn payment(r: &str) -> PaymentRow {
    PaymentRow {
        reference: r.into(),
        record_key: "pay".into(),
        amount_minor: 1000,
        currency: "EUR",
        bank_transaction_id: None,
        source: "bank",
        author: None,
        note: None,
        recorded_at: 1,
    }
}

fn audit(r: &str) -> AuditRow {
    AuditRow {
        reference: r.into(),
        event: "paid",
        author: None,
        detail: None,
        status_before: "awaiting_payment",
        status_after: "valid",
        at: 1,
    }
}

fn update(r: &str) -> CheckoutUpdate {
    CheckoutUpdate {
        reference: r.into(),
        status: "valid",
        amount_mismatch: 0,
        superseded_by: None,
        validated_by: None,
        validated_author: None,
        validated_note: None,
        instalments: None,
        refunds: None,
        updated_at: 1,
        writes: 1,
    }
}

/// Rows written by one execution of the write statement (the checkouts `updated`, one row
/// of each other table for each of `children_of`), and the child rows found after it for
/// `missing`.
async fn write(
    conn: &mut sqlx::PgConnection,
    updated: &[&str],
    children_of: &[&str],
    missing: &str,
) -> (u64, i64) {
    let (bank_rows, outbox_rows, payment_rows, audit_rows): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = (
        children_of.iter().map(|r| bank(r)).collect(),
        children_of.iter().map(|r| outbox(r)).collect(),
        children_of.iter().map(|r| payment(r)).collect(),
        children_of.iter().map(|r| audit(r)).collect(),
    );
    let rows = WriteRows {
        bank: bank_rows.iter().collect(),
        updates: updated.iter().map(|r| update(r)).collect(),
        outbox: outbox_rows.iter().collect(),
        payments: payment_rows.iter().collect(),
        audit: audit_rows.iter().collect(),
    };
    let done = rows.postgres().execute(&mut *conn).await.unwrap();
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
