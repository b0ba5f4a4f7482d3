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
use tpe_engine::{Engine, MemoryMailer, NotificationOutcome, ShopSettings};
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

/// A signed `checkout.session.completed` for `reference`, as the PSP sends it now.
fn completed(reference: &str) -> tpe_core::RawNotification {
    let body = format!(
        r#"{{"id":"evt_late","object":"event","type":"checkout.session.completed","data":{{"object":{{"id":"cs_test_late","object":"checkout.session","amount_total":1250,"currency":"eur","client_reference_id":"{reference}","payment_intent":"pi_late","payment_status":"paid","status":"complete"}}}}}}"#
    );
    let now = tpe_core::clock::SystemClock.now().as_second();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "stripe-signature",
        tpe_stripe_like::generate_test_header(body.as_bytes(), WHSEC, now)
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
        reference: reference.map(str::to_owned),
    };
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
        let registry = ShopConfig::load(&config).unwrap().registry().unwrap();
        let settings = ShopSettings::new(
            "Ferme des Lilas",
            "http://127.0.0.1:9/".parse().unwrap(),
            "gestion@ferme.example",
            "boutique@ferme.example",
        )
        .unwrap();
        let engine = Engine::builder(
            registry,
            store.clone(),
            Arc::new(MemoryMailer::new()),
            settings,
        )
        .build()
        .unwrap();
        let r = engine
            .handle_notification("stripe-like", &completed("LATE1"))
            .await;
        assert_eq!(r.outcome, NotificationOutcome::UnknownReference);
        store.close().await;
    }
    // Still missing: replaying changes nothing and says why.
    let (code, text) = replay(&config, Some("LATE1"), None).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(text.contains("still names no checkout"), "{text}");

    // The missing checkout is added.
    let reference = PaymentReference::parse("LATE1").unwrap();
    let store = open(dir.path()).await;
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
