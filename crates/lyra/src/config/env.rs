//! `TPE_LYRA_*` environment variables, read through the same schema as TOML: each variable is
//! placed at its key, then the table is deserialized into [`LyraConfig`]. Only the names
//! live here; spellings, defaults and checks are the schema's.

use tpe_core::ProviderError;
use tpe_core::env::{EnvKind, EnvVar, env_table};

use super::LyraConfig;
use crate::Lyra;

const PREFIX: &str = "TPE_LYRA_";

/// The variables, `TPE_LYRA_` + the name, with their key; the README lists them.
const VARS: &[EnvVar] = &[
    EnvVar::text("BRAND", "brand"),
    EnvVar::text("BASE_URL", "base_url"),
    EnvVar::text("SITE_ID", "site_id"),
    EnvVar::text("CTX_MODE", "ctx_mode"),
    EnvVar::text("TEST_KEY", "test_key"),
    EnvVar::text("PRODUCTION_KEY", "production_key"),
    EnvVar::text("ALGORITHM", "algorithm"),
    EnvVar::text("LANGUAGE", "language"),
    EnvVar::text("RETURN_MODE", "return_mode"),
    EnvVar::text("RETURN_URL", "return_url"),
    EnvVar::text("IPN_URL", "ipn_url"),
    EnvVar::text("CURRENCY", "currency"),
    EnvVar::text("REST_USER", "rest.user"),
    EnvVar::text("REST_PASSWORD", "rest.password"),
    EnvVar::text("REST_HMAC_KEY", "rest.hmac_key"),
    EnvVar::new("REST_TIMEOUT_SECS", "rest.timeout_secs", EnvKind::Integer),
    EnvVar::new("MANUAL_VALIDATION", "manual_validation", EnvKind::Boolean),
    EnvVar::new("PREVIOUS_KEYS", "previous_keys", EnvKind::List),
    EnvVar::new("EXTRA_FIELDS", "extra_fields", EnvKind::List),
    tpe_core::instalments::ENV_VARS[0],
    tpe_core::instalments::ENV_VARS[1],
    EnvVar::new(
        "INSTALMENTS_MAX_COUNT",
        "instalments.max_count",
        EnvKind::Integer,
    ),
];

/// Reads the variables through `get`; an empty variable counts as unset.
pub(super) fn from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<LyraConfig, ProviderError> {
    let err = |msg: String| ProviderError::config(&Lyra::ID, msg);
    if get(&format!("{PREFIX}SITE_ID")).is_none_or(|v| v.is_empty()) {
        return Err(err(format!("{PREFIX}SITE_ID is not set")));
    }
    let table = env_table(PREFIX, VARS, get).map_err(err)?;
    if table
        .get("rest")
        .is_some_and(|r| r.get("password").is_none())
    {
        return Err(err(
            "TPE_LYRA_REST_PASSWORD is required with the other TPE_LYRA_REST_* variables"
                .to_owned(),
        ));
    }
    tpe_core::env::deserialize(PREFIX, VARS, table).map_err(err)
}
