#![doc = include_str!("../README.md")]

mod api;
pub mod codes;
pub mod config;
pub mod fields;
mod form;
pub mod notify;
pub mod sign;

use tpe_core::{
    Ack, Capabilities, Handled, HttpMethod, NonceSource, OperationReceipt, OperationRequest,
    PaymentProvider, PaymentRequest, Prepared, Profile, ProviderError, ProviderId, RawNotification,
    Redirect, RefundReceipt, RefundRequest, StatusQuery, StatusReport, Timestamp, Verified,
    VerifiedNotification,
};

pub use crate::config::{Brand, CtxMode, LyraConfig, RestConfig, ReturnMode};
pub use crate::form::{MAX_AMOUNT, MAX_ORDER_ID, MAX_ORDER_INFO, RESERVED_TRANS_ID};
pub use crate::sign::Algorithm;

use crate::config::{Rest, Shop};
use crate::sign::KeyRing;

/// The Lyra platform (Systempay, PayZen, Scellius, Sogecommerce). Build it once with
/// [`Lyra::new`]; share it as `Arc<dyn PaymentProvider>`.
/// Its `Debug` is derived: each key type shows nothing of its key.
#[derive(Debug)]
pub struct Lyra {
    shop: Shop,
    keys: KeyRing,
    rest: Option<Rest>,
    api: Option<api::Api>,
    profile: Profile,
}

impl Lyra {
    /// The provider id, `lyra`.
    pub const ID: ProviderId = ProviderId::from_static("lyra");

    /// Checks the configuration and the keys.
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the setting that is wrong (never quoting a key).
    pub fn new(cfg: LyraConfig) -> Result<Self, ProviderError> {
        let checked = cfg.check()?;
        let api = checked.rest.as_ref().map(api::Api::new).transpose()?;
        // The REST API, when configured, answers status queries, refunds (partial ones too),
        // captures and cancels. The IPN is a form posted; vads_trans_id is unique per shop and
        // UTC day: the store's daily sequence gives 1, 2, 3… that no two engines share.
        let capabilities = if api.is_some() {
            Capabilities::API
        } else {
            Capabilities::NONE
        };
        let profile = Profile::new(Self::ID)
            .with_capabilities(capabilities)
            .with_bank_references(NonceSource::DailySequence, |_, now, nonce| {
                form::bank_reference(now, nonce)
            })
            .with_instalments(checked.shop.instalments);
        Ok(Self {
            profile,
            shop: checked.shop,
            keys: checked.keys,
            rest: checked.rest,
            api,
        })
    }

    /// Verifies a notification given as its raw form body: a `vads_*` IPN, or a REST V4 IPN
    /// (`kr-answer`) when the REST API is configured.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] or [`ProviderError::Malformed`].
    pub fn verify_bytes(&self, raw: &[u8]) -> Result<VerifiedNotification, ProviderError> {
        let rest_key = self.rest.as_ref().map(|r| &r.ipn_key);
        notify::verify(&self.keys, rest_key, &self.shop, raw)
    }

    /// Validates (captures) or cancels the whole authorization of `request`.
    async fn operate(
        &self,
        path: &str,
        request: &OperationRequest,
    ) -> Result<OperationReceipt, ProviderError> {
        let tx = self
            .api()?
            .operate(path, &request.bank_transaction_id)
            .await?;
        Ok(OperationReceipt::new(tx.uuid, request.amount))
    }

    fn api(&self) -> Result<&api::Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| ProviderError::unsupported(&Self::ID, "the REST API (no rest settings)"))
    }

    /// Verifies a REST V4 browser return (`kr-hash-key` = `sha256_hmac`, checked with the REST
    /// HMAC-SHA-256 key): display only, the IPN stays the authority.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] (also without a configured `rest.hmac_key`) or
    /// [`ProviderError::Malformed`].
    pub fn verify_rest_return(&self, raw: &[u8]) -> Result<VerifiedNotification, ProviderError> {
        let key = self
            .rest
            .as_ref()
            .and_then(|r| r.return_key.as_ref())
            .ok_or_else(|| ProviderError::bad_signature(&Self::ID))?;
        notify::verify_rest(key, "sha256_hmac", &self.shop, raw)
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Lyra {
    fn prepare_now(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let fields = form::fields(&self.shop, request, now)?;
        let signature = self
            .keys
            .signing()
            .sign(fields.iter().map(|(n, v)| (*n, v.as_str())));
        let trans_date = fields
            .iter()
            .find(|(n, _)| *n == "vads_trans_date")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut wire: Vec<(String, String)> =
            fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        wire.push((sign::SIGNATURE.to_owned(), signature));
        let redirect = Redirect::post(self.shop.page.clone(), wire);
        Ok(Prepared::new(redirect).with_provider_data(form::provider_data(&trans_date)?))
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        // The IPN is a POST; no signed timestamp to hold against `now`.
        if raw.method() != HttpMethod::Post {
            return Err(ProviderError::malformed(&Self::ID, "the IPN is a POST"));
        }
        self.verify_bytes(raw.body()).map(Verified::Payment)
    }

    async fn query_status(
        &self,
        query: &StatusQuery,
        _now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        let api = self.api()?;
        // vads_order_id is the checkout's reference: Order/Get finds every attempt of it.
        let transactions = api.order(query.reference.as_str()).await?;
        Ok(StatusReport {
            reference: query.reference.clone(),
            status: api::status_of(&transactions)?,
        })
    }

    async fn refund(
        &self,
        request: &RefundRequest,
        _now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        let api = self.api()?;
        let tx = api
            .refund(&request.bank_transaction_id, request.amount)
            .await?;
        let currency = tpe_core::Currency::from_alpha(&tx.currency)
            .map_err(|_| ProviderError::malformed(&Self::ID, "CancelOrRefund: unknown currency"))?;
        let amount = tpe_core::Amount::new(tx.amount, currency).map_err(|_| {
            ProviderError::malformed(&Self::ID, "CancelOrRefund: amount out of range")
        })?;
        Ok(RefundReceipt {
            refund_id: tx.uuid,
            amount,
            pending: false,
        })
    }

    async fn capture(
        &self,
        request: &OperationRequest,
        _now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        self.operate("Transaction/Validate", request).await
    }

    async fn cancel(
        &self,
        request: &OperationRequest,
        _now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        self.operate("Transaction/Cancel", request).await
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        notify::answer(handled)
    }

    tpe_core::provider_facts!(self.profile, codes);
}
