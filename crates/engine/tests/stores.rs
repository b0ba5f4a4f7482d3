//! The engine over tpe-store: SQLite and PostgreSQL (`TPE_TEST_POSTGRES_URL`; skipped loudly
//! without it unless `REQUIRE_POSTGRES=1`), end to end over loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use tpe_core::CheckoutStatus;
use tpe_core::clock::ManualClock;
use tpe_engine::*;
use tpe_store::{PaymentStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

fn pg_url() -> Option<String> {
    match std::env::var("TPE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "REQUIRE_POSTGRES=1 but TPE_TEST_POSTGRES_URL is unset"
            );
            eprintln!(
                "\n*** SKIPPED: TPE_TEST_POSTGRES_URL unset: PostgreSQL tests of tpe-engine did not run ***\n"
            );
            None
        }
    }
}

fn schema() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    format!("e_{:016x}", u64::from_le_bytes(b))
}

async fn pg(url: &str, schema: &str) -> Arc<dyn PaymentStore> {
    Arc::new(
        PostgresStore::connect_with(
            url,
            PostgresOptions::default().schema(schema).max_connections(8),
        )
        .await
        .unwrap(),
    )
}

async fn drop_schema(url: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

fn wrap(s: Arc<dyn PaymentStore>, worker: &str) -> Arc<dyn EngineStore> {
    Arc::new(TpeStore::new(s, tpe_core::Lang::Fr, worker))
}

/// The main rows through one store.
async fn scenario(store: Arc<dyn EngineStore>) {
    let shop = Arc::new(Shop::start_with(store).await);
    // Acceptance delivered 10 times concurrently.
    let r = shop.checkout(1250, Some("CART-1")).await;
    let body = notification(r.as_str(), "T1", "accepted", 1250);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, b) = (shop.clone(), body.clone());
        tasks.push(tokio::spawn(async move { s.notify(b).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (200, "OK-TESTBANK".into()));
    }
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    // Refusal: the manager is told once.
    let refused = shop.checkout(5000, None).await;
    for _ in 0..3 {
        let b = notification(refused.as_str(), "T2", "refused:51", 5000);
        assert_eq!(shop.notify(b).await.0, 200);
    }
    // Forged: rejected, nothing written.
    let forged = notification(refused.as_str(), "T3", "accepted", 5000).replace("T3", "T4");
    assert_eq!(shop.notify(forged).await.0, 401);
    // Unknown reference: 404 and quarantined.
    assert_eq!(
        shop.notify(notification("NOSUCHREF", "T5", "accepted", 1))
            .await
            .0,
        404
    );
    shop.relay().await;
    assert_eq!(shop.relay().await, RelayReport::default());
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    let m = shop.mails_to(MANAGER);
    assert_eq!(m.len(), 1);
    assert!(m[0].body.contains("Provision insuffisante"));
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    // Manual validation.
    assert_eq!(
        shop.engine
            .validate_manually(&refused, "Paul", "virement")
            .await
            .unwrap(),
        CheckoutStatus::Valid
    );
    // Lost notification recovered by reconciliation.
    let lost = shop.checkout(2500, None).await;
    shop.bank.set(&lost, Remote::Paid("T6".into(), 2500));
    shop.clock.advance(jiff::SignedDuration::from_mins(14));
    assert_eq!(
        shop.engine
            .run_reconciliation(shop.clock.now_ts())
            .await
            .unwrap()
            .paid,
        0
    );
    shop.clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(
        shop.engine
            .run_reconciliation(shop.clock.now_ts())
            .await
            .unwrap()
            .paid,
        1
    );
    assert_eq!(shop.status(&lost).await, CheckoutStatus::Valid);
    // Retraction on the right day, not one minute early.
    let pending = shop.checkout(800, None).await;
    shop.clock.set("2026-03-28T22:59:00Z".parse().unwrap());
    assert_eq!(
        shop.engine
            .run_retraction(shop.clock.now_ts())
            .await
            .unwrap()
            .retracted,
        0
    );
    shop.clock.set("2026-03-28T23:00:00Z".parse().unwrap());
    assert_eq!(
        shop.engine
            .run_retraction(shop.clock.now_ts())
            .await
            .unwrap()
            .retracted,
        1
    );
    assert_eq!(shop.status(&pending).await, CheckoutStatus::Retracted);
    shop.relay().await;
    assert_eq!(
        shop.mails_to(CUSTOMER).len(),
        3,
        "bank, manual, reconciliation"
    );
    let d = shop
        .engine
        .checkout_detail(&refused)
        .await
        .unwrap()
        .unwrap();
    assert!(d.audit.iter().any(|a| a.author.as_deref() == Some("Paul")));
    let awaiting = shop
        .engine
        .checkouts_by_state(CheckoutStatus::Retracted, Page::default())
        .await
        .unwrap();
    assert_eq!(awaiting.len(), 1);
}

#[tokio::test]
async fn sqlite_end_to_end() {
    let dir = std::env::temp_dir().join(format!("tpe-engine-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shop.db");
    let s = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    scenario(wrap(Arc::new(s), "w1")).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sqlite_engine_restarted_after_commit_sends_the_email_once() {
    let dir = std::env::temp_dir().join(format!("tpe-engine-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shop.db");
    let bank = Arc::new(TestBank::default());
    let clock = ManualClock::new(start_time());
    let mailer = MemoryMailer::new();
    let r;
    {
        let s = Arc::new(
            SqliteStore::open(&path, SqliteOptions::default())
                .await
                .unwrap(),
        );
        let first = Shop::start_shared(
            wrap(s.clone(), "a"),
            bank.clone(),
            clock.clone(),
            mailer.clone(),
        )
        .await;
        r = first.checkout(1000, None).await;
        assert_eq!(
            first
                .notify(notification(r.as_str(), "T1", "accepted", 1000))
                .await
                .0,
            200
        );
        first.server.abort();
        s.close().await;
    }
    let s = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let second = Shop::start_shared(wrap(Arc::new(s), "b"), bank, clock, mailer).await;
    assert_eq!(second.status(&r).await, CheckoutStatus::Valid);
    assert_eq!(second.relay().await.delivered, 2);
    assert_eq!(second.relay().await.delivered, 0);
    assert_eq!(second.mails_to(CUSTOMER).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres_end_to_end() {
    let Some(url) = pg_url() else { return };
    let schema = schema();
    scenario(wrap(pg(&url, &schema).await, "w1")).await;
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn two_engines_on_one_postgres_do_each_thing_once() {
    let Some(url) = pg_url() else { return };
    let schema = schema();
    let bank = Arc::new(TestBank::default());
    let clock = ManualClock::new(start_time());
    let mailer = MemoryMailer::new();
    let a = Arc::new(
        Shop::start_shared(
            wrap(pg(&url, &schema).await, "a"),
            bank.clone(),
            clock.clone(),
            mailer.clone(),
        )
        .await,
    );
    let b = Arc::new(
        Shop::start_shared(
            wrap(pg(&url, &schema).await, "b"),
            bank.clone(),
            clock.clone(),
            mailer.clone(),
        )
        .await,
    );
    let mut refs = Vec::new();
    for i in 0..20 {
        let shop = if i % 2 == 0 { &a } else { &b };
        refs.push(shop.checkout(1000 + i, None).await);
    }
    // Every notification to both instances at once.
    let mut tasks = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let body = notification(
            r.as_str(),
            &format!("T{i}"),
            "accepted",
            1000 + u64::try_from(i).unwrap(),
        );
        for s in [a.clone(), b.clone()] {
            let body = body.clone();
            tasks.push(tokio::spawn(async move { s.notify(body).await.0 }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    // Both relays at once.
    let now = clock.now_ts();
    let (ra, rb) = tokio::join!(a.engine.run_relay_once(now), b.engine.run_relay_once(now));
    assert_eq!(ra.unwrap().delivered + rb.unwrap().delivered, 40);
    let mails = mailer.sent();
    assert_eq!(mails.len(), 20, "one confirmation per checkout");
    let mut ids: Vec<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    // Reconciliation by both instances: each checkout queried once.
    let lost: Vec<_> = {
        let mut v = Vec::new();
        for i in 0..10u64 {
            let r = a.checkout(500 + i, None).await;
            bank.set(&r, Remote::Paid(format!("L{i}"), 500 + i));
            v.push(r);
        }
        v
    };
    clock.advance(jiff::SignedDuration::from_mins(16));
    let before = bank.queries.load(std::sync::atomic::Ordering::SeqCst);
    let now = clock.now_ts();
    let (x, y) = tokio::join!(
        a.engine.run_reconciliation(now),
        b.engine.run_reconciliation(now)
    );
    assert_eq!(x.unwrap().paid + y.unwrap().paid, 10);
    assert_eq!(
        bank.queries.load(std::sync::atomic::Ordering::SeqCst) - before,
        10
    );
    for r in &lost {
        assert_eq!(a.status(r).await, CheckoutStatus::Valid);
    }
    drop_schema(&url, &schema).await;
}
