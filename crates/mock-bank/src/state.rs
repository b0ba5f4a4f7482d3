//! Shared state of the mock bank and its Rust control API.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Error;
use crate::banks;
use crate::config::MockBankConfig;
use crate::journal::{Journal, JournalEntry};
use crate::notify::Delivery;
use crate::scenario::Scenario;

/// The state behind the router: configuration, scripts, journal, and each bank's own state.
///
/// Cheap to clone (an `Arc`). Its methods are the Rust control API; the HTTP control API under
/// `/_mock/` calls the same methods. Each bank adds its own control methods (for example
/// `paybox_public_key_pem`, `set_stripe_webhook_url`) in its folder. No lock is ever held
/// across an `.await`.
#[derive(Clone)]
pub struct BankState {
    inner: Arc<Inner>,
}

struct Inner {
    config: MockBankConfig,
    /// The state of every bank in [`banks::ALL`], built by [`BankState::new`].
    banks: Vec<Box<dyn Any + Send + Sync>>,
    http: reqwest::Client,
    journal: Journal,
    data: Mutex<Data>,
    base_url: Mutex<Option<String>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
pub(crate) struct Data {
    pub(crate) scripts: HashMap<String, Scenario>,
    pub(crate) server_down: bool,
    pub(crate) held: HashMap<String, Vec<Delivery>>,
    pub(crate) counter: u64,
}

/// Upper bound of live sessions and ledger rows; the oldest are forgotten past it, so a
/// long-running mock cannot grow without bound.
pub(crate) const MAX_ROWS: usize = 10_000;

/// Runs `f` on the data behind `mutex`; a panic elsewhere cannot poison the mock for good.
pub(crate) fn locked<T, R>(mutex: &Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let mut guard = mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

/// Inserts a session, first forgetting the oldest (smallest `order`) once [`MAX_ROWS`] are kept.
pub(crate) fn insert_capped<V>(
    sessions: &mut HashMap<String, V>,
    id: String,
    session: V,
    order: impl Fn(&V) -> u64,
) {
    if sessions.len() >= MAX_ROWS
        && let Some(oldest) = sessions
            .iter()
            .min_by_key(|(_, s)| order(s))
            .map(|(k, _)| k.clone())
    {
        sessions.remove(&oldest);
    }
    sessions.insert(id, session);
}

/// Appends `row` to a ledger, forgetting the oldest row once [`MAX_ROWS`] are kept.
pub(crate) fn push_capped<T>(rows: &mut Vec<T>, row: T) {
    if rows.len() >= MAX_ROWS {
        rows.remove(0);
    }
    rows.push(row);
}

/// The rows of a ledger as JSON values, for the control API.
pub(crate) fn json_rows<T: serde::Serialize>(rows: &[T]) -> Vec<serde_json::Value> {
    rows.iter()
        .filter_map(|t| serde_json::to_value(t).ok())
        .collect()
}

/// A page session a bank keeps: its id, and its rank of creation (the oldest is forgotten
/// first past [`MAX_ROWS`]).
pub(crate) trait Page: Clone {
    /// The id in the page's URL.
    fn id(&self) -> &str;
    /// The rank of creation.
    fn order(&self) -> u64;
}

/// A bank's own data behind one lock, with its page sessions: the accessors every bank's state
/// shares, once.
pub(crate) trait Store {
    /// What the lock guards.
    type Data;
    /// The bank's page session.
    type Page: Page;

    /// The lock.
    fn data(&self) -> &Mutex<Self::Data>;

    /// The page sessions, by id, in the data.
    fn pages(data: &mut Self::Data) -> &mut HashMap<String, Self::Page>;

    /// Runs `f` on the data, under the lock.
    fn with<R>(&self, f: impl FnOnce(&mut Self::Data) -> R) -> R {
        locked(self.data(), f)
    }

    /// A copy of the page session `id`.
    fn session(&self, id: &str) -> Option<Self::Page> {
        self.with(|d| Self::pages(d).get(id).cloned())
    }

    /// Changes the page session `id`, if it still exists.
    fn update(&self, id: &str, f: impl FnOnce(&mut Self::Page)) {
        self.with(|d| Self::pages(d).get_mut(id).map(f));
    }

    /// Keeps a new page session, forgetting the oldest past [`MAX_ROWS`].
    fn open(&self, page: Self::Page) {
        self.with(|d| insert_capped(Self::pages(d), page.id().to_owned(), page, Page::order));
    }
}

/// Implements [`Store`] for a bank's state, whose `data` lock guards the pages in `$field`,
/// and [`Page`] for its page session, ranked by `$order`.
macro_rules! page_store {
    ($state:ty { data: $data:ty, $field:ident: $page:ty, order: $order:ident }) => {
        impl $crate::state::Store for $state {
            type Data = $data;
            type Page = $page;

            fn data(&self) -> &::std::sync::Mutex<$data> {
                &self.data
            }

            fn pages(data: &mut $data) -> &mut ::std::collections::HashMap<String, $page> {
                &mut data.$field
            }
        }

        impl $crate::state::Page for $page {
            fn id(&self) -> &str {
                &self.id
            }

            fn order(&self) -> u64 {
                self.$order
            }
        }
    };
}
pub(crate) use page_store;

impl std::fmt::Debug for BankState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl BankState {
    /// Builds the state from a configuration (validates it, builds each bank's state, which
    /// loads the Paybox signing key).
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::SigningKey`] or [`Error::HttpClient`].
    pub fn new(config: MockBankConfig) -> Result<Self, Error> {
        config.validate()?;
        let banks = banks::ALL
            .iter()
            .map(|(_, bank)| bank.state(&config))
            .collect::<Result<Vec<_>, _>>()?;
        let http = reqwest::Client::builder()
            // Never follow a redirect: the mock calls only the URLs it was given.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("tpe-mock-bank")
            .build()
            .map_err(|e| Error::HttpClient(e.to_string()))?;
        let base_url = config.public_base_url.clone();
        let (shutdown, _) = tokio::sync::watch::channel(false);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                banks,
                http,
                journal: Journal::default(),
                data: Mutex::new(Data::default()),
                base_url: Mutex::new(base_url),
                shutdown,
            }),
        })
    }

    /// Scripts the outcome and faults of one payment reference (`*` = every unscripted reference).
    pub fn script(&self, reference: impl Into<String>, scenario: Scenario) {
        self.with_data(|d| d.scripts.insert(reference.into(), scenario));
    }

    /// Removes the script of a reference.
    pub fn clear_script(&self, reference: &str) {
        self.with_data(|d| d.scripts.remove(reference));
    }

    /// All scripts, by reference.
    #[must_use]
    pub fn scripts(&self) -> HashMap<String, Scenario> {
        self.with_data(|d| d.scripts.clone())
    }

    /// The journal so far.
    #[must_use]
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.inner.journal.snapshot()
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.inner.journal.clear();
    }

    /// Waits until `pred` holds for the journal, polling every 10 ms, at most `timeout`.
    /// Returns the journal and whether `pred` held.
    pub async fn wait_for_journal(
        &self,
        timeout: Duration,
        pred: impl Fn(&[JournalEntry]) -> bool,
    ) -> (Vec<JournalEntry>, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let j = self.journal();
            if pred(&j) {
                return (j, true);
            }
            if tokio::time::Instant::now() >= deadline {
                return (j, false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Turns the `/load.html` status on (`OK`) or off.
    pub fn set_server_status(&self, ok: bool) {
        self.with_data(|d| d.server_down = !ok);
    }

    /// The base URL the hosted pages use, once known.
    #[must_use]
    pub fn base_url(&self) -> Option<String> {
        self.inner
            .base_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sets the base URL used in hosted-page links (done by [`crate::MockBank::spawn`]).
    pub fn set_base_url(&self, url: impl Into<String>) {
        *self
            .inner
            .base_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(url.into());
    }

    /// Starts the compressed calendar of later instalments when the configuration asks for one
    /// (`instalment_day`); it stops with the bank.
    pub(crate) fn start_instalment_clock(&self) {
        if let Some(day) = self.inner.config.instalment_day {
            self.spawn(crate::instalments::run_clock(self.clone(), day));
        }
    }

    /// Stops background work (pending timers, retries); done when a [`crate::RunningBank`] drops.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    // ---- crate-internal helpers ----

    /// What every bank side knows: merchants and their public test secrets (never another
    /// secret), as `GET /_mock/merchants` answers it.
    #[must_use]
    pub fn merchants(&self) -> crate::merchants::MerchantListing {
        crate::merchants::MerchantListing::of(&self.inner.config)
    }

    pub(crate) fn config(&self) -> &MockBankConfig {
        &self.inner.config
    }

    /// The state of one registered bank.
    pub(crate) fn bank<T: Any>(&self) -> &T {
        self.inner
            .banks
            .iter()
            .find_map(|b| b.downcast_ref::<T>())
            // Invariant: `new` builds the state of every bank in `banks::ALL`, and only a
            // registered bank's code asks for its own state type.
            .expect("the state of a registered bank")
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.inner.config.clock.now()
    }

    pub(crate) fn record(&self, entry: JournalEntry) {
        let at = self.now().as_millisecond();
        tracing::debug!(kind = ?entry.kind, target = %entry.target, detail = %entry.detail, "mock bank journal");
        self.inner.journal.push(entry, at);
    }

    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        locked(&self.inner.data, f)
    }

    /// Whether `/load.html` says `KO` (the Paybox endpoints then answer 503).
    pub(crate) fn server_down(&self) -> bool {
        self.with_data(|d| d.server_down)
    }

    /// The script for a reference, falling back to `*`, then to the default (card decides).
    pub(crate) fn scenario_for(&self, reference: &str) -> Scenario {
        self.with_data(|d| {
            d.scripts
                .get(reference)
                .or_else(|| d.scripts.get("*"))
                .cloned()
                .unwrap_or_default()
        })
    }

    /// A fresh number, unique in this process.
    pub(crate) fn next_counter(&self) -> u64 {
        self.with_data(|d| {
            d.counter += 1;
            d.counter
        })
    }

    /// Sleeps, unless the bank shuts down first (then returns `false`).
    pub(crate) async fn sleep_or_shutdown(&self, d: Duration) -> bool {
        let mut rx = self.inner.shutdown.subscribe();
        if *rx.borrow() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            _ = rx.wait_for(|v| *v) => false,
        }
    }

    /// Sends in the background what `send` builds from this state and the script of
    /// `reference` read when it runs (a later instalment's notification, for one), until
    /// shutdown.
    pub(crate) fn spawn_for<F, Fut>(&self, reference: &str, send: F)
    where
        F: FnOnce(BankState, Scenario) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (state, reference) = (self.clone(), reference.to_owned());
        self.spawn(async move {
            let scenario = state.scenario_for(&reference);
            send(state, scenario).await;
        });
    }

    pub(crate) fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut rx = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                () = fut => {}
                _ = rx.wait_for(|v| *v) => {}
            }
        });
    }

    /// The base URL for links in pages: configured/spawned one, else from the request's Host.
    pub(crate) fn base_url_for(&self, headers: &http::HeaderMap) -> String {
        if let Some(b) = self.base_url() {
            return b.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h.len() < 256 && !h.contains(['/', ' ', '"', '<', '>']))
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    }
}
