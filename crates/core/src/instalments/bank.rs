//! What the banks offering instalments share: their limits read from configuration (the
//! banks' documentation leaves the minimum amount and the longest delay unsure), the calendar
//! day their schedules are counted in, and the `DD/MM/YYYY` day of their forms.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::InstalmentLimits;
use crate::clock::Timestamp;
use crate::env::{EnvKind, EnvVar};

/// The smallest instalment when the configuration says nothing: 1.00 in a currency of two
/// decimals.
pub const DEFAULT_MIN_AMOUNT: u64 = 100;

/// The longest delay from the checkout to the last instalment when the configuration says
/// nothing: 92 days, three calendar months whatever the months (the 4th monthly instalment
/// of a 4-instalment schedule).
pub const DEFAULT_MAX_DELAY_DAYS: u32 = 92;

/// The `[instalments]` table of a bank's configuration: the limits its contract sets, which
/// the bank's documentation does not publish.
///
/// ```
/// use tpe_core::instalments::InstalmentSettings;
/// let s: InstalmentSettings = serde_json::from_str(r#"{"min_amount": 5000}"#).unwrap();
/// assert_eq!((s.min_amount, s.max_delay_days), (5000, 92));
/// assert_eq!(s.limits(4).max_count, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct InstalmentSettings {
    /// The smallest instalment, in minor units ([`DEFAULT_MIN_AMOUNT`] by default).
    #[serde(default = "default_min_amount")]
    pub min_amount: u64,
    /// The longest delay from the checkout to the last instalment, in days
    /// ([`DEFAULT_MAX_DELAY_DAYS`] by default).
    #[serde(default = "default_max_delay_days")]
    pub max_delay_days: u32,
    /// The most instalments, for a bank whose contract sets it; `None`: the bank's own limit.
    #[serde(default)]
    pub max_count: Option<u8>,
}

impl Default for InstalmentSettings {
    fn default() -> Self {
        Self {
            min_amount: DEFAULT_MIN_AMOUNT,
            max_delay_days: DEFAULT_MAX_DELAY_DAYS,
            max_count: None,
        }
    }
}

impl InstalmentSettings {
    /// The limits of a bank taking at most `bank_max` instalments: the configured count when
    /// lower.
    pub fn limits(self, bank_max: u8) -> InstalmentLimits {
        let count = self.max_count.map_or(bank_max, |c| c.min(bank_max));
        InstalmentLimits::new(count, self.min_amount, self.max_delay_days)
    }
}

/// The variables of the `[instalments]` table, for a bank's list of environment variables
/// (`<PREFIX>INSTALMENTS_MIN_AMOUNT`, `<PREFIX>INSTALMENTS_MAX_DELAY_DAYS`).
pub const ENV_VARS: [EnvVar; 2] = [
    EnvVar::new(
        "INSTALMENTS_MIN_AMOUNT",
        "instalments.min_amount",
        EnvKind::Integer,
    ),
    EnvVar::new(
        "INSTALMENTS_MAX_DELAY_DAYS",
        "instalments.max_delay_days",
        EnvKind::Integer,
    ),
];

fn default_min_amount() -> u64 {
    DEFAULT_MIN_AMOUNT
}

fn default_max_delay_days() -> u32 {
    DEFAULT_MAX_DELAY_DAYS
}

/// The calendar day of `now` in France, the day the French banks count a schedule from: a
/// checkout at 23:30 UTC in summer is on the next day.
///
/// ```
/// use jiff::civil::date;
/// let now: jiff::Timestamp = "2026-07-01T22:30:00Z".parse().unwrap();
/// assert_eq!(tpe_core::instalments::french_day(now), date(2026, 7, 2));
/// ```
pub fn french_day(now: Timestamp) -> Date {
    french_time(now).date()
}

/// `now` in French civil time (Europe/Paris), the time the French banks' forms are dated in.
///
/// ```
/// let now: jiff::Timestamp = "2026-07-01T22:30:00Z".parse().unwrap();
/// assert_eq!(tpe_core::instalments::french_time(now).strftime("%d/%m/%Y %H:%M").to_string(), "02/07/2026 00:30");
/// ```
pub fn french_time(now: Timestamp) -> jiff::ZonedDateTime {
    let tz = TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC);
    now.to_zoned_datetime(tz)
}

/// `DD/MM/YYYY`, the day format of the Paybox and Monetico forms.
///
/// ```
/// use jiff::civil::date;
/// use tpe_core::instalments::{format_day, parse_day};
/// assert_eq!(format_day(date(2027, 1, 5)), "05/01/2027");
/// assert_eq!(parse_day("05/01/2027"), Some(date(2027, 1, 5)));
/// assert_eq!(parse_day("5/1/2027"), None);
/// ```
pub fn format_day(day: Date) -> String {
    day.strftime("%d/%m/%Y").to_string()
}

/// A `DD/MM/YYYY` day, exactly ten characters.
pub fn parse_day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'/',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    Date::strptime("%d/%m/%Y", text).ok()
}
