//! `TPE_PAYBOX_*` environment variables, read through the same schema as TOML: each variable is
//! placed at its TOML key, then the table is deserialized into [`PayboxConfig`]. Only the names
//! live here; spellings, defaults and checks are the schema's.

use toml::{Table, Value};

use super::PayboxConfig;
use crate::error::Error;

/// How a variable's text becomes a TOML value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// As it is.
    Text,
    /// A whole number.
    Integer,
    /// Comma-separated items.
    List,
}

/// `TPE_PAYBOX_<NAME>` → its TOML key (dotted) and kind. The README lists the same table.
const VARS: &[(&str, &str, Kind)] = &[
    ("SITE", "site", Kind::Text),
    ("RANG", "rang", Kind::Text),
    ("IDENTIFIANT", "identifiant", Kind::Text),
    ("HMAC_KEY", "hmac_key", Kind::Text),
    ("HASH", "hash", Kind::Text),
    ("PLATFORM", "platform", Kind::Text),
    ("PAGE_URL", "platform.page_url", Kind::Text),
    ("DIRECT_URL", "platform.direct_url", Kind::Text),
    ("BACKUP_PAGE_URL", "platform.backup_page_url", Kind::Text),
    (
        "BACKUP_DIRECT_URL",
        "platform.backup_direct_url",
        Kind::Text,
    ),
    ("PAGE_PATH", "page_path", Kind::Text),
    ("PUBLIC_KEYS", "public_keys", Kind::List),
    ("RETOUR", "retour", Kind::Text),
    ("IPN_METHOD", "ipn_method", Kind::Text),
    ("AUTHENTICATION", "authentication", Kind::Text),
    (
        "LOW_VALUE_EXEMPTION_MAX",
        "low_value_exemption_max",
        Kind::Integer,
    ),
    ("LANGUAGE", "language", Kind::Text),
    ("SOURCE", "source", Kind::Text),
    ("CAPTURE", "capture", Kind::Text),
    ("CURRENCY", "currency", Kind::Text),
    ("DIRECT_RANG", "direct.rang", Kind::Text),
    ("DIRECT_TIMEOUT_SECS", "direct.timeout_secs", Kind::Integer),
    (
        "PROBE_TIMEOUT_SECS",
        "direct.probe_timeout_secs",
        Kind::Integer,
    ),
];

/// Variables without a default.
const REQUIRED: [&str; 4] = ["SITE", "RANG", "IDENTIFIANT", "HMAC_KEY"];

/// Reads the variables through `get`; an empty variable counts as unset.
pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<PayboxConfig, Error> {
    let var = |name: &str| get(&format!("TPE_PAYBOX_{name}")).filter(|v| !v.is_empty());
    if let Some(name) = REQUIRED.iter().find(|name| var(name).is_none()) {
        return Err(Error::config(format!("TPE_PAYBOX_{name} is not set")));
    }
    let mut table = Table::new();
    for &(name, key, kind) in VARS {
        let Some(text) = var(name) else {
            continue;
        };
        let value = match kind {
            Kind::Text => Value::String(text),
            Kind::Integer => text.trim().parse().map(Value::Integer).map_err(|_| {
                Error::config(format!("TPE_PAYBOX_{name}: {text:?} is not a whole number"))
            })?,
            Kind::List => Value::Array(
                text.split(',')
                    .map(|item| Value::String(item.trim().to_owned()))
                    .collect(),
            ),
        };
        insert(&mut table, key, value);
    }
    explicit_urls(&mut table)?;
    serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let name = VARS
            .iter()
            .filter(|(_, key, _)| path.starts_with(key))
            .max_by_key(|(_, key, _)| key.len())
            .map_or("*", |(name, _, _)| name);
        Error::config(format!("TPE_PAYBOX_{name}: {}", e.inner().message()))
    })
}

/// Puts `value` at the dotted `key`, making tables on the way (and replacing a value that is
/// not one: explicit URLs win over `TPE_PAYBOX_PLATFORM`).
fn insert(table: &mut Table, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let slot = table
                .entry(head)
                .or_insert_with(|| Value::Table(Table::new()));
            if !slot.is_table() {
                *slot = Value::Table(Table::new());
            }
            if let Value::Table(inner) = slot {
                insert(inner, rest, value);
            }
        }
    }
}

/// `PAGE_URL` and `DIRECT_URL` (with optional backups) make a custom platform.
fn explicit_urls(table: &mut Table) -> Result<(), Error> {
    let Some(Value::Table(platform)) = table.get_mut("platform") else {
        return Ok(());
    };
    match (
        platform.contains_key("page_url"),
        platform.contains_key("direct_url"),
    ) {
        (true, true) => {
            platform.insert("kind".to_owned(), Value::String("custom".to_owned()));
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
