//! The shop's configuration: one serde schema read from TOML (`LyraConfig::from_toml_str`,
//! feature `toml`) or from `TPE_LYRA_*` variables ([`LyraConfig::from_env`]), secrets as [`SecretString`],
//! checked once in [`Lyra::new`](crate::Lyra::new) so that a bad key or id is a startup error
//! naming the setting.

mod env;

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::instalments::{InstalmentLimits, InstalmentSettings};
use tpe_core::{Currency, ProviderError};
use url::Url;

use crate::Lyra;
use crate::sign::{Algorithm, KeyRing, RestKey, ShopKey};

/// The four brands of the Lyra platform (spec B.1): the same protocol on other hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Brand {
    /// Systempay (Banque Populaire, Caisse d'Épargne).
    #[default]
    Systempay,
    /// PayZen.
    Payzen,
    /// Scellius (La Banque Postale).
    Scellius,
    /// Sogecommerce (Société Générale).
    Sogecommerce,
}

impl Brand {
    /// The platform's base URL: the form posts to `vads-payment/` under it (spec B.1).
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Systempay => "https://paiement.systempay.fr/",
            Self::Payzen => "https://secure.payzen.eu/",
            Self::Scellius => "https://scelliuspaiement.labanquepostale.fr/",
            Self::Sogecommerce => "https://sogecommerce.societegenerale.eu/",
        }
    }

    /// The REST API's base URL (`api-payment/V4/…` under it). PayZen's is sourced (spec B.11);
    /// the others follow the brands' published host names.
    pub fn api_url(self) -> &'static str {
        match self {
            Self::Systempay => "https://api.systempay.fr/",
            Self::Payzen => "https://api.payzen.eu/",
            Self::Scellius => "https://api.scelliuspaiement.labanquepostale.fr/",
            Self::Sogecommerce => "https://api-sogecommerce.societegenerale.eu/",
        }
    }
}

/// `vads_ctx_mode`: which key signs, TEST or PRODUCTION (spec B.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum CtxMode {
    /// The TEST key; real cards are refused.
    #[default]
    #[serde(alias = "test")]
    Test,
    /// The PRODUCTION key.
    #[serde(alias = "production")]
    Production,
}

impl CtxMode {
    /// The value of `vads_ctx_mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "TEST",
            Self::Production => "PRODUCTION",
        }
    }
}

/// `vads_return_mode`: how the browser return carries the result (display only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum ReturnMode {
    /// No field on the return.
    None,
    /// The fields in the query string.
    #[default]
    Get,
    /// The fields in a POSTed form.
    Post,
}

impl ReturnMode {
    /// The value of `vads_return_mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// The REST API credentials (Back Office > Settings > Shop > REST API keys): not the form keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RestConfig {
    /// The Basic-auth user: the shop id when unset.
    #[serde(default)]
    pub user: Option<String>,
    /// The password of the active mode: Basic auth, and the key of IPN `kr-hash`.
    pub password: SecretString,
    /// The HMAC-SHA-256 key: the key of browser-return `kr-hash`.
    #[serde(default)]
    pub hmac_key: Option<SecretString>,
    /// Timeout of one API call, in seconds (default 15, at most 120).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    15
}

impl RestConfig {
    /// The REST API with the shop id as user and this password.
    pub fn new(password: SecretString) -> Self {
        Self {
            user: None,
            password,
            hmac_key: None,
            timeout_secs: default_timeout(),
        }
    }
}

/// What the back office gives a shop, and how to use it.
///
/// ```
/// let cfg = tpe_lyra::LyraConfig::from_toml_str(r#"
///     brand = "scellius"
///     site_id = "12345678"
///     test_key = "1122334455667788"
/// "#)?;
/// assert_eq!(cfg.site_id, "12345678");
/// assert!(!format!("{cfg:?}").contains("1122334455667788"));
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LyraConfig {
    /// The brand, for its host names.
    #[serde(default)]
    pub brand: Brand,
    /// Another platform (the mock bank, a white-label host): the form posts to
    /// `<base_url>vads-payment/` and the REST API is under `<base_url>api-payment/`.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// `vads_site_id`: 8 digits.
    pub site_id: String,
    /// TEST or PRODUCTION.
    #[serde(default)]
    pub ctx_mode: CtxMode,
    /// The TEST key (required in TEST mode).
    #[serde(default)]
    pub test_key: Option<SecretString>,
    /// The PRODUCTION key (required in PRODUCTION mode).
    #[serde(default)]
    pub production_key: Option<SecretString>,
    /// Former keys of the active mode, still accepted on notifications during a rotation.
    #[serde(default)]
    pub previous_keys: Vec<SecretString>,
    /// The back office's signature algorithm.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// `vads_language` when set (2 lower-case letters); else the request's language.
    #[serde(default)]
    pub language: Option<String>,
    /// `vads_return_mode`.
    #[serde(default)]
    pub return_mode: ReturnMode,
    /// `vads_url_return` when set (else the request's pending URL).
    #[serde(default)]
    pub return_url: Option<Url>,
    /// `vads_url_check` when set (else the request's notification URL).
    #[serde(default)]
    pub ipn_url: Option<Url>,
    /// The contract's currency (`EUR` by default; others need the multi-currency option).
    #[serde(default = "Currency::euro")]
    pub currency: Currency,
    /// Manual validation (`vads_validation_mode=1`): payments stay `AUTHORISED_TO_VALIDATE`
    /// until captured (`Transaction/Validate`) or cancelled; default the shop's setting.
    #[serde(default)]
    pub manual_validation: bool,
    /// `vads_*` names the platform sends beyond [`crate::fields::KNOWN`], and `kr-*` names
    /// beyond [`crate::notify::REST_FIELDS`] (a field it added since): the IPN is refused,
    /// naming the field, until it is listed here.
    #[serde(default)]
    pub extra_fields: Vec<String>,
    /// Payment in instalments (`vads_payment_config=MULTI_EXT`): how many (the shop's
    /// contract, [`DEFAULT_MAX_INSTALMENTS`] by default, at most [`MAX_INSTALMENTS`]), the
    /// smallest instalment
    /// and the longest delay.
    #[serde(default)]
    pub instalments: InstalmentSettings,
    /// The REST API, for status queries, refunds and REST notifications.
    #[serde(default)]
    pub rest: Option<RestConfig>,
}

impl LyraConfig {
    /// A TEST configuration of `brand` with the shop id and its TEST key.
    pub fn test(brand: Brand, site_id: impl Into<String>, test_key: SecretString) -> Self {
        Self {
            brand,
            base_url: None,
            site_id: site_id.into(),
            ctx_mode: CtxMode::Test,
            test_key: Some(test_key),
            production_key: None,
            previous_keys: Vec::new(),
            algorithm: Algorithm::HmacSha256,
            language: None,
            return_mode: ReturnMode::Get,
            return_url: None,
            ipn_url: None,
            currency: Currency::EUR,
            manual_validation: false,
            instalments: InstalmentSettings::default(),
            extra_fields: Vec::new(),
            rest: None,
        }
    }

    /// With another platform base URL (the mock bank, a test platform).
    #[must_use]
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }

    tpe_core::config_sources!(Lyra::ID, "TPE_LYRA_");

    /// Reads the `TPE_LYRA_*` variables (see the README for the list) through `get`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the variable that is missing or wrong.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        env::from_lookup(get)
    }

    /// Checks everything and builds what the provider keeps.
    pub(crate) fn check(&self) -> Result<Checked, ProviderError> {
        let bad =
            |setting: &str, why: &str| ProviderError::config(&Lyra::ID, format!("{setting} {why}"));
        if self.site_id.len() != 8 || !self.site_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("site_id", "must be 8 digits"));
        }
        let (setting, key) = match self.ctx_mode {
            CtxMode::Test => ("test_key", &self.test_key),
            CtxMode::Production => ("production_key", &self.production_key),
        };
        let key = key.as_ref().ok_or_else(|| {
            bad(
                setting,
                &format!("is required when ctx_mode is {}", self.ctx_mode.as_str()),
            )
        })?;
        let config_err = |e: crate::sign::BadKey| ProviderError::config(&Lyra::ID, e.to_string());
        let signing = ShopKey::new(key, self.algorithm, setting).map_err(config_err)?;
        let previous = self
            .previous_keys
            .iter()
            .map(|k| ShopKey::new(k, self.algorithm, "previous_keys"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(config_err)?;
        if let Some(lang) = &self.language
            && (lang.len() != 2 || !lang.bytes().all(|b| b.is_ascii_lowercase()))
        {
            return Err(bad("language", "must be 2 lower-case letters (fr, en…)"));
        }
        if let Some(bad_name) = self.extra_fields.iter().find(|n| {
            let vads = n.starts_with(crate::sign::PREFIX)
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let rest =
                n.starts_with("kr-") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            n.len() > 64 || !(vads || rest)
        }) {
            return Err(bad(
                "extra_fields",
                &format!("{bad_name:?} is not a vads_ or kr- field name"),
            ));
        }
        let base = match &self.base_url {
            Some(url) => {
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(bad("base_url", "must be an http(s) URL with a host"));
                }
                let mut url = url.clone();
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                Some(url)
            }
            None => None,
        };
        let parse = |text: &str| Url::parse(text).map_err(|_| bad("base_url", "is not a URL"));
        let page = match &base {
            Some(b) => b.join("vads-payment/"),
            None => Url::parse(self.brand.base_url()).and_then(|u| u.join("vads-payment/")),
        }
        .map_err(|_| bad("base_url", "cannot hold vads-payment/"))?;
        let api = match &base {
            Some(b) => b.clone(),
            None => parse(self.brand.api_url())?,
        };
        let rest = match &self.rest {
            None => None,
            Some(r) => {
                let user = r.user.clone().unwrap_or_else(|| self.site_id.clone());
                if user.is_empty()
                    || user.len() > 64
                    || !user.bytes().all(|b| b.is_ascii_graphic())
                    || user.contains(':')
                {
                    return Err(bad(
                        "rest.user",
                        "must be 1 to 64 printable characters without ':'",
                    ));
                }
                if !(1..=120).contains(&r.timeout_secs) {
                    return Err(bad("rest.timeout_secs", "must be 1 to 120"));
                }
                Some(Rest {
                    api,
                    user,
                    password: r.password.clone(),
                    ipn_key: RestKey::new(&r.password, "rest.password").map_err(config_err)?,
                    return_key: r
                        .hmac_key
                        .as_ref()
                        .map(|k| RestKey::new(k, "rest.hmac_key"))
                        .transpose()
                        .map_err(config_err)?,
                    timeout: Duration::from_secs(r.timeout_secs),
                })
            }
        };
        Ok(Checked {
            shop: Shop {
                site_id: self.site_id.clone(),
                ctx_mode: self.ctx_mode,
                page,
                currency: self.currency,
                language: self.language.clone(),
                return_mode: self.return_mode,
                return_url: self.return_url.clone(),
                ipn_url: self.ipn_url.clone(),
                extra_fields: self.extra_fields.clone(),
                manual_validation: self.manual_validation,
                instalments: self
                    .instalments
                    .limits(if self.instalments.max_count.is_some() {
                        MAX_INSTALMENTS
                    } else {
                        DEFAULT_MAX_INSTALMENTS
                    }),
            },
            keys: KeyRing::new(signing, previous),
            rest,
        })
    }
}

/// The checked configuration.
pub(crate) struct Checked {
    pub(crate) shop: Shop,
    pub(crate) keys: KeyRing,
    pub(crate) rest: Option<Rest>,
}

/// The checked shop settings, without keys: what the form and the notification need.
#[derive(Debug, Clone)]
pub(crate) struct Shop {
    pub(crate) site_id: String,
    pub(crate) ctx_mode: CtxMode,
    pub(crate) page: Url,
    pub(crate) currency: Currency,
    pub(crate) language: Option<String>,
    pub(crate) return_mode: ReturnMode,
    pub(crate) return_url: Option<Url>,
    pub(crate) ipn_url: Option<Url>,
    pub(crate) extra_fields: Vec<String>,
    pub(crate) manual_validation: bool,
    pub(crate) instalments: InstalmentLimits,
}

/// How many instalments a shop takes unless its configuration says otherwise: Lyra offers
/// payment in 2, 3 or 4 instalments by card.
pub const DEFAULT_MAX_INSTALMENTS: u8 = 4;

/// The most instalments a shop's configuration may set (and a notification may name): the
/// most of any schedule.
pub const MAX_INSTALMENTS: u8 = 12;

/// The checked REST settings.
#[derive(Clone)]
pub(crate) struct Rest {
    pub(crate) api: Url,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) ipn_key: RestKey,
    pub(crate) return_key: Option<RestKey>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("api", &self.api.as_str())
            .field("user", &self.user)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
