//! Ten concurrent checkouts through two engines sharing one database (SQLite, and PostgreSQL
//! when `TPE_TEST_POSTGRES_URL` is set): ten distinct `vads_trans_id` of the day, 000001 to
//! 000010, each bank reference mapping back to its checkout.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tpe_core::clock::ManualClock;
use tpe_core::{Amount, Currency, Registry};
use tpe_engine::{CheckoutRequest, Engine, MemoryMailer, ShopSettings};
use tpe_lyra::Lyra;
use tpe_store::{PaymentStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

fn random() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

fn engine(store: Arc<dyn PaymentStore>, clock: &ManualClock) -> Engine {
    let mut registry = Registry::new();
    let cfg = tpe_lyra::LyraConfig::test(
        tpe_lyra::Brand::Payzen,
        common::SITE_ID,
        SecretString::from(common::KEY),
    );
    registry
        .register(Arc::new(Lyra::new(cfg).unwrap()))
        .unwrap();
    let settings = ShopSettings::new(
        "Ferme des Lilas",
        "http://127.0.0.1:9/".parse().unwrap(),
        "gestion@ferme.example",
        "boutique@ferme.example",
    )
    .unwrap();
    Engine::builder(registry, store, Arc::new(MemoryMailer::new()), settings)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn request() -> CheckoutRequest {
    CheckoutRequest {
        customer: common::customer(),
        amount: Amount::new(1000, Currency::EUR).unwrap(),
        description: "Panier de légumes".into(),
        item_count: 2,
        delivery: jiff::civil::date(2025, 1, 20),
        shop_order_id: None,
        language: None,
    }
}

async fn ten_checkouts(stores: [Arc<dyn PaymentStore>; 2]) {
    let clock = ManualClock::new(common::now());
    let engines = stores.map(|s| engine(s, &clock));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let e = engines[i % 2].clone();
            tokio::spawn(async move { e.start_checkout(&Lyra::ID, request()).await.unwrap() })
        })
        .collect();
    let mut trans_ids = BTreeSet::new();
    for t in tasks {
        let started = t.await.unwrap();
        let field = |name: &str| {
            started
                .redirect
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(field("vads_order_id"), started.reference.as_str());
        assert_eq!(&field("vads_trans_date")[..8], "20250115");
        let detail = engines[1]
            .checkout_detail(&started.reference)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            detail.checkout.bank_reference.as_str(),
            format!("20250115-{}", field("vads_trans_id"))
        );
        assert!(trans_ids.insert(field("vads_trans_id")));
    }
    let expected: BTreeSet<String> = (1..=10).map(|n| format!("{n:06}")).collect();
    assert_eq!(trans_ids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_checkouts_get_distinct_trans_ids_on_sqlite() {
    let path = std::env::temp_dir().join(format!("tpe-lyra-{:016x}.db", random()));
    let mut o = SqliteOptions::default();
    o.busy_timeout = Duration::from_millis(300);
    let a: Arc<dyn PaymentStore> = Arc::new(SqliteStore::open(&path, o.clone()).await.unwrap());
    let b: Arc<dyn PaymentStore> = Arc::new(SqliteStore::open(&path, o).await.unwrap());
    ten_checkouts([a, b]).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_checkouts_get_distinct_trans_ids_on_postgres() {
    let Some(url) = std::env::var("TPE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "\n*** SKIPPED: TPE_TEST_POSTGRES_URL unset: the PostgreSQL run did not happen ***\n"
        );
        return;
    };
    let schema = format!("lyra_{:016x}", random());
    let open = || async {
        let o = PostgresOptions::default()
            .schema(&schema)
            .max_connections(8);
        Arc::new(PostgresStore::connect_with(&url, o).await.unwrap()) as Arc<dyn PaymentStore>
    };
    let (a, b) = (open().await, open().await);
    ten_checkouts([a, b]).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}
