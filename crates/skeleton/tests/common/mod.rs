//! What the tests share: the test merchant, the provider, and notifications signed as the bank
//! signs them.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use secrecy::SecretString;
use tpe_core::{HttpMethod, RawNotification};
use tpe_skeleton::{SigningKey, Skeleton, SkeletonConfig};

pub const MERCHANT: &str = "1234567";
pub const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn config() -> SkeletonConfig {
    SkeletonConfig::new(MERCHANT, SecretString::from(KEY_HEX))
}

pub fn provider() -> Skeleton {
    Skeleton::new(config()).unwrap()
}

pub fn key() -> SigningKey {
    SigningKey::from_hex(&SecretString::from(KEY_HEX)).unwrap()
}

/// The fields of an accepted payment of 43.21 EUR, with `result` as given.
pub fn fields(result: &str) -> Vec<(&str, &str)> {
    vec![
        ("version", "1"),
        ("merchant", MERCHANT),
        ("reference", "0000000000aZ"),
        ("transaction", "T-778899"),
        ("amount", "4321"),
        ("currency", "EUR"),
        ("result", result),
        ("authorization", "XY1234"),
        ("card_bin", "497010"),
        ("card_last4", "7890"),
    ]
}

/// A notification body signed with the test key.
pub fn signed(result: &str) -> String {
    key().signed_form(&fields(result))
}

/// A POSTed notification.
pub fn post(body: impl Into<bytes::Bytes>) -> RawNotification {
    RawNotification::new(
        HttpMethod::Post,
        bytes::Bytes::new(),
        body,
        http::HeaderMap::new(),
        None,
    )
    .unwrap()
}
