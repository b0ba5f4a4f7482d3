//! What the platform decides for one card attempt: the test card, or the reference's script.

use super::cards;
use crate::luhn::luhn_valid;
use crate::scenario::Outcome;

/// The decision for one card attempt; refusal codes are `vads_auth_result` values (empty: no
/// issuer answer, as after a failed 3-D Secure authentication).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Accept,
    Refuse(String),
    /// An invalid card number: the page asks again.
    Retry,
    /// `UNDER_VERIFICATION` now; the final answer (`None` = accepted) after the delay.
    Pending(Option<String>),
    Challenge,
    Abandon,
}

pub(super) fn decide_card(pan: &str) -> Decision {
    match pan {
        cards::ACCEPTED | cards::ACCEPTED_NOT_ENROLLED => Decision::Accept,
        cards::THREEDS_CHALLENGE => Decision::Challenge,
        cards::THREEDS_REJECTED => Decision::Refuse(String::new()),
        cards::INSUFFICIENT_FUNDS => Decision::Refuse("51".into()),
        cards::EXPIRED => Decision::Refuse("54".into()),
        cards::DO_NOT_HONOUR => Decision::Refuse("05".into()),
        cards::LOST => Decision::Refuse("41".into()),
        cards::FRAUD => Decision::Refuse("59".into()),
        cards::ISSUER_UNAVAILABLE => Decision::Refuse("91".into()),
        cards::PENDING_THEN_ACCEPTED => Decision::Pending(None),
        cards::PENDING_THEN_REFUSED => Decision::Pending(Some("05".into())),
        _ if luhn_valid(pan) => Decision::Accept,
        _ => Decision::Retry,
    }
}

pub(super) fn from_outcome(o: &Outcome) -> Decision {
    match o {
        Outcome::Accept => Decision::Accept,
        Outcome::Refuse { code } => Decision::Refuse(code.clone()),
        Outcome::PendingThenAccept => Decision::Pending(None),
        Outcome::PendingThenRefuse { code } => Decision::Pending(Some(code.clone())),
        Outcome::Abandon => Decision::Abandon,
    }
}
