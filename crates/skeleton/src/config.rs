//! The merchant's configuration: serde (TOML), the secret as a [`SecretString`], checked once in
//! [`Skeleton::new`](crate::Skeleton::new) so that a bad value is a startup error.

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::{Currency, ProviderError};
use url::Url;

use crate::Skeleton;

/// The bank's production payment page.
pub const PRODUCTION_PAGE: &str = "https://pay.skeleton-bank.invalid/v1/page";

/// What the bank gives a merchant: an id, an HMAC key, and the page URL (another one for the
/// mock bank or a test platform).
///
/// ```
/// let cfg = tpe_skeleton::SkeletonConfig::from_toml_str(r#"
///     merchant = "1234567"
///     hmac_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/// "#)?;
/// assert_eq!(cfg.merchant, "1234567");
/// assert!(!format!("{cfg:?}").contains("0a0b"));
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SkeletonConfig {
    /// The merchant id: 1 to 10 digits.
    pub merchant: String,
    /// The HMAC-SHA256 key, 32 to 64 bytes written in hexadecimal.
    pub hmac_key: SecretString,
    /// The payment page the redirect posts to.
    #[serde(default = "production_page")]
    pub page_url: Url,
    /// The contract's only currency (`EUR` by default).
    #[serde(default = "Currency::euro")]
    pub currency: Currency,
}

impl SkeletonConfig {
    /// A configuration for the production page, in euros.
    pub fn new(merchant: impl Into<String>, hmac_key: SecretString) -> Self {
        Self {
            merchant: merchant.into(),
            hmac_key,
            page_url: production_page(),
            currency: Currency::EUR,
        }
    }

    tpe_core::config_sources!(Skeleton::ID);

    /// With another payment page (the mock bank, a test platform).
    #[must_use]
    pub fn with_page_url(mut self, page_url: Url) -> Self {
        self.page_url = page_url;
        self
    }

    /// The checked merchant (the key is decoded apart, by [`crate::sign::SigningKey`]).
    pub(crate) fn merchant(&self) -> Result<Merchant, ProviderError> {
        let m = &self.merchant;
        if !(1..=10).contains(&m.len()) || !m.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProviderError::config(
                &Skeleton::ID,
                "merchant must be 1 to 10 digits",
            ));
        }
        Ok(Merchant {
            id: m.clone(),
            page: self.page_url.clone(),
            currency: self.currency,
        })
    }
}

/// The checked configuration, without the key: what the form and the notification need.
#[derive(Debug, Clone)]
pub(crate) struct Merchant {
    /// The merchant id.
    pub(crate) id: String,
    /// The payment page.
    pub(crate) page: Url,
    /// The contract's currency.
    pub(crate) currency: Currency,
}

#[allow(clippy::expect_used)] // a constant URL
fn production_page() -> Url {
    Url::parse(PRODUCTION_PAGE).expect("the production page URL is valid")
}
