//! Environment variables read through a provider's configuration schema: each `PREFIX_NAME`
//! variable is put at its key in a table of serde values, then the provider deserializes the
//! table as it does a file, so the spellings, defaults and checks live in one place, the schema.
//! A configuration file's errors are worded without their values too ([`blank_quotes`]; with the
//! `toml` feature, [`crate::toml`]).

use serde::de::DeserializeOwned;
pub use serde_json::{Map, Value};

/// The table the variables fill: keys to values, tables nested under dotted keys.
pub type Table = Map<String, Value>;

/// How a variable's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvKind {
    /// As it is.
    Text,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Comma-separated items (an empty item is dropped).
    List,
}

/// One variable: its name after the prefix, its dotted key in the schema, its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// The name after the prefix (`SITE_ID` of `TPE_LYRA_SITE_ID`).
    pub name: &'static str,
    /// The dotted key in the schema (`rest.password`).
    pub key: &'static str,
    /// How its text is read.
    pub kind: EnvKind,
}

impl EnvVar {
    /// A variable read as text.
    pub const fn text(name: &'static str, key: &'static str) -> Self {
        Self::new(name, key, EnvKind::Text)
    }

    /// A variable of `kind`.
    pub const fn new(name: &'static str, key: &'static str, kind: EnvKind) -> Self {
        Self { name, key, kind }
    }
}

/// The table of the variables `prefix` + name that `get` finds (an empty one counts as
/// unset). A key under a table whose name holds a plain value replaces it (an explicit URL
/// wins over a platform's name).
///
/// ```
/// use tpe_core::env::{EnvKind, EnvVar, env_table};
/// const VARS: &[EnvVar] = &[
///     EnvVar::text("SITE_ID", "site_id"),
///     EnvVar::new("REST_TIMEOUT_SECS", "rest.timeout_secs", EnvKind::Integer),
/// ];
/// let get = |name: &str| match name {
///     "TPE_X_SITE_ID" => Some("123".to_owned()),
///     "TPE_X_REST_TIMEOUT_SECS" => Some("5".to_owned()),
///     _ => None,
/// };
/// let table = env_table("TPE_X_", VARS, get)?;
/// assert_eq!(table["rest"]["timeout_secs"].as_u64(), Some(5));
/// assert_eq!(env_table("TPE_X_", VARS, |_| Some("x".into())).unwrap_err(), "TPE_X_REST_TIMEOUT_SECS must be a whole number");
/// # Ok::<(), String>(())
/// ```
///
/// # Errors
/// A message naming the variable whose text is not of its kind.
pub fn env_table(
    prefix: &str,
    vars: &[EnvVar],
    get: impl Fn(&str) -> Option<String>,
) -> Result<Table, String> {
    let mut table = Table::new();
    for var in vars {
        let Some(text) = get(&format!("{prefix}{}", var.name)).filter(|v| !v.is_empty()) else {
            continue;
        };
        // The value is never quoted: a secret typed into the wrong variable stays out of logs.
        let name = var.name;
        let value = match var.kind {
            EnvKind::Text => Value::String(text),
            EnvKind::Integer => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{prefix}{name} must be a whole number"))?,
            EnvKind::Boolean => text
                .trim()
                .parse()
                .map(Value::Bool)
                .map_err(|_| format!("{prefix}{name} must be true or false"))?,
            EnvKind::List => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            ),
        };
        insert(&mut table, var.key, value);
    }
    Ok(table)
}

/// The variable that set the `path` of a deserialization error (the longest key it
/// starts with, the first listed of two spellings), or `prefix*`.
pub fn env_name(prefix: &str, vars: &[EnvVar], path: &str) -> String {
    vars.iter()
        .rev()
        .filter(|v| path.starts_with(v.key))
        .max_by_key(|v| v.key.len())
        .map_or_else(|| format!("{prefix}*"), |v| format!("{prefix}{}", v.name))
}

/// The error "`<prefix><name>` is not set" for the first of `names` that `get` does not find
/// (an empty variable counts as unset).
///
/// ```
/// let get = |name: &str| (name == "TPE_X_A").then(|| "1".to_owned());
/// assert_eq!(tpe_core::env::require("TPE_X_", &["A", "B"], get), Err("TPE_X_B is not set".to_owned()));
/// ```
///
/// # Errors
/// The message naming the missing variable.
pub fn require(
    prefix: &str,
    names: &[&str],
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    match names
        .iter()
        .find(|name| get(&format!("{prefix}{name}")).is_none_or(|v| v.is_empty()))
    {
        Some(name) => Err(format!("{prefix}{name} is not set")),
        None => Ok(()),
    }
}

/// Deserializes the [`env_table`] of `vars` into the provider's schema; an error names the
/// variable that set the failing key ([`env_name`]), or the variable of a missing setting,
/// and quotes no value.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct C { #[allow(dead_code)] site_id: String }
/// use tpe_core::env::{EnvVar, deserialize};
/// const VARS: &[EnvVar] = &[EnvVar::text("SITE_ID", "site_id")];
/// let e = deserialize::<C>("TPE_X_", VARS, tpe_core::env::Table::new()).err();
/// assert_eq!(e.as_deref(), Some("TPE_X_SITE_ID is not set"));
/// ```
///
/// # Errors
/// `<variable> is not set`, or `<variable>: <serde's message>`.
pub fn deserialize<T: DeserializeOwned>(
    prefix: &str,
    vars: &[EnvVar],
    table: Table,
) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(table)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
            .map(|field| match path.as_str() {
                "." | "" => field.to_owned(),
                parent => format!("{parent}.{field}"),
            })
            .and_then(|key| vars.iter().find(|v| v.key == key));
        match missing {
            Some(var) => format!("{prefix}{} is not set", var.name),
            None => format!(
                "{}: {}",
                env_name(prefix, vars, &path),
                blank_quotes(&message)
            ),
        }
    })
}

/// Reads a [`Duration`](std::time::Duration) written as a whole number of milliseconds:
/// `#[serde(with = "tpe_core::env::millis")]`.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    /// The deserializer.
    ///
    /// # Errors
    /// Not a whole number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// `message` with every quoted part (`"…"`, `` `…` ``) blanked: serde quotes values (`invalid
/// type: integer `1234`, expected a string`), which may be a secret given with the wrong type.
///
/// ```
/// let m = tpe_core::env::blank_quotes("invalid type: integer `1122334455667788`, expected a string");
/// assert_eq!(m, "invalid type: integer …, expected a string");
/// ```
pub fn blank_quotes(message: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in message.chars() {
        match quote {
            None if c == '"' || c == '`' => {
                quote = Some(c);
                out.push('…');
            }
            None => out.push(c),
            Some(q) if q == c => quote = None,
            Some(_) => {}
        }
    }
    out
}

/// Puts `value` at the dotted `key`, making tables on the way.
fn insert(table: &mut Table, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let slot = table
                .entry(head)
                .or_insert_with(|| Value::Object(Table::new()));
            if !slot.is_object() {
                *slot = Value::Object(Table::new());
            }
            if let Value::Object(inner) = slot {
                insert(inner, rest, value);
            }
        }
    }
}

/// A provider configuration's two readers that every bank writes alike, inside its
/// `impl …Config`: `from_toml_str` (behind the provider crate's own `toml` feature, through
/// [`crate::toml::from_str`]) and, with a variable prefix, `from_env` (the process environment
/// through the configuration's own `from_lookup`). Errors are
/// [`ProviderError::Config`](crate::ProviderError::Config) for `$provider`, never quoting a value.
///
/// ```
/// # use tpe_core::{ProviderError, ProviderId};
/// #[derive(serde::Deserialize)]
/// struct MyBankConfig { merchant: String }
///
/// impl MyBankConfig {
///     tpe_core::config_sources!(ProviderId::from_static("my-bank"), "TPE_MY_BANK_");
///
///     /// Reads `TPE_MY_BANK_MERCHANT` through `get`.
///     pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
///         let merchant = get("TPE_MY_BANK_MERCHANT").ok_or_else(|| {
///             ProviderError::config(&ProviderId::from_static("my-bank"), "TPE_MY_BANK_MERCHANT is missing")
///         })?;
///         Ok(Self { merchant })
///     }
/// }
/// # // SAFETY (test only): no other thread reads the environment here.
/// # unsafe { std::env::set_var("TPE_MY_BANK_MERCHANT", "m1") };
/// assert_eq!(MyBankConfig::from_env()?.merchant, "m1");
/// # Ok::<(), ProviderError>(())
/// ```
#[macro_export]
macro_rules! config_sources {
    ($provider:expr) => {
        /// Reads a TOML configuration (the bank's table's content).
        ///
        /// # Errors
        /// [`ProviderError::Config`](tpe_core::ProviderError::Config) naming the key and line
        /// that are wrong, never quoting a value.
        #[cfg(feature = "toml")]
        pub fn from_toml_str(text: &str) -> ::std::result::Result<Self, $crate::ProviderError> {
            $crate::toml::from_str(text)
                .map_err(|reason| $crate::ProviderError::config(&$provider, reason))
        }
    };
    ($provider:expr, $prefix:literal) => {
        $crate::config_sources!($provider);

        #[doc = concat!("Reads the `", $prefix, "*` variables of the process environment; see [`Self::from_lookup`].")]
        ///
        /// # Errors
        /// As [`Self::from_lookup`].
        pub fn from_env() -> ::std::result::Result<Self, $crate::ProviderError> {
            Self::from_lookup(|name| ::std::env::var(name).ok())
        }
    };
}
