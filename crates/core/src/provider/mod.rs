//! The [`PaymentProvider`] trait, the contract every bank implements, and the values that cross
//! it: [`request`] (what the shop asks), [`notification`] (what the bank says and what it is
//! answered), [`remote`] (the bank's server API: status, refund, capture, cancel).

mod id;
pub mod notification;
mod profile;
pub mod remote;
pub mod request;

use std::fmt;

use crate::clock::Timestamp;
use crate::error::ProviderError;
use crate::reason::Reason;
use crate::reference::PaymentReference;

pub use id::{Capabilities, InvalidProviderId, ProviderId};
pub use notification::{
    Ack, BankOutcome, CardSummary, Handled, IgnoredEvent, NotificationChannel, NotificationLimits,
    NotificationTooLarge, OutcomeKind, RawNotification, ThreeDs, ThreeDsStatus, Verified,
    VerifiedNotification,
};
pub use profile::{BankReferenceFn, Profile};
pub use remote::{
    OperationReceipt, OperationRequest, RefundReceipt, RefundRequest, RemoteStatus, StatusQuery,
    StatusReport,
};
pub use request::{
    BankReference, FormRules, HttpMethod, InvalidBankReference, InvalidProviderData, NonceSource,
    PaymentRequest, Prepared, ProviderData, Redirect, ReturnUrls,
};

/// A bank or PSP, held as `Arc<dyn PaymentProvider>`.
///
/// # Contract
/// - `now` is always passed in: no provider reads the clock. Signing, verification,
///   classification and answers are synchronous and CPU-only; `prepare` may do I/O for API-first
///   PSPs.
/// - [`prepare`](Self::prepare) returns, besides the redirect, the [`BankReference`] the bank
///   will name the payment by and the [`ProviderData`] the bank side must keep (a session id, a
///   daily transaction id): the engine stores both with the checkout in one transaction, maps
///   the bank reference back to the checkout uniquely, and hands the data back in every
///   [`remote`] request.
/// - Optional operations ([`query_status`](Self::query_status), [`refund`](Self::refund),
///   [`capture`](Self::capture), [`cancel`](Self::cancel)) answer
///   [`ProviderError::Unsupported`] by default: a provider implements exactly those the
///   [`Capabilities`] of its [`Profile`] declare, and the conformance kit checks that they agree.
/// - A result code outside the provider's table is never a verdict:
///   [`BankOutcome::Unclassified`] leaves the checkout awaiting payment until a status query
///   decides.
///
/// # Security
/// Verified before parsed: `verify` checks the signature before any value of the notification
/// is trusted, acted on or parsed by hand-written code — over the raw bytes exactly as received
/// for raw-bytes schemes, over the bank's canonical form (decoded with a well-kept crate) for
/// canonical-form schemes — and fails closed. No method puts a secret in an error, a `Debug` or
/// a log line.
#[async_trait::async_trait]
pub trait PaymentProvider: fmt::Debug + Send + Sync + 'static {
    /// What the engine must know of this bank before it talks to it: id, capabilities,
    /// notification channel and limits, nonce source.
    fn profile(&self) -> &Profile;

    /// Stable identifier, stored in database rows: the profile's. Not meant to be overridden.
    fn id(&self) -> ProviderId {
        self.profile().id.clone()
    }

    /// The reference the bank will know this checkout by, under the bank's own constraints
    /// (length, charset, uniqueness). `nonce` differs on each call, so a provider that derives
    /// short references gets a fresh one when the engine finds one already taken; with the
    /// profile's [`NonceSource::DailySequence`] it is the next number of the UTC day of `now`.
    ///
    /// The profile's [`BankReferenceFn`], or the shop's reference itself for banks that accept
    /// it as it is. Not meant to be overridden: a bank says how it names checkouts in its
    /// [`Profile`].
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] when no bank reference can be made.
    fn bank_reference(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
        nonce: u64,
    ) -> Result<BankReference, ProviderError> {
        match self.profile().bank_reference {
            Some(make) => make(reference, now, nonce),
            None => BankReference::parse(reference.as_str()).map_err(|e| {
                ProviderError::invalid_request(&self.id(), "reference", e.to_string())
            }),
        }
    }

    /// The signed redirect and what the bank side must keep, for a bank whose redirect is
    /// signed here without I/O (a hosted form): [`prepare`](Self::prepare) calls it. Banks whose
    /// redirect comes from their API (a checkout session) implement `prepare` instead and keep
    /// this default, [`ProviderError::Unsupported`].
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] when the request cannot be expressed for the bank.
    fn prepare_now(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let _ = (request, now);
        Err(ProviderError::unsupported(
            &self.id(),
            "prepare_now (the redirect comes from the API)",
        ))
    }

    /// The signed redirect for the customer's browser, and what the bank side must keep.
    /// The default is [`prepare_now`](Self::prepare_now).
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] when the request cannot be expressed for the bank;
    /// API and transport errors for API-first PSPs.
    async fn prepare(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        self.prepare_now(request, now)
    }

    /// Verifies a notification exactly as received.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`], [`ProviderError::Malformed`] or
    /// [`ProviderError::Stale`]; nothing of an unverified notification is returned.
    fn verify(&self, raw: &RawNotification, now: Timestamp) -> Result<Verified, ProviderError>;

    /// The exact HTTP answer the bank expects for what the engine did with a notification: a
    /// processed payment, an ignored event, a rejection, a quarantine or a store outage.
    ///
    /// The default answers `200` with an empty body once processed, `401`/`400` `rejected` for a
    /// forged or malformed notification, `404` for an unknown checkout and `503` when the store
    /// is down (so the bank retries); a bank with its own words overrides it.
    fn answer(&self, handled: &Handled<'_>) -> Ack {
        Ack::default_for(handled)
    }

    /// Classifies a bank code. Total: unknown codes keep their raw value.
    fn classify(&self, code: &str) -> Reason;

    /// Every code of the provider's table, for `tpe codes` and the conformance suite.
    fn known_codes(&self) -> &'static [&'static str];

    /// Asks the bank about a checkout.
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without [`Capabilities::status_query`]; a transport error
    /// means the status is unknown.
    async fn query_status(
        &self,
        query: &StatusQuery,
        now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        let _ = (query, now);
        Err(ProviderError::unsupported(&self.id(), "query_status"))
    }

    /// Refunds a payment.
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without [`Capabilities::refund`]; API and transport
    /// errors.
    async fn refund(
        &self,
        request: &RefundRequest,
        now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        let _ = (request, now);
        Err(ProviderError::unsupported(&self.id(), "refund"))
    }

    /// Captures an authorization (deferred or manual capture).
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without [`Capabilities::capture`]; API and transport
    /// errors.
    async fn capture(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        let _ = (request, now);
        Err(ProviderError::unsupported(&self.id(), "capture"))
    }

    /// Cancels an authorization that was not captured.
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without [`Capabilities::cancel`]; API and transport
    /// errors.
    async fn cancel(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        let _ = (request, now);
        Err(ProviderError::unsupported(&self.id(), "cancel"))
    }
}
