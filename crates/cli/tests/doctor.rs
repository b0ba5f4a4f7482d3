//! `tpe doctor` against a running engine with the mock bank: a good configuration passes, and
//! a broken PBX_RETOUR, an http URL, a wrong public key and an unreachable route are found,
//! each with what to change.
// Test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tpe_cli::doctor::{DoctorArgs, Finding, Report, Severity, check, run};
use tpe_cli::shop_config::ShopConfig;
use tpe_engine::{Engine, MemoryMailer};
use tpe_mock_bank::{MockBank, MockBankConfig, RunningBank};
use tpe_store::SqliteStore;

/// The engine, served on loopback with the banks of the good configuration.
struct Shop {
    bank: RunningBank,
    base: String,
    dir: tempfile::TempDir,
}

/// The shop's configuration: the mock bank's test merchant for Paybox and the Stripe-like PSP.
fn config(shop: &str, bank: &str, extra_paybox: &str, pem: &str) -> String {
    format!(
        r#"[shop]
public_url = "{shop}"

[paybox]
site = "1999888"
rang = "32"
identifiant = "107904482"
hmac_key = "{key}"
public_keys = ['''{pem}''']
{extra_paybox}

[stripe_like]
mode = "test"
secret_key = "{sk}"
webhook_secrets = ["{whsec}"]
api_base = "{bank}/"
"#,
        key = tpe_mock_bank::PAYBOX_TEST_HMAC_KEY,
        sk = tpe_mock_bank::DEFAULT_STRIPE_SECRET_KEY,
        whsec = tpe_mock_bank::DEFAULT_STRIPE_WEBHOOK_SECRET,
    )
}

impl Shop {
    async fn start() -> Self {
        let bank = MockBank::spawn(MockBankConfig::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let shop = Self {
            base,
            dir: tempfile::tempdir().unwrap(),
            bank,
        };
        // The running engine is built from the very file the doctor reads.
        let path = shop.write("good.toml", &shop.good());
        let config = ShopConfig::load(&path).unwrap();
        let (registry, settings) = (config.registry().unwrap(), config.settings().unwrap());
        let engine = Engine::builder(
            registry,
            Arc::new(SqliteStore::in_memory().await.unwrap()),
            Arc::new(MemoryMailer::new()),
            settings,
        )
        .build()
        .unwrap();
        let app = engine.router();
        tokio::spawn(async move { axum::serve(listener, app).await });
        shop
    }

    fn bank_url(&self) -> &str {
        self.bank.base_url().trim_end_matches('/')
    }

    fn platform(&self) -> String {
        format!("platform = \"{}/\"", self.bank_url())
    }

    fn good(&self) -> String {
        config(
            &self.base,
            self.bank_url(),
            &self.platform(),
            self.bank.paybox_public_key_pem(),
        )
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn doctor(&self, name: &str, text: &str, url: Option<String>) -> Report {
        check(&args(self.write(name, text), url, false))
            .await
            .unwrap()
    }
}

fn args(config: PathBuf, url: Option<String>, offline: bool) -> DoctorArgs {
    DoctorArgs {
        config,
        url,
        timeout: 5,
        offline,
    }
}

fn errors(report: &Report) -> Vec<&Finding> {
    report.of(Severity::Error).collect()
}

/// The one error about `subject`, which must say what to change.
fn error_about<'a>(report: &'a Report, subject: &str) -> &'a Finding {
    let found: Vec<_> = report
        .of(Severity::Error)
        .filter(|f| f.subject.contains(subject))
        .collect();
    assert_eq!(found.len(), 1, "{subject}: {report:#?}");
    assert!(!found[0].fix.is_empty(), "{:?}", found[0]);
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_configuration_passes() {
    let shop = Shop::start().await;
    let report = shop.doctor("good.toml", &shop.good(), None).await;
    assert!(errors(&report).is_empty(), "{report:#?}");
    assert_eq!(report.exit_code(), ExitCode::SUCCESS);
    for bank in ["paybox", "stripe_like"] {
        let probe = report
            .of(Severity::Ok)
            .find(|f| f.subject == format!("{bank} notification route"))
            .unwrap_or_else(|| panic!("{bank}: {report:#?}"));
        assert!(
            probe.message.contains("refused an unsigned probe"),
            "{probe:?}"
        );
    }
    assert!(report.of(Severity::Ok).any(|f| f.subject == "clock"));
    // Plain http on this machine, and the mock bank's own key: fine for a test, said so.
    assert!(
        report
            .of(Severity::Warning)
            .any(|f| f.subject == "shop public_url")
    );
    assert!(
        report
            .of(Severity::Warning)
            .any(|f| f.subject.starts_with("[paybox] public key"))
    );

    // The command prints every finding and its summary, and exits 0.
    let mut out = Vec::new();
    let good = args(shop.write("good.toml", &shop.good()), None, false);
    assert_eq!(run(good, &mut out).await, ExitCode::SUCCESS);
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("0 error(s), 4 warning(s)\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_retour_is_found() {
    let shop = Shop::start().await;
    let text = config(
        &shop.base,
        shop.bank_url(),
        &format!("{}\nretour = \"M:M;K:K;R:R;T:T;S:S;E:E\"", shop.platform()),
        shop.bank.paybox_public_key_pem(),
    );
    let report = shop.doctor("retour.toml", &text, None).await;
    let retour = error_about(&report, "[paybox] retour");
    assert!(retour.message.contains("PBX_RETOUR"), "{retour:?}");
    assert!(retour.fix.contains("signature K last"), "{retour:?}");
    assert_eq!(report.exit_code(), ExitCode::FAILURE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_url_is_found() {
    let shop = Shop::start().await;
    let text = shop.good().replace(
        &format!("api_base = \"{}/\"", shop.bank_url()),
        "api_base = \"http://psp.example.com/\"",
    );
    assert_ne!(text, shop.good());
    let report = shop.doctor("http.toml", &text, None).await;
    let http = error_about(&report, "[stripe_like] api_base");
    assert!(http.message.contains("plain http"), "{http:?}");
    assert!(http.fix.contains("https"), "{http:?}");
    // The shop's own URL too, when it is not on this machine.
    let report = shop
        .doctor(
            "good.toml",
            &shop.good(),
            Some("http://shop.example.com/".into()),
        )
        .await;
    error_about(&report, "shop public_url");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_public_key_is_found() {
    let shop = Shop::start().await;
    // A real Paybox platform with the mock bank's key: every notification would be refused.
    let text = config(
        &shop.base,
        shop.bank_url(),
        "platform = \"e-transactions-preprod\"",
        shop.bank.paybox_public_key_pem(),
    );
    let report = shop.doctor("key.toml", &text, None).await;
    let key = error_about(&report, "[paybox] public key");
    assert!(
        key.message.contains("not the key Paybox publishes"),
        "{key:?}"
    );
    assert!(key.fix.contains("embedded"), "{key:?}");
    // A key that is no key at all.
    let text = config(
        &shop.base,
        shop.bank_url(),
        &shop.platform(),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    );
    let report = shop.doctor("garbage.toml", &text, None).await;
    let key = error_about(&report, "[paybox] public key");
    assert!(key.message.contains("not an RSA public key"), "{key:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_missing_route_is_found() {
    let shop = Shop::start().await;
    // Nothing listens on this port any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let report = shop.doctor("good.toml", &shop.good(), Some(closed)).await;
    let unreachable = error_about(&report, "paybox notification route");
    assert!(
        unreachable.message.contains("unreachable"),
        "{unreachable:?}"
    );
    error_about(&report, "stripe_like notification route");
    // The server is there, but the routes are not under this prefix.
    let text = shop
        .good()
        .replace("[shop]\n", "[shop]\nroute_prefix = \"boutique\"\n");
    let report = shop.doctor("prefix.toml", &text, None).await;
    let missing = error_about(&report, "paybox notification route");
    assert!(missing.message.contains("404"), "{missing:?}");
}

#[tokio::test]
async fn an_unreadable_configuration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let missing = args(dir.path().join("missing.toml"), None, true);
    assert_eq!(run(missing, &mut out).await, ExitCode::from(2));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[shop]\npublic_url = \"https://x/\"\n[bank_of_nowhere]\na = 1\n",
    )
    .unwrap();
    let mut out = Vec::new();
    assert_eq!(
        run(args(bad, None, true), &mut out).await,
        ExitCode::from(2)
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("unknown table [bank_of_nowhere]")
    );
}
