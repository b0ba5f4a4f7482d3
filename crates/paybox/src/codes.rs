//! Paybox result codes (`E` of PBX_RETOUR, spec §5) and authorization-centre codes `001xx`
//! (spec §5.1) mapped to normalized [`Reason`]s.
//!
//! The table keeps the bank's wording in French and English and the advice for each precise
//! code. Any other input (another 5-character code, garbage, an empty string) gives
//! [`Reason::unknown`] with the raw value kept; nothing here can panic.
//!
//! `00000` (success) is not a decline and is not in the table: [`is_success`] tells it apart.

use tpe_core::Reason;

pub use tpe_core::codes::CodeInfo;
use tpe_core::codes::JsonTable;

/// Every code of the table, in the spec's order: the platform's codes (§5), then the
/// authorization centre's `001xx` (§5.1). Its rows, `[code, kind, advice, french, english]`,
/// are data in `codes/results.json`.
pub static TABLE: JsonTable<CodeInfo> = JsonTable::new(include_str!("codes/results.json"));

/// The code of an accepted payment.
pub const SUCCESS: &str = "00000";

/// The code of a payment pending the issuer's decision.
pub const PENDING: &str = "99999";

/// Every code of the table.
pub fn known_codes() -> &'static [&'static str] {
    TABLE.codes()
}

/// Whether `code` means an accepted payment.
pub fn is_success(code: &str) -> bool {
    code == SUCCESS
}

/// The table row of `code`, if it has one. Lower-case letters in `001a1` are accepted.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    if code.len() != 5 || !code.is_ascii() {
        return None;
    }
    let mut upper = [0u8; 5];
    for (u, b) in upper.iter_mut().zip(code.bytes()) {
        *u = b.to_ascii_uppercase();
    }
    TABLE.iter().find(|c| c.code.as_bytes() == upper)
}

/// Classifies any code. Total: unknown codes give [`ReasonKind::UnknownCode`](tpe_core::ReasonKind::UnknownCode) with the raw value.
///
/// ```
/// use tpe_core::{ReasonKind, RetryAdvice};
/// let r = tpe_paybox::codes::classify("00151");
/// assert_eq!(r.kind(), ReasonKind::InsufficientFunds);
/// assert_eq!(tpe_paybox::codes::classify("001A1").retry_advice(),
///            RetryAdvice::RetryWithAuthentication);
/// let unknown = tpe_paybox::codes::classify("00777");
/// assert_eq!((unknown.kind(), unknown.code()), (ReasonKind::UnknownCode, "00777"));
/// ```
pub fn classify(code: &str) -> Reason {
    match lookup(code) {
        Some(info) => info.reason(),
        None if is_success(code) => Reason::unknown(SUCCESS).with_bank_text(
            "Opération réussie (pas un refus)",
            "Operation successful (not a decline)",
        ),
        None => Reason::unknown(code.to_owned()).with_bank_text(
            "Code bancaire inconnu : voir le back-office de la banque",
            "Unknown bank code: look it up in the bank's back office",
        ),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use tpe_core::{ReasonKind, RetryAdvice};

    use super::*;

    #[test]
    fn table_codes_are_five_characters_unique_and_classified() {
        assert_eq!(TABLE.parse().map(|r| r.len()).ok(), Some(72));
        let mut seen = std::collections::HashSet::new();
        for info in TABLE.iter() {
            assert_eq!(info.code.len(), 5, "{}", info.code);
            assert!(seen.insert(info.code), "duplicate {}", info.code);
            let r = classify(info.code);
            assert_ne!(r.kind(), ReasonKind::UnknownCode, "{}", info.code);
            assert_eq!(r.code(), info.code);
            assert_eq!(r.retry_advice(), info.advice);
            assert!(!info.text_fr.is_empty() && !info.text_en.is_empty());
        }
        assert_eq!(known_codes().len(), TABLE.len());
    }

    #[test]
    fn spec_codes_are_all_present() {
        // §5 and §5.1 of the spec, written out independently of the table.
        let platform = [
            "00001", "00003", "00004", "00006", "00008", "00009", "00010", "00011", "00015",
            "00016", "00021", "00022", "00029", "00030", "00031", "00032", "00033", "00040",
            "99999",
        ];
        let bank = [
            "01", "02", "03", "04", "05", "07", "08", "12", "13", "14", "15", "17", "19", "20",
            "24", "25", "26", "27", "28", "29", "30", "31", "33", "34", "38", "41", "43", "51",
            "54", "55", "56", "57", "58", "59", "60", "61", "63", "68", "75", "76", "89", "90",
            "91", "94", "96", "97", "98", "99", "A1", "A4", "R1", "R3",
        ];
        for code in platform
            .iter()
            .map(|c| (*c).to_owned())
            .chain(bank.iter().map(|xx| format!("001{xx}")))
        {
            assert!(known_codes().contains(&code.as_str()), "{code} missing");
        }
    }

    #[test]
    fn representative_mappings() {
        let cases = [
            (
                "00151",
                ReasonKind::InsufficientFunds,
                RetryAdvice::UseAnotherCard,
            ),
            (
                "00141",
                ReasonKind::CardLostOrStolen,
                RetryAdvice::DoNotRetry,
            ),
            (
                "00143",
                ReasonKind::CardLostOrStolen,
                RetryAdvice::DoNotRetry,
            ),
            (
                "001A1",
                ReasonKind::AuthenticationRequired,
                RetryAdvice::RetryWithAuthentication,
            ),
            (
                "001a1",
                ReasonKind::AuthenticationRequired,
                RetryAdvice::RetryWithAuthentication,
            ),
            (
                "001R3",
                ReasonKind::RecurringRevoked,
                RetryAdvice::DoNotRetry,
            ),
            (
                "00006",
                ReasonKind::MerchantConfiguration,
                RetryAdvice::FixConfiguration,
            ),
            ("00030", ReasonKind::PageTimeout, RetryAdvice::RetryNow),
            ("99999", ReasonKind::Pending, RetryAdvice::Wait),
            (
                "00117",
                ReasonKind::CancelledByCustomer,
                RetryAdvice::RetryNow,
            ),
            ("00004", ReasonKind::InvalidCardData, RetryAdvice::RetryNow),
        ];
        for (code, kind, advice) in cases {
            let r = classify(code);
            assert_eq!((r.kind(), r.retry_advice()), (kind, advice), "{code}");
        }
        assert!(
            classify("00151")
                .bank_text(tpe_core::Lang::Fr)
                .contains("Provision")
        );
    }

    #[test]
    fn unknown_codes_keep_their_raw_value() {
        for code in ["00777", "001ZZ", "00100", "12345", "", "x"] {
            let r = classify(code);
            assert_eq!(r.kind(), ReasonKind::UnknownCode, "{code}");
            assert_eq!(r.code(), code);
        }
        assert!(is_success("00000"));
        assert_eq!(classify("00000").kind(), ReasonKind::UnknownCode);
    }

    proptest! {
        #[test]
        fn classify_never_panics(s in "\\PC{0,80}") {
            let r = classify(&s);
            prop_assert!(r.code().chars().count() <= Reason::MAX_CODE_LEN);
        }

        #[test]
        fn any_five_char_code_is_total(s in "[0-9A-Za-z]{5}") {
            let r = classify(&s);
            if lookup(&s).is_none() {
                prop_assert_eq!(r.kind(), ReasonKind::UnknownCode);
                prop_assert_eq!(r.code(), s.as_str());
            }
        }
    }
}
