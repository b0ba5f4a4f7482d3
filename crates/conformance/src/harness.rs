//! What a provider crate hands to the suite: its provider, its bank side, its secrets.

use std::fmt;
use std::sync::Arc;

use tpe_core::{Currency, PaymentProvider, Timestamp};

use crate::bank::BankSide;

/// Builds the provider under test configured for another currency (banks whose contract
/// has one currency, like Paybox); `None` when the provider cannot take that currency.
pub type ProviderFactory = Arc<dyn Fn(Currency) -> Option<Arc<dyn PaymentProvider>> + Send + Sync>;

/// The provider under test and everything the checks need around it.
///
/// ```no_run
/// # async fn demo(provider: std::sync::Arc<dyn tpe_core::PaymentProvider>) {
/// use tpe_conformance::{Harness, MockStripeLike, fixtures};
/// let now = fixtures::now();
/// let bank = MockStripeLike::spawn(now).await;
/// let harness = Harness::new(provider, bank, now)
///     .with_secrets([tpe_conformance::mock_stripe_like::SECRET_KEY])
///     .with_tolerance_secs(300);
/// # let _ = harness; }
/// ```
#[non_exhaustive]
pub struct Harness {
    /// The provider under test, as the registry holds it.
    pub provider: Arc<dyn PaymentProvider>,
    /// Its bank: an independent implementation of the protocol (the mock bank).
    pub bank: Arc<dyn BankSide>,
    /// Every configured secret (keys, passwords, webhook secrets): none may appear in any
    /// `Debug`, `Display` or error output.
    pub secrets: Vec<String>,
    /// The currencies [`Harness::provider`] accepts as configured.
    pub currencies: Vec<Currency>,
    /// "Now" for every call; the bank side's clock reads the same.
    pub now: Timestamp,
    /// The notification timestamp tolerance, when the scheme has signed timestamps.
    pub tolerance_secs: Option<u64>,
    /// The provider configured for other currencies, when its contract has only one.
    pub provider_for: Option<ProviderFactory>,
}

impl Harness {
    /// A harness for `provider` against `bank`, accepting EUR, without secrets.
    pub fn new(provider: Arc<dyn PaymentProvider>, bank: impl BankSide, now: Timestamp) -> Self {
        Self {
            provider,
            bank: Arc::new(bank),
            secrets: Vec::new(),
            currencies: vec![Currency::EUR],
            now,
            tolerance_secs: None,
            provider_for: None,
        }
    }

    /// With the configured secrets.
    #[must_use]
    pub fn with_secrets(mut self, secrets: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.secrets = secrets.into_iter().map(Into::into).collect();
        self
    }

    /// With the currencies the provider accepts as configured.
    #[must_use]
    pub fn with_currencies(mut self, currencies: impl IntoIterator<Item = Currency>) -> Self {
        self.currencies = currencies.into_iter().collect();
        self
    }

    /// With the notification timestamp tolerance.
    #[must_use]
    pub fn with_tolerance_secs(mut self, secs: u64) -> Self {
        self.tolerance_secs = Some(secs);
        self
    }

    /// With a factory of the provider configured for another currency.
    #[must_use]
    pub fn with_provider_for(
        mut self,
        factory: impl Fn(Currency) -> Option<Arc<dyn PaymentProvider>> + Send + Sync + 'static,
    ) -> Self {
        self.provider_for = Some(Arc::new(factory));
        self
    }

    /// The provider to use for `currency`: the main one when it accepts it, else the factory's.
    pub fn provider_in(&self, currency: Currency) -> Option<Arc<dyn PaymentProvider>> {
        if self.currencies.contains(&currency) {
            return Some(self.provider.clone());
        }
        self.provider_for.as_ref().and_then(|f| f(currency))
    }
}

impl fmt::Debug for Harness {
    // The secrets are never printed, not even here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("provider", &self.provider.id())
            .field("bank", &self.bank.name())
            .field("secrets", &self.secrets.len())
            .field("currencies", &self.currencies)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
