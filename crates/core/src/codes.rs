//! The shape of a bank's code table: each row a code as the bank sends it, its normalized
//! [`ReasonKind`], the bank's wording in French and English, and the advice after this precise
//! code; with the look-ups every bank makes in it.
//!
//! ```
//! use tpe_core::codes::{CodeInfo, classify, codes_of};
//! use tpe_core::{ReasonKind, RetryAdvice};
//! const TABLE: &[CodeInfo] = &[
//!     CodeInfo::new("51", ReasonKind::InsufficientFunds, RetryAdvice::UseAnotherCard, "Provision insuffisante", "Insufficient funds"),
//!     CodeInfo::of("91", ReasonKind::IssuerUnavailable, "Émetteur indisponible", "Issuer unavailable"),
//! ];
//! const CODES: [&str; TABLE.len()] = codes_of(TABLE);
//! assert_eq!(CODES, ["51", "91"]);
//! let unknown = ("Code inconnu", "Unknown code");
//! assert_eq!(classify(TABLE, "91", unknown).retry_advice(), RetryAdvice::RetryLater);
//! assert_eq!(classify(TABLE, "X", unknown).kind(), ReasonKind::UnknownCode);
//! ```

use crate::{Reason, ReasonKind, RetryAdvice};

/// One row of a bank's code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The code as the bank sends it.
    pub code: &'static str,
    /// Normalized kind.
    pub kind: ReasonKind,
    /// The bank's wording in French.
    pub text_fr: &'static str,
    /// The bank's wording in English.
    pub text_en: &'static str,
    /// What to do after this precise code.
    pub advice: RetryAdvice,
}

impl CodeInfo {
    /// A row with its own advice.
    pub const fn new(
        code: &'static str,
        kind: ReasonKind,
        advice: RetryAdvice,
        text_fr: &'static str,
        text_en: &'static str,
    ) -> Self {
        Self {
            code,
            kind,
            text_fr,
            text_en,
            advice,
        }
    }

    /// A row with the kind's advice.
    pub const fn of(
        code: &'static str,
        kind: ReasonKind,
        text_fr: &'static str,
        text_en: &'static str,
    ) -> Self {
        Self::new(code, kind, kind.retry_advice(), text_fr, text_en)
    }

    /// The normalized reason of this row: its kind, code, wording and advice.
    pub fn reason(&self) -> Reason {
        Reason::new(self.kind, self.code)
            .with_bank_text(self.text_fr, self.text_en)
            .with_advice(self.advice)
    }
}

/// The codes of a table, in its order, computed at compile time:
/// `const CODES: [&str; TABLE.len()] = codes_of(TABLE);`.
pub const fn codes_of<const N: usize>(table: &[CodeInfo]) -> [&'static str; N] {
    let mut codes = [""; N];
    let mut i = 0;
    while i < N {
        codes[i] = table[i].code;
        i += 1;
    }
    codes
}

/// The row of `code` in `table`, if it has one.
pub fn lookup(table: &'static [CodeInfo], code: &str) -> Option<&'static CodeInfo> {
    table.iter().find(|c| c.code == code)
}

/// Classifies any code. Total: a code outside `table` gives [`ReasonKind::UnknownCode`] with
/// the raw value kept (bounded by [`Reason`]) and the bank's `unknown` wording (French,
/// English).
pub fn classify(
    table: &'static [CodeInfo],
    code: &str,
    unknown: (&'static str, &'static str),
) -> Reason {
    match lookup(table, code) {
        Some(info) => info.reason(),
        None => Reason::unknown(code.to_owned()).with_bank_text(unknown.0, unknown.1),
    }
}

/// What is wrong with a bank's table as `classify` reads it: a code listed twice, classified
/// to another code or as unknown, or worded alike in French and English. Empty for a sound
/// table; the conformance kit asserts it for every provider.
///
/// ```
/// use tpe_core::codes::{CodeInfo, classify, table_problems};
/// use tpe_core::ReasonKind;
/// const TABLE: &[CodeInfo] = &[CodeInfo::of("05", ReasonKind::Declined, "Refus", "Refused")];
/// assert!(table_problems(&["05"], |c| classify(TABLE, c, ("?", "?"))).is_empty());
/// assert_eq!(table_problems(&["05", "05"], |c| classify(TABLE, c, ("?", "?"))).len(), 1);
/// ```
pub fn table_problems(codes: &[&str], classify: impl Fn(&str) -> Reason) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut problems = Vec::new();
    for code in codes {
        if !seen.insert(*code) {
            problems.push(format!("{code}: listed twice"));
        }
        let r = classify(code);
        if r.code() != *code || r.kind() == ReasonKind::UnknownCode {
            problems.push(format!("{code}: classified as {} {}", r.kind(), r.code()));
        }
        if r.bank_text(crate::Lang::Fr) == r.bank_text(crate::Lang::En) {
            problems.push(format!("{code}: worded alike in French and English"));
        }
    }
    problems
}

/// Declares a code table written one row a line, `code => Kind, Advice, "fr", "en";`, and the
/// list of its codes.
///
/// ```
/// tpe_core::code_table! {
///     /// The table.
///     pub TABLE, CODES;
///     "05" => Declined, ContactIssuer, "Ne pas honorer", "Do not honour";
/// }
/// assert_eq!((TABLE[0].code, CODES), ("05", &["05"][..]));
/// ```
#[macro_export]
macro_rules! code_table {
    ($(#[$meta:meta])* $vis:vis $table:ident, $codes:ident;
     $( $code:expr => $kind:ident, $advice:ident, $fr:literal, $en:literal; )*) => {
        $(#[$meta])*
        $vis const $table: &[$crate::codes::CodeInfo] = &[
            $( $crate::codes::CodeInfo::new(
                $code,
                $crate::ReasonKind::$kind,
                $crate::RetryAdvice::$advice,
                $fr,
                $en,
            ), )*
        ];
        const $codes: &[&str] = &[$($code),*];
    };
}

/// The [`PaymentProvider`](crate::PaymentProvider) methods `classify` and `known_codes` of a
/// bank, from its codes module (`$codes::classify`, `$codes::known_codes`); written inside the
/// `impl PaymentProvider`.
#[macro_export]
macro_rules! code_methods {
    ($codes:ident) => {
        fn classify(&self, code: &str) -> $crate::Reason {
            $codes::classify(code)
        }

        fn known_codes(&self) -> &'static [&'static str] {
            $codes::known_codes()
        }
    };
}
