//! `TPE_PAYBOX_*` environment variables, read through the same schema as TOML: each variable is
//! placed at its key, then the table is deserialized into [`PayboxConfig`]. Only the names
//! live here; spellings, defaults and checks are the schema's.

use tpe_core::env::{EnvKind, EnvVar, Table, Value, env_table};

use super::PayboxConfig;
use crate::error::Error;

const PREFIX: &str = "TPE_PAYBOX_";

/// The variables, `TPE_PAYBOX_` + these names, with their keys (the URLs in the `platform`
/// table, the other Paybox Direct settings in `direct`); the README lists them.
const VARS: &[EnvVar] = &[
    EnvVar::text("SITE", "site"),
    EnvVar::text("RANG", "rang"),
    EnvVar::text("IDENTIFIANT", "identifiant"),
    EnvVar::text("HMAC_KEY", "hmac_key"),
    EnvVar::text("HASH", "hash"),
    EnvVar::text("PLATFORM", "platform"),
    EnvVar::text("PAGE_URL", "platform.page_url"),
    EnvVar::text("DIRECT_URL", "platform.direct_url"),
    EnvVar::text("BACKUP_PAGE_URL", "platform.backup_page_url"),
    EnvVar::text("BACKUP_DIRECT_URL", "platform.backup_direct_url"),
    EnvVar::text("PAGE_PATH", "page_path"),
    EnvVar::text("RETOUR", "retour"),
    EnvVar::text("IPN_METHOD", "ipn_method"),
    EnvVar::text("AUTHENTICATION", "authentication"),
    EnvVar::text("LANGUAGE", "language"),
    EnvVar::text("SOURCE", "source"),
    EnvVar::text("CAPTURE", "capture"),
    EnvVar::text("CURRENCY", "currency"),
    EnvVar::text("DIRECT_RANG", "direct.rang"),
    EnvVar::new(
        "LOW_VALUE_EXEMPTION_MAX",
        "low_value_exemption_max",
        EnvKind::Integer,
    ),
    EnvVar::new(
        "DIRECT_TIMEOUT_SECS",
        "direct.timeout_secs",
        EnvKind::Integer,
    ),
    EnvVar::new(
        "PROBE_TIMEOUT_SECS",
        "direct.probe_timeout_secs",
        EnvKind::Integer,
    ),
    EnvVar::new("PUBLIC_KEYS", "public_keys", EnvKind::List),
    tpe_core::instalments::ENV_VARS[0],
    tpe_core::instalments::ENV_VARS[1],
];

/// Variables without a default.
const REQUIRED: [&str; 4] = ["SITE", "RANG", "IDENTIFIANT", "HMAC_KEY"];

/// Reads the variables through `get`; an empty variable counts as unset.
pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<PayboxConfig, Error> {
    tpe_core::env::require(PREFIX, &REQUIRED, &get).map_err(Error::config)?;
    let mut table = env_table(PREFIX, VARS, get).map_err(Error::config)?;
    explicit_urls(&mut table)?;
    tpe_core::env::deserialize(PREFIX, VARS, table).map_err(Error::config)
}

/// `PAGE_URL` and `DIRECT_URL` (with optional backups) make a custom platform.
fn explicit_urls(table: &mut Table) -> Result<(), Error> {
    let Some(Value::Object(platform)) = table.get_mut("platform") else {
        return Ok(());
    };
    match (
        platform.contains_key("page_url"),
        platform.contains_key("direct_url"),
    ) {
        (true, true) => {
            platform.insert("kind".to_owned(), Value::from("custom"));
            Ok(())
        }
        (false, false) => Err(Error::config(
            "TPE_PAYBOX_BACKUP_* need TPE_PAYBOX_PAGE_URL and TPE_PAYBOX_DIRECT_URL",
        )),
        _ => Err(Error::config(
            "TPE_PAYBOX_PAGE_URL and TPE_PAYBOX_DIRECT_URL go together",
        )),
    }
}
