//! Payment in instalments ("paiement en plusieurs fois"): the [`Schedule`] a checkout asks for,
//! and the [`InstalmentLimits`] a bank declares in its [`Profile`](crate::Profile).
//!
//! The first instalment is charged at checkout, on the bank's hosted page; the bank charges the
//! later ones itself on their due dates, each its own bank transaction. Amounts are in minor
//! units and sum exactly to the total: [`Schedule::split`] puts the remainder of the division
//! on the first instalment.

use std::fmt;

use jiff::civil::Date;
use jiff::{Span, ToSpan};
use serde::{Deserialize, Serialize};

use crate::money::{Amount, Currency};

mod bank;

pub use bank::{
    DEFAULT_MAX_DELAY_DAYS, DEFAULT_MIN_AMOUNT, ENV_VARS, InstalmentSettings, format_day,
    french_day, french_time, parse_day,
};

/// The most instalments any schedule may have; a bank's own limit is usually lower
/// ([`InstalmentLimits::max_count`]).
pub const MAX_INSTALMENTS: usize = 12;

/// One instalment: an amount due on a date (the bank's calendar day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Instalment {
    /// The amount charged.
    pub amount: Amount,
    /// The day it is charged; the first is the day of the checkout.
    pub due: Date,
}

impl Instalment {
    /// An instalment of `amount` due on `due`.
    pub fn new(amount: Amount, due: Date) -> Self {
        Self { amount, due }
    }
}

/// How far apart the instalments of [`Schedule::split`] fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Interval {
    /// Every `n` calendar months, on the same day of the month (or the month's last day).
    Months(u8),
    /// Every `n` days.
    Days(u16),
}

impl Interval {
    fn span(self, times: usize) -> Span {
        let times = i64::try_from(times).unwrap_or(i64::MAX);
        match self {
            Self::Months(n) => (i64::from(n).saturating_mul(times)).months(),
            Self::Days(n) => (i64::from(n).saturating_mul(times)).days(),
        }
    }
}

/// A payment in 2 to [`MAX_INSTALMENTS`] instalments of one currency, on strictly increasing
/// dates, every one at least 1 minor unit, summing to the total.
///
/// ```
/// use jiff::civil::date;
/// use tpe_core::instalments::{Interval, Schedule};
/// use tpe_core::{Amount, Currency};
///
/// // 100.00 € in 3: the remainder of the division goes on the first instalment.
/// let total = Amount::new(10_000, Currency::EUR)?;
/// let s = Schedule::split(total, 3, date(2026, 11, 29), Interval::Months(1))?;
/// let amounts: Vec<u64> = s.instalments().iter().map(|i| i.amount.minor()).collect();
/// assert_eq!(amounts, [3_334, 3_333, 3_333]);
/// assert_eq!(s.instalments()[2].due, date(2027, 1, 29));
/// assert_eq!(s.total(), total);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    instalments: Vec<Instalment>,
    #[serde(skip)]
    total: Amount,
}

impl Schedule {
    /// `total` in `count` instalments `every` apart from `first_due`; each instalment is
    /// `total / count` minor units, and the first also takes the remainder.
    ///
    /// # Errors
    /// [`ScheduleError`] naming the rule: fewer than 2 or more than [`MAX_INSTALMENTS`]
    /// instalments, an instalment of 0, a date past the calendar.
    pub fn split(
        total: Amount,
        count: u8,
        first_due: Date,
        every: Interval,
    ) -> Result<Self, ScheduleError> {
        let n = usize::from(count);
        check_count(n)?;
        let share = total.minor() / u64::from(count);
        let first = share + total.minor() % u64::from(count);
        let mut instalments = Vec::with_capacity(n);
        for index in 0..n {
            let minor = if index == 0 { first } else { share };
            let due = first_due
                .checked_add(every.span(index))
                .map_err(|_| ScheduleError::DateOutOfRange { index: index + 1 })?;
            instalments.push(Instalment::new(
                amount(minor, total.currency(), index + 1)?,
                due,
            ));
        }
        Self::new(total, instalments)
    }

    /// A schedule of the given instalments, checked against `total`.
    ///
    /// # Errors
    /// [`ScheduleError`] naming the rule broken.
    pub fn new(total: Amount, instalments: Vec<Instalment>) -> Result<Self, ScheduleError> {
        check_count(instalments.len())?;
        let mut sum: u64 = 0;
        for (i, inst) in instalments.iter().enumerate() {
            let index = i + 1;
            if inst.amount.currency() != total.currency() {
                return Err(ScheduleError::Currency {
                    index,
                    expected: total.currency(),
                });
            }
            if inst.amount.is_zero() {
                return Err(ScheduleError::ZeroAmount { index });
            }
            if i > 0 && inst.due <= instalments[i - 1].due {
                return Err(ScheduleError::DatesNotIncreasing { index });
            }
            sum = sum.saturating_add(inst.amount.minor());
        }
        if sum != total.minor() {
            return Err(ScheduleError::Sum {
                sum,
                total: total.minor(),
            });
        }
        Ok(Self { instalments, total })
    }

    /// The instalments, the first (charged at checkout) first.
    pub fn instalments(&self) -> &[Instalment] {
        &self.instalments
    }

    /// How many instalments.
    pub fn count(&self) -> usize {
        self.instalments.len()
    }

    /// The first instalment, charged at checkout.
    pub fn first(&self) -> Instalment {
        self.instalments[0]
    }

    /// The instalment numbered `number` (1 is the first), if any.
    pub fn get(&self, number: u8) -> Option<Instalment> {
        usize::from(number)
            .checked_sub(1)
            .and_then(|i| self.instalments.get(i))
            .copied()
    }

    /// The whole amount.
    pub fn total(&self) -> Amount {
        self.total
    }

    /// Checks that this schedule pays `amount`, in its currency.
    ///
    /// # Errors
    /// [`ScheduleError::Currency`] or [`ScheduleError::Sum`].
    pub fn check_total(&self, amount: Amount) -> Result<(), ScheduleError> {
        if self.total.currency() != amount.currency() {
            return Err(ScheduleError::Currency {
                index: 1,
                expected: amount.currency(),
            });
        }
        if self.total != amount {
            return Err(ScheduleError::Sum {
                sum: self.total.minor(),
                total: amount.minor(),
            });
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Schedule {
    /// Checked again when read back: a stored schedule obeys the same rules.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            instalments: Vec<Instalment>,
        }
        let raw = Raw::deserialize(d)?;
        let first = raw
            .instalments
            .first()
            .ok_or_else(|| serde::de::Error::custom(ScheduleError::Count { count: 0 }))?;
        let sum = raw
            .instalments
            .iter()
            .try_fold(Amount::zero(first.amount.currency()), |acc, i| {
                acc.checked_add(i.amount)
            })
            .map_err(serde::de::Error::custom)?;
        Self::new(sum, raw.instalments).map_err(serde::de::Error::custom)
    }
}

fn check_count(count: usize) -> Result<(), ScheduleError> {
    if (2..=MAX_INSTALMENTS).contains(&count) {
        Ok(())
    } else {
        Err(ScheduleError::Count { count })
    }
}

/// A share of a valid total is a valid amount; 0 is refused by [`Schedule::new`].
fn amount(minor: u64, currency: Currency, index: usize) -> Result<Amount, ScheduleError> {
    Amount::new(minor, currency).map_err(|_| ScheduleError::ZeroAmount { index })
}

/// What a bank accepts of a schedule, declared in its [`Profile`](crate::Profile). A bank
/// whose limits its documentation leaves unsure takes them from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstalmentLimits {
    /// The most instalments (the first included).
    pub max_count: u8,
    /// The smallest instalment, in minor units.
    pub min_amount: u64,
    /// The longest delay from the checkout's day to the last instalment, in days.
    pub max_delay_days: u32,
}

impl InstalmentLimits {
    /// Limits of `max_count` instalments of at least `min_amount` minor units, the last at
    /// most `max_delay_days` after the checkout.
    pub const fn new(max_count: u8, min_amount: u64, max_delay_days: u32) -> Self {
        Self {
            max_count,
            min_amount,
            max_delay_days,
        }
    }

    /// Checks `schedule` for a checkout made on `today`: the first instalment is due today,
    /// and every rule of these limits holds.
    ///
    /// ```
    /// use jiff::civil::date;
    /// use tpe_core::instalments::{InstalmentLimits, Interval, Schedule, ScheduleError};
    /// use tpe_core::{Amount, Currency};
    ///
    /// let limits = InstalmentLimits::new(4, 1_000, 92);
    /// let total = Amount::new(30_000, Currency::EUR)?;
    /// let today = date(2026, 11, 29);
    /// let three = Schedule::split(total, 3, today, Interval::Months(1))?;
    /// assert!(limits.check(&three, today).is_ok());
    /// let six = Schedule::split(total, 6, today, Interval::Months(1))?;
    /// assert_eq!(limits.check(&six, today), Err(ScheduleError::TooMany { count: 6, max: 4 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`ScheduleError`] of the first rule broken.
    pub fn check(&self, schedule: &Schedule, today: Date) -> Result<(), ScheduleError> {
        let count = schedule.count();
        if count > usize::from(self.max_count) {
            return Err(ScheduleError::TooMany {
                count,
                max: self.max_count,
            });
        }
        if schedule.first().due != today {
            return Err(ScheduleError::FirstNotToday {
                due: schedule.first().due,
                today,
            });
        }
        for (i, inst) in schedule.instalments().iter().enumerate() {
            if inst.amount.minor() < self.min_amount {
                return Err(ScheduleError::BelowMinimum {
                    index: i + 1,
                    amount: inst.amount.minor(),
                    min: self.min_amount,
                });
            }
        }
        let last = schedule.instalments()[count - 1].due;
        let days = today
            .until(last)
            .ok()
            .and_then(|s| u32::try_from(s.get_days()).ok())
            .unwrap_or(u32::MAX);
        if days > self.max_delay_days {
            return Err(ScheduleError::TooLate {
                days,
                max: self.max_delay_days,
            });
        }
        Ok(())
    }
}

/// Why a schedule is refused: the rule broken, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Fewer than 2 or more than [`MAX_INSTALMENTS`] instalments.
    #[error("a schedule has 2 to {MAX_INSTALMENTS} instalments, not {count}")]
    Count {
        /// How many were given.
        count: usize,
    },
    /// More instalments than the bank takes.
    #[error("the bank takes at most {max} instalments, not {count}")]
    TooMany {
        /// How many were given.
        count: usize,
        /// The bank's limit.
        max: u8,
    },
    /// The instalments do not sum to the total.
    #[error("the instalments sum to {sum} minor units, the total is {total}")]
    Sum {
        /// Their sum.
        sum: u64,
        /// The checkout's total.
        total: u64,
    },
    /// An instalment in another currency than the total.
    #[error("instalment {index} is not in {expected}")]
    Currency {
        /// The instalment's number (1 is the first).
        index: usize,
        /// The total's currency.
        expected: Currency,
    },
    /// An instalment of nothing.
    #[error("instalment {index} is 0")]
    ZeroAmount {
        /// The instalment's number.
        index: usize,
    },
    /// An instalment below the bank's minimum.
    #[error("instalment {index} is {amount} minor units, the bank's minimum is {min}")]
    BelowMinimum {
        /// The instalment's number.
        index: usize,
        /// Its amount.
        amount: u64,
        /// The bank's minimum.
        min: u64,
    },
    /// An instalment due on or before the one before it.
    #[error("instalment {index} is not due after the one before it")]
    DatesNotIncreasing {
        /// The instalment's number.
        index: usize,
    },
    /// A due date past the calendar.
    #[error("instalment {index} falls past the calendar")]
    DateOutOfRange {
        /// The instalment's number.
        index: usize,
    },
    /// The first instalment is not due on the day of the checkout.
    #[error("the first instalment is due on {due}, the checkout is on {today}")]
    FirstNotToday {
        /// Its due date.
        due: Date,
        /// The checkout's day.
        today: Date,
    },
    /// The last instalment is further away than the bank allows.
    #[error("the last instalment is {days} days away, the bank allows {max}")]
    TooLate {
        /// Days from the checkout to the last instalment.
        days: u32,
        /// The bank's limit.
        max: u32,
    },
    /// The bank does not offer payment in instalments.
    #[error("this bank does not take payment in instalments")]
    Unsupported,
}

impl fmt::Display for Instalment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.amount, self.due)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap()
    }

    proptest! {
        #[test]
        fn split_sums_exactly_and_the_remainder_goes_first(
            minor in 2u64..=100_000_000_000,
            count in 2u8..=12,
            months in 1u8..=3,
        ) {
            prop_assume!(minor >= u64::from(count));
            let s = Schedule::split(eur(minor), count, date(2026, 1, 31), Interval::Months(months)).unwrap();
            let amounts: Vec<u64> = s.instalments().iter().map(|i| i.amount.minor()).collect();
            prop_assert_eq!(amounts.iter().sum::<u64>(), minor);
            prop_assert_eq!(amounts.len(), usize::from(count));
            let share = minor / u64::from(count);
            prop_assert_eq!(amounts[0], share + minor % u64::from(count));
            prop_assert!(amounts[1..].iter().all(|a| *a == share));
            prop_assert!(s.instalments().windows(2).all(|w| w[0].due < w[1].due));
        }

        #[test]
        fn a_stored_schedule_reads_back_the_same(minor in 2u64..=10_000_000, count in 2u8..=4) {
            prop_assume!(minor >= u64::from(count));
            let s = Schedule::split(eur(minor), count, date(2026, 2, 28), Interval::Days(30)).unwrap();
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        }
    }

    #[test]
    fn each_rule_is_named() {
        let d = date(2026, 11, 29);
        assert_eq!(
            Schedule::split(eur(100), 1, d, Interval::Months(1)),
            Err(ScheduleError::Count { count: 1 })
        );
        assert_eq!(
            Schedule::split(eur(2), 3, d, Interval::Months(1)),
            Err(ScheduleError::ZeroAmount { index: 2 })
        );
        let two = |a: u64, b: u64, second: Date| {
            Schedule::new(
                eur(a + b),
                vec![Instalment::new(eur(a), d), Instalment::new(eur(b), second)],
            )
        };
        assert!(two(50, 50, date(2026, 12, 29)).is_ok());
        assert_eq!(
            two(50, 50, d),
            Err(ScheduleError::DatesNotIncreasing { index: 2 })
        );
        assert_eq!(
            Schedule::new(
                eur(101),
                vec![
                    Instalment::new(eur(50), d),
                    Instalment::new(eur(50), date(2027, 1, 1))
                ]
            ),
            Err(ScheduleError::Sum {
                sum: 100,
                total: 101
            })
        );
        let usd = Amount::new(50, Currency::USD).unwrap();
        assert_eq!(
            Schedule::new(
                eur(100),
                vec![
                    Instalment::new(eur(50), d),
                    Instalment::new(usd, date(2027, 1, 1))
                ]
            ),
            Err(ScheduleError::Currency {
                index: 2,
                expected: Currency::EUR
            })
        );
        let limits = InstalmentLimits::new(4, 1_000, 90);
        let s = Schedule::split(eur(3_000), 3, d, Interval::Months(1)).unwrap();
        // 1,000 each: the minimum itself is allowed.
        assert_eq!(limits.check(&s, d), Ok(()));
        let small = Schedule::split(eur(2_000), 3, d, Interval::Months(1)).unwrap();
        assert_eq!(
            limits.check(&small, d),
            Err(ScheduleError::BelowMinimum {
                index: 1,
                amount: 668,
                min: 1_000
            })
        );
        // 29 November to 28 February: 91 days.
        let far = Schedule::split(eur(30_000), 4, d, Interval::Months(1)).unwrap();
        assert_eq!(
            limits.check(&far, d),
            Err(ScheduleError::TooLate { days: 91, max: 90 })
        );
        assert_eq!(InstalmentLimits::new(4, 1_000, 91).check(&far, d), Ok(()));
        let farther = Schedule::split(eur(30_000), 4, d, Interval::Months(2)).unwrap();
        assert!(matches!(
            limits.check(&farther, d),
            Err(ScheduleError::TooLate { max: 90, .. })
        ));
        assert_eq!(
            limits.check(&s, date(2026, 11, 30)),
            Err(ScheduleError::FirstNotToday {
                due: d,
                today: date(2026, 11, 30)
            })
        );
    }
}
