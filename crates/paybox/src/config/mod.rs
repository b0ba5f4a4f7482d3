//! Configuration of the Paybox provider: merchant identifiers, the HMAC secret, the platform's
//! hosts, the bank's public keys and the hosted-page options (spec §1, §2, §4.2, §6, §7).
//!
//! One serde schema ([`PayboxConfig`], `schema.rs`) is read from TOML
//! (`PayboxConfig::from_toml_str`, feature `toml`) or from `TPE_PAYBOX_*` environment variables
//! ([`PayboxConfig::from_env`]), which `env.rs` places at their keys first. Every value is
//! checked when the provider is built ([`crate::Paybox::new`]): a bad key or identifier is a
//! startup error.

use std::collections::HashMap;

use tpe_core::ProviderError;

/// `FromStr` and `Deserialize` for a unit enum whose spellings are its serde names and aliases
/// (derived with `#[serde(remote = "Self")]`), read in any case: `$case` folds the trimmed text
/// first. `$expected` lists the spellings in errors.
macro_rules! spelled_in_any_case {
    ($t:ty, $what:literal, $case:ident, $expected:literal) => {
        impl std::str::FromStr for $t {
            type Err = $crate::config::ParseConfigError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let folded = s.trim().$case();
                let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&folded);
                // The derived reading, an inherent function under `remote = "Self"`.
                <$t>::deserialize(de)
                    .map_err(|_| $crate::config::ParseConfigError::new($what, s, $expected))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod env;
mod keys;
mod options;
mod platform;
mod retour;
mod schema;

pub use self::keys::{HashAlgorithm, PublicKeySource};
pub use self::options::{Authentication, Capture, IpnMethod, PageLanguage, PageSource};
pub use self::platform::{Endpoints, Environment, Platform};
pub use self::retour::{RETOUR_LETTERS, RetourSpec};
pub use self::schema::{DirectSettings, MAX_INSTALMENTS, PayboxConfig};

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

/// `TryFrom<String>` through `FromStr`, for `#[serde(try_from = "String")]`.
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

try_from_string!(PublicKeySource, RetourSpec, Capture);

impl PayboxConfig {
    tpe_core::config_sources!(crate::Paybox::ID, "TPE_PAYBOX_");

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when unreadable or invalid.
    #[cfg(feature = "toml")]
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<Self, ProviderError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::error::Error::config(format!("cannot read {}: {}", path.display(), e.kind()))
        })?;
        Self::from_toml_str(&text)
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
        Ok(env::from_lookup(get)?)
    }

    /// Looks variables up in a map (tests, or a configuration store).
    ///
    /// # Errors
    /// As [`PayboxConfig::from_lookup`].
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ProviderError> {
        Self::from_lookup(|k| vars.get(k).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn toml_errors_do_not_quote_a_key_of_the_wrong_type() {
        // Found by fuzzing: serde's message quoted the value (`invalid type: integer `…``).
        let digits = "9".repeat(20);
        for key in [
            digits.clone(),
            format!("[{digits}]"),
            format!("{{ a = {digits} }}"),
        ] {
            let err = PayboxConfig::from_toml_str(&format!(
                "site = \"1\"\nrang = \"1\"\nidentifiant = \"1\"\nhmac_key = {key}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains("line 4") && err.contains("hmac_key"), "{err}");
            assert!(!err.contains(&digits), "{err}");
        }
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

    fn env(extra: &[(&str, &str)]) -> Result<PayboxConfig, String> {
        let key = "ab".repeat(64);
        let base = [
            ("TPE_PAYBOX_SITE", "1999888"),
            ("TPE_PAYBOX_RANG", "32"),
            ("TPE_PAYBOX_IDENTIFIANT", "2"),
            ("TPE_PAYBOX_HMAC_KEY", key.as_str()),
        ];
        let vars: HashMap<String, String> = base
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        PayboxConfig::from_map(&vars).map_err(|e| e.to_string())
    }

    #[test]
    fn env_values_go_through_the_schema_and_errors_name_the_variable() {
        let cfg = env(&[
            ("TPE_PAYBOX_PLATFORM", "e-transactions-preprod"),
            ("TPE_PAYBOX_DIRECT_TIMEOUT_SECS", "7"),
            ("TPE_PAYBOX_PROBE_TIMEOUT_SECS", "2"),
            ("TPE_PAYBOX_DIRECT_RANG", "043"),
            ("TPE_PAYBOX_LOW_VALUE_EXEMPTION_MAX", "3000"),
            ("TPE_PAYBOX_CURRENCY", "eur"),
            ("TPE_PAYBOX_CAPTURE", "deferred:3"),
            ("TPE_PAYBOX_LANGUAGE", ""),
        ])
        .unwrap();
        assert_eq!(
            cfg.platform,
            Platform::ETransactions {
                environment: Environment::PreProduction
            }
        );
        assert_eq!(
            cfg.direct,
            DirectSettings {
                rang: Some("043".to_owned()),
                timeout_secs: 7,
                probe_timeout_secs: 2,
            }
        );
        assert_eq!(cfg.low_value_exemption_max, Some(3000));
        assert_eq!(cfg.capture, Capture::Deferred { days: 3 });
        assert_eq!(cfg.language, None);
        for (var, value) in [
            ("TPE_PAYBOX_HASH", "MD5"),
            ("TPE_PAYBOX_PLATFORM", "ftp://x"),
            ("TPE_PAYBOX_PUBLIC_KEYS", "embedded,nope"),
            ("TPE_PAYBOX_DIRECT_TIMEOUT_SECS", "soon"),
            ("TPE_PAYBOX_CURRENCY", "XYZ"),
            ("TPE_PAYBOX_PAGE_URL", "http://127.0.0.1:1/"),
        ] {
            let err = env(&[(var, value)]).unwrap_err();
            assert!(err.contains(var), "{var}: {err}");
        }
        let err = env(&[("TPE_PAYBOX_BACKUP_PAGE_URL", "http://127.0.0.1:1/")]).unwrap_err();
        assert!(err.contains("TPE_PAYBOX_BACKUP_*"), "{err}");
    }

    #[test]
    fn toml_platform_may_be_a_preset_name() {
        let key = "0A".repeat(64);
        let cfg = PayboxConfig::from_toml_str(&format!(
            "site = \"1999888\"\nrang = \"32\"\nidentifiant = \"1\"\nhmac_key = \"{key}\"\nplatform = \"paybox-preprod\"\n"
        ))
        .unwrap();
        assert_eq!(
            cfg.platform,
            Platform::Paybox {
                environment: Environment::PreProduction
            }
        );
    }
}
