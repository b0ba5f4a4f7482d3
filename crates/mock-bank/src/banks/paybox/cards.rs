//! Paybox test cards understood by the mock's page (see the README for the full table).

/// Accepted, as on the bank's pre-production platform.
pub const ACCEPTED: &str = "1111222233334444";
/// Accepted too (a card seen working on the pre-production platform).
pub const ACCEPTED_VISA: &str = "4012001037141112";
/// Refused `00151`: insufficient funds.
pub const INSUFFICIENT_FUNDS: &str = "1111222233330151";
/// Refused `00154`: expired card.
pub const EXPIRED: &str = "1111222233330154";
/// Refused `00105`: do not honour.
pub const DO_NOT_HONOUR: &str = "1111222233330105";
/// Refused `00141`: lost card.
pub const LOST: &str = "1111222233330141";
/// 3-D Secure challenge that fails: refused `00189` (authentication failed).
pub const THREEDS_FAILED: &str = "1111222233330189";
/// Pending `99999`, then accepted after the pending delay.
pub const PENDING_THEN_ACCEPTED: &str = "1111222233339999";
/// Pending `99999`, then refused `00105` after the pending delay.
pub const PENDING_THEN_REFUSED: &str = "1111222233339998";
/// Asks for a 3-D Secure challenge; the challenge page decides.
pub const THREEDS_CHALLENGE: &str = "1111222233333333";
/// Invalid card number (fails the Luhn check): `00004`, retry on the same page.
pub const INVALID_NUMBER: &str = "1234567812345678";
