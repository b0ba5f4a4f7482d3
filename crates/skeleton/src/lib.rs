#![doc = include_str!("../README.md")]

pub mod codes;
pub mod config;
mod form;
pub mod notify;
pub mod sign;

use tpe_core::{
    Ack, Handled, NonceSource, PaymentProvider, PaymentRequest, Prepared, Profile, ProviderError,
    ProviderId, RawNotification, Redirect, Timestamp, Verified, VerifiedNotification,
};

pub use crate::config::SkeletonConfig;
pub use crate::form::{BANK_REFERENCE_LEN, MAX_AMOUNT, MAX_DESCRIPTION, MAX_TEXT};
pub use crate::sign::SigningKey;

use crate::config::Merchant;

/// The Skeleton bank. Build it once with [`Skeleton::new`]; share it as
/// `Arc<dyn PaymentProvider>`. Its `Debug` is derived: each key type shows nothing of its key.
#[derive(Debug)]
pub struct Skeleton {
    merchant: Merchant,
    key: SigningKey,
}

/// No server API: `query_status`, `refund`, `capture` and `cancel` keep their default,
/// `Unsupported`. A bank with an API declares the capabilities it implements
/// (`Capabilities::API` for all of them) and implements the methods; a JSON webhook bank says
/// `NotificationChannel::JSON_POST` and `NotificationLimits::JSON`. The bank takes references
/// of its own: a random nonce in base 62.
static PROFILE: Profile = Profile::new(Skeleton::ID)
    .with_bank_references(NonceSource::Random, |_, _, nonce| {
        form::bank_reference(nonce)
    });

impl Skeleton {
    /// The provider id, `skeleton`.
    pub const ID: ProviderId = ProviderId::from_static("skeleton");

    /// Checks the configuration and decodes the key.
    ///
    /// # Errors
    /// [`ProviderError::Config`] saying what is wrong (never quoting the key).
    pub fn new(cfg: SkeletonConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            merchant: cfg.merchant()?,
            key: SigningKey::from_hex(&cfg.hmac_key)?,
        })
    }

    /// Verifies a notification given as its raw body (or query).
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] or [`ProviderError::Malformed`].
    pub fn verify_bytes(&self, raw: &[u8]) -> Result<VerifiedNotification, ProviderError> {
        notify::verify(&self.key, &self.merchant, raw)
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Skeleton {
    fn prepare_now(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let mut fields = form::fields(&self.merchant, request, now)?;
        let signature = self
            .key
            .sign(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        fields.push((sign::SIGNATURE.to_owned(), signature));
        let redirect = Redirect::post(self.merchant.page.clone(), fields);
        Ok(Prepared::new(redirect).with_provider_data(form::provider_data(now)?))
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        // No signed timestamp in the bank's notifications: nothing to check against `now`.
        self.verify_bytes(raw.form_bytes()).map(Verified::Payment)
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        notify::answer(handled)
    }

    tpe_core::provider_facts!(PROFILE, codes);
}
