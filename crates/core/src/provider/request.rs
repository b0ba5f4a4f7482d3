//! What the shop asks a provider for, and what `prepare` gives back.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use super::id::ProviderId;
use crate::customer::ValidatedCustomer;
use crate::error::ProviderError;
use crate::instalments::{InstalmentLimits, Schedule, ScheduleError};
use crate::money::{Amount, Currency};
use crate::reason::Lang;
use crate::reference::PaymentReference;

/// What a form bank checks first in every request, under its own field names: the amount, in
/// the contract's currency and from 1 to its largest amount; and the error naming any other
/// field of its form. Declared once per bank as a `const`.
///
/// ```
/// use tpe_core::{Currency, FormRules, ProviderId};
/// const RULES: FormRules =
///     FormRules::new(ProviderId::from_static("bank"), 99_999, ("currency", "amount"));
/// let e = RULES.invalid("reference", "too long");
/// assert!(e.to_string().contains("reference"));
/// # let _ = Currency::EUR;
/// ```
#[derive(Debug, Clone)]
pub struct FormRules {
    provider: ProviderId,
    max_amount: u64,
    fields: (&'static str, &'static str),
}

impl FormRules {
    /// The rules of `provider`'s form: amounts up to `max_amount` minor units, its currency
    /// field named `fields.0` and its amount field `fields.1`.
    pub const fn new(
        provider: ProviderId,
        max_amount: u64,
        fields: (&'static str, &'static str),
    ) -> Self {
        Self {
            provider,
            max_amount,
            fields,
        }
    }

    /// The amount of `request` in minor units, as [`PaymentRequest::amount_within`] checks it
    /// against the contract's `currency`.
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] naming the currency or the amount field.
    pub fn amount(
        &self,
        request: &PaymentRequest,
        currency: Currency,
    ) -> Result<u64, ProviderError> {
        request.amount_within(&self.provider, currency, self.max_amount, self.fields)
    }

    /// [`ProviderError::InvalidRequest`] naming `field` of the form.
    pub fn invalid(
        &self,
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> ProviderError {
        ProviderError::invalid_request(&self.provider, field, reason)
    }
}

/// The browser URLs and the server-to-server notification URL of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUrls {
    /// Browser return after an accepted payment.
    pub accepted: Url,
    /// Browser return after a refusal.
    pub refused: Url,
    /// Browser return after the customer cancelled.
    pub cancelled: Url,
    /// Browser return while the outcome is pending.
    pub pending: Url,
    /// Server-to-server notification URL (the only authoritative channel).
    pub notify: Url,
}

/// Everything a provider needs to prepare a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentRequest {
    /// The checkout's reference, the shop's id of the payment.
    pub reference: PaymentReference,
    /// The reference the bank knows the payment by (see
    /// [`PaymentProvider::bank_reference`](super::PaymentProvider::bank_reference)); the shop's
    /// reference unless [`Self::with_bank_reference`] set another.
    pub bank_reference: BankReference,
    /// The amount to pay.
    pub amount: Amount,
    /// The customer, checked for PSD2.
    pub customer: ValidatedCustomer,
    /// A short label of the purchase ("Commande 1042").
    pub description: String,
    /// Total quantity of items in the cart (3-D Secure data), at least 1.
    pub item_count: u32,
    /// Return and notification URLs.
    pub urls: ReturnUrls,
    /// Language of the payment page.
    pub language: Lang,
    /// Payment in instalments: the first is charged at checkout and is the amount the page
    /// shows; `None` for a payment in one go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl PaymentRequest {
    /// The amount in minor units, when it is in the contract's `currency` and from 1 to `max`
    /// minor units; otherwise [`ProviderError::InvalidRequest`] naming the bank's field:
    /// `fields.0` for the currency, `fields.1` for the amount.
    ///
    /// # Errors
    /// As said.
    pub fn amount_within(
        &self,
        provider: &ProviderId,
        currency: Currency,
        max: u64,
        fields: (&'static str, &'static str),
    ) -> Result<u64, ProviderError> {
        if self.amount.currency() != currency {
            return Err(ProviderError::invalid_request(
                provider,
                fields.0,
                format!("this contract is configured for {currency}"),
            ));
        }
        let minor = self.amount.minor();
        if !(1..=max).contains(&minor) {
            return Err(ProviderError::invalid_request(
                provider,
                fields.1,
                format!("must be 1 to {max} minor units"),
            ));
        }
        Ok(minor)
    }

    /// A request; the description is bounded to 200 characters and `item_count` to at least 1.
    /// The bank reference is the shop's reference.
    pub fn new(
        reference: PaymentReference,
        amount: Amount,
        customer: ValidatedCustomer,
        description: impl Into<String>,
        item_count: u32,
        urls: ReturnUrls,
        language: Lang,
    ) -> Self {
        let description: String = description.into().chars().take(200).collect();
        Self {
            bank_reference: BankReference::of_reference(&reference),
            reference,
            amount,
            customer,
            description,
            item_count: item_count.max(1),
            urls,
            language,
            schedule: None,
        }
    }

    /// Paid in instalments following `schedule`, whose total is the request's amount.
    ///
    /// # Errors
    /// [`ScheduleError::Sum`] or [`ScheduleError::Currency`] when the schedule is not for this
    /// amount.
    pub fn with_schedule(mut self, schedule: Schedule) -> Result<Self, ScheduleError> {
        schedule.check_total(self.amount)?;
        self.schedule = Some(schedule);
        Ok(self)
    }

    /// The schedule of a payment in instalments checked against a bank's `limits` for a
    /// checkout on `today`; `None` for a payment in one go. A schedule the bank cannot take
    /// (no `limits`: it offers no instalments) is [`ProviderError::InvalidRequest`] naming the
    /// bank's `field`, the reason naming the rule.
    ///
    /// # Errors
    /// As said.
    pub fn schedule_within(
        &self,
        provider: &ProviderId,
        limits: Option<InstalmentLimits>,
        today: jiff::civil::Date,
        field: &'static str,
    ) -> Result<Option<&Schedule>, ProviderError> {
        let Some(schedule) = &self.schedule else {
            return Ok(None);
        };
        limits
            .ok_or(ScheduleError::Unsupported)
            .and_then(|l| l.check(schedule, today))
            .map_err(|e| ProviderError::invalid_request(provider, field, e.to_string()))?;
        Ok(Some(schedule))
    }

    /// With the bank reference the engine stored for this checkout.
    #[must_use]
    pub fn with_bank_reference(mut self, bank_reference: BankReference) -> Self {
        self.bank_reference = bank_reference;
        self
    }
}

/// The HTTP method of a redirect or notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// Where to send the customer's browser: a form to auto-submit (POST) or a URL (GET).
///
/// The field order is the signed order; renderings keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// POST for a signed form, GET for a plain redirect.
    pub method: HttpMethod,
    /// Form action or redirect target.
    pub action: Url,
    /// Ordered form fields (empty for a plain GET redirect).
    pub fields: Vec<(String, String)>,
}

impl Redirect {
    /// A plain GET redirect to `url`.
    pub fn get(url: Url) -> Self {
        Self {
            method: HttpMethod::Get,
            action: url,
            fields: Vec::new(),
        }
    }

    /// A form of signed `fields` the browser posts to the bank's page at `action`.
    pub fn post(action: Url, fields: Vec<(String, String)>) -> Self {
        Self {
            method: HttpMethod::Post,
            action,
            fields,
        }
    }

    /// The URL with the fields as query string, for GET redirects.
    pub fn location(&self) -> Url {
        let mut url = self.action.clone();
        if !self.fields.is_empty() {
            url.query_pairs_mut().extend_pairs(self.fields.iter());
        }
        url
    }
}

/// What [`PaymentProvider::prepare`](super::PaymentProvider::prepare) gives back: the redirect
/// and what the engine stores with the checkout, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prepared {
    /// Where to send the customer's browser.
    pub redirect: Redirect,
    /// What the bank side must keep (a session id, a daily transaction id, a `RETURNMAC`),
    /// handed back in every status, refund, capture and cancel request.
    pub provider_data: Option<ProviderData>,
}

impl Prepared {
    /// A redirect with no provider data.
    pub fn new(redirect: Redirect) -> Self {
        Self {
            redirect,
            provider_data: None,
        }
    }

    /// With provider data.
    #[must_use]
    pub fn with_provider_data(mut self, data: ProviderData) -> Self {
        self.provider_data = Some(data);
        self
    }
}

/// Where the `nonce` handed to [`PaymentProvider::bank_reference`](super::PaymentProvider::bank_reference)
/// comes from.
///
/// Banks whose transaction ids are short and unique only within a day (Lyra's six-character
/// `vads_trans_id`, Monetico's twelve-character reference) ask for
/// [`DailySequence`](Self::DailySequence): numbers the store hands out one by one, so two
/// engines on one database never build the same bank reference and ids are not wasted on
/// random collisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NonceSource {
    /// A random number on each call (the default).
    #[default]
    Random,
    /// 1, 2, 3… per (provider, UTC day of `now`), allocated atomically by the store and never
    /// handed out twice, even by engines sharing one database.
    DailySequence,
}

/// The reference a bank knows a payment by: the shop's [`PaymentReference`] for most banks, a
/// shorter or dated id for banks with their own constraints (Monetico `[A-Za-z0-9]{1,12}`, a
/// Lyra transaction id of the day). The engine keeps a unique (provider, bank reference) →
/// checkout mapping, so an authentic notification finds its checkout and never another's.
///
/// One to 64 characters of `[A-Za-z0-9._:-]`.
///
/// ```
/// use tpe_core::BankReference;
/// assert_eq!(BankReference::parse("20261129-000042")?.as_str(), "20261129-000042");
/// assert!(BankReference::parse("a b").is_err());
/// # Ok::<(), tpe_core::InvalidBankReference>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankReference(Box<str>);

impl BankReference {
    /// The longest bank reference.
    pub const MAX_LEN: usize = 64;

    /// Parses a bank reference.
    ///
    /// # Errors
    /// [`InvalidBankReference`] when empty, longer than 64 or outside `[A-Za-z0-9._:-]`.
    pub fn parse(s: &str) -> Result<Self, InvalidBankReference> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.bytes().all(allowed) {
            return Err(InvalidBankReference);
        }
        Ok(Self(s.into()))
    }

    /// The shop's reference used as it is (its charset is a subset).
    pub fn of_reference(reference: &PaymentReference) -> Self {
        Self(reference.as_str().into())
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BankReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for BankReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BankReference {
    type Error = InvalidBankReference;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<BankReference> for String {
    fn from(b: BankReference) -> Self {
        b.0.into()
    }
}

/// A bank reference that is not 1 to 64 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a bank reference must be 1 to 64 characters of [A-Za-z0-9._:-]")]
pub struct InvalidBankReference;

/// What a provider's bank side must keep between `prepare` and later calls: opaque to the
/// engine, at most 1,024 bytes of text (a JSON object when there is more than one value).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderData(Box<str>);

impl ProviderData {
    /// The largest provider data.
    pub const MAX_LEN: usize = 1024;

    /// Wraps provider data.
    ///
    /// # Errors
    /// [`InvalidProviderData`] when longer than 1,024 bytes or holding a control character.
    pub fn new(data: impl Into<String>) -> Result<Self, InvalidProviderData> {
        let data: String = data.into();
        if data.len() > Self::MAX_LEN || data.chars().any(char::is_control) {
            return Err(InvalidProviderData { len: data.len() });
        }
        Ok(Self(data.into()))
    }

    /// The data as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderData({} bytes)", self.0.len())
    }
}

impl TryFrom<String> for ProviderData {
    type Error = InvalidProviderData;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ProviderData> for String {
    fn from(d: ProviderData) -> Self {
        d.0.into()
    }
}

/// Provider data over 1,024 bytes or with a control character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider data must be at most 1024 bytes without control characters ({len} given)")]
pub struct InvalidProviderData {
    /// Its length in bytes.
    pub len: usize,
}
