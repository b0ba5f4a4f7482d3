//! Configuration (spec §G.1, §G.3, §G.9): merchant id (PSPID), API key, webhook keys,
//! environment or base URL, timeouts, authorization mode. One serde schema read from TOML or
//! from the environment (`TPE_WORLDLINE_*`); [`Worldline::new`](crate::Worldline::new) checks
//! it and refuses a bad configuration at startup, naming the setting, never its value.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tpe_core::ProviderError;
use tpe_core::api::{default_connect_timeout as connect, default_request_timeout as request};
use tpe_core::env::{self, EnvKind, EnvVar, Table, Value, millis};
use url::Url;

use crate::error::config_error;

pub use tpe_core::api::{ApiTimeouts, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};

/// Worldline Direct test platform ("pre-production": no financial impact).
pub const DIRECT_PREPROD: &str = "https://payment.preprod.direct.worldline-solutions.com";
/// Worldline Direct production.
pub const DIRECT_PRODUCTION: &str = "https://payment.direct.worldline-solutions.com";
/// CAWL (Crédit Agricole) test platform.
pub const CAWL_PREPROD: &str = "https://payment.preprod.cawl-solutions.fr";
/// CAWL production.
pub const CAWL_PRODUCTION: &str = "https://payment.cawl-solutions.fr";
/// Prefix of every environment variable.
pub const ENV_PREFIX: &str = "TPE_WORLDLINE_";

/// Which platform: the base URL unless `base_url` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Environment {
    /// Worldline Direct test platform (the default).
    #[default]
    Preprod,
    /// Worldline Direct production.
    Production,
    /// CAWL test platform.
    CawlPreprod,
    /// CAWL production.
    CawlProduction,
}

impl Environment {
    /// The platform's API base URL.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Preprod => DIRECT_PREPROD,
            Self::Production => DIRECT_PRODUCTION,
            Self::CawlPreprod => CAWL_PREPROD,
            Self::CawlProduction => CAWL_PRODUCTION,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "preprod" | "pre-production" | "test" => Self::Preprod,
            "production" | "prod" => Self::Production,
            "cawl-preprod" | "cawl-test" => Self::CawlPreprod,
            "cawl-production" | "cawl-prod" => Self::CawlProduction,
            _ => return None,
        })
    }
}

/// `cardPaymentMethodSpecificInput.authorizationMode`, always sent (the account default is
/// unknown, spec §G.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum AuthorizationMode {
    /// Captured at approval (the default).
    #[default]
    Sale,
    /// Authorised, to capture in full within 7 days.
    FinalAuthorization,
    /// Authorised, to capture up to the amount within 30 days.
    PreAuthorization,
}

impl AuthorizationMode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "SALE",
            Self::FinalAuthorization => "FINAL_AUTHORIZATION",
            Self::PreAuthorization => "PRE_AUTHORIZATION",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "SALE" => Self::Sale,
            "FINAL_AUTHORIZATION" => Self::FinalAuthorization,
            "PRE_AUTHORIZATION" => Self::PreAuthorization,
            _ => return None,
        })
    }
}

impl TryFrom<String> for Environment {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
            .ok_or("environment must be preprod, production, cawl-preprod or cawl-production")
    }
}

impl TryFrom<String> for AuthorizationMode {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
            .ok_or("authorization_mode must be SALE, FINAL_AUTHORIZATION or PRE_AUTHORIZATION")
    }
}

/// A webhook key: its id (sent in `X-GCS-KeyId`) and its secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookKey {
    /// The key id.
    pub key_id: String,
    /// The secret (used as UTF-8 text).
    pub secret: SecretString,
}

impl WebhookKey {
    /// A key.
    pub fn new(key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key_id: key_id.into(),
            secret: SecretString::from(secret.into()),
        }
    }
}

/// The provider's settings. TOML keys are the field names; `webhook_keys` is an array of
/// `{ key_id, secret }` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WorldlineConfig {
    /// The PSPID, `{merchantId}` in every API path.
    pub merchant_id: String,
    /// The API key id.
    pub api_key_id: String,
    /// The API secret.
    pub api_secret: SecretString,
    /// Webhook keys; several while one is rotated.
    pub webhook_keys: Vec<WebhookKey>,
    /// The platform (default: Worldline Direct pre-production).
    #[serde(default)]
    pub environment: Environment,
    /// Any API base URL, instead of the environment's (the mock bank's, for instance).
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Connect timeout.
    #[serde(default = "connect", with = "millis", rename = "connect_timeout_ms")]
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    #[serde(default = "request", with = "millis", rename = "request_timeout_ms")]
    pub request_timeout: Duration,
    /// Authorization mode of card payments.
    #[serde(default)]
    pub authorization_mode: AuthorizationMode,
}

impl ApiTimeouts for WorldlineConfig {
    fn timeouts_mut(&mut self) -> (&mut Duration, &mut Duration) {
        (&mut self.connect_timeout, &mut self.request_timeout)
    }
}

impl WorldlineConfig {
    /// A configuration with the defaults for everything but the keys.
    ///
    /// ```
    /// use tpe_worldline::{WebhookKey, WorldlineConfig};
    /// let c = WorldlineConfig::new("PSPID1", "key-id", "secret", [WebhookKey::new("wh", "whsecret")]);
    /// assert_eq!(c.api_base().unwrap().as_str(), "https://payment.preprod.direct.worldline-solutions.com/");
    /// ```
    pub fn new(
        merchant_id: impl Into<String>,
        api_key_id: impl Into<String>,
        api_secret: impl Into<String>,
        webhook_keys: impl IntoIterator<Item = WebhookKey>,
    ) -> Self {
        Self {
            merchant_id: merchant_id.into(),
            api_key_id: api_key_id.into(),
            api_secret: SecretString::from(api_secret.into()),
            webhook_keys: webhook_keys.into_iter().collect(),
            environment: Environment::default(),
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            authorization_mode: AuthorizationMode::default(),
        }
    }

    /// With another platform.
    #[must_use]
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// With any base URL (the mock bank's, for instance).
    #[must_use]
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.base_url = Some(base);
        self
    }

    /// With another authorization mode.
    #[must_use]
    pub fn with_authorization_mode(mut self, mode: AuthorizationMode) -> Self {
        self.authorization_mode = mode;
        self
    }

    /// The API base URL: `base_url`, else the environment's.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when the environment's constant does not parse (never).
    pub fn api_base(&self) -> Result<Url, ProviderError> {
        match &self.base_url {
            Some(u) => Ok(u.clone()),
            None => Url::parse(self.environment.base_url())
                .map_err(|_| config_error("environment has no usable base URL")),
        }
    }

    tpe_core::config_sources!(crate::Worldline::ID, "TPE_WORLDLINE_");

    /// Reads the settings from the variables `get` finds, through the TOML schema:
    /// `TPE_WORLDLINE_MERCHANT_ID`, `_API_KEY_ID`, `_API_SECRET`, `_WEBHOOK_KEY_IDS` and
    /// `_WEBHOOK_SECRETS` (comma-separated, paired in order), `_ENVIRONMENT` (`preprod`,
    /// `production`, `cawl-preprod`, `cawl-production`), `_BASE_URL`, `_CONNECT_TIMEOUT_MS`,
    /// `_REQUEST_TIMEOUT_MS`, `_AUTHORIZATION_MODE`. An empty variable counts as unset.
    ///
    /// ```
    /// use tpe_worldline::WorldlineConfig;
    /// let c = WorldlineConfig::from_lookup(|name| {
    ///     let v = match name.strip_prefix("TPE_WORLDLINE_")? {
    ///         "MERCHANT_ID" => "PSP1", "API_KEY_ID" => "k", "API_SECRET" => "s",
    ///         "WEBHOOK_KEY_IDS" => "a,b", "WEBHOOK_SECRETS" => "x,y", _ => return None,
    ///     };
    ///     Some(v.to_owned())
    /// })?;
    /// assert_eq!(c.webhook_keys.len(), 2);
    /// # Ok::<(), tpe_core::ProviderError>(())
    /// ```
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the variable that is missing or unreadable, never its
    /// value.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let mut table = env::env_table(ENV_PREFIX, ENV_VARS, get).map_err(config_error)?;
        pair_webhook_keys(&mut table)?;
        env::deserialize(ENV_PREFIX, ENV_VARS, table).map_err(config_error)
    }
}

/// The environment variables, `TPE_WORLDLINE_` + the name, with their TOML keys; the webhook
/// key ids and secrets are two lists, paired by [`pair_webhook_keys`].
const ENV_VARS: &[EnvVar] = &[
    EnvVar::text("MERCHANT_ID", "merchant_id"),
    EnvVar::text("API_KEY_ID", "api_key_id"),
    EnvVar::text("API_SECRET", "api_secret"),
    EnvVar::new("WEBHOOK_KEY_IDS", "webhook_key_ids", EnvKind::List),
    EnvVar::new("WEBHOOK_KEY_ID", "webhook_key_ids", EnvKind::List),
    EnvVar::new("WEBHOOK_SECRETS", "webhook_secrets", EnvKind::List),
    EnvVar::new("WEBHOOK_SECRET", "webhook_secrets", EnvKind::List),
    EnvVar::text("ENVIRONMENT", "environment"),
    EnvVar::text("BASE_URL", "base_url"),
    EnvVar::new("CONNECT_TIMEOUT_MS", "connect_timeout_ms", EnvKind::Integer),
    EnvVar::new("REQUEST_TIMEOUT_MS", "request_timeout_ms", EnvKind::Integer),
    EnvVar::text("AUTHORIZATION_MODE", "authorization_mode"),
];

/// Replaces the lists `webhook_key_ids` and `webhook_secrets` by the `webhook_keys` tables of
/// the schema, paired in order.
fn pair_webhook_keys(table: &mut Table) -> Result<(), ProviderError> {
    let mut list = |key: &str, name: &str| match table.remove(key) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(config_error(format!("{ENV_PREFIX}{name} is not set"))),
    };
    let ids = list("webhook_key_ids", "WEBHOOK_KEY_IDS")?;
    let secrets = list("webhook_secrets", "WEBHOOK_SECRETS")?;
    if ids.len() != secrets.len() {
        return Err(config_error(format!(
            "{ENV_PREFIX}WEBHOOK_KEY_IDS and {ENV_PREFIX}WEBHOOK_SECRETS must have as many items ({} and {} given)",
            ids.len(),
            secrets.len()
        )));
    }
    let keys = ids
        .into_iter()
        .zip(secrets)
        .map(|(key_id, secret)| {
            Value::Object(Table::from_iter([
                ("key_id".to_owned(), key_id),
                ("secret".to_owned(), secret),
            ]))
        })
        .collect();
    table.insert("webhook_keys".to_owned(), Value::Array(keys));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = list
            .iter()
            .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environments_have_their_hosts() {
        let c = WorldlineConfig::new("M", "k", "s", []);
        assert_eq!(c.api_base().unwrap().as_str(), format!("{DIRECT_PREPROD}/"));
        for (e, host) in [
            (
                Environment::Production,
                "payment.direct.worldline-solutions.com",
            ),
            (
                Environment::CawlPreprod,
                "payment.preprod.cawl-solutions.fr",
            ),
            (Environment::CawlProduction, "payment.cawl-solutions.fr"),
        ] {
            let c = WorldlineConfig::new("M", "k", "s", []).with_environment(e);
            assert_eq!(c.api_base().unwrap().host_str(), Some(host));
        }
        let c = WorldlineConfig::new("M", "k", "s", [])
            .with_base_url(Url::parse("http://127.0.0.1:9/").unwrap());
        assert_eq!(c.api_base().unwrap().as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn from_lookup_reads_every_setting() {
        let c = WorldlineConfig::from_lookup(vars(&[
            ("MERCHANT_ID", "PSP1"),
            ("API_KEY_ID", "KEY"),
            ("API_SECRET", "S3CRET"),
            ("WEBHOOK_KEY_IDS", "w1, w2"),
            ("WEBHOOK_SECRETS", "a,b"),
            ("ENVIRONMENT", "cawl-production"),
            ("BASE_URL", "https://psp.example"),
            ("CONNECT_TIMEOUT_MS", "1500"),
            ("REQUEST_TIMEOUT_MS", "9000"),
            ("AUTHORIZATION_MODE", "pre_authorization"),
        ]))
        .unwrap();
        assert_eq!(c.merchant_id, "PSP1");
        assert_eq!(c.api_secret.expose_secret(), "S3CRET");
        assert_eq!(c.webhook_keys[1].key_id, "w2");
        assert_eq!(c.webhook_keys[1].secret.expose_secret(), "b");
        assert_eq!(c.environment, Environment::CawlProduction);
        assert_eq!(c.api_base().unwrap().host_str(), Some("psp.example"));
        assert_eq!(c.connect_timeout, Duration::from_millis(1500));
        assert_eq!(c.request_timeout, Duration::from_secs(9));
        assert_eq!(c.authorization_mode, AuthorizationMode::PreAuthorization);
    }

    #[test]
    fn from_lookup_names_what_is_missing_or_wrong_without_values() {
        let base = [
            ("MERCHANT_ID", "PSP1"),
            ("API_KEY_ID", "KEY"),
            ("API_SECRET", "SECRETVALUE"),
            ("WEBHOOK_KEY_IDS", "w1"),
            ("WEBHOOK_SECRETS", "SECRETVALUE"),
        ];
        for (i, (k, _)) in base.iter().enumerate() {
            let mut v = base.to_vec();
            v.remove(i);
            let e = WorldlineConfig::from_lookup(vars(&v))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k) && !e.contains("SECRETVALUE"), "{e}");
        }
        for (k, bad) in [
            ("ENVIRONMENT", "SECRETVALUE"),
            ("CONNECT_TIMEOUT_MS", "SECRETVALUE"),
            ("AUTHORIZATION_MODE", "SECRETVALUE"),
            ("WEBHOOK_KEY_IDS", "a,b"),
        ] {
            let mut v = base.to_vec();
            v.push((k, bad));
            let e = WorldlineConfig::from_lookup(vars(&v))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k) && !e.contains("SECRETVALUE"), "{e}");
        }
    }

    #[test]
    fn toml_reads_the_schema_and_hides_values_in_errors() {
        let c = WorldlineConfig::from_toml_str(
            "merchant_id = \"PSP1\"\napi_key_id = \"k\"\napi_secret = \"s\"\n\
             environment = \"cawl-preprod\"\nrequest_timeout_ms = 4000\n\
             authorization_mode = \"FINAL_AUTHORIZATION\"\n\
             [[webhook_keys]]\nkey_id = \"a\"\nsecret = \"x\"\n\
             [[webhook_keys]]\nkey_id = \"b\"\nsecret = \"y\"\n",
        )
        .unwrap();
        assert_eq!(c.environment, Environment::CawlPreprod);
        assert_eq!(c.webhook_keys.len(), 2);
        assert_eq!(c.request_timeout, Duration::from_secs(4));
        assert_eq!(c.authorization_mode, AuthorizationMode::FinalAuthorization);
        for doc in [
            "merchant_id = \"PSP1\"\napi_key_id = \"k\"\napi_secret = [\"SECRETVALUE\"]\n",
            "environment = \"SECRETVALUE\"\n",
            "merchant_id = \"PSP1\"\napi_secret = \"SECRETVALUE\n",
        ] {
            let e = WorldlineConfig::from_toml_str(doc).unwrap_err().to_string();
            assert!(!e.contains("SECRETVALUE"), "{e}");
        }
        let e = WorldlineConfig::from_toml_str("bogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key bogus"), "{e}");
    }
}
