//! Test harness: a small HMAC-signed provider, a store that can be made unavailable, an engine
//! served over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

pub mod db;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use hmac::{KeyInit, Mac};
use tpe_core::clock::ManualClock;
use tpe_core::{
    Ack, Amount, BankOutcome, BankReference, Capabilities, CheckoutStatus, Currency, Handled,
    NonceSource, PaymentProvider, PaymentReference, PaymentRequest, Prepared, Profile,
    ProviderData, ProviderError, ProviderId, RawNotification, Reason, ReasonKind, Redirect,
    Registry, RemoteStatus, StatusQuery, StatusReport, Timestamp, Verified, VerifiedNotification,
};
use tpe_engine::*;
use tpe_store::{
    Applied, CheckoutDetail, CheckoutQuery, CheckoutRecord, EventInput, NewCheckout, PaymentRecord,
    QuarantineInput, QuarantineRecord, SqliteStore, WritesDone,
};

pub const KEY: &[u8] = b"test-bank-key-0123456789";
pub const PROVIDER: ProviderId = ProviderId::from_static("testbank");

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Signs a notification body the way the test bank does.
pub fn sign(fields: &str) -> String {
    let mut m = HmacSha256::new_from_slice(KEY).unwrap();
    m.update(fields.as_bytes());
    format!("{fields}&sig={}", hex::encode(m.finalize().into_bytes()))
}

/// A notification body: outcome is `accepted`, `refused:CODE`, `pending` or
/// `unclassified:CODE`. The test bank names a payment by its own bank reference, `B-` and the
/// shop's reference, so every test goes through the bank reference mapping.
pub fn notification(reference: &str, txn: &str, outcome: &str, minor: u64) -> String {
    sign(&format!(
        "ref={}&txn={txn}&outcome={outcome}&amount={minor}&cur=EUR",
        bank_reference(reference)
    ))
}

/// The test bank's reference for a shop reference.
pub fn bank_reference(reference: &str) -> String {
    format!("B-{reference}")
}

/// The webhook secret of the Stripe-like provider registered beside the test bank.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_engine_test";

/// The header of the test bank's endpoint verification, echoed back.
pub const HANDSHAKE_HEADER: &str = "x-testbank-verify";

/// What the test bank's status API answers per reference (absent: not found).
#[derive(Debug, Clone)]
pub enum Remote {
    Paid(String, u64),
    Pending,
    Unreachable,
}

#[derive(Debug, Default)]
pub struct TestBank {
    pub remote: Mutex<HashMap<String, Remote>>,
    pub queries: AtomicU32,
    /// The bank reference and provider data of the last status query.
    pub last_query: Mutex<Option<(String, Option<String>)>>,
    /// Bank references are `YYYYMMDD-NNNNNN` from the store's daily sequence, as a bank with
    /// short transaction ids of the day.
    pub daily: AtomicBool,
    /// Offers payment in instalments ([`INSTALMENT_LIMITS`]).
    pub instalments: AtomicBool,
    /// Refunds through its API (with instalments): the refunds taken, bank transaction and
    /// amount in minor units, once per idempotency key (a call repeated with the same key
    /// gets the same receipt and refunds nothing more).
    pub refunding: AtomicBool,
    pub refunds: Mutex<Vec<(String, u64)>>,
    /// The idempotency key of each refund taken, in order.
    pub refund_keys: Mutex<Vec<String>>,
    /// Failures to come, each spent by the next refund call for its bank transaction.
    pub refund_failures: Mutex<Vec<(String, RefundFailure)>>,
}

/// How the test bank fails one refund call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundFailure {
    /// Busy: nothing done, try again later.
    Busy,
    /// Refused for good.
    Refused,
    /// Refunded, but the answer is lost on the way back.
    AnswerLost,
}

/// The test bank's limits when it offers payment in instalments: up to 4, at least 1.00 €
/// each, the last within 120 days.
pub const INSTALMENT_LIMITS: tpe_core::instalments::InstalmentLimits =
    tpe_core::instalments::InstalmentLimits::new(4, 100, 120);

impl TestBank {
    pub fn set(&self, reference: &PaymentReference, r: Remote) {
        self.remote.lock().unwrap().insert(reference.to_string(), r);
    }
}

/// A provider with an HMAC-SHA256 signature over the body before `&sig=`.
#[derive(Debug)]
pub struct TestProvider {
    pub bank: Arc<TestBank>,
}

fn malformed(what: &'static str) -> ProviderError {
    ProviderError::Malformed {
        provider: PROVIDER,
        what: what.into(),
    }
}

/// Status queries only; its handshake and its notifications may come as GET too.
static RANDOM: LazyLock<Profile> = LazyLock::new(|| {
    let mut capabilities = Capabilities::NONE;
    capabilities.status_query = true;
    Profile::new(PROVIDER)
        .with_capabilities(capabilities)
        .with_channel(tpe_core::NotificationChannel::FORM_GET_OR_POST)
});
/// The same, offering payment in instalments.
static INSTALMENTS: LazyLock<Profile> =
    LazyLock::new(|| RANDOM.clone().with_instalments(INSTALMENT_LIMITS));
/// The same, refunding through its API.
static REFUNDING: LazyLock<Profile> = LazyLock::new(|| {
    let mut profile = INSTALMENTS.clone();
    profile.capabilities.refund = true;
    profile
});
/// The same, with bank references from the store's daily sequence.
static DAILY: LazyLock<Profile> = LazyLock::new(|| {
    let mut profile = RANDOM.clone();
    profile.nonce = NonceSource::DailySequence;
    profile
});

#[async_trait::async_trait]
impl PaymentProvider for TestProvider {
    fn profile(&self) -> &Profile {
        if self.bank.daily.load(Ordering::Relaxed) {
            &DAILY
        } else if self.bank.refunding.load(Ordering::Relaxed) {
            &REFUNDING
        } else if self.bank.instalments.load(Ordering::Relaxed) {
            &INSTALMENTS
        } else {
            &RANDOM
        }
    }

    fn bank_reference(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
        nonce: u64,
    ) -> Result<BankReference, ProviderError> {
        if self.bank.daily.load(Ordering::Relaxed) {
            let day = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            return Ok(
                BankReference::parse(&format!("{}-{nonce:06}", day.strftime("%Y%m%d"))).unwrap(),
            );
        }
        Ok(BankReference::parse(&bank_reference(reference.as_str())).unwrap())
    }

    async fn prepare(
        &self,
        req: &PaymentRequest,
        _now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let mut url: url::Url = "https://bank.test/pay".parse().unwrap();
        url.query_pairs_mut()
            .append_pair("ref", req.bank_reference.as_str())
            .append_pair("amount", &req.amount.minor().to_string())
            .append_pair("notify", req.urls.notify.as_str());
        if let Some(s) = &req.schedule {
            url.query_pairs_mut()
                .append_pair("instalments", &s.count().to_string());
        }
        let session = ProviderData::new(format!("session-{}", req.reference)).unwrap();
        Ok(Prepared::new(Redirect::get(url)).with_provider_data(session))
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        if let Some(v) = raw.headers().get(HANDSHAKE_HEADER) {
            let echo = v.to_str().map_err(|_| malformed("handshake"))?;
            if echo.len() > 64 || !echo.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(malformed("handshake"));
            }
            return Ok(Verified::Handshake(Ack {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: echo.to_owned().into(),
            }));
        }
        let data = if raw.body().is_empty() {
            raw.query()
        } else {
            raw.body()
        };
        let s = std::str::from_utf8(data).map_err(|_| malformed("encoding"))?;
        let (signed, sig) = s
            .rsplit_once("&sig=")
            .ok_or_else(|| malformed("signature"))?;
        let sig = hex::decode(sig).map_err(|_| malformed("signature"))?;
        let mut m = HmacSha256::new_from_slice(KEY).unwrap();
        m.update(signed.as_bytes());
        m.verify_slice(&sig)
            .map_err(|_| ProviderError::BadSignature { provider: PROVIDER })?;
        let f: HashMap<String, String> = url::form_urlencoded::parse(signed.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &'static str| f.get(k).cloned().ok_or_else(|| malformed(k));
        let reference = BankReference::parse(&get("ref")?).map_err(|_| malformed("ref"))?;
        let cur = Currency::from_alpha(&get("cur")?).map_err(|_| malformed("cur"))?;
        let minor: u64 = get("amount")?.parse().map_err(|_| malformed("amount"))?;
        let amount = Amount::new(minor, cur).map_err(|_| malformed("amount"))?;
        let outcome = match get("outcome")?.as_str() {
            "accepted" => BankOutcome::Accepted {
                authorization: Some("A1".into()),
            },
            "pending" => BankOutcome::Pending,
            o => match (o.strip_prefix("refused:"), o.strip_prefix("unclassified:")) {
                (Some(code), _) => BankOutcome::Refused {
                    reason: self.classify(code),
                },
                (_, Some(code)) => BankOutcome::unclassified(code),
                _ => return Err(malformed("outcome")),
            },
        };
        let n = VerifiedNotification::new(PROVIDER, reference, get("txn")?, outcome, amount);
        // `inst`: the instalment a notification is about, for a payment in instalments.
        Ok(Verified::Payment(match f.get("inst") {
            Some(i) => n.with_instalment(i.parse().map_err(|_| malformed("inst"))?),
            None => n,
        }))
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        // The test bank's own words in every case, so tests see that answers come from here.
        let (status, body) = match handled {
            Handled::Processed(Verified::Handshake(ack)) => return ack.clone(),
            Handled::Processed(_) => (200, "OK-TESTBANK"),
            Handled::Rejected(e) => (
                Ack::default_for(handled).status,
                if matches!(e, ProviderError::BadSignature { .. }) {
                    "NOK-TESTBANK signature"
                } else {
                    "NOK-TESTBANK malformed"
                },
            ),
            Handled::UnknownCheckout => (404, "NOK-TESTBANK unknown"),
            _ => (503, "RETRY-TESTBANK"),
        };
        Ack {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn classify(&self, code: &str) -> Reason {
        match code {
            "51" => Reason::new(ReasonKind::InsufficientFunds, "51")
                .with_bank_text("Provision insuffisante", "Insufficient funds"),
            other => Reason::unknown(other.to_owned()),
        }
    }

    fn known_codes(&self) -> &'static [&'static str] {
        &["51"]
    }

    async fn refund(
        &self,
        request: &tpe_core::RefundRequest,
        _now: Timestamp,
    ) -> Result<tpe_core::RefundReceipt, ProviderError> {
        if !self.bank.refunding.load(Ordering::Relaxed) {
            return Err(ProviderError::unsupported(&PROVIDER, "refund"));
        }
        let txn = &request.bank_transaction_id;
        let failure = {
            let mut failures = self.bank.refund_failures.lock().unwrap();
            let at = failures.iter().position(|(t, _)| t == txn);
            at.map(|i| failures.remove(i).1)
        };
        let api = |kind, retryable, message: &str| {
            ProviderError::api(&PROVIDER, kind, None, None, message.into(), retryable)
        };
        match failure {
            Some(RefundFailure::Busy) => {
                return Err(api(tpe_core::ApiErrorKind::RateLimit, true, "busy"));
            }
            Some(RefundFailure::Refused) => {
                return Err(api(tpe_core::ApiErrorKind::Refused, false, "refused"));
            }
            _ => {}
        }
        let mut keys = self.bank.refund_keys.lock().unwrap();
        let n = match keys.iter().position(|k| *k == request.idempotency_key) {
            Some(i) => i + 1,
            None => {
                keys.push(request.idempotency_key.clone());
                let mut refunds = self.bank.refunds.lock().unwrap();
                refunds.push((txn.clone(), request.amount.minor()));
                keys.len()
            }
        };
        if failure == Some(RefundFailure::AnswerLost) {
            return Err(ProviderError::transport(
                &PROVIDER,
                true,
                "connection reset",
            ));
        }
        Ok(tpe_core::RefundReceipt {
            refund_id: format!("RF{n}"),
            amount: request.amount,
            pending: false,
        })
    }

    async fn query_status(
        &self,
        q: &StatusQuery,
        _now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        self.bank.queries.fetch_add(1, Ordering::SeqCst);
        *self.bank.last_query.lock().unwrap() = Some((
            q.bank_reference.to_string(),
            q.provider_data.as_ref().map(|d| d.as_str().to_owned()),
        ));
        let r = self
            .bank
            .remote
            .lock()
            .unwrap()
            .get(q.reference.as_str())
            .cloned();
        let status = match r {
            Some(Remote::Paid(txn, minor)) => RemoteStatus::Paid {
                bank_transaction_id: txn,
                amount: Amount::new(minor, Currency::EUR).unwrap(),
            },
            Some(Remote::Pending) => RemoteStatus::Pending,
            Some(Remote::Unreachable) => {
                return Err(ProviderError::Transport {
                    provider: PROVIDER,
                    retryable: true,
                    source: "connection refused".into(),
                });
            }
            None => RemoteStatus::NotFound,
        };
        Ok(StatusReport {
            reference: q.reference.clone(),
            status,
        })
    }
}

/// A store that can be switched off (every call: unavailable), over a real store.
#[derive(Debug)]
pub struct FlakyStore {
    pub inner: Arc<dyn PaymentStore>,
    pub down: AtomicBool,
    /// Milliseconds each lookup of bank references waits first (one alone, or a group
    /// commit's batch): a busy database.
    pub stall_ms: AtomicU64,
    /// Outbox claims made so far (how often the relay polled).
    pub claims: AtomicU64,
    /// When set, the next group commit waits for it before writing anything.
    pub hold: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

impl FlakyStore {
    /// When the store is down: an outage for each of `n` events.
    fn down_for(&self, n: usize) -> Option<Vec<Result<Applied, StoreError>>> {
        self.check()
            .is_err()
            .then(|| (0..n).map(|_| Err(self.check().unwrap_err())).collect())
    }

    /// Waits for [`FlakyStore::hold`] when it is set.
    async fn wait_hold(&self) {
        let hold = self.hold.lock().unwrap().take();
        if let Some(hold) = hold {
            let _ = hold.await;
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable {
                op: "test",
                source: "database is down (test)".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl PaymentStore for FlakyStore {
    async fn create_checkout(&self, c: NewCheckout) -> Result<CheckoutRecord, StoreError> {
        self.check()?;
        self.inner.create_checkout(c).await
    }
    async fn apply_event(
        &self,
        r: &PaymentReference,
        e: EventInput,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        self.check()?;
        self.inner.apply_event(r, e, now).await
    }
    async fn apply_events(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
    ) -> Vec<Result<Applied, StoreError>> {
        self.apply_events_then_commit(batch, now, WritesDone::none())
            .await
    }
    async fn apply_events_then_commit(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
        writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        if let Some(down) = self.down_for(batch.len()) {
            return down;
        }
        self.wait_hold().await;
        self.inner
            .apply_events_then_commit(batch, now, writes_done)
            .await
    }
    async fn apply_notifications(
        &self,
        batch: Vec<VerifiedNotification>,
        now: Timestamp,
        writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        if let Some(down) = self.down_for(batch.len()) {
            return down;
        }
        // A busy database: the lookup of the bank references waits first.
        let stall = self.stall_ms.load(Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
        self.wait_hold().await;
        self.inner
            .apply_notifications(batch, now, writes_done)
            .await
    }
    fn concurrent_writers(&self) -> usize {
        self.inner.concurrent_writers()
    }
    async fn quarantine(
        &self,
        q: QuarantineInput,
        now: Timestamp,
    ) -> Result<QuarantineRecord, StoreError> {
        self.check()?;
        self.inner.quarantine(q, now).await
    }
    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.check()?;
        self.inner.quarantined(limit).await
    }
    async fn quarantine_entry(
        &self,
        id: i64,
    ) -> Result<Option<tpe_store::QuarantineEntry>, StoreError> {
        self.check()?;
        self.inner.quarantine_entry(id).await
    }
    async fn list_checkouts(&self, q: CheckoutQuery) -> Result<tpe_store::Page, StoreError> {
        self.check()?;
        self.inner.list_checkouts(q).await
    }
    async fn checkout(&self, r: &PaymentReference) -> Result<CheckoutDetail, StoreError> {
        self.check()?;
        self.inner.checkout(r).await
    }
    async fn resolve_bank_reference(
        &self,
        p: &ProviderId,
        b: &BankReference,
    ) -> Result<Option<PaymentReference>, StoreError> {
        self.check()?;
        let stall = self.stall_ms.load(Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
        self.inner.resolve_bank_reference(p, b).await
    }
    async fn next_bank_sequence(
        &self,
        p: &ProviderId,
        d: jiff::civil::Date,
    ) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.next_bank_sequence(p, d).await
    }
    async fn payment_records(
        &self,
        f: Timestamp,
        t: Timestamp,
        l: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        self.check()?;
        self.inner.payment_records(f, t, l).await
    }
    async fn due_for_retraction(
        &self,
        now: Timestamp,
        l: u32,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        self.check()?;
        self.inner.due_for_retraction(now, l).await
    }
    async fn claim_retraction(
        &self,
        now: Timestamp,
        l: u32,
        d: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        self.check()?;
        self.inner.claim_retraction(now, l, d).await
    }
    async fn claim_reconciliation(
        &self,
        now: Timestamp,
        m: jiff::SignedDuration,
        l: u32,
        d: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        self.check()?;
        self.inner.claim_reconciliation(now, m, l, d).await
    }
    async fn reschedule_reconciliation(
        &self,
        r: &PaymentReference,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        self.check()?;
        self.inner.reschedule_reconciliation(r, now).await
    }
    async fn claim_effects(
        &self,
        w: &str,
        now: Timestamp,
        l: u32,
        d: jiff::SignedDuration,
    ) -> Result<Vec<tpe_store::OutboxEffect>, StoreError> {
        self.check()?;
        self.claims.fetch_add(1, Ordering::SeqCst);
        self.inner.claim_effects(w, now, l, d).await
    }
    async fn mark_delivered(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.mark_delivered(id, now).await
    }
    async fn reschedule(
        &self,
        id: i64,
        now: Timestamp,
        e: &str,
        f: tpe_store::Failure,
    ) -> Result<tpe_store::Rescheduled, StoreError> {
        self.check()?;
        self.inner.reschedule(id, now, e, f).await
    }
    async fn retry_given_up(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.retry_given_up(id, now).await
    }
    async fn given_up_effects(
        &self,
        limit: u32,
    ) -> Result<Vec<tpe_store::OutboxEffect>, StoreError> {
        self.check()?;
        self.inner.given_up_effects(limit).await
    }
    async fn postpone(&self, id: i64, until: Timestamp) -> Result<(), StoreError> {
        self.check()?;
        self.inner.postpone(id, until).await
    }

    async fn release_claims(&self, worker_id: &str) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.release_claims(worker_id).await
    }
}

/// A hook that records what it received; it can be made to fail.
#[derive(Debug, Default)]
pub struct RecordingHook {
    pub records: Mutex<Vec<PaymentRecordView>>,
    pub failing: AtomicBool,
    /// Fails with an error that retrying cannot fix.
    pub refusing: AtomicBool,
}

#[async_trait::async_trait]
impl PaymentRecordHook for RecordingHook {
    async fn record(&self, r: &PaymentRecordView) -> Result<(), HookError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HookError::transient("accounting down"));
        }
        if self.refusing.load(Ordering::SeqCst) {
            return Err(HookError::permanent("unknown ledger account 706"));
        }
        let mut v = self.records.lock().unwrap();
        // Idempotent on the record id, as the trait asks.
        if !v.iter().any(|x| x.id == r.id) {
            v.push(r.clone());
        }
        Ok(())
    }
}

pub struct Shop {
    pub engine: Engine,
    pub store: Arc<FlakyStore>,
    pub mailer: MemoryMailer,
    pub hook: Arc<RecordingHook>,
    pub clock: ManualClock,
    pub bank: Arc<TestBank>,
    pub base: String,
    pub http: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
}

/// 2026-03-20 10:00 in Paris.
pub fn start_time() -> Timestamp {
    "2026-03-20T09:00:00Z".parse().unwrap()
}

pub fn request(minor: u64, order: Option<&str>) -> CheckoutRequest {
    CheckoutRequest {
        customer: tpe_conformance::fixtures::customer_form(),
        amount: Amount::new(minor, Currency::EUR).unwrap(),
        description: "Panier de légumes".into(),
        item_count: 2,
        delivery: jiff::civil::date(2026, 3, 28),
        shop_order_id: order.map(str::to_owned),
        language: None,
    }
}

impl Shop {
    /// An engine over `store`, served on loopback.
    pub async fn start_with(store: Arc<dyn PaymentStore>) -> Self {
        Self::start_shared(
            store,
            Arc::new(TestBank::default()),
            ManualClock::new(start_time()),
            MemoryMailer::new(),
        )
        .await
    }

    pub async fn start() -> Self {
        Self::start_with(Arc::new(SqliteStore::in_memory().await.unwrap())).await
    }

    /// An engine over in-memory SQLite with other delays.
    pub async fn start_with_timings(timings: Timings) -> Self {
        Self::start_full(
            Arc::new(SqliteStore::in_memory().await.unwrap()),
            Arc::new(TestBank::default()),
            ManualClock::new(start_time()),
            MemoryMailer::new(),
            timings,
        )
        .await
    }

    pub async fn start_shared(
        store: Arc<dyn PaymentStore>,
        bank: Arc<TestBank>,
        clock: ManualClock,
        mailer: MemoryMailer,
    ) -> Self {
        Self::start_full(store, bank, clock, mailer, Timings::default()).await
    }

    async fn start_full(
        store: Arc<dyn PaymentStore>,
        bank: Arc<TestBank>,
        clock: ManualClock,
        mailer: MemoryMailer,
        timings: Timings,
    ) -> Self {
        let store = Arc::new(FlakyStore {
            inner: store,
            down: AtomicBool::new(false),
            stall_ms: AtomicU64::new(0),
            claims: AtomicU64::new(0),
            hold: std::sync::Mutex::new(None),
        });
        let hook = Arc::new(RecordingHook::default());
        let mut registry = Registry::new();
        registry
            .register(Arc::new(TestProvider { bank: bank.clone() }))
            .unwrap();
        // A JSON-webhook provider beside it, for the per-provider size limits.
        let stripe = tpe_stripe_like::StripeLikeConfig::new(
            tpe_stripe_like::Mode::Test,
            "sk_test_engine",
            [STRIPE_WEBHOOK_SECRET],
        );
        registry
            .register(Arc::new(tpe_stripe_like::StripeLike::new(stripe).unwrap()))
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}/");
        let settings = ShopSettings::new(
            "Ferme des Lilas",
            base.parse().unwrap(),
            "gestion@ferme.example",
            "boutique@ferme.example",
        )
        .unwrap();
        let engine = Engine::builder(registry, store.clone(), Arc::new(mailer.clone()), settings)
            .clock(Arc::new(clock.clone()))
            .hook(hook.clone())
            .timings(timings)
            .build()
            .unwrap();
        let app = engine
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            engine,
            store,
            mailer,
            hook,
            clock,
            bank,
            base,
            http: reqwest::Client::new(),
            server,
        }
    }

    pub async fn checkout(&self, minor: u64, order: Option<&str>) -> PaymentReference {
        self.engine
            .start_checkout(&PROVIDER, request(minor, order))
            .await
            .unwrap()
            .reference
    }

    /// A checkout of `minor` and the bank's accepted notification (transaction `T1`), sent
    /// whatever its answer.
    pub async fn accepted_checkout(&self, minor: u64) -> PaymentReference {
        let r = self.checkout(minor, None).await;
        self.notify(notification(r.as_str(), "T1", "accepted", minor))
            .await;
        r
    }

    /// POSTs a notification body; returns (status, body).
    pub async fn notify(&self, body: String) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}tpe/notify/testbank", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn status(&self, r: &PaymentReference) -> CheckoutStatus {
        self.engine.checkout(r).await.unwrap().unwrap().status
    }

    pub async fn relay(&self) -> RelayReport {
        self.engine
            .run_relay_once(self.clock.now_ts())
            .await
            .unwrap()
    }

    /// E-mails sent to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Email> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }
}

pub trait Now {
    fn now_ts(&self) -> Timestamp;
}

impl Now for ManualClock {
    fn now_ts(&self) -> Timestamp {
        tpe_core::Clock::now(self)
    }
}

pub const MANAGER: &str = "gestion@ferme.example";
pub const CUSTOMER: &str = "jeanne@example.fr";
