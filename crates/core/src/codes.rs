//! The shape of a bank's code table: each row a code as the bank sends it, its normalized
//! [`ReasonKind`], the advice after this precise code, and the bank's wording in French and
//! English; with the look-ups every bank makes in it.
//!
//! A bank keeps its table as data: a JSON file beside its source, an array of rows
//! `[code, kind, advice, french, english]`, embedded with `include_str!` and read once into a
//! [`JsonTable`] whose rows borrow their strings from the embedded text.
//!
//! ```
//! use tpe_core::codes::{CodeInfo, JsonTable, classify};
//! use tpe_core::{ReasonKind, RetryAdvice};
//! static TABLE: JsonTable<CodeInfo> = JsonTable::new(r#"[
//!     ["51", "InsufficientFunds", "UseAnotherCard", "Provision insuffisante", "Insufficient funds"],
//!     ["91", "IssuerUnavailable", "RetryLater", "Émetteur indisponible", "Issuer unavailable"]
//! ]"#);
//! assert_eq!(TABLE.codes(), ["51", "91"]);
//! let unknown = ("Code inconnu", "Unknown code");
//! assert_eq!(classify(&TABLE, "91", unknown).retry_advice(), RetryAdvice::RetryLater);
//! assert_eq!(classify(&TABLE, "X", unknown).kind(), ReasonKind::UnknownCode);
//! ```

use std::ops::Deref;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer};

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

/// A row read from a JSON table: `[code, kind, advice, french, english]`, the kind and the
/// advice by their variant names, the strings borrowed from the embedded text.
impl Deserialize<'static> for CodeInfo {
    fn deserialize<D: Deserializer<'static>>(d: D) -> Result<Self, D::Error> {
        let (code, kind, advice, text_fr, text_en) = Deserialize::deserialize(d)?;
        Ok(Self::new(code, kind, advice, text_fr, text_en))
    }
}

/// A row of a table kept as data: what [`JsonTable`] reads and indexes by code.
pub trait TableRow: Deserialize<'static> + Send + Sync + 'static {
    /// The code as the bank sends it.
    fn code(&self) -> &'static str;
}

impl TableRow for CodeInfo {
    fn code(&self) -> &'static str {
        self.code
    }
}

/// A bank's table kept as data: a JSON array embedded with `include_str!`, read once on first
/// use. It derefs to its rows; [`Self::codes`] lists its codes in its order.
///
/// The text is part of the binary and each table has a unit test that [`Self::parse`]s it, so
/// reading it cannot fail at run time; its strings are borrowed, so they hold no JSON escape.
pub struct JsonTable<R> {
    json: &'static str,
    rows: OnceLock<(Vec<R>, Vec<&'static str>)>,
}

impl<R: TableRow> JsonTable<R> {
    /// The table written in `json`, not read yet.
    pub const fn new(json: &'static str) -> Self {
        Self {
            json,
            rows: OnceLock::new(),
        }
    }

    /// Reads the text: what the table's unit test checks.
    ///
    /// # Errors
    /// The JSON error: a row of another shape, an unknown kind or advice, an escaped string.
    pub fn parse(&self) -> Result<Vec<R>, serde_json::Error> {
        serde_json::from_str(self.json)
    }

    /// The rows, in the table's order.
    pub fn rows(&self) -> &[R] {
        &self.read().0
    }

    /// The codes of the rows, in the table's order.
    pub fn codes(&self) -> &[&'static str] {
        &self.read().1
    }

    /// The row of `code`, if it has one.
    pub fn get(&self, code: &str) -> Option<&R> {
        self.rows().iter().find(|r| r.code() == code)
    }

    /// The row of `code` read leniently, for a bank that does not promise an exact spelling:
    /// without surrounding white space, exactly, else ignoring ASCII case.
    pub fn find_lenient(&self, code: &str) -> Option<&R> {
        let code = code.trim();
        self.get(code).or_else(|| {
            self.rows()
                .iter()
                .find(|r| r.code().eq_ignore_ascii_case(code))
        })
    }

    fn read(&self) -> &(Vec<R>, Vec<&'static str>) {
        self.rows.get_or_init(|| {
            // Embedded at compile time and parsed by the table's own unit test.
            #[allow(clippy::expect_used)]
            let rows = self.parse().expect("an embedded code table parses");
            let codes = rows.iter().map(TableRow::code).collect();
            (rows, codes)
        })
    }
}

impl<R: TableRow> Deref for JsonTable<R> {
    type Target = [R];

    fn deref(&self) -> &[R] {
        self.rows()
    }
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

/// The [`PaymentProvider`](crate::PaymentProvider) methods that only read what the bank is:
/// `profile`, from the provider's field (`self.profile`) or from a static (`PROFILE`), and
/// `classify` and `known_codes` from its codes module as [`code_methods!`] writes them;
/// written last inside the `impl PaymentProvider`.
///
/// ```
/// use tpe_core::{PaymentProvider, PaymentRequest, Prepared, Profile, ProviderError};
/// use tpe_core::{ProviderId, RawNotification, Timestamp, Verified};
///
/// mod codes {
///     use tpe_core::codes::{CodeInfo, JsonTable};
///     static TABLE: JsonTable<CodeInfo> = JsonTable::new(
///         r#"[["05", "Declined", "ContactIssuer", "Ne pas honorer", "Do not honour"]]"#,
///     );
///     pub fn classify(code: &str) -> tpe_core::Reason {
///         tpe_core::codes::classify(&TABLE, code, ("Code inconnu", "Unknown code"))
///     }
///     pub fn known_codes() -> &'static [&'static str] {
///         TABLE.codes()
///     }
/// }
///
/// static PROFILE: Profile = Profile::new(ProviderId::from_static("bank"));
///
/// #[derive(Debug)]
/// struct Bank;
///
/// #[async_trait::async_trait]
/// impl PaymentProvider for Bank {
///     fn prepare_now(&self, _: &PaymentRequest, _: Timestamp) -> Result<Prepared, ProviderError> {
///         Err(ProviderError::unsupported(&PROFILE.id, "a form"))
///     }
///
///     fn verify(&self, _: &RawNotification, _: Timestamp) -> Result<Verified, ProviderError> {
///         Err(ProviderError::bad_signature(&PROFILE.id))
///     }
///
///     tpe_core::provider_facts!(PROFILE, codes);
/// }
///
/// assert_eq!(Bank.known_codes(), ["05"]);
/// assert_eq!(Bank.id().as_str(), "bank");
/// ```
#[macro_export]
macro_rules! provider_facts {
    (self.$field:ident, $codes:ident) => {
        fn profile(&self) -> &$crate::Profile {
            &self.$field
        }

        $crate::code_methods!($codes);
    };
    ($profile:path, $codes:ident) => {
        fn profile(&self) -> &$crate::Profile {
            &$profile
        }

        $crate::code_methods!($codes);
    };
}
