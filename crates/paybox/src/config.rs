//! Configuration of the Paybox provider: merchant identifiers, the HMAC secret, the platform's
//! hosts, the bank's public keys and the hosted-page options (spec §1, §2, §4.2, §6, §7).
//!
//! Loadable from `TPE_PAYBOX_*` environment variables ([`PayboxConfig::from_env`]) or TOML
//! ([`PayboxConfig::from_toml_str`]). Every value is checked when the provider is built
//! ([`crate::Paybox::new`]): a bad key or identifier is a startup error.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::{Currency, ProviderError};
use url::Url;

use crate::error::Error;

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
}

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

    /// Parses TOML (the `[paybox]` table's content).
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the line; the message never quotes the secret.
    pub fn from_toml_str(text: &str) -> Result<Self, ProviderError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let mut reason = format!("toml: {}", e.message());
            if let Some(line) = line {
                reason.push_str(&format!(" (line {line})"));
            }
            Error::config(reason).into()
        })
    }

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when unreadable or invalid.
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<Self, ProviderError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {}: {}", path.display(), e.kind())))?;
        Self::from_toml_str(&text)
    }

    /// Reads the `TPE_PAYBOX_*` environment variables (see [`PayboxConfig::from_lookup`]).
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the variable.
    pub fn from_env() -> Result<Self, ProviderError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds a configuration from `TPE_PAYBOX_*` variables looked up with `get`.
    ///
    /// Required: `SITE`, `RANG`, `IDENTIFIANT`, `HMAC_KEY`. Optional: `HASH`, `PLATFORM`
    /// (`paybox`, `paybox-preprod`, `e-transactions`, `e-transactions-preprod` or a base URL),
    /// `PAGE_URL`, `DIRECT_URL`, `BACKUP_PAGE_URL`, `BACKUP_DIRECT_URL` (explicit hosts),
    /// `PAGE_PATH`, `PUBLIC_KEYS` (comma-separated `embedded` / `file:PATH`), `RETOUR`,
    /// `IPN_METHOD`, `AUTHENTICATION`, `LOW_VALUE_EXEMPTION_MAX`, `LANGUAGE`, `SOURCE`,
    /// `CAPTURE` (`immediate`, `manual`, `deferred:N`), `CURRENCY`, `DIRECT_RANG`,
    /// `DIRECT_TIMEOUT_SECS`, `PROBE_TIMEOUT_SECS`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let key = "AB".repeat(64);
    /// let vars: HashMap<&str, &str> = [
    ///     ("TPE_PAYBOX_SITE", "1999888"), ("TPE_PAYBOX_RANG", "32"),
    ///     ("TPE_PAYBOX_IDENTIFIANT", "107904482"), ("TPE_PAYBOX_HMAC_KEY", key.as_str()),
    ///     ("TPE_PAYBOX_PLATFORM", "http://127.0.0.1:8080"), ("TPE_PAYBOX_CAPTURE", "deferred:3"),
    /// ].into_iter().collect();
    /// let cfg = tpe_paybox::PayboxConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string()))?;
    /// assert_eq!(cfg.capture, tpe_paybox::config::Capture::Deferred { days: 3 });
    /// # Ok::<(), tpe_core::ProviderError>(())
    /// ```
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the missing or invalid variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let var = |name: &str| get(&format!("TPE_PAYBOX_{name}")).filter(|v| !v.is_empty());
        let required = |name: &'static str| {
            var(name).ok_or_else(|| Error::config(format!("TPE_PAYBOX_{name} is not set")))
        };
        fn parsed<T: FromStr>(name: &str, value: Option<String>) -> Result<Option<T>, Error>
        where
            T::Err: fmt::Display,
        {
            value
                .map(|v| {
                    v.parse::<T>()
                        .map_err(|e| Error::config(format!("TPE_PAYBOX_{name}: {e}")))
                })
                .transpose()
        }
        let mut cfg = Self::new(
            required("SITE")?,
            required("RANG")?,
            required("IDENTIFIANT")?,
            SecretString::from(required("HMAC_KEY")?),
        );
        if let Some(v) = parsed("HASH", var("HASH"))? {
            cfg.hash = v;
        }
        if let Some(v) = parsed::<Platform>("PLATFORM", var("PLATFORM"))? {
            cfg.platform = v;
        }
        let url = |name: &'static str| parsed::<Url>(name, var(name));
        let (page, direct) = (url("PAGE_URL")?, url("DIRECT_URL")?);
        let (backup_page, backup_direct) = (url("BACKUP_PAGE_URL")?, url("BACKUP_DIRECT_URL")?);
        if page.is_some() || direct.is_some() {
            let (Some(page_url), Some(direct_url)) = (page, direct) else {
                return Err(Error::config(
                    "TPE_PAYBOX_PAGE_URL and TPE_PAYBOX_DIRECT_URL go together",
                )
                .into());
            };
            cfg.platform = Platform::Custom {
                page_url,
                direct_url,
                backup_page_url: backup_page,
                backup_direct_url: backup_direct,
            };
        } else if backup_page.is_some() || backup_direct.is_some() {
            return Err(Error::config(
                "TPE_PAYBOX_BACKUP_* need TPE_PAYBOX_PAGE_URL and TPE_PAYBOX_DIRECT_URL",
            )
            .into());
        }
        if let Some(v) = var("PAGE_PATH") {
            cfg.page_path = v;
        }
        if let Some(v) = var("PUBLIC_KEYS") {
            cfg.public_keys = v
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|e| Error::config(format!("TPE_PAYBOX_PUBLIC_KEYS: {e}")))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = parsed("RETOUR", var("RETOUR"))? {
            cfg.retour = v;
        }
        if let Some(v) = parsed("IPN_METHOD", var("IPN_METHOD"))? {
            cfg.ipn_method = v;
        }
        if let Some(v) = parsed("AUTHENTICATION", var("AUTHENTICATION"))? {
            cfg.authentication = v;
        }
        cfg.low_value_exemption_max =
            parsed("LOW_VALUE_EXEMPTION_MAX", var("LOW_VALUE_EXEMPTION_MAX"))?;
        cfg.language = parsed("LANGUAGE", var("LANGUAGE"))?;
        cfg.source = parsed("SOURCE", var("SOURCE"))?;
        if let Some(v) = parsed("CAPTURE", var("CAPTURE"))? {
            cfg.capture = v;
        }
        if let Some(v) = var("CURRENCY") {
            cfg.currency = Currency::from_alpha(&v)
                .map_err(|e| Error::config(format!("TPE_PAYBOX_CURRENCY: {e}")))?;
        }
        cfg.direct.rang = var("DIRECT_RANG");
        if let Some(v) = parsed("DIRECT_TIMEOUT_SECS", var("DIRECT_TIMEOUT_SECS"))? {
            cfg.direct.timeout_secs = v;
        }
        if let Some(v) = parsed("PROBE_TIMEOUT_SECS", var("PROBE_TIMEOUT_SECS"))? {
            cfg.direct.probe_timeout_secs = v;
        }
        Ok(cfg)
    }

    /// Looks variables up in a map (tests, or a configuration store).
    ///
    /// # Errors
    /// As [`PayboxConfig::from_lookup`].
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ProviderError> {
        Self::from_lookup(|k| vars.get(k).cloned())
    }
}

/// The hash named by `PBX_HASH` and used for `PBX_HMAC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `SHA512` (recommended by the bank).
    #[default]
    Sha512,
    /// `SHA384`.
    Sha384,
    /// `SHA256`.
    Sha256,
    /// `SHA224`.
    Sha224,
}

impl HashAlgorithm {
    /// The `PBX_HASH` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha512 => "SHA512",
            Self::Sha384 => "SHA384",
            Self::Sha256 => "SHA256",
            Self::Sha224 => "SHA224",
        }
    }
}

/// A value that is not one of the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {value:?} is not one of {expected}")]
pub struct ParseConfigError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl ParseConfigError {
    fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            what,
            value: value.chars().take(40).collect(),
            expected,
        }
    }
}

macro_rules! try_from_string {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = ParseConfigError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    )*};
}

try_from_string!(
    HashAlgorithm,
    Environment,
    Platform,
    PublicKeySource,
    RetourSpec,
    IpnMethod,
    Authentication,
    PageLanguage,
    PageSource,
    Capture
);

impl FromStr for HashAlgorithm {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().replace('-', "").as_str() {
            "SHA512" => Ok(Self::Sha512),
            "SHA384" => Ok(Self::Sha384),
            "SHA256" => Ok(Self::Sha256),
            "SHA224" => Ok(Self::Sha224),
            _ => Err(ParseConfigError::new(
                "hash",
                s,
                "SHA512, SHA384, SHA256, SHA224",
            )),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Production or pre-production hosts of a preset platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Environment {
    /// Production: primary and backup hosts.
    #[default]
    Production,
    /// Pre-production (test) host; it has no backup.
    PreProduction,
}

impl FromStr for Environment {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Self::Production),
            "pre-production" | "preproduction" | "preprod" | "test" | "recette" => {
                Ok(Self::PreProduction)
            }
            _ => Err(ParseConfigError::new(
                "environment",
                s,
                "production, pre-production",
            )),
        }
    }
}

/// Where the hosted page and Paybox Direct live (spec §1.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // built once at startup; boxing the URLs buys nothing
pub enum Platform {
    /// `*.paybox.com` (Paybox / Verifone).
    Paybox {
        /// Production or pre-production.
        #[serde(default)]
        environment: Environment,
    },
    /// `*.e-transactions.fr` (Crédit Agricole e-Transactions / Up2Pay e-Transactions).
    ETransactions {
        /// Production or pre-production (`recette-tpeweb`, the current official host).
        #[serde(default)]
        environment: Environment,
    },
    /// Explicit URLs, e.g. the mock bank.
    Custom {
        /// Hosted page URL (form action).
        page_url: Url,
        /// Paybox Direct URL (`…/PPPS.php`).
        direct_url: Url,
        /// Backup hosted page URL.
        #[serde(default)]
        backup_page_url: Option<Url>,
        /// Backup Paybox Direct URL.
        #[serde(default)]
        backup_direct_url: Option<Url>,
    },
}

impl Default for Platform {
    fn default() -> Self {
        Self::Paybox {
            environment: Environment::Production,
        }
    }
}

/// The resolved URLs of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// Hosted page (form action).
    pub page: Url,
    /// Backup hosted page.
    pub page_backup: Option<Url>,
    /// Paybox Direct.
    pub direct: Url,
    /// Backup Paybox Direct.
    pub direct_backup: Option<Url>,
}

impl Platform {
    /// The classic hosted page path.
    pub const DEFAULT_PAGE_PATH: &'static str = "/cgi/MYchoix_pagepaiement.cgi";

    /// A platform serving the page at `base` + [`Platform::DEFAULT_PAGE_PATH`] and Paybox
    /// Direct at `base` + `/PPPS.php` (the mock bank's layout).
    ///
    /// # Errors
    /// When `base` cannot be a base URL.
    pub fn at_base_url(base: &Url) -> Result<Self, url::ParseError> {
        Ok(Self::Custom {
            page_url: base.join(Self::DEFAULT_PAGE_PATH)?,
            direct_url: base.join("/PPPS.php")?,
            backup_page_url: None,
            backup_direct_url: None,
        })
    }

    /// The URLs, with `page_path` used for preset platforms.
    ///
    /// # Errors
    /// When `page_path` does not make a valid URL.
    pub fn endpoints(&self, page_path: &str) -> Result<Endpoints, url::ParseError> {
        let preset = |primary: &str, backup: Option<&str>, direct: &str, dbackup: Option<&str>| {
            let page = |host: &str| Url::parse(&format!("https://{host}"))?.join(page_path);
            let ppps = |host: &str| Url::parse(&format!("https://{host}/PPPS.php"));
            Ok(Endpoints {
                page: page(primary)?,
                page_backup: backup.map(page).transpose()?,
                direct: ppps(direct)?,
                direct_backup: dbackup.map(ppps).transpose()?,
            })
        };
        match self {
            Self::Paybox {
                environment: Environment::Production,
            } => preset(
                "tpeweb.paybox.com",
                Some("tpeweb1.paybox.com"),
                "ppps.paybox.com",
                Some("ppps1.paybox.com"),
            ),
            Self::Paybox {
                environment: Environment::PreProduction,
            } => preset(
                "preprod-tpeweb.paybox.com",
                None,
                "preprod-ppps.paybox.com",
                None,
            ),
            Self::ETransactions {
                environment: Environment::Production,
            } => preset(
                "tpeweb.e-transactions.fr",
                Some("tpeweb1.e-transactions.fr"),
                "ppps.e-transactions.fr",
                Some("ppps1.e-transactions.fr"),
            ),
            Self::ETransactions {
                environment: Environment::PreProduction,
            } => preset(
                "recette-tpeweb.e-transactions.fr",
                None,
                "preprod-ppps.e-transactions.fr",
                None,
            ),
            Self::Custom {
                page_url,
                direct_url,
                backup_page_url,
                backup_direct_url,
            } => Ok(Endpoints {
                page: page_url.clone(),
                page_backup: backup_page_url.clone(),
                direct: direct_url.clone(),
                direct_backup: backup_direct_url.clone(),
            }),
        }
    }
}

impl FromStr for Platform {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let env = |e| Ok(e);
        match t.to_ascii_lowercase().as_str() {
            "paybox" | "paybox-production" => env(Self::Paybox {
                environment: Environment::Production,
            }),
            "paybox-preprod" | "paybox-pre-production" | "paybox-preproduction" => {
                env(Self::Paybox {
                    environment: Environment::PreProduction,
                })
            }
            "e-transactions" | "etransactions" | "e-transactions-production" | "up2pay" => {
                env(Self::ETransactions {
                    environment: Environment::Production,
                })
            }
            "e-transactions-preprod"
            | "e-transactions-pre-production"
            | "e-transactions-preproduction"
            | "e-transactions-recette" => env(Self::ETransactions {
                environment: Environment::PreProduction,
            }),
            _ => Url::parse(t)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .and_then(|u| Self::at_base_url(&u).ok())
                .ok_or_else(|| {
                    ParseConfigError::new(
                        "platform",
                        s,
                        "paybox, paybox-preprod, e-transactions, e-transactions-preprod or an http(s) base URL",
                    )
                }),
        }
    }
}

/// Where a public key of the bank comes from.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PublicKeySource {
    /// The key Paybox publishes (spec §4.4), embedded in this crate.
    Embedded,
    /// A PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`) or DER file, read at build.
    File(PathBuf),
    /// PEM text.
    Pem(String),
}

impl fmt::Debug for PublicKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("Embedded"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Pem(p) => write!(f, "Pem({} bytes)", p.len()),
        }
    }
}

impl FromStr for PublicKeySource {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("embedded") || t.eq_ignore_ascii_case("paybox") {
            Ok(Self::Embedded)
        } else if t.starts_with("-----BEGIN") {
            Ok(Self::Pem(t.to_owned()))
        } else if let Some(path) = t.strip_prefix("file:") {
            Ok(Self::File(PathBuf::from(path)))
        } else {
            Err(ParseConfigError::new(
                "public key",
                s,
                "embedded, file:PATH or PEM text",
            ))
        }
    }
}

/// A return variable letter of `PBX_RETOUR` (spec §4.2).
pub const RETOUR_LETTERS: &str = "ABCDEFGHIJKMNOPQRSTUVWYZovjc";

/// The `PBX_RETOUR` list: `name:Letter` pairs, the signature `K` last.
///
/// Default: `M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;K:K` — what the
/// notification mapping reads (amount, reference, call and transaction numbers, authorization,
/// code, masked card, issuer country, 3-D Secure status, guarantee and version), nothing more.
/// `M`, `R`, `T`, `S`, `E` and `K` are required.
///
/// ```
/// let r: tpe_paybox::config::RetourSpec = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K".parse()?;
/// assert_eq!(r.signature_name(), "Sign");
/// assert_eq!(r.name_of('M'), Some("Mt"));
/// assert!("M:M;K:K;R:R;T:T;S:S;E:E".parse::<tpe_paybox::config::RetourSpec>().is_err());
/// # Ok::<(), tpe_paybox::config::ParseConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RetourSpec {
    pairs: Vec<(String, char)>,
    wire: String,
}

impl RetourSpec {
    /// The default variable set.
    pub const DEFAULT: &'static str = "M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;K:K";
    const REQUIRED: &'static str = "MRTSEK";

    /// The `PBX_RETOUR` value.
    pub fn as_str(&self) -> &str {
        &self.wire
    }

    /// The `(name, letter)` pairs in order.
    pub fn pairs(&self) -> &[(String, char)] {
        &self.pairs
    }

    /// The name given to the signature.
    pub fn signature_name(&self) -> &str {
        // Invariant from parsing: non-empty, the last pair is `K`.
        self.pairs.last().map_or("K", |(n, _)| n.as_str())
    }

    /// The name given to `letter`.
    pub fn name_of(&self, letter: char) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, l)| *l == letter)
            .map(|(n, _)| n.as_str())
    }

    /// The letter returned under `name`.
    pub fn letter_of(&self, name: &str) -> Option<char> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, l)| *l)
    }
}

impl Default for RetourSpec {
    fn default() -> Self {
        // The constant is covered by a test; parsing it cannot fail.
        Self::DEFAULT.parse().unwrap_or_else(|_| Self {
            pairs: Vec::new(),
            wire: String::new(),
        })
    }
}

impl FromStr for RetourSpec {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |expected| ParseConfigError::new("retour", s, expected);
        let mut pairs: Vec<(String, char)> = Vec::new();
        for item in s.trim().trim_end_matches(';').split(';') {
            let (name, letter) = item
                .split_once(':')
                .ok_or_else(|| err("name:Letter pairs separated by ;"))?;
            let mut chars = letter.chars();
            let (Some(letter), None) = (chars.next(), chars.next()) else {
                return Err(err("one letter after each name"));
            };
            if !RETOUR_LETTERS.contains(letter) {
                return Err(err("letters of the bank's list (spec §4.2)"));
            }
            if name.is_empty()
                || name.len() > 32
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(err("names of 1 to 32 characters of [A-Za-z0-9_-]"));
            }
            if pairs.iter().any(|(n, l)| n == name || *l == letter) {
                return Err(err("each name and each letter once"));
            }
            pairs.push((name.to_owned(), letter));
        }
        if pairs.last().map(|(_, l)| *l) != Some('K') {
            return Err(err("a list whose last letter is the signature K"));
        }
        if Self::REQUIRED
            .chars()
            .any(|r| !pairs.iter().any(|(_, l)| *l == r))
        {
            return Err(err("a list with at least M, R, T, S, E and K"));
        }
        let wire = pairs
            .iter()
            .map(|(n, l)| format!("{n}:{l}"))
            .collect::<Vec<_>>()
            .join(";");
        Ok(Self { pairs, wire })
    }
}

/// How the bank calls the notification URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum IpnMethod {
    /// GET with the variables in the query string (platform default; `PBX_RUF1` not sent).
    #[default]
    Get,
    /// POST with the variables in the form body (`PBX_RUF1=POST`).
    Post,
}

impl FromStr for IpnMethod {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "POST" => Ok(Self::Post),
            _ => Err(ParseConfigError::new("ipn method", s, "GET, POST")),
        }
    }
}

/// 3-D Secure challenge preference (`PBX_SOUHAITAUTHENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Authentication {
    /// Not sent.
    Omit,
    /// `01`: no preference.
    #[default]
    NoPreference,
    /// `02`: no challenge requested (exemption).
    NoChallenge,
    /// `04`: challenge requested.
    Challenge,
}

impl Authentication {
    /// The wire value, if sent.
    pub fn wire(self) -> Option<&'static str> {
        match self {
            Self::Omit => None,
            Self::NoPreference => Some("01"),
            Self::NoChallenge => Some("02"),
            Self::Challenge => Some("04"),
        }
    }
}

impl FromStr for Authentication {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "omit" | "none" => Ok(Self::Omit),
            "01" | "no-preference" => Ok(Self::NoPreference),
            "02" | "no-challenge" => Ok(Self::NoChallenge),
            "04" | "challenge" => Ok(Self::Challenge),
            _ => Err(ParseConfigError::new(
                "authentication",
                s,
                "omit, no-preference (01), no-challenge (02), challenge (04)",
            )),
        }
    }
}

/// Page language (`PBX_LANGUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PageLanguage {
    /// `FRA`.
    French,
    /// `GBR`.
    English,
    /// `ESP`.
    Spanish,
    /// `ITA`.
    Italian,
    /// `DEU`.
    German,
    /// `NLD`.
    Dutch,
    /// `SWE`.
    Swedish,
    /// `PRT`.
    Portuguese,
}

impl PageLanguage {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Self::French => "FRA",
            Self::English => "GBR",
            Self::Spanish => "ESP",
            Self::Italian => "ITA",
            Self::German => "DEU",
            Self::Dutch => "NLD",
            Self::Swedish => "SWE",
            Self::Portuguese => "PRT",
        }
    }
}

impl FromStr for PageLanguage {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FRA" | "FR" => Ok(Self::French),
            "GBR" | "EN" => Ok(Self::English),
            "ESP" | "ES" => Ok(Self::Spanish),
            "ITA" | "IT" => Ok(Self::Italian),
            "DEU" | "DE" => Ok(Self::German),
            "NLD" | "NL" => Ok(Self::Dutch),
            "SWE" | "SV" => Ok(Self::Swedish),
            "PRT" | "PT" => Ok(Self::Portuguese),
            _ => Err(ParseConfigError::new(
                "language",
                s,
                "FRA, GBR, ESP, ITA, DEU, NLD, SWE, PRT",
            )),
        }
    }
}

/// Page rendering (`PBX_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PageSource {
    /// `RWD`: responsive.
    Responsive,
    /// `XHTML`: mobile.
    Mobile,
    /// `HTML`: classic.
    Html,
}

impl PageSource {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Responsive => "RWD",
            Self::Mobile => "XHTML",
            Self::Html => "HTML",
        }
    }
}

impl FromStr for PageSource {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "RWD" | "RESPONSIVE" => Ok(Self::Responsive),
            "XHTML" | "MOBILE" => Ok(Self::Mobile),
            "HTML" => Ok(Self::Html),
            _ => Err(ParseConfigError::new("source", s, "RWD, XHTML, HTML")),
        }
    }
}

/// When the payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Capture {
    /// At once (nothing sent).
    #[default]
    Immediate,
    /// Automatically after `days` days (`PBX_DIFF`, 1 to 99; official modules use 1 to 7).
    Deferred {
        /// Days before capture.
        days: u8,
    },
    /// Authorization only (`PBX_AUTOSEULE=O`): capture later with
    /// [`Paybox::capture`](crate::Paybox::capture).
    Manual,
}

impl FromStr for Capture {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "immediate" => Ok(Self::Immediate),
            "manual" | "authorization-only" => Ok(Self::Manual),
            _ => t
                .strip_prefix("deferred:")
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|d| (1..=99).contains(d))
                .map(|days| Self::Deferred { days })
                .ok_or_else(|| {
                    ParseConfigError::new("capture", s, "immediate, manual, deferred:N (N = 1..99)")
                }),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_retour_parses_and_ends_with_k() {
        let r = RetourSpec::default();
        assert_eq!(r.as_str(), RetourSpec::DEFAULT);
        assert_eq!(r.signature_name(), "K");
        assert_eq!(r.letter_of("v"), Some('v'));
    }

    #[test]
    fn retour_rules() {
        for bad in [
            "",
            "M:M;R:R;T:T;S:S;E:E",       // no K
            "K:K;M:M;R:R;T:T;S:S;E:E",   // K not last
            "M:M;R:R;T:T;S:S;K:K",       // no E
            "M:M;M:R;T:T;S:S;E:E;K:K",   // duplicate name
            "M:M;R:X;T:T;S:S;E:E;K:K",   // unknown letter
            "M:MM;R:R;T:T;S:S;E:E;K:K",  // two letters
            "M=M;R:R;T:T;S:S;E:E;K:K",   // bad syntax
            "a b:M;R:R;T:T;S:S;E:E;K:K", // bad name
        ] {
            assert!(bad.parse::<RetourSpec>().is_err(), "{bad}");
        }
        let r: RetourSpec = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K;"
            .parse()
            .unwrap();
        assert_eq!(r.as_str(), "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K");
    }

    #[test]
    fn enums_parse_their_spellings() {
        assert_eq!(
            "sha256".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha256
        );
        assert_eq!(
            "SHA-384".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha384
        );
        assert!("MD5".parse::<HashAlgorithm>().is_err());
        assert_eq!("post".parse::<IpnMethod>().unwrap(), IpnMethod::Post);
        assert_eq!(
            "04".parse::<Authentication>().unwrap(),
            Authentication::Challenge
        );
        assert_eq!(
            "deferred:7".parse::<Capture>().unwrap(),
            Capture::Deferred { days: 7 }
        );
        assert!("deferred:0".parse::<Capture>().is_err());
        assert!("deferred:100".parse::<Capture>().is_err());
        assert_eq!("rwd".parse::<PageSource>().unwrap().wire(), "RWD");
        assert_eq!("en".parse::<PageLanguage>().unwrap().wire(), "GBR");
    }

    #[test]
    fn platform_presets_resolve() {
        let e = |p: &str| {
            p.parse::<Platform>()
                .unwrap()
                .endpoints(Platform::DEFAULT_PAGE_PATH)
                .unwrap()
        };
        let p = e("paybox");
        assert_eq!(
            p.page.as_str(),
            "https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi"
        );
        assert_eq!(
            p.page_backup.unwrap().host_str(),
            Some("tpeweb1.paybox.com")
        );
        assert_eq!(p.direct.as_str(), "https://ppps.paybox.com/PPPS.php");
        assert_eq!(
            p.direct_backup.unwrap().host_str(),
            Some("ppps1.paybox.com")
        );
        let p = e("e-transactions-preprod");
        assert_eq!(p.page.host_str(), Some("recette-tpeweb.e-transactions.fr"));
        assert_eq!(p.direct.host_str(), Some("preprod-ppps.e-transactions.fr"));
        assert!(p.page_backup.is_none() && p.direct_backup.is_none());
        let p = e("http://127.0.0.1:9000/");
        assert_eq!(p.direct.as_str(), "http://127.0.0.1:9000/PPPS.php");
        assert!("ftp://x".parse::<Platform>().is_err());
    }

    #[test]
    fn toml_loads_every_option() {
        let cfg = PayboxConfig::from_toml_str(&format!(
            r#"
            site = "1999888"
            rang = "43"
            identifiant = "107975626"
            hmac_key = "{}"
            hash = "SHA384"
            public_keys = ["embedded", "file:/tmp/k.pem"]
            retour = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K"
            ipn_method = "POST"
            authentication = "challenge"
            low_value_exemption_max = 3000
            language = "GBR"
            source = "RWD"
            capture = "manual"
            currency = "EUR"
            [platform]
            kind = "custom"
            page_url = "http://127.0.0.1:1/php/"
            direct_url = "http://127.0.0.1:1/PPPS.php"
            backup_direct_url = "http://127.0.0.1:2/PPPS.php"
            [direct]
            rang = "43"
            timeout_secs = 5
            "#,
            "0A".repeat(64)
        ))
        .unwrap();
        assert_eq!(cfg.hash, HashAlgorithm::Sha384);
        assert_eq!(cfg.public_keys.len(), 2);
        assert_eq!(cfg.ipn_method, IpnMethod::Post);
        assert_eq!(cfg.capture, Capture::Manual);
        assert_eq!(cfg.source, Some(PageSource::Responsive));
        assert_eq!(cfg.direct.timeout_secs, 5);
        assert_eq!(cfg.direct.probe_timeout_secs, 3);
        let ep = cfg.platform.endpoints(&cfg.page_path).unwrap();
        assert_eq!(ep.direct_backup.unwrap().port(), Some(2));
    }

    #[test]
    fn toml_errors_name_the_line_without_the_secret() {
        let secret = "0A".repeat(64);
        let err = PayboxConfig::from_toml_str(&format!(
            "site = \"1\"\nrang = \"1\"\nidentifiant = \"1\"\nhmac_key = \"{secret}\"\nhash = \"MD5\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 5"), "{err}");
        assert!(!err.contains(&secret));
    }

    #[test]
    fn env_requires_the_identifiers() {
        let vars: HashMap<String, String> = [("TPE_PAYBOX_SITE", "1999888")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let err = PayboxConfig::from_map(&vars).unwrap_err().to_string();
        assert!(err.contains("TPE_PAYBOX_RANG"), "{err}");
    }

    #[test]
    fn env_reads_explicit_urls() {
        let key = "ab".repeat(64);
        let vars: HashMap<String, String> = [
            ("TPE_PAYBOX_SITE", "1999888"),
            ("TPE_PAYBOX_RANG", "32"),
            ("TPE_PAYBOX_IDENTIFIANT", "2"),
            ("TPE_PAYBOX_HMAC_KEY", key.as_str()),
            ("TPE_PAYBOX_PAGE_URL", "http://127.0.0.1:1/php/"),
            ("TPE_PAYBOX_DIRECT_URL", "http://127.0.0.1:1/PPPS.php"),
            ("TPE_PAYBOX_PUBLIC_KEYS", "embedded, file:/a.pem"),
            ("TPE_PAYBOX_IPN_METHOD", "POST"),
            ("TPE_PAYBOX_HASH", "SHA256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let cfg = PayboxConfig::from_map(&vars).unwrap();
        assert!(matches!(cfg.platform, Platform::Custom { .. }));
        assert_eq!(
            cfg.public_keys,
            vec![
                PublicKeySource::Embedded,
                PublicKeySource::File("/a.pem".into())
            ]
        );
        assert_eq!(cfg.hash, HashAlgorithm::Sha256);
        assert!(!format!("{cfg:?}").contains(&key));
    }
}
