//! [`Profile`]: what the engine knows of a bank before it talks to it.

use super::id::{Capabilities, ProviderId};
use super::notification::{NotificationChannel, NotificationLimits};
use super::request::{BankReference, NonceSource};
use crate::clock::Timestamp;
use crate::error::ProviderError;
use crate::instalments::InstalmentLimits;
use crate::reference::PaymentReference;

/// How a bank names a checkout: from the shop's reference, the time and the nonce, under the
/// bank's own constraints (see [`PaymentProvider::bank_reference`](super::PaymentProvider::bank_reference)).
pub type BankReferenceFn =
    fn(&PaymentReference, Timestamp, u64) -> Result<BankReference, ProviderError>;

/// What the engine must know of a bank before it talks to it, declared once per bank: its id,
/// the optional operations it implements, how its notifications arrive and how large they may
/// be, and how it names a checkout (its bank references and where their nonce comes from).
///
/// A bank whose profile never changes declares it as a `static` and returns it from
/// [`PaymentProvider::profile`](super::PaymentProvider::profile); one whose capabilities depend
/// on its configuration (an optional server API) builds it in its constructor.
///
/// ```
/// use tpe_core::{Capabilities, NonceSource, NotificationChannel, Profile, ProviderId};
///
/// use tpe_core::{BankReference, PaymentReference, ProviderError, Timestamp};
///
/// /// The day and the day's number: `20261129-42`.
/// fn of_the_day(_: &PaymentReference, now: Timestamp, nonce: u64) -> Result<BankReference, ProviderError> {
///     BankReference::parse(&format!("{}-{nonce}", now.strftime("%Y%m%d")))
///         .map_err(|e| ProviderError::invalid_request(&PROFILE.id, "reference", e.to_string()))
/// }
///
/// static PROFILE: Profile = Profile::new(ProviderId::from_static("my-bank"))
///     .with_channel(NotificationChannel::FORM_GET_OR_POST)
///     .with_bank_references(NonceSource::DailySequence, of_the_day);
///
/// assert_eq!(PROFILE.id.as_str(), "my-bank");
/// assert_eq!(PROFILE.capabilities, Capabilities::NONE);
/// assert_eq!(PROFILE.nonce, NonceSource::DailySequence);
/// let make = PROFILE.bank_reference.expect("a rule of its own");
/// let now: Timestamp = "2026-11-29T10:00:00Z".parse()?;
/// let shop: PaymentReference = "CMD-1".parse()?;
/// assert_eq!(make(&shop, now, 42)?.as_str(), "20261129-42");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Profile {
    /// Stable identifier, stored in database rows.
    pub id: ProviderId,
    /// The optional operations the provider implements.
    pub capabilities: Capabilities,
    /// The methods and body types of the bank's notifications.
    pub channel: NotificationChannel,
    /// How large a notification may be.
    pub limits: NotificationLimits,
    /// Where the engine takes the `nonce` of
    /// [`bank_reference`](super::PaymentProvider::bank_reference) from.
    pub nonce: NonceSource,
    /// How the bank names a checkout; `None`: by the shop's reference itself.
    pub bank_reference: Option<BankReferenceFn>,
    /// What the bank accepts of a payment in instalments; `None`: it does not offer them.
    pub instalments: Option<InstalmentLimits>,
}

impl Profile {
    /// A bank without optional operations whose notifications are forms posted
    /// ([`NotificationChannel::FORM_POST`], [`NotificationLimits::FORM`]) and whose bank
    /// references take a random nonce; the `with_` methods say where a bank differs.
    pub const fn new(id: ProviderId) -> Self {
        Self {
            id,
            capabilities: Capabilities::NONE,
            channel: NotificationChannel::FORM_POST,
            limits: NotificationLimits::FORM,
            nonce: NonceSource::Random,
            bank_reference: None,
            instalments: None,
        }
    }

    /// The optional operations the provider implements.
    #[must_use]
    pub const fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// How the bank's notifications arrive.
    #[must_use]
    pub const fn with_channel(mut self, channel: NotificationChannel) -> Self {
        self.channel = channel;
        self
    }

    /// How large a notification may be.
    #[must_use]
    pub const fn with_limits(mut self, limits: NotificationLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Payment in instalments within `limits`.
    #[must_use]
    pub const fn with_instalments(mut self, limits: InstalmentLimits) -> Self {
        self.instalments = Some(limits);
        self
    }

    /// How the bank names a checkout, for a bank that does not take the shop's reference as it
    /// is, and where the `nonce` handed to `make` comes from.
    #[must_use]
    pub const fn with_bank_references(mut self, nonce: NonceSource, make: BankReferenceFn) -> Self {
        self.nonce = nonce;
        self.bank_reference = Some(make);
        self
    }
}
