//! Lyra test cards understood by the mock's page (spec B.8 for the published ones; the refusal
//! cards are the mock's own, the platform's were not confirmed).

/// Accepted, 3-D Secure frictionless (published).
pub const ACCEPTED: &str = "4970100000000000";
/// Accepted, merchant not enrolled in 3-D Secure (published).
pub const ACCEPTED_NOT_ENROLLED: &str = "4970100000000003";
/// Interactive 3-D Secure: the challenge page decides (published).
pub const THREEDS_CHALLENGE: &str = "4970100000000009";
/// 3-D Secure authentication rejected: refused, no issuer answer (published).
pub const THREEDS_REJECTED: &str = "4970110000000401";
/// Refused, `vads_auth_result` 51: insufficient funds.
pub const INSUFFICIENT_FUNDS: &str = "4970100000000051";
/// Refused, `vads_auth_result` 54: expired card.
pub const EXPIRED: &str = "4970100000000054";
/// Refused, `vads_auth_result` 05: do not honour.
pub const DO_NOT_HONOUR: &str = "4970100000000005";
/// Refused, `vads_auth_result` 41: lost card.
pub const LOST: &str = "4970100000000041";
/// Refused, `vads_auth_result` 59: suspected fraud.
pub const FRAUD: &str = "4970100000000059";
/// Refused, `vads_auth_result` 91: issuer unreachable.
pub const ISSUER_UNAVAILABLE: &str = "4970100000000091";
/// `UNDER_VERIFICATION`, then `AUTHORISED` after the pending delay.
pub const PENDING_THEN_ACCEPTED: &str = "4970100000000097";
/// `UNDER_VERIFICATION`, then `REFUSED` (05) after the pending delay.
pub const PENDING_THEN_REFUSED: &str = "4970100000000098";
