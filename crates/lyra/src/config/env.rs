//! `TPE_LYRA_*` environment variables, read through the same schema as TOML: each variable is
//! placed at its TOML key, then the table is deserialized into [`LyraConfig`]. Only the names
//! live here; spellings, defaults and checks are the schema's.

use toml::{Table, Value};
use tpe_core::ProviderError;

use super::LyraConfig;
use crate::Lyra;

/// The variables, `TPE_LYRA_` + the name, with their TOML key; the README lists them.
const TEXT: &[(&str, &str)] = &[
    ("BRAND", "brand"),
    ("BASE_URL", "base_url"),
    ("SITE_ID", "site_id"),
    ("CTX_MODE", "ctx_mode"),
    ("TEST_KEY", "test_key"),
    ("PRODUCTION_KEY", "production_key"),
    ("ALGORITHM", "algorithm"),
    ("LANGUAGE", "language"),
    ("RETURN_MODE", "return_mode"),
    ("RETURN_URL", "return_url"),
    ("IPN_URL", "ipn_url"),
    ("CURRENCY", "currency"),
    ("REST_USER", "rest.user"),
    ("REST_PASSWORD", "rest.password"),
    ("REST_HMAC_KEY", "rest.hmac_key"),
];
/// Whole numbers.
const INTEGERS: &[(&str, &str)] = &[("REST_TIMEOUT_SECS", "rest.timeout_secs")];
/// `true` or `false`.
const BOOLEANS: &[(&str, &str)] = &[("MANUAL_VALIDATION", "manual_validation")];
/// Comma-separated lists.
const LISTS: &[(&str, &str)] = &[
    ("PREVIOUS_KEYS", "previous_keys"),
    ("EXTRA_FIELDS", "extra_fields"),
];

/// Reads the variables through `get`; an empty variable counts as unset.
pub(super) fn from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<LyraConfig, ProviderError> {
    let var = |name: &str| get(&format!("TPE_LYRA_{name}")).filter(|v| !v.is_empty());
    let err = |msg: String| ProviderError::config(&Lyra::ID, msg);
    if var("SITE_ID").is_none() {
        return Err(err("TPE_LYRA_SITE_ID is not set".to_owned()));
    }
    let mut table = Table::new();
    for (name, key) in TEXT {
        if let Some(text) = var(name) {
            insert(&mut table, key, Value::String(text));
        }
    }
    for (name, key) in INTEGERS {
        if let Some(text) = var(name) {
            let n = text
                .trim()
                .parse()
                .map_err(|_| err(format!("TPE_LYRA_{name}: {text:?} is not a whole number")))?;
            insert(&mut table, key, Value::Integer(n));
        }
    }
    for (name, key) in BOOLEANS {
        if let Some(text) = var(name) {
            let b = text
                .trim()
                .parse()
                .map_err(|_| err(format!("TPE_LYRA_{name}: {text:?} is not true or false")))?;
            insert(&mut table, key, Value::Boolean(b));
        }
    }
    for (name, key) in LISTS {
        if let Some(text) = var(name) {
            let items = text
                .split(',')
                .map(|item| Value::String(item.trim().to_owned()))
                .collect();
            insert(&mut table, key, Value::Array(items));
        }
    }
    if table
        .get("rest")
        .is_some_and(|r| r.get("password").is_none())
    {
        return Err(err(
            "TPE_LYRA_REST_PASSWORD is required with the other TPE_LYRA_REST_* variables"
                .to_owned(),
        ));
    }
    LyraConfig::from_table(table, |path| {
        TEXT.iter()
            .chain(INTEGERS)
            .chain(BOOLEANS)
            .chain(LISTS)
            .filter(|(_, key)| path.starts_with(key))
            .max_by_key(|(_, key)| key.len())
            .map_or_else(
                || "TPE_LYRA_*".to_owned(),
                |(name, _)| format!("TPE_LYRA_{name}"),
            )
    })
}

/// Puts `value` at the dotted `key`, making the table on the way.
fn insert(table: &mut Table, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let slot = table
                .entry(head)
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(inner) = slot {
                insert(inner, rest, value);
            }
        }
    }
}
