//! The [`Engine`]: checkouts, manual validation and the read views.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tpe_core::clock::SystemClock;
use tpe_core::lifecycle::retraction_time;
use tpe_core::{
    Amount, CheckoutStatus, Clock, Customer, Lang, NonceSource, PaymentProvider, PaymentReference,
    PaymentRequest, ProviderId, Redirect, ReferenceGenerator, Registry, ReturnUrls, Timestamp,
};
use tpe_store::{
    CheckoutDetail, CheckoutQuery, CheckoutRecord, Cursor, EventInput, NewCheckout, OutboxEffect,
    Page, PaymentRecord, PaymentStore, QuarantineRecord, StoreError,
};

use crate::committer::Committer;
use crate::error::{BuildError, CheckoutError, EngineError};
use crate::hook::{NoHook, PaymentRecordHook};
use crate::mailer::Mailer;
use crate::settings::ShopSettings;
use crate::templates::Templates;

/// What the shop asks for when the customer clicks "Valider ma commande".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// The customer as the shop holds them (checked here, PSD2).
    pub customer: Customer,
    /// Amount to pay (> 0).
    pub amount: Amount,
    /// What is paid (cut at 200 characters).
    pub description: String,
    /// Number of items.
    pub item_count: u32,
    /// Planned delivery date: an unpaid checkout is retracted the day after.
    pub delivery: jiff::civil::Date,
    /// The shop's order (cart) this checkout pays; several checkouts may share one.
    pub shop_order_id: Option<String>,
    /// The customer's language (default: the shop's).
    pub language: Option<Lang>,
}

/// A started checkout: send the customer's browser to `redirect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedCheckout {
    /// The new payment reference.
    pub reference: PaymentReference,
    /// The bank's page.
    pub redirect: Redirect,
}

/// Tries at a free bank reference before a checkout fails: short bank references (12
/// characters, six digits a day) may collide, the shop's own never do.
const MAX_REFERENCE_ATTEMPTS: u32 = 5;

/// A fresh nonce for [`PaymentProvider::bank_reference`].
fn references_nonce() -> u64 {
    let mut bytes = [0u8; 8];
    // Without the system's randomness, a counter still differs on each call.
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        return COUNTER.fetch_add(1, Ordering::Relaxed);
    }
    u64::from_le_bytes(bytes)
}

/// Tunable delays of the engine's background work. Retry backoffs (effects, reconciliation)
/// belong to the store (`SqliteOptions::backoff`, `PostgresOptions::backoff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// How long after creation a checkout awaiting payment is first queried at the bank.
    pub reconcile_after: jiff::SignedDuration,
    /// How long a claimed item (effect, retraction, reconciliation) stays reserved to one
    /// engine instance.
    pub lease: jiff::SignedDuration,
    /// Items taken per claim (1 to 1000).
    pub batch: u32,
    /// How long a verified notification may wait for the store before it is answered as
    /// unavailable (503 in most banks' words), so the bank retries instead of timing out.
    pub store_deadline: std::time::Duration,
    /// How long the manager's e-mail about a refused payment waits for the customer's next
    /// try: dropped if the checkout is paid meanwhile, one e-mail for all the refusals of the
    /// window otherwise. Zero sends each refusal at once.
    pub refusal_email_delay: std::time::Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            reconcile_after: jiff::SignedDuration::from_mins(15),
            lease: jiff::SignedDuration::from_mins(5),
            batch: 100,
            store_deadline: std::time::Duration::from_secs(2),
            refusal_email_delay: std::time::Duration::from_secs(600),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) registry: Registry,
    pub(crate) store: Arc<dyn PaymentStore>,
    pub(crate) committer: OnceLock<Committer>,
    pub(crate) worker_id: String,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hook: Arc<dyn PaymentRecordHook>,
    pub(crate) settings: ShopSettings,
    pub(crate) templates: Templates,
    pub(crate) timings: Timings,
    pub(crate) references: ReferenceGenerator,
    pub(crate) rejected: AtomicU64,
    /// Whether the leases a previous run under this worker id left have been released.
    pub(crate) claims_released: std::sync::atomic::AtomicBool,
}

/// The service a shop links: see the crate documentation.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("providers", &self.inner.registry.len())
            .field("store", &self.inner.store)
            .field("mailer", &self.inner.mailer)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`].
#[derive(Debug)]
pub struct EngineBuilder {
    registry: Registry,
    store: Arc<dyn PaymentStore>,
    mailer: Arc<dyn Mailer>,
    settings: ShopSettings,
    clock: Arc<dyn Clock>,
    hook: Arc<dyn PaymentRecordHook>,
    timings: Timings,
    worker_id: Option<String>,
}

impl EngineBuilder {
    /// Sets the clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the accounting hook (default: none).
    #[must_use]
    pub fn hook(mut self, hook: Arc<dyn PaymentRecordHook>) -> Self {
        self.hook = hook;
        self
    }

    /// Sets the delays.
    #[must_use]
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Names this engine instance in the outbox leases (default: `engine-` and a random
    /// number); 1 to 128 characters. Give an instance the same id at each start (one per data
    /// folder, say): the first relay run then releases what its previous run held when it
    /// stopped, instead of waiting for the leases to end.
    #[must_use]
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = Some(id.into());
        self
    }

    /// Builds the engine, loading and checking the e-mail templates. Does not need a tokio
    /// runtime: the group-commit task starts with the first notification.
    ///
    /// # Errors
    /// [`BuildError`] without providers or with a broken template.
    pub fn build(self) -> Result<Engine, BuildError> {
        if self.registry.is_empty() {
            return Err(BuildError::NoProvider);
        }
        let templates = Templates::load(self.settings.templates_dir.as_deref())?;
        let worker_id = match self.worker_id {
            Some(id) => {
                if id.is_empty() || id.chars().count() > 128 || id.chars().any(char::is_control) {
                    return Err(BuildError::WorkerId);
                }
                id
            }
            None => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|_| BuildError::WorkerId)?;
                format!("engine-{:016x}", u64::from_le_bytes(bytes))
            }
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                registry: self.registry,
                store: self.store,
                committer: OnceLock::new(),
                worker_id,
                mailer: self.mailer,
                clock: self.clock,
                hook: self.hook,
                settings: self.settings,
                templates,
                timings: self.timings,
                references: ReferenceGenerator::new(),
                rejected: AtomicU64::new(0),
                claims_released: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder(
        registry: Registry,
        store: Arc<dyn PaymentStore>,
        mailer: Arc<dyn Mailer>,
        settings: ShopSettings,
    ) -> EngineBuilder {
        EngineBuilder {
            registry,
            store,
            mailer,
            settings,
            clock: Arc::new(SystemClock),
            hook: Arc::new(NoHook),
            timings: Timings::default(),
            worker_id: None,
        }
    }

    /// The shop's settings.
    pub fn settings(&self) -> &ShopSettings {
        &self.inner.settings
    }

    /// The delays of the background work.
    pub fn delays(&self) -> Timings {
        self.inner.timings
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn PaymentStore> {
        &self.inner.store
    }

    /// This instance's name in the outbox leases.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// The group committer, started on first use (on the caller's tokio runtime).
    pub(crate) fn committer(&self) -> &Committer {
        self.inner
            .committer
            .get_or_init(|| Committer::spawn(self.inner.store.clone(), self.inner.clock.clone()))
    }

    /// How the group commit of notifications has gone since start (batches, events, the
    /// largest batch): zero until the first notification.
    pub fn commit_stats(&self) -> crate::CommitStats {
        self.inner
            .committer
            .get()
            .map(Committer::stats)
            .unwrap_or_default()
    }

    /// The current time by the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Notifications rejected since start (forged, malformed, unknown reference): the
    /// manager's view shows it.
    pub fn rejected_notifications(&self) -> u64 {
        self.inner.rejected.load(Ordering::Relaxed)
    }

    pub(crate) fn provider(&self, id: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.inner.registry.by_name(id)
    }

    /// Starts a checkout (event 1): checks the customer's data (PSD2) first — nothing is
    /// created and nothing sent when it is incomplete — then asks the provider for the
    /// redirect and stores the checkout awaiting payment, with its bank reference and the
    /// provider's data, in one transaction *before* the redirect is handed out: no bank can
    /// notify a payment whose page the customer has not seen, so every notification finds it.
    ///
    /// # Errors
    /// [`CheckoutError`]; see its variants.
    pub async fn start_checkout(
        &self,
        provider: &ProviderId,
        request: CheckoutRequest,
    ) -> Result<StartedCheckout, CheckoutError> {
        let p = self
            .inner
            .registry
            .get(provider)
            .ok_or_else(|| CheckoutError::UnknownProvider(provider.to_string()))?
            .clone();
        let customer = request.customer.validate_for_payment()?;
        if request.amount.is_zero() {
            return Err(CheckoutError::ZeroAmount);
        }
        if let Some(o) = &request.shop_order_id
            && (o.is_empty() || o.len() > 64 || o.chars().any(char::is_control))
        {
            return Err(CheckoutError::InvalidInput {
                field: "shop_order_id",
                reason: "must have 1 to 64 bytes and no control character",
            });
        }
        let settings = &self.inner.settings;
        let retract_at = retraction_time(request.delivery, &settings.time_zone).map_err(|_| {
            CheckoutError::InvalidInput {
                field: "delivery",
                reason: "the date is out of range",
            }
        })?;
        let now = self.inner.clock.now();
        let language = request.language.unwrap_or(settings.language);
        // A bank reference already taken (a bank with short references) gets a fresh reference
        // and a fresh bank reference; the unique (provider, bank reference) key decides.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reference = self.inner.references.next(now);
            let nonce = match p.profile().nonce {
                NonceSource::DailySequence => {
                    let day = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                    self.inner.store.next_bank_sequence(provider, day).await?
                }
                _ => references_nonce(),
            };
            let bank_reference = p.bank_reference(&reference, now, nonce).map_err(|source| {
                CheckoutError::Provider {
                    reference: reference.clone(),
                    source,
                }
            })?;
            let urls = ReturnUrls {
                accepted: settings.return_url(&reference, "accepted")?,
                refused: settings.return_url(&reference, "refused")?,
                cancelled: settings.return_url(&reference, "cancelled")?,
                pending: settings.return_url(&reference, "pending")?,
                notify: settings.notify_url(provider)?,
            };
            let payment = PaymentRequest::new(
                reference.clone(),
                request.amount,
                customer.clone(),
                request.description.clone(),
                request.item_count,
                urls,
                language,
            )
            .with_bank_reference(bank_reference.clone());
            let prepared =
                p.prepare(&payment, now)
                    .await
                    .map_err(|source| CheckoutError::Provider {
                        reference: reference.clone(),
                        source,
                    })?;
            let mut new = NewCheckout::new(
                reference.clone(),
                provider.clone(),
                request.amount,
                customer.email.clone(),
                format!("{} {}", customer.first_name, customer.last_name),
                retract_at,
                now,
            )
            .with_bank_reference(bank_reference)
            .with_delivery_date(request.delivery)
            .with_language(language)
            .with_item_count(payment.item_count);
            if let Some(data) = &prepared.provider_data {
                new = new.with_provider_data(data.as_str());
            }
            if !payment.description.is_empty() {
                new = new.with_description(payment.description.clone());
            }
            if let Some(order) = &request.shop_order_id {
                new = new.with_shop_order(order.clone());
            }
            match self.inner.store.create_checkout(new).await {
                Err(StoreError::AlreadyExists { .. }) if attempt < MAX_REFERENCE_ATTEMPTS => {
                    tracing::warn!(%reference, provider = %provider, "bank reference taken, another one is made");
                    continue;
                }
                r => r?,
            };
            tracing::info!(%reference, provider = %provider, "checkout started");
            return Ok(StartedCheckout {
                reference,
                redirect: prepared.redirect,
            });
        }
    }

    /// A manager validates a checkout by hand (event 9): payment record marked manual,
    /// confirmation e-mail to the customer, audit row with the author and the note.
    ///
    /// # Errors
    /// [`EngineError::InvalidInput`] for an empty author or an overlong note;
    /// [`EngineError::Store`] when the checkout is unknown or not awaiting payment
    /// ([`crate::StoreError::Transition`]).
    pub async fn validate_manually(
        &self,
        reference: &PaymentReference,
        author: &str,
        note: &str,
    ) -> Result<CheckoutStatus, EngineError> {
        let input = |author, note| EventInput::ManualValidation { author, note };
        let status = self.decide(reference, author, note, input).await?;
        tracing::info!(%reference, "checkout validated by hand");
        Ok(status)
    }

    /// One checkout (for the status endpoint and return pages); `None` when unknown.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn checkout(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutRecord>, EngineError> {
        Ok(self.checkout_detail(reference).await?.map(|d| d.checkout))
    }

    /// One checkout by payment reference with its bank transactions, payment records, effects
    /// and audit trail; `None` when unknown.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn checkout_detail(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutDetail>, EngineError> {
        match self.inner.store.checkout(reference).await {
            Ok(d) => Ok(Some(d)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of checkouts in a state, newest first — e.g. the guide's filter "En attente de
    /// paiement" — continuing after `after` (the previous page's `next`).
    ///
    /// # Errors
    /// [`EngineError::Store`] (a `limit` outside 1 to 1000 is [`StoreError::Invalid`]).
    pub async fn checkouts_by_state(
        &self,
        status: CheckoutStatus,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page, EngineError> {
        let query = CheckoutQuery::new(Some(status), limit).after(after);
        Ok(self.inner.store.list_checkouts(query).await?)
    }

    /// Payment records ("versements") with `from <= date < to`, oldest first, at most `limit`
    /// (1 to 1000), for accounting.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, EngineError> {
        Ok(self.inner.store.payment_records(from, to, limit).await?)
    }

    /// Authentic notifications set aside (unknown reference, another provider's checkout),
    /// most recent first.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineRecord>, EngineError> {
        Ok(self.inner.store.quarantined(limit).await?)
    }

    /// Effects the relay gave up (an e-mail to a malformed address, a hook's permanent error,
    /// the last allowed attempt), most recently given up first: each waits for
    /// [`Engine::retry_given_up`] once the cause is fixed.
    ///
    /// # Errors
    /// [`EngineError::Store`] (a `limit` outside 1 to 1000 is [`StoreError::Invalid`]).
    pub async fn given_up_effects(&self, limit: u32) -> Result<Vec<OutboxEffect>, EngineError> {
        Ok(self.inner.store.given_up_effects(limit).await?)
    }

    /// A manager puts a given-up effect back in the outbox (the next relay run delivers it,
    /// once, with a fresh count of attempts); `false` when it was no longer given up
    /// (retried already, e.g. a second click).
    ///
    /// # Errors
    /// [`EngineError::InvalidInput`] for an empty or overlong author;
    /// [`EngineError::Store`] ([`StoreError::EffectNotFound`] for an unknown id).
    pub async fn retry_given_up(&self, effect_id: i64, author: &str) -> Result<bool, EngineError> {
        if author.trim().is_empty() || author.len() > tpe_store::MAX_AUTHOR {
            return Err(EngineError::InvalidInput {
                field: "author",
                reason: "must have 1 to 128 bytes",
            });
        }
        let retried = self
            .inner
            .store
            .retry_given_up(effect_id, self.now())
            .await?;
        if retried {
            tracing::info!(effect_id, author, "given-up effect retried by hand");
        }
        Ok(retried)
    }
}
