//! Hosted-page options: notification method, 3-D Secure preference, language, page rendering
//! and capture mode. Each is read from its documented spellings, in any case.

use std::str::FromStr;

use serde::Deserialize;

use super::{ParseConfigError, one_of};

/// How the bank calls the notification URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum IpnMethod {
    /// GET with the variables in the query string (platform default; `PBX_RUF1` not sent).
    #[default]
    Get,
    /// POST with the variables in the form body (`PBX_RUF1=POST`).
    Post,
}

impl FromStr for IpnMethod {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(
            "ipn method",
            s,
            &[("GET", Self::Get), ("POST", Self::Post)],
            "GET, POST",
        )
    }
}

/// 3-D Secure challenge preference (`PBX_SOUHAITAUTHENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Authentication {
    /// Not sent.
    Omit,
    /// `01`: no preference.
    #[default]
    NoPreference,
    /// `02`: no challenge requested (exemption).
    NoChallenge,
    /// `04`: challenge requested.
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

impl FromStr for Authentication {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(
            "authentication",
            s,
            &[
                ("omit", Self::Omit),
                ("none", Self::Omit),
                ("01", Self::NoPreference),
                ("no-preference", Self::NoPreference),
                ("02", Self::NoChallenge),
                ("no-challenge", Self::NoChallenge),
                ("04", Self::Challenge),
                ("challenge", Self::Challenge),
            ],
            "omit, no-preference (01), no-challenge (02), challenge (04)",
        )
    }
}

/// Page language (`PBX_LANGUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PageLanguage {
    /// `FRA`.
    French,
    /// `GBR`.
    English,
    /// `ESP`.
    Spanish,
    /// `ITA`.
    Italian,
    /// `DEU`.
    German,
    /// `NLD`.
    Dutch,
    /// `SWE`.
    Swedish,
    /// `PRT`.
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

impl PageLanguage {
    fn iso_639_1(self) -> &'static str {
        match self {
            Self::French => "FR",
            Self::English => "EN",
            Self::Spanish => "ES",
            Self::Italian => "IT",
            Self::German => "DE",
            Self::Dutch => "NL",
            Self::Swedish => "SV",
            Self::Portuguese => "PT",
        }
    }
}

impl FromStr for PageLanguage {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let languages = [
            Self::French,
            Self::English,
            Self::Spanish,
            Self::Italian,
            Self::German,
            Self::Dutch,
            Self::Swedish,
            Self::Portuguese,
        ];
        // The wire value or the ISO 639-1 code.
        let spellings = languages.map(|l| [(l.wire(), l), (l.iso_639_1(), l)]);
        one_of(
            "language",
            s,
            spellings.as_flattened(),
            "FRA, GBR, ESP, ITA, DEU, NLD, SWE, PRT",
        )
    }
}

/// Page rendering (`PBX_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PageSource {
    /// `RWD`: responsive.
    Responsive,
    /// `XHTML`: mobile.
    Mobile,
    /// `HTML`: classic.
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

impl FromStr for PageSource {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(
            "source",
            s,
            &[
                ("RWD", Self::Responsive),
                ("RESPONSIVE", Self::Responsive),
                ("XHTML", Self::Mobile),
                ("MOBILE", Self::Mobile),
                ("HTML", Self::Html),
            ],
            "RWD, XHTML, HTML",
        )
    }
}

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
    /// [`Paybox::capture`](crate::Paybox::capture).
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
