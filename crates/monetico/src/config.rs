//! The merchant's configuration: one serde schema read from TOML or from the `TPE_MONETICO_*`
//! environment, the key as a [`SecretString`], checked once in
//! [`Monetico::new`](crate::Monetico::new) so that a bad value is a startup error naming the
//! setting.

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::env::{self, EnvVar};
use tpe_core::instalments::{self, InstalmentLimits, InstalmentSettings};
use tpe_core::{Currency, ProviderError};
use url::Url;

use crate::Monetico;

/// Monetico's host (spec C.1): the test page is `test/paiement.cgi` below it, the production
/// page `paiement.cgi`.
pub const MONETICO_BASE_URL: &str = "https://p.monetico-services.com/";

/// Which of the bank's two pages the redirect posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Environment {
    /// `test/paiement.cgi`: test payments, answered `payetest`.
    #[default]
    Test,
    /// `paiement.cgi`: real payments, answered `paiement`.
    Production,
}

/// Which MAC string the TPE expects (spec C.4): Monetico decides it per TPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MacFormat {
    /// Every field but `MAC`, sorted by name, `name=value` joined by `*` (3-D Secure v2 era).
    #[default]
    Sorted,
    /// The values alone in the kit 4.0 fixed order ([`crate::legacy`]); does not cover
    /// `contexte_commande`.
    Legacy,
}

/// What Monetico gives a merchant: the TPE number, the société code and the 40-character
/// security key; where the page is; optional return URLs and language.
///
/// ```
/// let cfg = tpe_monetico::MoneticoConfig::from_toml_str(r#"
///     tpe = "1234567"
///     societe = "monsite"
///     key = "0123456789ABCDEF0123456789ABCDEF01234567"
///     environment = "production"
/// "#)?;
/// let m = tpe_monetico::Monetico::new(cfg.clone())?;
/// assert_eq!(m.page_url().as_str(), "https://p.monetico-services.com/paiement.cgi");
/// assert!(!format!("{cfg:?} {m:?}").contains("0123456789ABCDEF"));
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MoneticoConfig {
    /// `TPE`: the terminal number, 7 characters `[A-Za-z0-9]`.
    pub tpe: String,
    /// `societe`: the site code Monetico gives, 1 to 64 characters `[A-Za-z0-9._-]`.
    pub societe: String,
    /// The security key: 40 characters, hexadecimal except for the last two of legacy keys
    /// (spec C.4 step 1).
    pub key: SecretString,
    /// Test or production page.
    #[serde(default)]
    pub environment: Environment,
    /// The host the pages are under (the mock bank, a legacy CM-CIC host).
    #[serde(default = "default_base_url")]
    pub base_url: Url,
    /// `url_retour_ok`; the request's accepted URL when unset.
    #[serde(default)]
    pub url_retour_ok: Option<Url>,
    /// `url_retour_err`; the request's refused URL when unset.
    #[serde(default)]
    pub url_retour_err: Option<Url>,
    /// `lgue` for every payment (`FR`, `EN`, `DE`, `IT`, `ES`, `NL`, `PT`, `SV`, `JA`); the
    /// request's language when unset.
    #[serde(default)]
    pub language: Option<String>,
    /// The contract's only currency (`EUR` by default).
    #[serde(default = "Currency::euro")]
    pub currency: Currency,
    /// The MAC string the TPE expects (`sorted` by default, or `legacy`).
    #[serde(default)]
    pub mac_format: MacFormat,
    /// Payment in instalments (`nbrech`, at most [`MAX_INSTALMENTS`]): the smallest
    /// instalment and the longest delay the contract allows, unpublished (spec C.3).
    #[serde(default)]
    pub instalments: InstalmentSettings,
}

/// The most instalments Monetico takes (`nbrech` 2 to 4, spec C.3).
pub const MAX_INSTALMENTS: u8 = 4;

/// The languages of the page (spec C.3).
pub const LANGUAGES: [&str; 9] = ["FR", "EN", "DE", "IT", "ES", "NL", "PT", "SV", "JA"];

/// The environment variables, `TPE_MONETICO_` + these names; each is the TOML key in lower case.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar::text("TPE", "tpe"),
    EnvVar::text("SOCIETE", "societe"),
    EnvVar::text("KEY", "key"),
    EnvVar::text("ENVIRONMENT", "environment"),
    EnvVar::text("BASE_URL", "base_url"),
    EnvVar::text("URL_RETOUR_OK", "url_retour_ok"),
    EnvVar::text("URL_RETOUR_ERR", "url_retour_err"),
    EnvVar::text("LANGUAGE", "language"),
    EnvVar::text("CURRENCY", "currency"),
    EnvVar::text("MAC_FORMAT", "mac_format"),
    instalments::ENV_VARS[0],
    instalments::ENV_VARS[1],
];

/// The prefix of the environment variables.
const ENV_PREFIX: &str = "TPE_MONETICO_";

impl MoneticoConfig {
    /// A configuration for the test page of Monetico, in euros.
    pub fn new(tpe: impl Into<String>, societe: impl Into<String>, key: SecretString) -> Self {
        Self {
            tpe: tpe.into(),
            societe: societe.into(),
            key,
            environment: Environment::Test,
            base_url: default_base_url(),
            url_retour_ok: None,
            url_retour_err: None,
            language: None,
            currency: Currency::EUR,
            mac_format: MacFormat::Sorted,
            instalments: InstalmentSettings::default(),
        }
    }

    tpe_core::config_sources!(Monetico::ID, "TPE_MONETICO_");

    /// Reads `TPE_MONETICO_*` variables ([`ENV_VARS`]) through `get`, through the TOML
    /// schema; an empty variable counts as unset.
    ///
    /// ```
    /// let cfg = tpe_monetico::MoneticoConfig::from_lookup(|name| match name {
    ///     "TPE_MONETICO_TPE" => Some("1234567".into()),
    ///     "TPE_MONETICO_SOCIETE" => Some("monsite".into()),
    ///     "TPE_MONETICO_KEY" => Some("0123456789ABCDEF0123456789ABCDEF01234567".into()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(cfg.tpe, "1234567");
    /// let missing = tpe_monetico::MoneticoConfig::from_lookup(|_| None).unwrap_err();
    /// assert!(missing.to_string().contains("TPE_MONETICO_TPE"));
    /// # Ok::<(), tpe_core::ProviderError>(())
    /// ```
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the missing or invalid variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let err = |reason: String| ProviderError::config(&Monetico::ID, reason);
        env::require(ENV_PREFIX, &["TPE", "SOCIETE", "KEY"], &get).map_err(err)?;
        let table = env::env_table(ENV_PREFIX, ENV_VARS, get).map_err(err)?;
        env::deserialize(ENV_PREFIX, ENV_VARS, table).map_err(err)
    }

    /// With another host (the mock bank): the page is `<base>test/paiement.cgi` or
    /// `<base>paiement.cgi`.
    #[must_use]
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = base_url;
        self
    }

    /// With the production page.
    #[must_use]
    pub fn in_production(mut self) -> Self {
        self.environment = Environment::Production;
        self
    }

    /// The checked merchant (the key is decoded apart, by [`crate::sign::MacKey`]).
    pub(crate) fn merchant(&self) -> Result<Merchant, ProviderError> {
        let bad = |reason: &'static str| ProviderError::config(&Monetico::ID, reason);
        let t = &self.tpe;
        if t.len() != 7 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("tpe must be 7 characters [A-Za-z0-9]"));
        }
        let s = &self.societe;
        if !(1..=64).contains(&s.len())
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(bad("societe must be 1 to 64 characters [A-Za-z0-9._-]"));
        }
        if let Some(l) = &self.language
            && !LANGUAGES.contains(&l.as_str())
        {
            return Err(bad(
                "language must be one of FR, EN, DE, IT, ES, NL, PT, SV, JA",
            ));
        }
        if self.currency.exponent() > 2 {
            return Err(bad("currency must have at most 2 decimals (montant)"));
        }
        let base = &self.base_url;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("base_url must be an http(s) URL"));
        }
        for (name, url) in [
            ("url_retour_ok", &self.url_retour_ok),
            ("url_retour_err", &self.url_retour_err),
        ] {
            if url.as_ref().is_some_and(|u| u.as_str().len() > 2048) {
                return Err(ProviderError::config(
                    &Monetico::ID,
                    format!("{name} must be at most 2048 bytes"),
                ));
            }
        }
        let path = match self.environment {
            Environment::Test => "test/paiement.cgi",
            Environment::Production => "paiement.cgi",
        };
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let page = base
            .join(path)
            .map_err(|_| bad("base_url cannot take the page path"))?;
        Ok(Merchant {
            tpe: t.clone(),
            societe: s.clone(),
            page,
            url_retour_ok: self.url_retour_ok.clone(),
            url_retour_err: self.url_retour_err.clone(),
            language: self.language.clone(),
            currency: self.currency,
            mac_format: self.mac_format,
            instalments: self.instalments.limits(MAX_INSTALMENTS),
        })
    }
}

/// The checked configuration, without the key: what the form and the notification need.
#[derive(Debug, Clone)]
pub(crate) struct Merchant {
    pub(crate) tpe: String,
    pub(crate) societe: String,
    pub(crate) page: Url,
    pub(crate) url_retour_ok: Option<Url>,
    pub(crate) url_retour_err: Option<Url>,
    pub(crate) language: Option<String>,
    pub(crate) currency: Currency,
    pub(crate) mac_format: MacFormat,
    pub(crate) instalments: InstalmentLimits,
}

#[allow(clippy::expect_used)] // a constant URL
fn default_base_url() -> Url {
    Url::parse(MONETICO_BASE_URL).expect("Monetico's base URL is valid")
}
