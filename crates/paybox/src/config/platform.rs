//! Where the hosted page and Paybox Direct live: preset platforms and explicit URLs (spec §1.1).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use url::Url;

use super::ParseConfigError;

/// Production or pre-production hosts of a preset platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Environment {
    /// Production: primary and backup hosts.
    #[serde(alias = "prod")]
    #[default]
    Production,
    /// Pre-production (test) host; it has no backup.
    #[serde(
        alias = "preproduction",
        alias = "preprod",
        alias = "test",
        alias = "recette"
    )]
    PreProduction,
}

spelled_in_any_case!(
    Environment,
    "environment",
    to_ascii_lowercase,
    "production, pre-production"
);

/// Where the hosted page and Paybox Direct live (spec §1.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(remote = "Self")]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // built once at startup; boxing the URLs buys nothing
pub enum Platform {
    /// `*.paybox.com` (Paybox / Verifone).
    Paybox {
        /// Production or pre-production.
        #[serde(default)]
        environment: Environment,
    },
    /// `*.e-transactions.fr` (Crédit Agricole e-Transactions / Up2Pay e-Transactions).
    ETransactions {
        /// Production or pre-production (`recette-tpeweb`, the current official host).
        #[serde(default)]
        environment: Environment,
    },
    /// Explicit URLs, e.g. the mock bank.
    Custom {
        /// Hosted page URL (form action).
        page_url: Url,
        /// Paybox Direct URL (`…/PPPS.php`).
        direct_url: Url,
        /// Backup hosted page URL.
        #[serde(default)]
        backup_page_url: Option<Url>,
        /// Backup Paybox Direct URL.
        #[serde(default)]
        backup_direct_url: Option<Url>,
    },
}

impl Default for Platform {
    fn default() -> Self {
        Self::Paybox {
            environment: Environment::Production,
        }
    }
}

/// The resolved URLs of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// Hosted page (form action).
    pub page: Url,
    /// Backup hosted page.
    pub page_backup: Option<Url>,
    /// Paybox Direct.
    pub direct: Url,
    /// Backup Paybox Direct.
    pub direct_backup: Option<Url>,
}

impl Platform {
    /// The classic hosted page path.
    pub const DEFAULT_PAGE_PATH: &'static str = "/cgi/MYchoix_pagepaiement.cgi";

    /// A platform serving the page at `base` + [`Platform::DEFAULT_PAGE_PATH`] and Paybox
    /// Direct at `base` + `/PPPS.php` (the mock bank's layout).
    ///
    /// # Errors
    /// When `base` cannot be a base URL.
    pub fn at_base_url(base: &Url) -> Result<Self, url::ParseError> {
        Ok(Self::Custom {
            page_url: base.join(Self::DEFAULT_PAGE_PATH)?,
            direct_url: base.join("/PPPS.php")?,
            backup_page_url: None,
            backup_direct_url: None,
        })
    }

    /// The URLs, with `page_path` used for preset platforms.
    ///
    /// # Errors
    /// When `page_path` does not make a valid URL.
    pub fn endpoints(&self, page_path: &str) -> Result<Endpoints, url::ParseError> {
        let preset = |primary: &str, backup: Option<&str>, direct: &str, dbackup: Option<&str>| {
            let page = |host: &str| Url::parse(&format!("https://{host}"))?.join(page_path);
            let ppps = |host: &str| Url::parse(&format!("https://{host}/PPPS.php"));
            Ok(Endpoints {
                page: page(primary)?,
                page_backup: backup.map(page).transpose()?,
                direct: ppps(direct)?,
                direct_backup: dbackup.map(ppps).transpose()?,
            })
        };
        match self {
            Self::Paybox {
                environment: Environment::Production,
            } => preset(
                "tpeweb.paybox.com",
                Some("tpeweb1.paybox.com"),
                "ppps.paybox.com",
                Some("ppps1.paybox.com"),
            ),
            Self::Paybox {
                environment: Environment::PreProduction,
            } => preset(
                "preprod-tpeweb.paybox.com",
                None,
                "preprod-ppps.paybox.com",
                None,
            ),
            Self::ETransactions {
                environment: Environment::Production,
            } => preset(
                "tpeweb.e-transactions.fr",
                Some("tpeweb1.e-transactions.fr"),
                "ppps.e-transactions.fr",
                Some("ppps1.e-transactions.fr"),
            ),
            Self::ETransactions {
                environment: Environment::PreProduction,
            } => preset(
                "recette-tpeweb.e-transactions.fr",
                None,
                "preprod-ppps.e-transactions.fr",
                None,
            ),
            Self::Custom {
                page_url,
                direct_url,
                backup_page_url,
                backup_direct_url,
            } => Ok(Endpoints {
                page: page_url.clone(),
                page_backup: backup_page_url.clone(),
                direct: direct_url.clone(),
                direct_backup: backup_direct_url.clone(),
            }),
        }
    }
}

/// A preset platform for an environment.
type Preset = fn(Environment) -> Platform;

impl FromStr for Platform {
    type Err = ParseConfigError;
    /// A preset, `<brand>` or `<brand>-<environment>` (`paybox`, `e-transactions`,
    /// `etransactions`, `up2pay`; environment as [`Environment`] spells it), or an http(s) base
    /// URL ([`Platform::at_base_url`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        let brands: [(&str, Preset); 4] = [
            ("paybox", |environment| Self::Paybox { environment }),
            ("e-transactions", |environment| Self::ETransactions {
                environment,
            }),
            ("etransactions", |environment| Self::ETransactions {
                environment,
            }),
            ("up2pay", |environment| Self::ETransactions { environment }),
        ];
        let preset = brands.iter().find_map(|(brand, platform)| {
            let environment = match lower.strip_prefix(brand)? {
                "" => Environment::Production,
                rest => rest.strip_prefix('-')?.parse().ok()?,
            };
            Some(platform(environment))
        });
        let base_url = || {
            Url::parse(t)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .and_then(|u| Self::at_base_url(&u).ok())
        };
        preset.or_else(base_url).ok_or_else(|| {
            ParseConfigError::new(
                "platform",
                s,
                "paybox, paybox-preprod, e-transactions, e-transactions-preprod or an http(s) base URL",
            )
        })
    }
}

/// A platform is a string ([`Platform::from_str`]) or a table tagged by `kind`.
impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StringOrTable;
        impl<'de> Visitor<'de> for StringOrTable {
            type Value = Platform;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a platform name, an http(s) base URL or a table with a `kind`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Platform, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Platform, A::Error> {
                // The derived, `kind`-tagged reading (`#[serde(remote = "Self")]` on the enum).
                Platform::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(StringOrTable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_presets_resolve() {
        let e = |p: &str| {
            p.parse::<Platform>()
                .unwrap()
                .endpoints(Platform::DEFAULT_PAGE_PATH)
                .unwrap()
        };
        let p = e("paybox");
        assert_eq!(
            p.page.as_str(),
            "https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi"
        );
        assert_eq!(
            p.page_backup.unwrap().host_str(),
            Some("tpeweb1.paybox.com")
        );
        assert_eq!(p.direct.as_str(), "https://ppps.paybox.com/PPPS.php");
        assert_eq!(
            p.direct_backup.unwrap().host_str(),
            Some("ppps1.paybox.com")
        );
        let p = e("e-transactions-preprod");
        assert_eq!(p.page.host_str(), Some("recette-tpeweb.e-transactions.fr"));
        assert_eq!(p.direct.host_str(), Some("preprod-ppps.e-transactions.fr"));
        assert!(p.page_backup.is_none() && p.direct_backup.is_none());
        let p = e("http://127.0.0.1:9000/");
        assert_eq!(p.direct.as_str(), "http://127.0.0.1:9000/PPPS.php");
        assert!("ftp://x".parse::<Platform>().is_err());
    }
}
