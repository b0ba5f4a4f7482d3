//! The shop's configuration file, read by `tpe doctor` and `tpe replay`: one TOML file with the
//! shop's public address, its store, and one table per bank, each read by that bank's own
//! configuration schema (`tpe_paybox::PayboxConfig`, `tpe_lyra::LyraConfig`…).
//!
//! ```toml
//! [shop]
//! public_url = "https://shop.example.fr/"   # where the engine's routes are mounted
//! route_prefix = "tpe"                      # default: notifications at /tpe/notify/{bank}
//! name = "Ferme des Lilas"                  # optional, for the engine replay builds
//! manager_email = "gestion@shop.example.fr" # optional
//! sender_email = "boutique@shop.example.fr" # optional
//!
//! [store]                                   # optional, for `tpe replay`
//! sqlite = "data/payments.db"               # relative to this file
//! # postgres = "postgres://user@db/shop"
//! # postgres_schema = "payments"        # when the engine uses PostgresOptions::schema
//!
//! [paybox]                                  # the keys of `PayboxConfig::from_toml_str`
//! site = "1999888"
//! # ...
//! ```
//!
//! A complete example is `docs/shop.example.toml`. Paths inside a bank's table (a public key
//! file) are read as that bank's schema reads them, relative to the working directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tpe_core::{PaymentProvider, ProviderError, ProviderId, Registry};
use tpe_engine::ShopSettings;
use url::Url;

/// A bank the configuration file may configure: its table name and its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bank {
    /// `[paybox]`: Paybox / Up2Pay e-Transactions.
    Paybox,
    /// `[lyra]`: Systempay, PayZen, Scellius, Sogecommerce.
    Lyra,
    /// `[monetico]`: Monetico Paiement.
    Monetico,
    /// `[worldline]`: Worldline Direct / CAWL.
    Worldline,
    /// `[stripe_like]`: a Stripe-like PSP.
    StripeLike,
}

impl Bank {
    /// Every bank, in the order the file's tables are checked.
    pub const ALL: [Self; 5] = [
        Self::Paybox,
        Self::Lyra,
        Self::Monetico,
        Self::Worldline,
        Self::StripeLike,
    ];

    /// The table name in the file.
    pub fn table(self) -> &'static str {
        match self {
            Self::Paybox => "paybox",
            Self::Lyra => "lyra",
            Self::Monetico => "monetico",
            Self::Worldline => "worldline",
            Self::StripeLike => "stripe_like",
        }
    }

    /// The provider id, as in the notification route.
    pub fn id(self) -> ProviderId {
        match self {
            Self::Paybox => tpe_paybox::Paybox::ID,
            Self::Lyra => tpe_lyra::Lyra::ID,
            Self::Monetico => tpe_monetico::Monetico::ID,
            Self::Worldline => tpe_worldline::Worldline::ID,
            Self::StripeLike => tpe_stripe_like::StripeLike::ID,
        }
    }

    /// Builds the provider from its table's text, through the bank's own schema and
    /// constructor (every key decoded, every identifier checked).
    ///
    /// # Errors
    /// The bank's [`ProviderError::Config`], never quoting a secret.
    pub fn provider(self, table: &str) -> Result<Arc<dyn PaymentProvider>, ProviderError> {
        Ok(match self {
            Self::Paybox => Arc::new(tpe_paybox::Paybox::new(
                tpe_paybox::PayboxConfig::from_toml_str(table)?,
            )?),
            Self::Lyra => Arc::new(tpe_lyra::Lyra::new(tpe_lyra::LyraConfig::from_toml_str(
                table,
            )?)?),
            Self::Monetico => Arc::new(tpe_monetico::Monetico::new(
                tpe_monetico::MoneticoConfig::from_toml_str(table)?,
            )?),
            Self::Worldline => Arc::new(tpe_worldline::Worldline::new(
                tpe_worldline::WorldlineConfig::from_toml_str(table)?,
            )?),
            Self::StripeLike => Arc::new(tpe_stripe_like::StripeLike::new(
                tpe_stripe_like::StripeLikeConfig::from_toml_str(table)?,
            )?),
        })
    }
}

/// Why the configuration file cannot be used at all (`tpe doctor` exits 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML, or a table of the file's own keys is wrong.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (secrets blanked).
        reason: String,
    },
}

/// The `[shop]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ShopSection {
    /// The shop's public base URL: the engine's routes are under it.
    pub public_url: Option<String>,
    /// The engine's route prefix (default `tpe`).
    #[serde(default = "default_prefix")]
    pub route_prefix: String,
    /// The shop's name.
    pub name: Option<String>,
    /// The manager's e-mail address.
    pub manager_email: Option<String>,
    /// The sender of the shop's e-mails.
    pub sender_email: Option<String>,
}

fn default_prefix() -> String {
    "tpe".into()
}

/// The `[store]` table: where the engine's database is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreSection {
    /// A SQLite file, relative to the configuration file.
    pub sqlite: Option<PathBuf>,
    /// A PostgreSQL URL.
    pub postgres: Option<String>,
    /// The PostgreSQL schema the engine's tables are in, when not the default `search_path`.
    pub postgres_schema: Option<String>,
}

/// The shop's configuration file, read but not yet checked: each bank's table is kept as
/// text for that bank's schema.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShopConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[shop]`.
    pub shop: ShopSection,
    /// `[store]`.
    pub store: StoreSection,
    /// Each configured bank with its table as TOML text, in [`Bank::ALL`] order.
    pub banks: Vec<(Bank, String)>,
}

impl ShopConfig {
    /// Reads `path`.
    ///
    /// # Errors
    /// [`ConfigError`] when the file is unreadable, not TOML, has an unknown table, or its
    /// `[shop]` / `[store]` tables are wrong. A bank's table is only checked by
    /// [`Bank::provider`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| invalid(tpe_core::toml::error_message(&text, &e)))?;
        let shop = match table.remove("shop") {
            Some(v) => v
                .try_into()
                .map_err(|e: toml::de::Error| invalid(format!("[shop]: {}", e.message())))?,
            None => return Err(invalid("no [shop] table (public_url, route_prefix)".into())),
        };
        let store = match table.remove("store") {
            Some(v) => v
                .try_into()
                .map_err(|e: toml::de::Error| invalid(format!("[store]: {}", e.message())))?,
            None => StoreSection::default(),
        };
        let mut banks = Vec::new();
        for bank in Bank::ALL {
            if let Some(value) = table.remove(bank.table()) {
                let toml::Value::Table(t) = value else {
                    return Err(invalid(format!("{} must be a table", bank.table())));
                };
                let text = toml::to_string(&t).map_err(|e| invalid(e.to_string()))?;
                banks.push((bank, text));
            }
        }
        if let Some(name) = table.keys().next() {
            let known: Vec<_> = Bank::ALL.iter().map(|b| b.table()).collect();
            return Err(invalid(format!(
                "unknown table [{name}]: expected shop, store, {}",
                known.join(", ")
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            shop,
            store,
            banks,
        })
    }

    /// The shop's public base URL (`--url` wins over `[shop] public_url`), as written.
    pub fn public_url<'a>(&'a self, over: Option<&'a str>) -> Option<&'a str> {
        over.or(self.shop.public_url.as_deref())
    }

    /// The SQLite file of `[store]`, relative to the configuration file.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let file = self.store.sqlite.as_ref()?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        Some(dir.join(file))
    }

    /// The engine's settings from `[shop]`. The e-mail addresses may be left out by a shop
    /// that only checks or replays (nothing is sent then): placeholders stand in.
    ///
    /// # Errors
    /// A public URL or an address the engine refuses, named.
    pub fn settings(&self) -> Result<ShopSettings, String> {
        let shop = &self.shop;
        let base = shop
            .public_url
            .as_deref()
            .unwrap_or("http://localhost/")
            .parse()
            .map_err(|e| format!("[shop] public_url: {e}"))?;
        let mut s = ShopSettings::new(
            shop.name.as_deref().unwrap_or("shop"),
            base,
            shop.manager_email
                .as_deref()
                .unwrap_or("manager@localhost.localdomain"),
            shop.sender_email
                .as_deref()
                .unwrap_or("shop@localhost.localdomain"),
        )
        .map_err(|e| format!("[shop]: {e}"))?;
        s.route_prefix.clone_from(&shop.route_prefix);
        Ok(s)
    }

    /// Every configured bank's provider.
    ///
    /// # Errors
    /// The first bank whose table does not build, named.
    pub fn registry(&self) -> Result<Registry, String> {
        let mut registry = Registry::new();
        for (bank, text) in &self.banks {
            let provider = bank
                .provider(text)
                .map_err(|e| format!("[{}]: {e}", bank.table()))?;
            registry
                .register(provider)
                .map_err(|e| format!("[{}]: {e}", bank.table()))?;
        }
        Ok(registry)
    }
}

/// The notification URL of `bank` under `base` and `prefix`: `{base}{prefix}/notify/{id}`.
///
/// # Errors
/// A base that is not an absolute URL.
pub fn notify_url(base: &str, prefix: &str, bank: Bank) -> Result<Url, url::ParseError> {
    let mut base = Url::parse(base)?;
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(&format!(
        "{}/notify/{}",
        prefix.trim_matches('/'),
        bank.id()
    ))
}
