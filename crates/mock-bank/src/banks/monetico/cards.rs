//! Monetico test cards understood by the mock's page (the bank's own French test cards are not
//! published: spec C.9). Listed on the page and in the README.

/// Accepted (`payetest` on the test page, `paiement` in production).
pub const ACCEPTED: &str = "4970100000000007";
/// Accepted after a 3-D Secure challenge (`authentification`: authenticated, `ARes` `C`).
pub const THREEDS_CHALLENGE: &str = "4970100000000056";
/// `Annulation`, `motifrefus=Refus`: declined by the issuer.
pub const REFUSED: &str = "4970100000000015";
/// `Annulation`, `motifrefus=Interdit`: the card forbids the payment.
pub const FORBIDDEN: &str = "4970100000000023";
/// `Annulation`, `motifrefus=Appel Phonie`: the issuer asks for a voice authorization.
pub const PHONE_CALL: &str = "4970100000000031";
/// `Annulation`, `motifrefus=3DSecure`: 3-D Secure authentication failed.
pub const THREEDS_FAILED: &str = "4970100000000049";
/// `Annulation`, `motifrefus=filtrage`: the merchant's filtering rules.
pub const FILTERED: &str = "4970100000000064";
/// `Annulation` (`motifrefus=-`), then `paiement` after the pending delay: the bank's
/// "an authorization may still be delivered".
pub const LATE_AUTHORIZATION: &str = "4970100000000072";

/// What a card means: accepted (with or without a challenge), refused with a `motifrefus`, or
/// refused then authorized later. Any other Luhn-valid number is accepted; others are `Refus`.
pub(super) fn decide(pan: &str) -> super::page::Decision {
    use super::page::Decision;
    match pan {
        ACCEPTED => Decision::Accept { challenge: false },
        THREEDS_CHALLENGE => Decision::Accept { challenge: true },
        REFUSED => Decision::Refuse("Refus".into()),
        FORBIDDEN => Decision::Refuse("Interdit".into()),
        PHONE_CALL => Decision::Refuse("Appel Phonie".into()),
        THREEDS_FAILED => Decision::Refuse("3DSecure".into()),
        FILTERED => Decision::Refuse("filtrage".into()),
        LATE_AUTHORIZATION => Decision::RefuseThenAccept,
        _ if crate::luhn::luhn_valid(pan) => Decision::Accept { challenge: false },
        _ => Decision::Refuse("Refus".into()),
    }
}
