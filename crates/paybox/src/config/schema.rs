//! The configuration's one schema: [`PayboxConfig`] as serde reads it, from TOML or from the
//! `TPE_PAYBOX_*` environment (see `env.rs`), with its defaults.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::Currency;
use tpe_core::instalments::InstalmentSettings;

use super::{
    Authentication, Capture, HashAlgorithm, IpnMethod, PageLanguage, PageSource, Platform,
    PublicKeySource, RetourSpec,
};

/// Everything the provider needs.
///
/// `Debug` is derived: the only secret, [`PayboxConfig::hmac_key`], is a secrecy type that
/// prints `[REDACTED]`.
///
/// ```
/// let cfg = tpe_paybox::PayboxConfig::from_toml_str(r#"
///     site = "1999888"
///     rang = "32"
///     identifiant = "107904482"
///     hmac_key = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
///     platform = { kind = "paybox", environment = "pre-production" }
///     ipn_method = "POST"
/// "#)?;
/// let paybox = tpe_paybox::Paybox::new(cfg)?;
/// assert_eq!(paybox.endpoints().page.host_str(), Some("preprod-tpeweb.paybox.com"));
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PayboxConfig {
    /// `PBX_SITE`: 7 digits.
    pub site: String,
    /// `PBX_RANG`: 2 or 3 digits, sent exactly as the bank issued it.
    pub rang: String,
    /// `PBX_IDENTIFIANT`: 1 to 9 digits.
    pub identifiant: String,
    /// The back-office HMAC secret: 128 hexadecimal characters (either case).
    pub hmac_key: SecretString,
    /// `PBX_HASH`.
    #[serde(default)]
    pub hash: HashAlgorithm,
    /// Hosts of the hosted page and of Paybox Direct.
    #[serde(default)]
    pub platform: Platform,
    /// Path of the hosted page on the page hosts of a preset platform.
    #[serde(default = "default_page_path")]
    pub page_path: String,
    /// The bank's RSA public keys; a notification verifying with any of them is accepted
    /// (several during a key change). Default: the key Paybox publishes, embedded.
    #[serde(default = "default_public_keys")]
    pub public_keys: Vec<PublicKeySource>,
    /// `PBX_RETOUR`: the variables the bank returns, signature last.
    #[serde(default)]
    pub retour: RetourSpec,
    /// How the bank calls the notification URL (`PBX_RUF1`).
    #[serde(default)]
    pub ipn_method: IpnMethod,
    /// `PBX_SOUHAITAUTHENT`: 3-D Secure challenge preference.
    #[serde(default)]
    pub authentication: Authentication,
    /// Ask for no challenge (`PBX_SOUHAITAUTHENT=02`) up to this amount in minor units;
    /// above it, [`PayboxConfig::authentication`] applies.
    #[serde(default)]
    pub low_value_exemption_max: Option<u64>,
    /// `PBX_LANGUE`; default: from the request's language.
    #[serde(default)]
    pub language: Option<PageLanguage>,
    /// `PBX_SOURCE`; default: not sent (the platform's default page).
    #[serde(default)]
    pub source: Option<PageSource>,
    /// Capture mode (`PBX_AUTOSEULE`, `PBX_DIFF`).
    #[serde(default)]
    pub capture: Capture,
    /// The only currency of this contract; notifications (which carry no currency) are read
    /// in it and requests in another currency are refused.
    #[serde(default = "default_currency")]
    pub currency: Currency,
    /// Paybox Direct settings.
    #[serde(default)]
    pub direct: DirectSettings,
    /// Payment in instalments (`PBX_2MONT1..3`, at most [`MAX_INSTALMENTS`]): the smallest
    /// instalment and the longest delay the contract allows, unpublished.
    #[serde(default)]
    pub instalments: InstalmentSettings,
}

/// The most instalments Paybox takes: `PBX_TOTAL` and `PBX_2MONT1..3` (spec §2).
pub const MAX_INSTALMENTS: u8 = 4;

fn default_page_path() -> String {
    Platform::DEFAULT_PAGE_PATH.to_owned()
}

fn default_public_keys() -> Vec<PublicKeySource> {
    vec![PublicKeySource::Embedded]
}

fn default_currency() -> Currency {
    Currency::EUR
}

impl PayboxConfig {
    /// A configuration with every option at its default.
    pub fn new(
        site: impl Into<String>,
        rang: impl Into<String>,
        identifiant: impl Into<String>,
        hmac_key: SecretString,
    ) -> Self {
        Self {
            site: site.into(),
            rang: rang.into(),
            identifiant: identifiant.into(),
            hmac_key,
            hash: HashAlgorithm::default(),
            platform: Platform::default(),
            page_path: default_page_path(),
            public_keys: default_public_keys(),
            retour: RetourSpec::default(),
            ipn_method: IpnMethod::default(),
            authentication: Authentication::default(),
            low_value_exemption_max: None,
            language: None,
            source: None,
            capture: Capture::default(),
            currency: default_currency(),
            direct: DirectSettings::default(),
            instalments: InstalmentSettings::default(),
        }
    }

    /// Sets the platform.
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// Sets the bank's public keys.
    #[must_use]
    pub fn with_public_keys(mut self, keys: Vec<PublicKeySource>) -> Self {
        self.public_keys = keys;
        self
    }

    /// Sets the notification method.
    #[must_use]
    pub fn with_ipn_method(mut self, method: IpnMethod) -> Self {
        self.ipn_method = method;
        self
    }

    /// Sets the `PBX_RETOUR` variables.
    #[must_use]
    pub fn with_retour(mut self, retour: RetourSpec) -> Self {
        self.retour = retour;
        self
    }
}

/// Paybox Direct settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DirectSettings {
    /// `RANG` for Paybox Direct; default: the hosted-page rang zero-padded to 3 digits (the
    /// width the platform wants is not documented consistently: set it if yours differs).
    #[serde(default)]
    pub rang: Option<String>,
    /// Whole-request timeout, seconds (1..=120).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// `load.html` probe timeout, seconds (1..=30).
    #[serde(default = "default_probe_timeout")]
    pub probe_timeout_secs: u64,
}

fn default_timeout() -> u64 {
    30
}

fn default_probe_timeout() -> u64 {
    3
}

impl Default for DirectSettings {
    fn default() -> Self {
        Self {
            rang: None,
            timeout_secs: default_timeout(),
            probe_timeout_secs: default_probe_timeout(),
        }
    }
}

impl DirectSettings {
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub(crate) fn probe_timeout(&self) -> Duration {
        Duration::from_secs(self.probe_timeout_secs)
    }
}
