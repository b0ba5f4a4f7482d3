//! Decline codes (spec §A.8): the `decline_code` (or top-level `code`) of a card error mapped to
//! a normalized [`Reason`], with the PSP's meaning in French and English and the advice.

use tpe_core::Reason;
use tpe_core::codes::{CodeInfo, JsonTable};

/// The table, in the order of the spec. Codes marked UNSURE there are kept: an unknown code
/// would be classified anyway, and a wrong guess only changes the wording.
static TABLE: JsonTable<CodeInfo> = JsonTable::new(include_str!("codes/decline_codes.json"));

/// Every decline code this provider knows.
pub fn known_codes() -> &'static [&'static str] {
    TABLE.codes()
}

/// Classifies a decline code. Total: an unknown code keeps its raw value under
/// [`ReasonKind::UnknownCode`](tpe_core::ReasonKind::UnknownCode).
///
/// ```
/// use tpe_core::ReasonKind;
/// use tpe_stripe_like::classify;
/// assert_eq!(classify("insufficient_funds").kind(), ReasonKind::InsufficientFunds);
/// let unknown = classify("brand_new_code");
/// assert_eq!(unknown.kind(), ReasonKind::UnknownCode);
/// assert_eq!(unknown.code(), "brand_new_code");
/// ```
pub fn classify(code: &str) -> Reason {
    match TABLE.find_lenient(code) {
        Some(r) => r.reason(),
        None => Reason::unknown(code.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tpe_core::{ReasonKind as K, RetryAdvice as A};

    #[test]
    fn table_matches_the_spec() {
        let expect = [
            ("insufficient_funds", K::InsufficientFunds),
            ("expired_card", K::CardExpired),
            ("incorrect_cvc", K::InvalidCardData),
            ("invalid_cvc", K::InvalidCardData),
            ("incorrect_number", K::InvalidCardData),
            ("invalid_number", K::InvalidCardData),
            ("lost_card", K::CardLostOrStolen),
            ("stolen_card", K::CardLostOrStolen),
            ("do_not_honor", K::Declined),
            ("generic_decline", K::Declined),
            ("authentication_required", K::AuthenticationRequired),
            ("processing_error", K::ProcessingError),
            ("fraudulent", K::FraudSuspected),
            ("card_not_supported", K::CardNotSupported),
            ("currency_not_supported", K::CardNotSupported),
            ("transaction_not_allowed", K::TransactionNotPermitted),
            ("card_velocity_exceeded", K::LimitExceeded),
            ("withdrawal_count_limit_exceeded", K::LimitExceeded),
            ("pickup_card", K::CardLostOrStolen),
            ("restricted_card", K::TransactionNotPermitted),
            ("security_violation", K::FraudSuspected),
            ("try_again_later", K::IssuerUnavailable),
            ("issuer_not_available", K::IssuerUnavailable),
            ("reenter_transaction", K::ProcessingError),
        ];
        for (code, kind) in expect {
            assert_eq!(classify(code).kind(), kind, "{code}");
            assert!(known_codes().contains(&code), "{code}");
        }
        assert_eq!(classify("processing_error").retry_advice(), A::RetryNow);
        assert_eq!(classify("lost_card").retry_advice(), A::DoNotRetry);
        assert_eq!(
            classify("authentication_required").retry_advice(),
            A::RetryWithAuthentication
        );
        assert_eq!(TABLE.parse().map(|r| r.len()).ok(), Some(25));
    }

    #[test]
    fn unknown_codes_are_kept_raw_and_bounded() {
        let r = classify("some_future_code");
        assert_eq!(r.kind(), K::UnknownCode);
        assert_eq!(r.code(), "some_future_code");
        assert_eq!(classify("INSUFFICIENT_FUNDS").kind(), K::InsufficientFunds);
        assert!(classify(&"x".repeat(10_000)).code().len() <= Reason::MAX_CODE_LEN);
        assert_eq!(classify("").kind(), K::UnknownCode);
    }
}
