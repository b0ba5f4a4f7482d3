//! What the bank decides for one card attempt: the test card, or the reference's script.

use super::cards;
use crate::luhn::luhn_valid;
use crate::scenario::Outcome;

/// The decision for one card attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Accept,
    Refuse(String),
    /// A refusal after which the page lets the customer try again.
    Retry(String),
    Pending {
        final_code: String,
    },
    Challenge {
        then: Box<Decision>,
        fail_code: String,
    },
    Abandon,
}

pub(super) fn decide_card(pan: &str) -> Decision {
    match pan {
        cards::ACCEPTED | cards::ACCEPTED_VISA => Decision::Accept,
        cards::INSUFFICIENT_FUNDS => Decision::Refuse("00151".into()),
        cards::EXPIRED => Decision::Refuse("00154".into()),
        cards::DO_NOT_HONOUR => Decision::Refuse("00105".into()),
        cards::LOST => Decision::Refuse("00141".into()),
        cards::THREEDS_FAILED => Decision::Challenge {
            then: Box::new(Decision::Refuse("00189".into())),
            fail_code: "00189".into(),
        },
        cards::PENDING_THEN_ACCEPTED => Decision::Pending {
            final_code: "00000".into(),
        },
        cards::PENDING_THEN_REFUSED => Decision::Pending {
            final_code: "00105".into(),
        },
        cards::THREEDS_CHALLENGE => Decision::Challenge {
            then: Box::new(Decision::Accept),
            fail_code: "00189".into(),
        },
        _ if luhn_valid(pan) => Decision::Accept,
        _ => Decision::Retry("00004".into()),
    }
}

pub(super) fn from_outcome(o: &Outcome) -> Decision {
    match o {
        Outcome::Accept => Decision::Accept,
        Outcome::Refuse { code } => Decision::Refuse(code.clone()),
        Outcome::PendingThenAccept => Decision::Pending {
            final_code: "00000".into(),
        },
        Outcome::PendingThenRefuse { code } => Decision::Pending {
            final_code: code.clone(),
        },
        Outcome::Abandon => Decision::Abandon,
    }
}
