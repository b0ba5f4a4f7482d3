//! Money: ISO 4217 currencies and exact amounts in minor units.
//!
//! There are no floats anywhere: amounts are integers of the currency's minor unit (cents for
//! EUR, yen for JPY, fils for BHD) and decimal strings are parsed digit by digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency with a defined minor unit.
///
/// Backed by the ISO table of the `iso_currency` crate; currencies without a minor unit (gold,
/// SDR, testing codes) are refused because an amount in them cannot be expressed exactly.
///
/// ```
/// use tpe_core::Currency;
/// let eur: Currency = "EUR".parse()?;
/// assert_eq!(eur.numeric(), 978);
/// assert_eq!(eur.exponent(), 2);
/// assert_eq!(Currency::from_numeric(392)?.exponent(), 0); // JPY
/// # Ok::<(), tpe_core::MoneyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Euro (978, 2 decimals).
    pub const EUR: Self = Self(iso_currency::Currency::EUR);
    /// US dollar (840, 2 decimals).
    pub const USD: Self = Self(iso_currency::Currency::USD);
    /// Pound sterling (826, 2 decimals).
    pub const GBP: Self = Self(iso_currency::Currency::GBP);
    /// Swiss franc (756, 2 decimals).
    pub const CHF: Self = Self(iso_currency::Currency::CHF);
    /// Japanese yen (392, 0 decimals).
    pub const JPY: Self = Self(iso_currency::Currency::JPY);
    /// Bahraini dinar (048, 3 decimals).
    pub const BHD: Self = Self(iso_currency::Currency::BHD);
    /// Kuwaiti dinar (414, 3 decimals).
    pub const KWD: Self = Self(iso_currency::Currency::KWD);
    /// Tunisian dinar (788, 3 decimals).
    pub const TND: Self = Self(iso_currency::Currency::TND);

    /// [`Self::EUR`], the contract currency a bank configuration takes when it names none:
    /// `#[serde(default = "Currency::euro")]`.
    pub const fn euro() -> Self {
        Self::EUR
    }

    /// Looks a currency up by its alphabetic code (`"EUR"`, case-insensitive).
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] for a code that is not in ISO 4217 or has no minor unit.
    pub fn from_alpha(code: &str) -> Result<Self, MoneyError> {
        if code.len() != 3 || !code.is_ascii() {
            return Err(MoneyError::UnknownCurrency(truncate(code)));
        }
        // Upper-cased on the stack: this runs for every notification.
        let mut upper = [0u8; 3];
        upper.copy_from_slice(code.as_bytes());
        upper.make_ascii_uppercase();
        let upper =
            std::str::from_utf8(&upper).map_err(|_| MoneyError::UnknownCurrency(truncate(code)))?;
        iso_currency::Currency::from_code(upper)
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .ok_or_else(|| MoneyError::UnknownCurrency(truncate(code)))
    }

    /// Looks a currency up by its numeric code (978 for EUR).
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] for an unknown numeric code.
    pub fn from_numeric(numeric: u16) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_numeric(numeric)
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .ok_or_else(|| MoneyError::UnknownCurrency(format!("{numeric:03}")))
    }

    /// The alphabetic code, upper case (`"EUR"`).
    pub fn alpha(self) -> &'static str {
        self.0.code()
    }

    /// The numeric code (`978`); format with `{:03}` for wire protocols.
    pub fn numeric(self) -> u16 {
        self.0.numeric()
    }

    /// Number of decimals of the minor unit (2 for EUR, 0 for JPY, 3 for BHD).
    pub fn exponent(self) -> u32 {
        // Construction guarantees an exponent; 2 is never reached.
        u32::from(self.0.exponent().unwrap_or(2))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_alpha(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_alpha(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money: an integer number of minor units of a currency.
///
/// The largest amount is [`Amount::MAX_MINOR`] minor units, so that every amount fits a signed
/// 64-bit database column; providers refuse amounts beyond their bank's own limit.
///
/// ```
/// use tpe_core::{Amount, Currency};
/// let a = Amount::parse("12,50", Currency::EUR)?;
/// assert_eq!(a.minor(), 1250);
/// assert_eq!(a.to_string(), "12.50 EUR");
/// assert_eq!(a.checked_add(Amount::new(50, Currency::EUR)?)?.minor(), 1300);
/// assert!(Amount::parse("12.505", Currency::EUR).is_err()); // too many decimals
/// # Ok::<(), tpe_core::MoneyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    minor: u64,
    currency: Currency,
}

impl Amount {
    /// The largest amount in minor units (`i64::MAX`).
    pub const MAX_MINOR: u64 = i64::MAX.unsigned_abs();

    /// An amount of `minor` units of `currency`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] above [`Amount::MAX_MINOR`].
    pub fn new(minor: u64, currency: Currency) -> Result<Self, MoneyError> {
        if minor > Self::MAX_MINOR {
            return Err(MoneyError::Overflow);
        }
        Ok(Self { minor, currency })
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Parses a decimal string such as `"12.50"`, `"12,50"`, `"12"` or `"0.5"` into minor units
    /// exactly. Surrounding spaces are ignored; signs, exponents, thousands separators and more
    /// decimals than the currency has are refused.
    ///
    /// # Errors
    /// [`MoneyError::Empty`], [`MoneyError::Negative`], [`MoneyError::InvalidCharacter`],
    /// [`MoneyError::TooManyDecimals`] or [`MoneyError::Overflow`].
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.len() > 40 {
            return Err(MoneyError::Overflow);
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (int, frac) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(MoneyError::Empty);
        }
        for (pos, c) in s.char_indices() {
            let is_sep = (c == '.' || c == ',') && s.find(['.', ',']) == Some(pos);
            if !c.is_ascii_digit() && !is_sep {
                return Err(MoneyError::InvalidCharacter {
                    character: c,
                    position: pos,
                });
            }
        }
        let exp = currency.exponent();
        let frac_len = u32::try_from(frac.len()).map_err(|_| MoneyError::Overflow)?;
        if frac_len > exp {
            return Err(MoneyError::TooManyDecimals {
                currency,
                max: exp,
                found: frac_len,
            });
        }
        let mut minor: u64 = 0;
        for d in int.bytes().chain(frac.bytes()) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(d - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        for _ in frac_len..exp {
            minor = minor.checked_mul(10).ok_or(MoneyError::Overflow)?;
        }
        Self::new(minor, currency)
    }

    /// The amount in minor units.
    pub fn minor(self) -> u64 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    /// Adds two amounts of the same currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Self::new(sum, self.currency)
    }

    /// Subtracts `other` from `self` (same currency, never below zero).
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Negative`].
    pub fn checked_sub(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let diff = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Negative)?;
        Self::new(diff, self.currency)
    }

    /// Multiplies by a quantity (a cart line).
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(self, quantity: u32) -> Result<Self, MoneyError> {
        let p = self
            .minor
            .checked_mul(u64::from(quantity))
            .ok_or(MoneyError::Overflow)?;
        Self::new(p, self.currency)
    }

    /// The amount as a decimal string without currency, with `sep` as decimal separator
    /// (`"43,21"` with `','`).
    pub fn to_decimal_string(self, sep: char) -> String {
        let exp = self.currency.exponent();
        let digits = self.minor.to_string();
        if exp == 0 {
            return digits;
        }
        let exp = usize::try_from(exp).unwrap_or(2);
        let padded = format!("{digits:0>width$}", width = exp + 1);
        let (int, frac) = padded.split_at(padded.len() - exp);
        format!("{int}{sep}{frac}")
    }

    /// The amount as people read it in `lang`, thousands grouped: `1 234,50 €` in French
    /// (narrow no-break spaces), `€1,234.50` in English; other currencies by their code.
    ///
    /// ```
    /// use tpe_core::{Amount, Currency, Lang};
    /// let a = Amount::new(123_450, Currency::EUR)?;
    /// assert_eq!(a.for_reader(Lang::Fr), "1\u{202f}234,50 €");
    /// assert_eq!(a.for_reader(Lang::En), "€1,234.50");
    /// assert_eq!(Amount::new(980, Currency::USD)?.for_reader(Lang::Fr), "9,80 USD");
    /// # Ok::<(), tpe_core::MoneyError>(())
    /// ```
    pub fn for_reader(self, lang: crate::Lang) -> String {
        let (group, decimal) = match lang {
            crate::Lang::En => (',', '.'),
            _ => ('\u{202f}', ','),
        };
        let plain = self.to_decimal_string(decimal);
        let (int, frac) = plain
            .split_once(decimal)
            .map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
        let mut figure = String::with_capacity(plain.len() + int.len() / 3 * 3);
        for (i, digit) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                figure.push(group);
            }
            figure.push(digit);
        }
        if let Some(frac) = frac {
            figure.push(decimal);
            figure.push_str(frac);
        }
        match (lang, self.currency) {
            (crate::Lang::En, Currency::EUR) => format!("€{figure}"),
            (_, Currency::EUR) => format!("{figure} €"),
            (_, code) => format!("{figure} {code}"),
        }
    }

    fn same_currency(self, other: Self) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string('.'), self.currency)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string('.'), self.currency)
    }
}

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The amount string is empty.
    #[error("amount is empty")]
    Empty,
    /// The amount is negative (or a subtraction went below zero).
    #[error("amount is negative")]
    Negative,
    /// A character other than digits and one decimal separator.
    #[error("amount has an invalid character {character:?} at position {position}")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte position in the input.
        position: usize,
    },
    /// More decimals than the currency's minor unit.
    #[error("amount has {found} decimals but {currency} has {max}")]
    TooManyDecimals {
        /// The currency.
        currency: Currency,
        /// Decimals the currency allows.
        max: u32,
        /// Decimals found.
        found: u32,
    },
    /// The amount does not fit.
    #[error("amount is too large")]
    Overflow,
    /// Two amounts of different currencies were combined.
    #[error("cannot combine {left} and {right}")]
    CurrencyMismatch {
        /// Left operand's currency.
        left: Currency,
        /// Right operand's currency.
        right: Currency,
    },
    /// Not an ISO 4217 currency with a minor unit.
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
}

fn truncate(s: &str) -> String {
    s.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_for_readers_group_thousands() {
        let fr = |minor, c| Amount::new(minor, c).unwrap().for_reader(crate::Lang::Fr);
        assert_eq!(fr(50, Currency::EUR), "0,50 €");
        assert_eq!(fr(99_999, Currency::EUR), "999,99 €");
        assert_eq!(
            fr(123_456_750, Currency::EUR),
            "1\u{202f}234\u{202f}567,50 €"
        );
        assert_eq!(fr(1_234_567, Currency::JPY), "1\u{202f}234\u{202f}567 JPY");
        assert_eq!(fr(12_345, Currency::BHD), "12,345 BHD");
        let en = Amount::new(123_456_750, Currency::EUR)
            .unwrap()
            .for_reader(crate::Lang::En);
        assert_eq!(en, "€1,234,567.50");
    }

    #[test]
    fn currencies_have_iso_numbers_and_exponents() {
        for (c, num, exp) in [
            (Currency::EUR, 978, 2),
            (Currency::USD, 840, 2),
            (Currency::GBP, 826, 2),
            (Currency::CHF, 756, 2),
            (Currency::JPY, 392, 0),
            (Currency::BHD, 48, 3),
            (Currency::KWD, 414, 3),
            (Currency::TND, 788, 3),
        ] {
            assert_eq!(c.numeric(), num, "{c}");
            assert_eq!(c.exponent(), exp, "{c}");
            assert_eq!(Currency::from_numeric(num).unwrap(), c);
            assert_eq!(Currency::from_alpha(&c.alpha().to_lowercase()).unwrap(), c);
        }
    }

    #[test]
    fn unknown_currencies_are_refused() {
        for bad in ["", "EU", "EURO", "XXX", "ZZZ", "XAU", "€€€"] {
            assert!(
                matches!(
                    Currency::from_alpha(bad),
                    Err(MoneyError::UnknownCurrency(_))
                ),
                "{bad:?}"
            );
        }
        assert!(Currency::from_numeric(1).is_err());
    }

    #[test]
    fn parses_exactly() {
        let cases: &[(&str, Currency, u64)] = &[
            ("12.50", Currency::EUR, 1250),
            ("12,50", Currency::EUR, 1250),
            ("12,5", Currency::EUR, 1250),
            ("12", Currency::EUR, 1200),
            ("0.01", Currency::EUR, 1),
            (".5", Currency::EUR, 50),
            ("7.", Currency::EUR, 700),
            (" 43,21 ", Currency::EUR, 4321),
            ("0", Currency::EUR, 0),
            ("1500", Currency::JPY, 1500),
            ("1.234", Currency::BHD, 1234),
            ("1.2", Currency::BHD, 1200),
            (
                "92233720368547758.07",
                Currency::EUR,
                9_223_372_036_854_775_807,
            ),
        ];
        for (s, c, minor) in cases {
            assert_eq!(Amount::parse(s, *c).unwrap().minor(), *minor, "{s}");
        }
    }

    #[test]
    fn bad_amounts_get_typed_errors() {
        use MoneyError as E;
        let eur = Currency::EUR;
        assert_eq!(Amount::parse("", eur), Err(E::Empty));
        assert_eq!(Amount::parse("  ", eur), Err(E::Empty));
        assert_eq!(Amount::parse(".", eur), Err(E::Empty));
        assert_eq!(Amount::parse("-1", eur), Err(E::Negative));
        assert!(matches!(
            Amount::parse("12.505", eur),
            Err(E::TooManyDecimals {
                max: 2,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            Amount::parse("1.5", Currency::JPY),
            Err(E::TooManyDecimals {
                max: 0,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            Amount::parse("1.2345", Currency::BHD),
            Err(E::TooManyDecimals { max: 3, .. })
        ));
        assert!(matches!(
            Amount::parse("1,2.3", eur),
            Err(E::InvalidCharacter { character: '.', .. })
        ));
        assert!(matches!(
            Amount::parse("1e5", eur),
            Err(E::InvalidCharacter { character: 'e', .. })
        ));
        assert!(matches!(
            Amount::parse("+5", eur),
            Err(E::InvalidCharacter { character: '+', .. })
        ));
        assert!(matches!(
            Amount::parse("1 000", eur),
            Err(E::InvalidCharacter { character: ' ', .. })
        ));
        assert_eq!(Amount::parse("92233720368547758.08", eur), Err(E::Overflow));
        assert_eq!(
            Amount::parse("99999999999999999999999", eur),
            Err(E::Overflow)
        );
        assert_eq!(Amount::parse(&"9".repeat(100), eur), Err(E::Overflow));
    }

    #[test]
    fn checked_arithmetic() {
        let a = Amount::new(100, Currency::EUR).unwrap();
        let b = Amount::new(100, Currency::USD).unwrap();
        assert!(matches!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            a.checked_sub(a.checked_mul(2).unwrap()),
            Err(MoneyError::Negative)
        );
        let max = Amount::new(Amount::MAX_MINOR, Currency::EUR).unwrap();
        assert_eq!(max.checked_add(a), Err(MoneyError::Overflow));
        assert_eq!(max.checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(
            Amount::new(Amount::MAX_MINOR + 1, Currency::EUR),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn formats_with_minor_units() {
        assert_eq!(
            Amount::new(4321, Currency::EUR)
                .unwrap()
                .to_decimal_string(','),
            "43,21"
        );
        assert_eq!(
            Amount::new(5, Currency::EUR)
                .unwrap()
                .to_decimal_string('.'),
            "0.05"
        );
        assert_eq!(Amount::new(5, Currency::JPY).unwrap().to_string(), "5 JPY");
        assert_eq!(
            Amount::new(1234, Currency::BHD).unwrap().to_string(),
            "1.234 BHD"
        );
    }
}
