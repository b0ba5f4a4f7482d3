//! `tpe replay`: a notification quarantined because its checkout was missing is applied once
//! the checkout exists — verified again, exactly once.
// Test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tpe_cli::replay::{ReplayArgs, run};
use tpe_cli::shop_config::ShopConfig;
use tpe_core::{Amount, CheckoutStatus, Clock, Currency, PaymentReference};
use tpe_engine::{Engine, MemoryMailer, NotificationOutcome};
use tpe_store::{NewCheckout, PaymentStore, SqliteOptions, SqliteStore};

const WHSEC: &str = "whsec_replay_test";

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("shop.toml");
    std::fs::write(
        &path,
        format!(
            r#"[shop]
public_url = "http://127.0.0.1:9/"

[store]
sqlite = "tpe.db"

[stripe_like]
mode = "test"
secret_key = "sk_test_replay"
webhook_secrets = ["{WHSEC}"]
"#
        ),
    )
    .unwrap();
    path
}

async fn open(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(dir.join("tpe.db"), SqliteOptions::default())
            .await
            .unwrap(),
    )
}

/// A `checkout.session.completed` for `reference` signed with `secret`, as the PSP sends it
/// now.
fn completed(reference: &str, secret: &str) -> tpe_core::RawNotification {
    let body = format!(
        r#"{{"id":"evt_late","object":"event","type":"checkout.session.completed","data":{{"object":{{"id":"cs_test_late","object":"checkout.session","amount_total":1250,"currency":"eur","client_reference_id":"{reference}","payment_intent":"pi_late","payment_status":"paid","status":"complete"}}}}}}"#
    );
    let now = tpe_core::clock::SystemClock.now().as_second();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "stripe-signature",
        tpe_stripe_like::generate_test_header(body.as_bytes(), secret, now)
            .parse()
            .unwrap(),
    );
    tpe_core::RawNotification::new(tpe_core::HttpMethod::Post, "", body, headers, None).unwrap()
}

async fn replay(config: &Path, reference: Option<&str>, id: Option<i64>) -> (ExitCode, String) {
    let args = ReplayArgs {
        config: Some(config.to_owned()),
        data: None,
        database_url: None,
        quarantine: id,
        list: false,
        reference: reference.map(str::to_owned),
    };
    replay_with(args).await
}

async fn replay_with(args: ReplayArgs) -> (ExitCode, String) {
    let mut out = Vec::new();
    let code = run(args, &mut out).await;
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_notification_validates_once_after_the_checkout_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    // The shop's engine receives the PSP's notification before the checkout exists.
    {
        let store = open(dir.path()).await;
        let config = ShopConfig::load(&config).unwrap();
        let (registry, settings) = (config.registry().unwrap(), config.settings().unwrap());
        let engine = Engine::builder(
            registry,
            store.clone(),
            Arc::new(MemoryMailer::new()),
            settings,
        )
        .build()
        .unwrap();
        let r = engine
            .handle_notification("stripe-like", &completed("LATE1", WHSEC))
            .await;
        assert_eq!(r.outcome, NotificationOutcome::UnknownReference);
        store.close().await;
    }
    // The quarantine lists it, with the reference the PSP named.
    let (code, text) = replay_with(ReplayArgs {
        config: Some(config.clone()),
        data: None,
        database_url: None,
        quarantine: None,
        list: true,
        reference: None,
    })
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(
        text.contains(" stripe-like LATE1 (unknown reference, seen 1 time(s)"),
        "{text}"
    );
    assert!(text.ends_with("1 quarantined notification(s)\n"), "{text}");
    // Still missing: replaying changes nothing and says why.
    let (code, text) = replay(&config, Some("LATE1"), None).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(text.contains("still names no checkout"), "{text}");

    // The missing checkout is added.
    let reference = PaymentReference::parse("LATE1").unwrap();
    let store = open(dir.path()).await;
    add_checkout(store.as_ref(), &reference).await;
    store.close().await;

    let (code, text) = replay(&config, Some("LATE1"), None).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.trim_end().ends_with(": applied"), "{text}");
    let id: i64 = text
        .trim_start_matches("quarantine #")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Twice is once.
    let (code, text) = replay(&config, None, Some(id)).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.contains("already applied: nothing changed"), "{text}");

    let store = open(dir.path()).await;
    let detail = store.checkout(&reference).await.unwrap();
    assert_eq!(detail.checkout.status, CheckoutStatus::Valid);
    assert_eq!(detail.bank_transactions.len(), 1);
    assert_eq!(detail.payments.len(), 1);

    // Usage errors exit 2.
    let (code, text) = replay(&config, None, Some(i64::MAX)).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(
        text.contains("no quarantined notification has id"),
        "{text}"
    );
    let (code, _) = replay(&dir.path().join("nope.toml"), Some("LATE1"), None).await;
    assert_eq!(code, ExitCode::from(2));
}

/// The missing checkout: 12.50 EUR paid through the Stripe-like PSP.
async fn add_checkout(store: &dyn PaymentStore, reference: &PaymentReference) {
    let now = tpe_core::clock::SystemClock.now();
    store
        .create_checkout(NewCheckout::new(
            reference.clone(),
            tpe_stripe_like::StripeLike::ID,
            Amount::new(1250, Currency::EUR).unwrap(),
            "jeanne@example.fr",
            "Jeanne Martin",
            now + jiff::SignedDuration::from_hours(48),
            now,
        ))
        .await
        .unwrap();
}

/// A demo data folder: the demo's own banks verify, no configuration file needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_folder_replays_with_the_demos_banks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(tpe_demo::replay::DATABASE_FILE);
    SqliteStore::open(&db, SqliteOptions::default())
        .await
        .unwrap()
        .close()
        .await;
    {
        let (engine, _bank) = tpe_demo::replay::open_engine(dir.path()).await.unwrap();
        let signed = completed("DEMO1", tpe_mock_bank::DEFAULT_STRIPE_WEBHOOK_SECRET);
        let r = engine.handle_notification("stripe-like", &signed).await;
        assert_eq!(r.outcome, NotificationOutcome::UnknownReference);
    }
    let reference = PaymentReference::parse("DEMO1").unwrap();
    let store = SqliteStore::open(&db, SqliteOptions::default())
        .await
        .unwrap();
    add_checkout(&store, &reference).await;
    store.close().await;
    let args = |reference: &str| ReplayArgs {
        config: None,
        data: Some(dir.path().to_owned()),
        database_url: None,
        quarantine: None,
        list: false,
        reference: Some(reference.to_owned()),
    };
    let (code, text) = replay_with(args("DEMO1")).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.trim_end().ends_with(": applied"), "{text}");
    let (code, text) = replay_with(args("NOTHING")).await;
    assert_eq!(code, ExitCode::from(2), "{text}");
    let store = SqliteStore::open(&db, SqliteOptions::default())
        .await
        .unwrap();
    let detail = store.checkout(&reference).await.unwrap();
    assert_eq!(detail.checkout.status, CheckoutStatus::Valid);
}

/// The same on PostgreSQL (`[store] postgres`, in a schema of its own), when
/// `TPE_TEST_POSTGRES_URL` names a database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_notification_replays_on_postgres() {
    let Ok(url) = std::env::var("TPE_TEST_POSTGRES_URL") else {
        eprintln!(
            "*** SKIPPED: TPE_TEST_POSTGRES_URL unset: tpe replay on PostgreSQL did not run ***"
        );
        return;
    };
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let schema = format!("t_replay_{:016x}", u64::from_le_bytes(bytes));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shop.toml");
    std::fs::write(
        &config,
        format!(
            "[shop]\npublic_url = \"http://127.0.0.1:9/\"\n[store]\npostgres = \"{url}\"\n\
             postgres_schema = \"{schema}\"\n[stripe_like]\nmode = \"test\"\n\
             secret_key = \"sk_test_replay\"\nwebhook_secrets = [\"{WHSEC}\"]\n"
        ),
    )
    .unwrap();
    let store = Arc::new(
        tpe_store::PostgresStore::connect_with(
            &url,
            tpe_store::PostgresOptions::default().schema(&schema),
        )
        .await
        .unwrap(),
    );
    let shop = ShopConfig::load(&config).unwrap();
    let engine = Engine::builder(
        shop.registry().unwrap(),
        store.clone(),
        Arc::new(MemoryMailer::new()),
        shop.settings().unwrap(),
    )
    .build()
    .unwrap();
    let r = engine
        .handle_notification("stripe-like", &completed("PGLATE1", WHSEC))
        .await;
    assert_eq!(r.outcome, NotificationOutcome::UnknownReference);
    let reference = PaymentReference::parse("PGLATE1").unwrap();
    add_checkout(store.as_ref(), &reference).await;
    let (code, text) = replay(&config, Some("PGLATE1"), None).await;
    let (again, text_again) = replay(&config, Some("PGLATE1"), None).await;
    let status = store.checkout(&reference).await.unwrap().checkout.status;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.trim_end().ends_with(": applied"), "{text}");
    assert_eq!(again, ExitCode::SUCCESS, "{text_again}");
    assert!(text_again.contains("already applied"), "{text_again}");
    assert_eq!(status, CheckoutStatus::Valid);
}
