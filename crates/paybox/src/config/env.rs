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

/// The variables, `TPE_PAYBOX_` + these names; the README lists them with their TOML keys.
const TEXT: &[&str] = &[
    "SITE",
    "RANG",
    "IDENTIFIANT",
    "HMAC_KEY",
    "HASH",
    "PLATFORM",
    "PAGE_URL",
    "DIRECT_URL",
    "BACKUP_PAGE_URL",
    "BACKUP_DIRECT_URL",
    "PAGE_PATH",
    "RETOUR",
    "IPN_METHOD",
    "AUTHENTICATION",
    "LANGUAGE",
    "SOURCE",
    "CAPTURE",
    "CURRENCY",
    "DIRECT_RANG",
];
const INTEGERS: &[&str] = &[
    "LOW_VALUE_EXEMPTION_MAX",
    "DIRECT_TIMEOUT_SECS",
    "PROBE_TIMEOUT_SECS",
];
const LISTS: &[&str] = &["PUBLIC_KEYS"];

/// Every variable with its kind.
fn vars() -> impl Iterator<Item = (&'static str, Kind)> {
    let of = |names: &'static [&'static str], kind| names.iter().map(move |&n| (n, kind));
    of(TEXT, Kind::Text)
        .chain(of(INTEGERS, Kind::Integer))
        .chain(of(LISTS, Kind::List))
}

/// The TOML key of a variable: its name in lower case, the URLs in the `platform` table and the
/// other Paybox Direct settings in the `direct` table.
fn toml_key(name: &str) -> String {
    let key = name.to_ascii_lowercase();
    if key.ends_with("_url") {
        format!("platform.{key}")
    } else if let Some(rest) = key.strip_prefix("direct_") {
        format!("direct.{rest}")
    } else if key == "probe_timeout_secs" {
        format!("direct.{key}")
    } else {
        key
    }
}

/// Variables without a default.
const REQUIRED: [&str; 4] = ["SITE", "RANG", "IDENTIFIANT", "HMAC_KEY"];

/// Reads the variables through `get`; an empty variable counts as unset.
pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<PayboxConfig, Error> {
    let var = |name: &str| get(&format!("TPE_PAYBOX_{name}")).filter(|v| !v.is_empty());
    if let Some(name) = REQUIRED.iter().find(|name| var(name).is_none()) {
        return Err(Error::config(format!("TPE_PAYBOX_{name} is not set")));
    }
    let mut table = Table::new();
    for (name, kind) in vars() {
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
        insert(&mut table, &toml_key(name), value);
    }
    explicit_urls(&mut table)?;
    serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let name = vars()
            .map(|(name, _)| (name, toml_key(name)))
            .filter(|(_, key)| path.starts_with(key.as_str()))
            .max_by_key(|(_, key)| key.len())
            .map_or("*", |(name, _)| name);
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
