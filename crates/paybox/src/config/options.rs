//! Hosted-page options: notification method, 3-D Secure preference, language, page rendering
//! and capture mode. Each is read from its documented spellings, in any case.

use std::str::FromStr;

use serde::Deserialize;

use super::ParseConfigError;

/// How the bank calls the notification URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum IpnMethod {
    /// GET with the variables in the query string (platform default; `PBX_RUF1` not sent).
    #[default]
    Get,
    /// POST with the variables in the form body (`PBX_RUF1=POST`).
    Post,
}

/// 3-D Secure challenge preference (`PBX_SOUHAITAUTHENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Authentication {
    /// Not sent.
    #[serde(alias = "none")]
    Omit,
    /// `01`: no preference.
    #[serde(alias = "01")]
    #[default]
    NoPreference,
    /// `02`: no challenge requested (exemption).
    #[serde(alias = "02")]
    NoChallenge,
    /// `04`: challenge requested.
    #[serde(alias = "04")]
    Challenge,
}

impl Authentication {
    /// The wire value, if sent.
    pub fn wire(self) -> Option<&'static str> {
        match self {
            Self::Omit => None,
            Self::NoPreference => Some("01"),
            Self::NoChallenge => Some("02"),
            Self::Challenge => Some("04"),
        }
    }
}

/// Page language (`PBX_LANGUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum PageLanguage {
    /// `FRA`.
    #[serde(rename = "FRA", alias = "FR")]
    French,
    /// `GBR`.
    #[serde(rename = "GBR", alias = "EN")]
    English,
    /// `ESP`.
    #[serde(rename = "ESP", alias = "ES")]
    Spanish,
    /// `ITA`.
    #[serde(rename = "ITA", alias = "IT")]
    Italian,
    /// `DEU`.
    #[serde(rename = "DEU", alias = "DE")]
    German,
    /// `NLD`.
    #[serde(rename = "NLD", alias = "NL")]
    Dutch,
    /// `SWE`.
    #[serde(rename = "SWE", alias = "SV")]
    Swedish,
    /// `PRT`.
    #[serde(rename = "PRT", alias = "PT")]
    Portuguese,
}

impl PageLanguage {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Self::French => "FRA",
            Self::English => "GBR",
            Self::Spanish => "ESP",
            Self::Italian => "ITA",
            Self::German => "DEU",
            Self::Dutch => "NLD",
            Self::Swedish => "SWE",
            Self::Portuguese => "PRT",
        }
    }
}

/// Page rendering (`PBX_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum PageSource {
    /// `RWD`: responsive.
    #[serde(rename = "RWD", alias = "RESPONSIVE")]
    Responsive,
    /// `XHTML`: mobile.
    #[serde(rename = "XHTML", alias = "MOBILE")]
    Mobile,
    /// `HTML`: classic.
    #[serde(rename = "HTML")]
    Html,
}

impl PageSource {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Responsive => "RWD",
            Self::Mobile => "XHTML",
            Self::Html => "HTML",
        }
    }
}

spelled_in_any_case!(IpnMethod, "ipn method", to_ascii_uppercase, "GET, POST");
spelled_in_any_case!(
    Authentication,
    "authentication",
    to_ascii_lowercase,
    "omit, no-preference (01), no-challenge (02), challenge (04)"
);
spelled_in_any_case!(
    PageLanguage,
    "language",
    to_ascii_uppercase,
    "FRA, GBR, ESP, ITA, DEU, NLD, SWE, PRT"
);
spelled_in_any_case!(PageSource, "source", to_ascii_uppercase, "RWD, XHTML, HTML");

/// When the payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Capture {
    /// At once (nothing sent).
    #[default]
    Immediate,
    /// Automatically after `days` days (`PBX_DIFF`, 1 to 99; official modules use 1 to 7).
    Deferred {
        /// Days before capture.
        days: u8,
    },
    /// Authorization only (`PBX_AUTOSEULE=O`): capture later with
    /// [`PaymentProvider::capture`](tpe_core::PaymentProvider::capture).
    Manual,
}

impl FromStr for Capture {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "immediate" => Ok(Self::Immediate),
            "manual" | "authorization-only" => Ok(Self::Manual),
            _ => t
                .strip_prefix("deferred:")
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|d| (1..=99).contains(d))
                .map(|days| Self::Deferred { days })
                .ok_or_else(|| {
                    ParseConfigError::new("capture", s, "immediate, manual, deferred:N (N = 1..99)")
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HashAlgorithm;

    #[test]
    fn enums_parse_their_spellings() {
        assert_eq!(
            "sha256".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha256
        );
        assert_eq!(
            "SHA-384".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha384
        );
        assert!("MD5".parse::<HashAlgorithm>().is_err());
        assert_eq!("post".parse::<IpnMethod>().unwrap(), IpnMethod::Post);
        assert_eq!(
            "04".parse::<Authentication>().unwrap(),
            Authentication::Challenge
        );
        assert_eq!(
            "deferred:7".parse::<Capture>().unwrap(),
            Capture::Deferred { days: 7 }
        );
        assert!("deferred:0".parse::<Capture>().is_err());
        assert!("deferred:100".parse::<Capture>().is_err());
        assert_eq!("rwd".parse::<PageSource>().unwrap().wire(), "RWD");
        assert_eq!("en".parse::<PageLanguage>().unwrap().wire(), "GBR");
    }
}
