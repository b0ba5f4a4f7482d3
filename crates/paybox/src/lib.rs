#![doc = include_str!("../README.md")]

pub mod codes;
pub mod config;
pub mod direct;
mod error;
mod form;
pub mod notify;
pub mod sign;

use std::fmt;

use tpe_core::{
    Amount, BankReference, Capabilities, NotificationChannel, OperationReceipt, OperationRequest,
    PaymentProvider, PaymentRequest, Prepared, Profile, ProviderError, ProviderId, RawNotification,
    Redirect, RefundReceipt, RefundRequest, RemoteStatus, StatusQuery, StatusReport, Timestamp,
    Verified, VerifiedNotification,
};

pub use crate::config::PayboxConfig;
pub use crate::direct::{DirectResponse, Operation};

use crate::config::Endpoints;
use crate::direct::{Call, DirectClient};
use crate::error::Error;
use crate::form::FormSettings;
use crate::notify::{NotifySettings, TransactionId};
use crate::sign::{BankKeys, HmacKey};

/// The Paybox / Up2Pay e-Transactions provider. Build it once with [`Paybox::new`]; it is
/// cheap to share (`Arc<dyn PaymentProvider>`).
pub struct Paybox {
    profile: Profile,
    endpoints: Endpoints,
    form: FormSettings,
    notify: NotifySettings,
    key: HmacKey,
    keys: BankKeys,
    direct: DirectClient,
    currency: tpe_core::Currency,
}

impl fmt::Debug for Paybox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paybox")
            .field("page", &self.endpoints.page.as_str())
            .field("direct", &self.endpoints.direct.as_str())
            .field("key", &self.key)
            .field("bank_keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// `Ok` when `value` is ASCII digits and its length is in `lengths`; else a configuration error
/// naming `what`.
fn require_digits(
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
    what: &str,
) -> Result<(), Error> {
    if lengths.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{what} must be {} to {} digits",
            lengths.start(),
            lengths.end()
        )))
    }
}

/// Paybox Direct answers status queries, refunds, captures and cancels; notifications come
/// as a GET or a POST, as the merchant configured.
static PROFILE: Profile = Profile::new(Paybox::ID)
    .with_capabilities(Capabilities::API)
    .with_channel(NotificationChannel::FORM_GET_OR_POST);

impl Paybox {
    /// The provider id, `paybox`.
    pub const ID: ProviderId = ProviderId::from_static("paybox");

    /// Checks the configuration, decodes the HMAC key, parses the bank's public keys and builds
    /// the Paybox Direct client.
    ///
    /// # Errors
    /// [`ProviderError::Config`] saying what is wrong (never quoting the key).
    pub fn new(cfg: PayboxConfig) -> Result<Self, ProviderError> {
        require_digits(&cfg.site, 7..=7, "site")?;
        require_digits(&cfg.rang, 2..=3, "rang")?;
        require_digits(&cfg.identifiant, 1..=9, "identifiant")?;
        if !cfg.page_path.starts_with('/') {
            return Err(Error::config("page_path must start with '/'").into());
        }
        let endpoints = cfg
            .platform
            .endpoints(&cfg.page_path)
            .map_err(|e| Error::config(format!("platform url: {e}")))?;
        let key = HmacKey::from_hex(&cfg.hmac_key, cfg.hash)?;
        let keys = BankKeys::load(&cfg.public_keys)?;
        let direct = DirectClient::new(&cfg, &endpoints, key.clone())?;
        Ok(Self {
            profile: PROFILE
                .clone()
                .with_instalments(cfg.instalments.limits(config::MAX_INSTALMENTS)),
            form: FormSettings::new(&cfg),
            notify: NotifySettings::new(cfg.retour.clone(), cfg.currency),
            currency: cfg.currency,
            endpoints,
            key,
            keys,
            direct,
        })
    }

    /// The resolved URLs.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The signed hosted-page form (what [`PaymentProvider::prepare`] returns, without async).
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] when the request cannot be expressed for the bank.
    pub fn prepare_redirect(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Redirect, ProviderError> {
        let mut fields = form::fields(&self.form, request, now)?;
        let mac = self.key.sign_fields(&fields);
        fields.push(("PBX_HMAC".to_owned(), mac));
        Ok(Redirect::post(self.endpoints.page.clone(), fields))
    }

    /// Verifies a notification given as its raw query string or body.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] or [`ProviderError::Malformed`].
    pub fn verify_bytes(&self, raw: &[u8]) -> Result<VerifiedNotification, ProviderError> {
        Ok(notify::verify(&self.keys, &self.notify, raw)?)
    }

    async fn on_transaction(
        &self,
        op: Operation,
        reference: &BankReference,
        bank_transaction_id: &str,
        amount: Amount,
        now: Timestamp,
    ) -> Result<DirectResponse, ProviderError> {
        self.check_currency(amount)?;
        let transaction = TransactionId::parse(bank_transaction_id).ok_or_else(|| {
            Error::invalid(
                "NUMAPPEL/NUMTRANS",
                "the bank transaction id must be <NUMAPPEL>:<NUMTRANS> digits",
            )
        })?;
        let call = Call {
            op,
            amount,
            reference,
            transaction: Some(transaction),
        };
        Ok(self.direct.call(&call, now).await?)
    }

    async fn operate(
        &self,
        op: Operation,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        let resp = self
            .on_transaction(
                op,
                &request.bank_reference,
                &request.bank_transaction_id,
                request.amount,
                now,
            )
            .await?;
        Ok(OperationReceipt::new(resp.transaction_id(), request.amount))
    }

    fn check_currency(&self, amount: Amount) -> Result<(), Error> {
        if amount.currency() == self.currency {
            Ok(())
        } else {
            Err(Error::invalid(
                "DEVISE",
                format!("this contract is configured for {}", self.currency),
            ))
        }
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Paybox {
    fn prepare_now(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        // The bank keeps nothing beyond the reference: no provider data.
        self.prepare_redirect(request, now).map(Prepared::new)
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        // No signed timestamp in Paybox notifications: nothing to check against `now`.
        self.verify_bytes(raw.form_bytes()).map(Verified::Payment)
    }

    // `answer` keeps the default: the platform only looks at the status (spec §4.1), 200 with
    // an empty body once processed.

    async fn query_status(
        &self,
        query: &StatusQuery,
        now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        self.check_currency(query.amount)?;
        let transaction = query
            .known_transactions
            .iter()
            .find_map(|t| TransactionId::parse(t));
        let call = Call {
            op: Operation::Status,
            amount: query.amount,
            reference: &query.bank_reference,
            transaction,
        };
        let status = match self.direct.call(&call, now).await {
            Ok(resp) => direct::remote_status(&resp, query.amount)?,
            Err(Error::Api { code, .. }) if code == "00018" => RemoteStatus::NotFound,
            Err(e) => return Err(e.into()),
        };
        Ok(StatusReport {
            reference: query.reference.clone(),
            status,
        })
    }

    async fn refund(
        &self,
        request: &RefundRequest,
        now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        let resp = self
            .on_transaction(
                Operation::Refund,
                &request.bank_reference,
                &request.bank_transaction_id,
                request.amount,
                now,
            )
            .await?;
        Ok(RefundReceipt {
            refund_id: resp.transaction_id(),
            amount: request.amount,
            pending: false,
        })
    }

    /// Captures an authorization made with `capture = "manual"` (Direct TYPE `00002`).
    async fn capture(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        self.operate(Operation::Capture, request, now).await
    }

    /// Cancels a transaction not yet settled (Direct TYPE `00005`).
    async fn cancel(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        self.operate(Operation::Cancel, request, now).await
    }

    tpe_core::provider_facts!(self.profile, codes);
}
