//! The code tables against the spec's lists (C.5), written out here independently, and a
//! classifier that never panics.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tpe_core::{BankOutcome, Lang, OutcomeKind, ReasonKind, RetryAdvice};
use tpe_monetico::codes::{self, classify, known_codes, outcome, wording_of};

/// `motifrefus` of spec C.5 and the normalization it proposes.
const SPEC_MOTIFREFUS: [(&str, ReasonKind); 7] = [
    ("Appel Phonie", ReasonKind::Declined),
    ("Refus", ReasonKind::Declined),
    ("Interdit", ReasonKind::TransactionNotPermitted),
    ("filtrage", ReasonKind::FraudSuspected),
    ("scoring", ReasonKind::FraudSuspected),
    ("3DSecure", ReasonKind::AuthenticationFailed),
    ("-", ReasonKind::Declined),
];

#[test]
fn every_motifrefus_of_the_spec_is_classified_with_both_wordings() {
    assert_eq!(codes::MOTIFREFUS.parse().map(|r| r.len()).ok(), Some(7));
    assert_eq!(known_codes().len(), SPEC_MOTIFREFUS.len());
    for (code, kind) in SPEC_MOTIFREFUS {
        assert!(known_codes().contains(&code), "{code}");
        let r = classify(code);
        assert_eq!((r.code(), r.kind()), (code, kind), "{code}");
        assert!(!r.bank_text(Lang::Fr).is_empty() && !r.bank_text(Lang::En).is_empty());
        assert_eq!(
            outcome("Annulation", Some(code), None),
            BankOutcome::Refused { reason: r }
        );
    }
    assert_eq!(classify("3DSecure").retry_advice(), RetryAdvice::RetryNow);
    assert_eq!(classify("filtrage").retry_advice(), RetryAdvice::DoNotRetry);
}

#[test]
fn code_retour_and_status3ds_have_wording() {
    assert_eq!(codes::CODE_RETOUR.parse().map(|r| r.len()).ok(), Some(3));
    assert_eq!(codes::STATUS3DS.parse().map(|r| r.len()).ok(), Some(3));
    for code in ["payetest", "paiement", "Annulation", "-1", "1", "4"] {
        let (_, w) = wording_of(code).unwrap();
        assert!(!w.text_fr.is_empty() && !w.text_en.is_empty(), "{code}");
    }
    assert_eq!(wording_of("Annulation").unwrap().0, "code-retour");
    assert_eq!(wording_of("4").unwrap().0, "status3ds");
    assert!(wording_of("Refus").is_none());
}

#[test]
fn verdicts_of_code_retour() {
    let accepted = outcome(codes::PAIEMENT, None, Some("248650"));
    assert_eq!(
        accepted,
        BankOutcome::Accepted {
            authorization: Some("248650".into())
        }
    );
    assert_eq!(
        outcome(codes::PAYETEST, None, None).kind(),
        OutcomeKind::Accepted
    );
    // Later instalments of a payment in instalments have their verdicts (spec C.5).
    assert_eq!(
        outcome("paiement_pf2", None, None).kind(),
        OutcomeKind::Accepted
    );
    assert_eq!(
        outcome("Annulation_pf3", None, None).kind(),
        OutcomeKind::Refused
    );
    for odd in [
        "paiement_pf5",
        "payetest_pf2",
        "paiement_pf02",
        "PAIEMENT",
        "",
    ] {
        assert_eq!(outcome(odd, None, None).kind(), OutcomeKind::Unclassified);
    }
}

proptest! {
    #[test]
    fn classify_never_panics_and_keeps_unknown_codes(code in ".{0,80}") {
        let r = classify(&code);
        if codes::lookup(&code).is_none() {
            prop_assert_eq!(r.kind(), ReasonKind::UnknownCode);
        }
        let _ = outcome("Annulation", Some(&code), Some(&code));
        let _ = outcome(&code, Some(&code), None);
    }
}
