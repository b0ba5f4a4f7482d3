//! Worldline Direct test cards understood by the hosted page (the cards the official SDK suites
//! use against the test platform, spec §G.11; their behaviour here is the mock's own).

/// Paid at once (`statusCode` 9 `CAPTURED`, or 5 `PENDING_CAPTURE` when the authorization
/// mode is not `SALE`).
pub const ACCEPTED: &str = "4012000033330026";
/// Refused (`statusCode` 2 `REJECTED`).
pub const REFUSED: &str = "4321456998744563";
/// 3-D Secure challenge first, then paid or refused as the customer answers it.
pub const THREE_DS: &str = "4567350000427977";
/// Pending (`statusCode` 51 `AUTHORIZATION_REQUESTED`), captured after the pending delay.
pub const PENDING: &str = "4330264936344675";
/// Pending (`statusCode` 51), refused (2) after the pending delay.
pub const PENDING_REFUSED: &str = "4330264936344691";
/// An authentic result with `statusCode` 0 ("invalid or incomplete", no verdict).
pub const UNCLASSIFIED: &str = "4000000000000002";

/// A mistyped number (fails the Luhn check): refused, the page shown again.
pub const MISTYPED: &str = "4012000033330027";

/// The code of a refusal by card.
pub const REFUSED_CODE: u32 = 2;
/// The code of a result without verdict.
pub const UNCLASSIFIED_CODE: u32 = 0;
