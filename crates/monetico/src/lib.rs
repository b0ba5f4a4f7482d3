#![doc = include_str!("../README.md")]

pub mod codes;
pub mod config;
mod form;
pub mod legacy;
pub mod notify;
pub mod sign;

use tpe_core::{
    Ack, Handled, NonceSource, NotificationChannel, PaymentProvider, PaymentRequest, Prepared,
    Profile, ProviderError, ProviderId, RawNotification, Redirect, Timestamp, Verified,
    VerifiedNotification,
};
use url::Url;

pub use crate::config::{Environment, MacFormat, MoneticoConfig};
pub use crate::form::{
    BANK_REFERENCE_LEN, MAX_AMOUNT, MAX_DAILY_SEQUENCE, MAX_MAIL, MAX_TEXTE_LIBRE, MAX_URL,
    bank_reference_of,
};
pub use crate::sign::{Encoding, MacKey};

use crate::config::Merchant;

/// Monetico Paiement. Build it once with [`Monetico::new`]; share it as
/// `Arc<dyn PaymentProvider>`. Its `Debug` is derived: each key type shows nothing of its key.
#[derive(Debug)]
pub struct Monetico {
    profile: Profile,
    merchant: Merchant,
    key: MacKey,
}

/// The spec documents no status query, refund or capture API for Monetico (C.9); a CGI2
/// return of a few hundred bytes comes as a GET or a POST; 999 999 references a day, numbered
/// by the store: never reused, never wasted. Payment in instalments is added in
/// [`Monetico::new`], within the configured limits.
static PROFILE: Profile = Profile::new(Monetico::ID)
    .with_channel(NotificationChannel::FORM_GET_OR_POST)
    .with_bank_references(NonceSource::DailySequence, |_, now, nonce| {
        form::bank_reference_of(now, nonce)
    });

impl Monetico {
    /// The provider id, `monetico`.
    pub const ID: ProviderId = ProviderId::from_static("monetico");

    /// Checks the configuration and derives the key.
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the setting that is wrong (never quoting the key).
    pub fn new(cfg: MoneticoConfig) -> Result<Self, ProviderError> {
        let merchant = cfg.merchant()?;
        Ok(Self {
            profile: PROFILE.clone().with_instalments(merchant.instalments),
            merchant,
            key: MacKey::new(&cfg.key)?,
        })
    }

    /// The payment page the redirect posts to.
    pub fn page_url(&self) -> &Url {
        &self.merchant.page
    }

    /// Verifies a CGI2 return given as its raw body (or query).
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] or [`ProviderError::Malformed`].
    pub fn verify_bytes(&self, raw: &[u8]) -> Result<VerifiedNotification, ProviderError> {
        notify::verify(&self.key, &self.merchant, raw)
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Monetico {
    fn prepare_now(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let date = form::order_date(now);
        let today = tpe_core::instalments::french_day(now);
        let mut fields = form::fields(&self.merchant, request, &date, today)?;
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mac = match self.merchant.mac_format {
            MacFormat::Legacy => self
                .key
                .mac_bytes(legacy::request_string(&pairs).as_bytes()),
            _ => self.key.sign(pairs),
        };
        fields.push((sign::MAC_FIELD.to_owned(), mac));
        let redirect = Redirect::post(self.merchant.page.clone(), fields);
        Ok(Prepared::new(redirect).with_provider_data(form::provider_data(&date)?))
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        // The return's date is not signed against a clock the shop shares: nothing to check
        // against `now`.
        self.verify_bytes(raw.form_bytes()).map(Verified::Payment)
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        notify::answer(handled)
    }

    tpe_core::provider_facts!(self.profile, codes);
}
