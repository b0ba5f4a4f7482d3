//! `PBX_RETOUR`: the variables the bank returns, by name and letter (spec §4.2).

use std::str::FromStr;

use serde::Deserialize;

use super::ParseConfigError;

/// A return variable letter of `PBX_RETOUR` (spec §4.2).
pub const RETOUR_LETTERS: &str = "ABCDEFGHIJKMNOPQRSTUVWYZovjc";

/// The `PBX_RETOUR` list: `name:Letter` pairs, the signature `K` last.
///
/// Default: `M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;K:K` — what the
/// notification mapping reads (amount, reference, call and transaction numbers, authorization,
/// code, masked card, issuer country, 3-D Secure status, guarantee and version), nothing more.
/// `M`, `R`, `T`, `S`, `E` and `K` are required.
///
/// ```
/// let r: tpe_paybox::config::RetourSpec = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K".parse()?;
/// assert_eq!(r.signature_name(), "Sign");
/// assert_eq!(r.name_of('M'), Some("Mt"));
/// assert!("M:M;K:K;R:R;T:T;S:S;E:E".parse::<tpe_paybox::config::RetourSpec>().is_err());
/// # Ok::<(), tpe_paybox::config::ParseConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RetourSpec {
    pairs: Vec<(String, char)>,
    wire: String,
}

impl RetourSpec {
    /// The default variable set.
    pub const DEFAULT: &'static str = "M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;K:K";
    const REQUIRED: &'static str = "MRTSEK";

    /// The `PBX_RETOUR` value.
    pub fn as_str(&self) -> &str {
        &self.wire
    }

    /// The `(name, letter)` pairs in order.
    pub fn pairs(&self) -> &[(String, char)] {
        &self.pairs
    }

    /// The name given to the signature.
    pub fn signature_name(&self) -> &str {
        // Invariant from parsing: non-empty, the last pair is `K`.
        self.pairs.last().map_or("K", |(n, _)| n.as_str())
    }

    /// The name given to `letter`.
    pub fn name_of(&self, letter: char) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, l)| *l == letter)
            .map(|(n, _)| n.as_str())
    }

    /// The letter returned under `name`.
    pub fn letter_of(&self, name: &str) -> Option<char> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, l)| *l)
    }
}

impl Default for RetourSpec {
    fn default() -> Self {
        // The constant is covered by a test; parsing it cannot fail.
        Self::DEFAULT.parse().unwrap_or_else(|_| Self {
            pairs: Vec::new(),
            wire: String::new(),
        })
    }
}

impl FromStr for RetourSpec {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |expected| ParseConfigError::new("retour", s, expected);
        let mut pairs: Vec<(String, char)> = Vec::new();
        for item in s.trim().trim_end_matches(';').split(';') {
            let (name, letter) = item
                .split_once(':')
                .ok_or_else(|| err("name:Letter pairs separated by ;"))?;
            let mut chars = letter.chars();
            let (Some(letter), None) = (chars.next(), chars.next()) else {
                return Err(err("one letter after each name"));
            };
            if !RETOUR_LETTERS.contains(letter) {
                return Err(err("letters of the bank's list (spec §4.2)"));
            }
            if name.is_empty()
                || name.len() > 32
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(err("names of 1 to 32 characters of [A-Za-z0-9_-]"));
            }
            if pairs.iter().any(|(n, l)| n == name || *l == letter) {
                return Err(err("each name and each letter once"));
            }
            pairs.push((name.to_owned(), letter));
        }
        if pairs.last().map(|(_, l)| *l) != Some('K') {
            return Err(err("a list whose last letter is the signature K"));
        }
        if Self::REQUIRED
            .chars()
            .any(|r| !pairs.iter().any(|(_, l)| *l == r))
        {
            return Err(err("a list with at least M, R, T, S, E and K"));
        }
        let wire = pairs
            .iter()
            .map(|(n, l)| format!("{n}:{l}"))
            .collect::<Vec<_>>()
            .join(";");
        Ok(Self { pairs, wire })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_retour_parses_and_ends_with_k() {
        let r = RetourSpec::default();
        assert_eq!(r.as_str(), RetourSpec::DEFAULT);
        assert_eq!(r.signature_name(), "K");
        assert_eq!(r.letter_of("v"), Some('v'));
    }

    #[test]
    fn retour_rules() {
        for bad in [
            "",
            "M:M;R:R;T:T;S:S;E:E",       // no K
            "K:K;M:M;R:R;T:T;S:S;E:E",   // K not last
            "M:M;R:R;T:T;S:S;K:K",       // no E
            "M:M;M:R;T:T;S:S;E:E;K:K",   // duplicate name
            "M:M;R:X;T:T;S:S;E:E;K:K",   // unknown letter
            "M:MM;R:R;T:T;S:S;E:E;K:K",  // two letters
            "M=M;R:R;T:T;S:S;E:E;K:K",   // bad syntax
            "a b:M;R:R;T:T;S:S;E:E;K:K", // bad name
        ] {
            assert!(bad.parse::<RetourSpec>().is_err(), "{bad}");
        }
        let r: RetourSpec = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K;"
            .parse()
            .unwrap();
        assert_eq!(r.as_str(), "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K");
    }
}
