//! `tpe doctor` against a running engine with the mock bank: a good configuration passes, and
//! a broken PBX_RETOUR, an http URL, a wrong public key, an unreachable route and a refused TLS
//! certificate are found, each with what to change.
// Test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tpe_cli::doctor::{DoctorArgs, Finding, Report, Severity, check, run};
use tpe_cli::shop_config::ShopConfig;
use tpe_core::Clock as _;
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
        Self::serve(None).await
    }

    /// The engine on https, with `tls`'s certificate, when given.
    async fn serve(tls: Option<rustls::ServerConfig>) -> Self {
        let bank = MockBank::spawn(MockBankConfig::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}/", listener.local_addr().unwrap());
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
        match tls {
            None => tokio::spawn(async move { axum::serve(listener, app).await }),
            Some(tls) => {
                let listener = TlsListener {
                    tcp: listener,
                    acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
                };
                tokio::spawn(async move { axum::serve(listener, app).await })
            }
        };
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

/// TLS over a loopback listener for `axum::serve`.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate ends the handshake: wait for the next one.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A self-signed certificate for 127.0.0.1, valid from `days_from` to `days_to` days from now,
/// and the server configuration that presents it.
fn self_signed(days_from: i64, days_to: i64) -> (rustls::ServerConfig, jiff::civil::Date) {
    let now = tpe_core::clock::SystemClock.now().as_second();
    let day = |days: i64| {
        jiff::Timestamp::from_second(now + days * 86_400)
            .unwrap()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
    };
    let ymd = |d: jiff::civil::Date| {
        rcgen::date_time_ymd(
            i32::from(d.year()),
            u8::try_from(d.month()).unwrap(),
            u8::try_from(d.day()).unwrap(),
        )
    };
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.not_before = ymd(day(days_from));
    params.not_after = ymd(day(days_to));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (config, day(days_to))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_certificate_is_found_with_its_dates() {
    // Expired two days ago: the route answers, but no bank would take its certificate.
    let (expired, until) = self_signed(-30, -2);
    let shop = Shop::serve(Some(expired)).await;
    let report = shop.doctor("good.toml", &shop.good(), None).await;
    let certificate = error_about(&report, "TLS certificate of 127.0.0.1");
    assert!(
        certificate.message.contains("not valid now")
            && certificate.message.contains(&until.to_string()),
        "{certificate:?}"
    );
    assert!(certificate.fix.contains("renew"), "{certificate:?}");
    for bank in ["paybox", "stripe_like"] {
        let route = error_about(&report, &format!("{bank} notification route"));
        assert!(
            route.message.contains("https://127.0.0.1")
                && route.message.contains("certificate is refused"),
            "{route:?}"
        );
        assert!(route.fix.contains("public authority"), "{route:?}");
    }
    assert_eq!(report.exit_code(), ExitCode::FAILURE);

    // Valid for three more days, self-signed: refused too, and said to expire soon.
    let (soon, until) = self_signed(-1, 3);
    let shop = Shop::serve(Some(soon)).await;
    let report = shop.doctor("good.toml", &shop.good(), None).await;
    let certificate = report
        .of(Severity::Warning)
        .find(|f| f.subject == "TLS certificate of 127.0.0.1")
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(
        certificate.message.contains("expires soon")
            && certificate.message.contains(&until.to_string()),
        "{certificate:?}"
    );
    error_about(&report, "paybox notification route");
}
