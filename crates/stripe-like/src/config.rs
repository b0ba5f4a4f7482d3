//! Configuration: API base URL, secret key and mode, webhook signing secrets, tolerance and
//! timeouts. Loadable from the environment (`TPE_STRIPE_LIKE_*`) or from TOML.
//!
//! Values are only read here; [`StripeLike::new`](crate::StripeLike::new) checks them and
//! refuses a bad configuration at startup.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::error::config_error;
use tpe_core::ProviderError;
use tpe_core::api::{default_connect_timeout as connect, default_request_timeout as request};
use tpe_core::env::{self, EnvKind, EnvVar, millis};

pub use tpe_core::api::{ApiTimeouts, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};

/// The public API of the PSP.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// Default replay window of webhook timestamps, in the past and in the future (seconds).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Prefix of every environment variable read by [`StripeLikeConfig::from_env`].
pub const ENV_PREFIX: &str = "TPE_STRIPE_LIKE_";

/// Test or live: which secret keys are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Mode {
    /// Test mode: only `sk_test_`/`rk_test_` keys; plain `http` allowed (a local mock bank).
    Test,
    /// Live mode: only `sk_live_`/`rk_live_` keys, only `https`.
    Live,
}

impl Mode {
    /// `"test"` or `"live"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Live => "live",
        }
    }
}

impl Mode {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "test" => Some(Self::Test),
            "live" => Some(Self::Live),
            _ => None,
        }
    }
}

/// `test` or `live`, in any case.
const MODE_ERROR: &str = "mode must be test or live";

impl FromStr for Mode {
    type Err = ProviderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| config_error(MODE_ERROR))
    }
}

impl TryFrom<String> for Mode {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or(MODE_ERROR)
    }
}

/// The provider's settings. `Debug` never shows a secret (they are `secrecy` types).
///
/// ```
/// use tpe_stripe_like::{Mode, StripeLikeConfig};
/// let cfg = StripeLikeConfig::from_toml_str(r#"
///     mode = "test"
///     secret_key = "sk_test_123"
///     webhook_secrets = ["whsec_new", "whsec_old"]
///     api_base = "http://127.0.0.1:8080"
/// "#)?;
/// assert_eq!(cfg.mode, Mode::Test);
/// assert_eq!(cfg.webhook_secrets.len(), 2);
/// assert!(!format!("{cfg:?}").contains("sk_test_123"));
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StripeLikeConfig {
    /// API base URL, without the `/v1` (default [`DEFAULT_API_BASE`]).
    #[serde(default = "default_api_base")]
    pub api_base: Url,
    /// Test or live; a secret key of the other mode is refused.
    pub mode: Mode,
    /// Secret API key (`sk_test_…`, `sk_live_…`, or a restricted `rk_…` key).
    pub secret_key: SecretString,
    /// Webhook signing secrets (`whsec_…`); several while one is being rolled.
    #[serde(deserialize_with = "one_or_many")]
    pub webhook_secrets: Vec<SecretString>,
    /// Replay window of webhook timestamps, both ways (seconds).
    #[serde(default = "default_tolerance", rename = "tolerance_secs")]
    pub tolerance_secs: u64,
    /// Connect timeout.
    #[serde(default = "connect", with = "millis", rename = "connect_timeout_ms")]
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    #[serde(default = "request", with = "millis", rename = "request_timeout_ms")]
    pub request_timeout: Duration,
    /// `Stripe-Version` header to pin the API version; the account default otherwise.
    #[serde(default)]
    pub api_version: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(SecretString),
        Many(Vec<SecretString>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn default_api_base() -> Url {
    // A constant that parses: checked by the `defaults` test.
    Url::parse(DEFAULT_API_BASE).unwrap_or_else(|_| unreachable!("constant URL"))
}
fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECS
}
impl ApiTimeouts for StripeLikeConfig {
    fn timeouts_mut(&mut self) -> (&mut Duration, &mut Duration) {
        (&mut self.connect_timeout, &mut self.request_timeout)
    }
}

impl StripeLikeConfig {
    /// A configuration with the defaults for everything but the mode and secrets.
    pub fn new(
        mode: Mode,
        secret_key: impl Into<String>,
        webhook_secrets: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            api_base: default_api_base(),
            mode,
            secret_key: SecretString::from(secret_key.into()),
            webhook_secrets: webhook_secrets
                .into_iter()
                .map(|s| SecretString::from(s.into()))
                .collect(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            api_version: None,
        }
    }

    /// With another API base URL (the mock bank's, for instance).
    #[must_use]
    pub fn with_api_base(mut self, base: Url) -> Self {
        self.api_base = base;
        self
    }

    /// With another tolerance.
    #[must_use]
    pub fn with_tolerance_secs(mut self, secs: u64) -> Self {
        self.tolerance_secs = secs;
        self
    }

    /// With a pinned `Stripe-Version`.
    #[must_use]
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    // TOML keys: `api_base`, `mode`, `secret_key`, `webhook_secrets`, `tolerance_secs`,
    // `connect_timeout_ms`, `request_timeout_ms`, `api_version`.
    tpe_core::config_sources!(crate::StripeLike::ID, "TPE_STRIPE_LIKE_");

    /// Reads the settings from the variables `get` finds, through the TOML schema:
    /// `TPE_STRIPE_LIKE_MODE`, `_SECRET_KEY`, `_WEBHOOK_SECRETS` (comma-separated), `_API_BASE`,
    /// `_TOLERANCE_SECS`, `_CONNECT_TIMEOUT_MS`, `_REQUEST_TIMEOUT_MS`, `_API_VERSION`. An
    /// empty variable counts as unset.
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the variable that is missing or unreadable, never its
    /// value.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let table = env::env_table(ENV_PREFIX, ENV_VARS, get).map_err(config_error)?;
        let mut cfg: Self = env::deserialize(ENV_PREFIX, ENV_VARS, table).map_err(config_error)?;
        cfg.api_version = cfg.api_version.filter(|v| !v.trim().is_empty());
        Ok(cfg)
    }
}

/// The environment variables, `TPE_STRIPE_LIKE_` + the name, with their TOML keys.
const ENV_VARS: &[EnvVar] = &[
    EnvVar::text("MODE", "mode"),
    EnvVar::text("SECRET_KEY", "secret_key"),
    EnvVar::new("WEBHOOK_SECRETS", "webhook_secrets", EnvKind::List),
    EnvVar::new("WEBHOOK_SECRET", "webhook_secrets", EnvKind::List),
    EnvVar::text("API_BASE", "api_base"),
    EnvVar::new("TOLERANCE_SECS", "tolerance_secs", EnvKind::Integer),
    EnvVar::new("CONNECT_TIMEOUT_MS", "connect_timeout_ms", EnvKind::Integer),
    EnvVar::new("REQUEST_TIMEOUT_MS", "request_timeout_ms", EnvKind::Integer),
    EnvVar::text("API_VERSION", "api_version"),
];

/// A checked secret API key: which mode it belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyMode(pub(crate) Mode);

impl fmt::Debug for KeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The mode of a secret key from its prefix, or why it is unusable. Never echoes the key.
pub(crate) fn key_mode(key: &str) -> Result<KeyMode, ProviderError> {
    if key.is_empty() {
        return Err(config_error("secret_key is empty"));
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(config_error(
            "secret_key must be 1 to 255 visible ASCII characters",
        ));
    }
    for (prefix, mode) in [
        ("sk_test_", Mode::Test),
        ("rk_test_", Mode::Test),
        ("sk_live_", Mode::Live),
        ("rk_live_", Mode::Live),
    ] {
        if key.len() > prefix.len() && key.starts_with(prefix) {
            return Ok(KeyMode(mode));
        }
    }
    Err(config_error(
        "secret_key must start with sk_test_, sk_live_, rk_test_ or rk_live_",
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = list
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults() {
        let c = StripeLikeConfig::new(Mode::Test, "sk_test_x", ["whsec_a"]);
        assert_eq!(c.api_base.as_str(), "https://api.stripe.com/");
        assert_eq!(c.tolerance_secs, 300);
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(c.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert!(c.api_version.is_none());
    }

    #[test]
    fn from_lookup_reads_every_setting() {
        let c = StripeLikeConfig::from_lookup(vars(&[
            ("TPE_STRIPE_LIKE_MODE", "LIVE"),
            ("TPE_STRIPE_LIKE_SECRET_KEY", "sk_live_abc"),
            ("TPE_STRIPE_LIKE_WEBHOOK_SECRETS", "whsec_1, whsec_2,"),
            ("TPE_STRIPE_LIKE_API_BASE", "https://psp.example"),
            ("TPE_STRIPE_LIKE_TOLERANCE_SECS", "120"),
            ("TPE_STRIPE_LIKE_CONNECT_TIMEOUT_MS", "1500"),
            ("TPE_STRIPE_LIKE_REQUEST_TIMEOUT_MS", "9000"),
            ("TPE_STRIPE_LIKE_API_VERSION", "2024-06-20"),
            ("UNRELATED", "x"),
        ]))
        .unwrap();
        assert_eq!(c.mode, Mode::Live);
        assert_eq!(c.secret_key.expose_secret(), "sk_live_abc");
        let s: Vec<_> = c
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(s, ["whsec_1", "whsec_2"]);
        assert_eq!(c.api_base.host_str(), Some("psp.example"));
        assert_eq!(c.tolerance_secs, 120);
        assert_eq!(c.connect_timeout, Duration::from_millis(1500));
        assert_eq!(c.request_timeout, Duration::from_secs(9));
        assert_eq!(c.api_version.as_deref(), Some("2024-06-20"));
    }

    #[test]
    fn from_lookup_names_what_is_missing_or_wrong_without_values() {
        let e = StripeLikeConfig::from_lookup(vars(&[("TPE_STRIPE_LIKE_MODE", "test")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("TPE_STRIPE_LIKE_SECRET_KEY"), "{e}");
        let e = StripeLikeConfig::from_lookup(vars(&[("TPE_STRIPE_LIKE_MODE", "prod")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mode"), "{e}");
        let e = StripeLikeConfig::from_lookup(vars(&[
            ("TPE_STRIPE_LIKE_MODE", "test"),
            ("TPE_STRIPE_LIKE_SECRET_KEY", "sk_test_SECRETVALUE"),
            ("TPE_STRIPE_LIKE_WEBHOOK_SECRETS", "whsec_x"),
            ("TPE_STRIPE_LIKE_TOLERANCE_SECS", "five"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("TOLERANCE_SECS") && !e.contains("SECRETVALUE"),
            "{e}"
        );
    }

    #[test]
    fn toml_errors_do_not_quote_secrets() {
        let one = StripeLikeConfig::from_toml_str(
            "mode = \"test\"\nsecret_key = \"sk_test_SECRETVALUE\"\nwebhook_secrets = \"whsec_SECRETVALUE\"\n",
        )
        .unwrap();
        assert_eq!(one.webhook_secrets.len(), 1);
        for doc in [
            "mode = \"sk_live_SECRETVALUE\"\n",
            "mode = \"test\"\nsecret_key = [\"sk_test_SECRETVALUE\"]\n",
            "mode = \"test\"\nsecret_key = \"sk_test_x\"\nwebhook_secrets = [1, \"whsec_SECRETVALUE\"]\n",
            "mode = \"test\"\nsecret_key = \"sk_test_SECRETVALUE\n",
        ] {
            let e = StripeLikeConfig::from_toml_str(doc)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("SECRETVALUE"), "{e}");
        }
        let e = StripeLikeConfig::from_toml_str("mode = \"test\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key bogus"), "{e}");
        let e = StripeLikeConfig::from_toml_str("mode = \"prod\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key mode") && !e.contains("prod"), "{e}");
    }

    #[test]
    fn toml_reads_timeouts() {
        let c = StripeLikeConfig::from_toml_str(
            "mode = \"live\"\nsecret_key = \"sk_live_k\"\nwebhook_secrets = [\"whsec_a\"]\n\
             connect_timeout_ms = 250\nrequest_timeout_ms = 4000\ntolerance_secs = 60\n\
             api_version = \"2024-06-20\"\n",
        )
        .unwrap();
        assert_eq!(c.connect_timeout, Duration::from_millis(250));
        assert_eq!(c.request_timeout, Duration::from_secs(4));
        assert_eq!(c.tolerance_secs, 60);
    }

    #[test]
    fn key_modes() {
        assert_eq!(key_mode("sk_test_a").unwrap(), KeyMode(Mode::Test));
        assert_eq!(key_mode("rk_live_a").unwrap(), KeyMode(Mode::Live));
        for bad in [
            "",
            "sk_test_",
            "pk_test_SECRET",
            "sk_test_SE CRET",
            "whsec_SECRET",
        ] {
            let e = key_mode(bad).unwrap_err().to_string();
            assert!(!e.contains("SECRET") && !e.contains("SE CRET"), "{e}");
        }
    }
}
