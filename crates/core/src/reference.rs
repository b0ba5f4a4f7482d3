//! Payment references: the key sent to the bank and used for everything after.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Timestamp;

/// Crockford base32: no I, L, O, U, so a reference read aloud or retyped stays unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_CHARS: usize = 10;
const RANDOM_CHARS: usize = 14;
const RANDOM_BITS: u32 = 70;

/// A payment reference ("référence paiement en ligne"): unique, at most 24 characters of
/// `[A-Za-z0-9_-]` (safe in URLs and in every bank's reference field).
///
/// Generated references are 24 characters of Crockford base32: 10 for the millisecond timestamp
/// then 14 random ones (70 bits), so they sort in creation order and never collide in practice.
/// A [`ReferenceGenerator`] makes them strictly increasing even within one millisecond.
///
/// ```
/// use tpe_core::{PaymentReference, ReferenceGenerator};
/// use tpe_core::clock::Timestamp;
/// let generator = ReferenceGenerator::new();
/// let now = Timestamp::from_second(1_764_000_000)?;
/// let a = generator.next(now);
/// let b = generator.next(now);
/// assert!(a < b);
/// assert_eq!(a.as_str().len(), 24);
/// assert_eq!(a.as_str().parse::<PaymentReference>().unwrap(), a);
/// assert!("has space".parse::<PaymentReference>().is_err());
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentReference(Box<str>);

impl PaymentReference {
    /// The longest reference accepted.
    pub const MAX_LEN: usize = 24;

    /// Parses and validates a reference.
    ///
    /// # Errors
    /// [`ReferenceError`] when empty, longer than [`Self::MAX_LEN`] or with a character outside
    /// `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(ReferenceError::TooLong {
                len: s.len(),
                max: Self::MAX_LEN,
            });
        }
        // The first byte outside the set starts the first character outside it.
        if let Some(position) = s
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(ReferenceError::InvalidCharacter {
                character: s[position..].chars().next().unwrap_or_default(),
                position,
            });
        }
        Ok(Self(s.into()))
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PaymentReference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for PaymentReference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for PaymentReference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PaymentReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a valid [`PaymentReference`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Empty reference.
    #[error("payment reference is empty")]
    Empty,
    /// Too long.
    #[error("payment reference has {len} bytes, at most {max} are allowed")]
    TooLong {
        /// Length found.
        len: usize,
        /// Maximum.
        max: usize,
    },
    /// A character outside `[A-Za-z0-9_-]`.
    #[error("payment reference has an invalid character {character:?} at position {position}")]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its byte position.
        position: usize,
    },
}

/// Generates strictly increasing [`PaymentReference`]s from the time it is given and the
/// operating system's random source.
#[derive(Debug, Default)]
pub struct ReferenceGenerator {
    last: Mutex<(u64, u128)>,
}

impl ReferenceGenerator {
    /// A new generator.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next reference for the instant `now`.
    ///
    /// Within one millisecond (or if the clock went back) the random part of the previous
    /// reference is incremented, as ULID's monotonic mode does, so references keep their order.
    pub fn next(&self, now: Timestamp) -> PaymentReference {
        let ms = u64::try_from(now.as_millisecond()).unwrap_or(0) & ((1 << 50) - 1);
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mask = (1u128 << RANDOM_BITS) - 1;
        let (ms, random) = if ms <= last.0 && *last != (0, 0) {
            let next = (last.1 + 1) & mask;
            if next == 0 {
                (last.0 + 1, random_bits() & mask)
            } else {
                (last.0, next)
            }
        } else {
            (ms, random_bits() & mask)
        };
        *last = (ms, random);
        let mut out = [0u8; TIME_CHARS + RANDOM_CHARS];
        encode(u128::from(ms), &mut out[..TIME_CHARS]);
        encode(random, &mut out[TIME_CHARS..]);
        // The alphabet is ASCII, so this cannot fail.
        let s = std::str::from_utf8(&out).unwrap_or_default();
        PaymentReference(s.into())
    }
}

fn encode(mut value: u128, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[usize::try_from(value & 31).unwrap_or(0)];
        value >>= 5;
    }
}

fn random_bits() -> u128 {
    let mut buf = [0u8; 16];
    // The OS random source failing is not something a payment can go on without.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("operating system random source unavailable");
    u128::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_references_are_ordered_unique_and_valid() {
        let g = ReferenceGenerator::new();
        let t0 = Timestamp::from_second(1_764_000_000).unwrap();
        let mut seen = HashSet::new();
        let mut prev = g.next(t0);
        for i in 0..10_000 {
            let t = t0
                .checked_add(jiff::SignedDuration::from_millis(i / 100))
                .unwrap();
            let r = g.next(t);
            assert!(r > prev, "{r} after {prev}");
            assert_eq!(r.as_str().len(), 24);
            assert_eq!(PaymentReference::parse(r.as_str()).unwrap(), r);
            assert!(seen.insert(r.clone()));
            prev = r;
        }
        // Later clock → later reference even with a fresh generator.
        let later = ReferenceGenerator::new()
            .next(t0.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
        assert!(later > prev);
    }

    #[test]
    fn clock_going_back_keeps_order() {
        let g = ReferenceGenerator::new();
        let a = g.next(Timestamp::from_second(2_000_000_000).unwrap());
        let b = g.next(Timestamp::from_second(1_000_000_000).unwrap());
        assert!(b > a);
    }

    #[test]
    fn bad_references_get_typed_errors() {
        assert_eq!(PaymentReference::parse(""), Err(ReferenceError::Empty));
        assert_eq!(
            PaymentReference::parse(&"A".repeat(25)),
            Err(ReferenceError::TooLong { len: 25, max: 24 })
        );
        assert_eq!(
            PaymentReference::parse("ab cd"),
            Err(ReferenceError::InvalidCharacter {
                character: ' ',
                position: 2
            })
        );
        assert!(matches!(
            PaymentReference::parse("é"),
            Err(ReferenceError::InvalidCharacter {
                character: 'é', ..
            })
        ));
        assert_eq!(
            PaymentReference::parse("ab-é"),
            Err(ReferenceError::InvalidCharacter {
                character: 'é',
                position: 3
            })
        );
        assert!(PaymentReference::parse("ORDER-2025_01").is_ok());
        assert!(PaymentReference::parse(&"Z".repeat(24)).is_ok());
    }
}
