//! The running demo: the mock bank, the engine over SQLite, the farm shop and the manager pages,
//! all in one process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tpe_core::{Clock, Registry};
use tpe_engine::{Background, Engine, FileMailer, ShopSettings, Timings};
use tpe_mock_bank::{MockBank, MockBankConfig, RunningBank};
use tpe_store::{SqliteOptions, SqliteStore};
use url::Url;

pub use crate::banks::DemoProvider;
use crate::engine_setup::{build_engine, instance_id};
use crate::error::DemoError;
use crate::web;

/// The Paybox test merchant of the mock bank: site.
pub const PAYBOX_SITE: &str = "1999888";
/// The Paybox test merchant of the mock bank: rang.
pub const PAYBOX_RANG: &str = "32";
/// The Paybox test merchant of the mock bank: identifiant.
pub const PAYBOX_IDENTIFIANT: &str = "107904482";
/// The shop's name.
pub const SHOP_NAME: &str = "Ferme des Lilas";
/// The manager's e-mail ("adresse mail de gestion").
pub const MANAGER_EMAIL: &str = "gestion@ferme-des-lilas.example";
/// The sender of every e-mail.
pub const SENDER_EMAIL: &str = "boutique@ferme-des-lilas.example";

/// The smallest basket total, in cents of euro, for which the shop offers « Payer en 3 fois »
/// by default: 30,00 €, two vegetable baskets.
pub const DEFAULT_INSTALMENTS_MINIMUM: u64 = 3_000;

/// How to start a demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the shop listens (`127.0.0.1:0` for a free port).
    pub listen: SocketAddr,
    /// Where the SQLite file and the `.eml` e-mails go (created if absent).
    pub data_dir: PathBuf,
    /// The clock of the engine and of the mock bank (default: the system clock).
    pub clock: Arc<dyn Clock>,
    /// The mock bank's configuration (its clock is replaced by [`DemoOptions::clock`]).
    pub bank: MockBankConfig,
    /// Run the relay and the jobs in the background (the interactive demo does; the tour
    /// drives them by hand).
    pub background: bool,
    /// The engine's delays.
    pub timings: Timings,
    /// Where the mock bank listens (default: a free port on the shop's address).
    pub bank_listen: Option<SocketAddr>,
    /// The argon2 hash (PHC string) of the Gestion password; `None` draws a password at
    /// start, given by [`Demo::manager_password`].
    pub manager_password_hash: Option<String>,
    /// The smallest basket total, in cents of euro, paid « en 3 fois » with the banks that
    /// offer it ([`DEFAULT_INSTALMENTS_MINIMUM`] by default).
    pub instalments_minimum: u64,
}

impl DemoOptions {
    /// Options for the interactive demo: system clock, the mock bank with a short pending delay,
    /// quick notification retries and a compressed calendar for later instalments (two
    /// seconds a day: the second of three monthly instalments comes about a minute after the
    /// first), background relay every second.
    pub fn interactive(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        let bank = MockBankConfig {
            pending_delay: Duration::from_secs(5),
            retry: MockBankConfig::for_tests().retry,
            instalment_day: Some(Duration::from_secs(2)),
            ..MockBankConfig::default()
        };
        Self {
            listen,
            data_dir: data_dir.into(),
            clock: Arc::new(tpe_core::clock::SystemClock),
            bank,
            background: true,
            // A refusal e-mail waits a minute for the next try (ten in a real shop), so the
            // demo shows both the wait and the e-mail.
            timings: {
                let mut t = Timings::default();
                t.refusal_email_delay = Duration::from_secs(60);
                t
            },
            manager_password_hash: None,
            bank_listen: None,
            instalments_minimum: DEFAULT_INSTALMENTS_MINIMUM,
        }
    }
}

/// A running demo. [`Demo::shutdown`] stops it cleanly.
pub struct Demo {
    engine: Engine,
    manager_password: Option<String>,
    bank: RunningBank,
    shop_url: Url,
    data_dir: PathBuf,
    mailer: Arc<FileMailer>,
    store: Arc<SqliteStore>,
    background: Option<Background>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("shop_url", &self.shop_url.as_str())
            .field("bank_url", &self.bank.base_url())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

pub(crate) fn base_url(base: &str) -> Result<Url, DemoError> {
    let with_slash = if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    };
    Url::parse(&with_slash).map_err(|e| DemoError::Tour(format!("URL {base}: {e}")))
}

/// A Gestion password of 16 letters and digits, drawn from the system's randomness.
fn new_password() -> Result<String, DemoError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| DemoError::Tour(format!("password: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// The folder of the `.eml` files under a data directory.
pub fn mail_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("mails")
}

impl Demo {
    /// Starts the mock bank (on a free port of the same host), opens SQLite in the data
    /// directory, builds the engine with every bank of the demo and serves the shop.
    ///
    /// # Errors
    /// [`DemoError`] naming what could not start.
    pub async fn start(options: DemoOptions) -> Result<Self, DemoError> {
        let DemoOptions {
            listen,
            data_dir,
            clock,
            mut bank,
            background,
            timings,
            manager_password_hash,
            bank_listen,
            instalments_minimum,
        } = options;
        let (manager_password, password_hash) = match manager_password_hash {
            Some(hash) => {
                web::check_password_hash(&hash)?;
                (None, hash)
            }
            None => {
                let password = new_password()?;
                let hash = web::hash_password(&password)?;
                (Some(password), hash)
            }
        };
        std::fs::create_dir_all(&data_dir).map_err(DemoError::io(&data_dir))?;
        let bank_clock = clock.clone();
        bank.clock = tpe_mock_bank::Clock::from_fn(move || bank_clock.now());
        let bank = MockBank::spawn_on(bank_listen.unwrap_or(SocketAddr::new(listen.ip(), 0)), bank)
            .await?;

        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| DemoError::Listen {
                addr: listen.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| DemoError::Listen {
            addr: listen.to_string(),
            source,
        })?;
        let shop_url = base_url(&format!("http://{local}"))?;

        let mut registry = Registry::new();
        let mut offer = web::InstalmentOffer {
            minimum: tpe_core::Amount::new(instalments_minimum, tpe_core::Currency::EUR)
                .map_err(|e| DemoError::Tour(format!("instalments minimum: {e}")))?,
            banks: Vec::new(),
        };
        for p in DemoProvider::ALL {
            let provider = p.bank().provider(&bank)?;
            if provider.profile().instalments.is_some() {
                offer.banks.push(p);
            }
            registry.register(provider)?;
        }

        let settings = ShopSettings::new(SHOP_NAME, shop_url.clone(), MANAGER_EMAIL, SENDER_EMAIL)?
            .with_order_summary_url(
                shop_url
                    .join("commande")
                    .map_err(|e| DemoError::Tour(e.to_string()))?,
            );
        for p in DemoProvider::ALL {
            p.bank().connect(&bank, &settings.notify_url(&p.id())?)?;
        }
        let db = data_dir.join(crate::replay::DATABASE_FILE);
        let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).await?);
        let mail_dir = mail_dir(&data_dir);
        let mailer =
            Arc::new(FileMailer::new(&mail_dir).map_err(|e| DemoError::Tour(e.to_string()))?);
        let engine = build_engine(
            registry,
            store.clone(),
            mailer.clone(),
            settings,
            clock.clone(),
            timings,
            instance_id(&data_dir)?,
        )?;
        let background = background
            .then(|| engine.spawn_background(Duration::from_secs(1), Duration::from_secs(60)));
        let shop = web::Shop::new(
            engine.clone(),
            mail_dir,
            bank.base_url().to_owned(),
            &password_hash,
            offer,
        )
        .map_err(|e| DemoError::Tour(format!("shop templates: {e}")))?;
        let app = web::router(shop).merge(engine.router());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = tpe_http::serve(listener, app, tpe_http::Limits::default(), async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Self {
            engine,
            manager_password,
            bank,
            shop_url,
            data_dir,
            mailer,
            store,
            background,
            stop: Some(stop),
            server,
        })
    }

    /// The shop's home page, `http://HOST:PORT/`.
    pub fn shop_url(&self) -> &Url {
        &self.shop_url
    }

    /// The manager's page.
    pub fn manager_url(&self) -> Url {
        let mut u = self.shop_url.clone();
        u.set_path("/gestion");
        u
    }

    /// The Gestion password drawn at start, when none was configured.
    pub fn manager_password(&self) -> Option<&str> {
        self.manager_password.as_deref()
    }

    /// The mock bank (scripts, journal).
    pub fn bank(&self) -> &RunningBank {
        &self.bank
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The e-mail outbox.
    pub fn mailer(&self) -> &FileMailer {
        &self.mailer
    }

    /// Stops the shop, the background work, the mock bank and closes the store.
    pub async fn shutdown(self) {
        let Self {
            bank,
            store,
            background,
            stop,
            server,
            ..
        } = self;
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        if let Some(b) = background {
            b.shutdown().await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        bank.shutdown().await;
        store.close().await;
    }
}
