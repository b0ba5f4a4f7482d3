//! The `vads_*` signature, written from spec B.5: the values of every `vads_*` field sorted by
//! name, joined by `+`, then `+` and the key; HMAC-SHA-256 (base64) or SHA-1 (hex).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The string signed for `fields` with `key`.
pub fn string_to_sign(fields: &[(String, String)], key: &str) -> String {
    let mut signed: Vec<&(String, String)> =
        fields.iter().filter(|(n, _)| n.starts_with("vads_")).collect();
    signed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (_, value) in signed {
        out.push_str(value);
        out.push('+');
    }
    out.push_str(key);
    out
}

/// The signature of `fields`: base64 HMAC-SHA-256 keyed with `key`, or hex SHA-1.
pub fn signature(fields: &[(String, String)], key: &str, sha1: bool) -> String {
    let text = string_to_sign(fields, key);
    if sha1 {
        hex::encode(Sha1::digest(text.as_bytes()))
    } else {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(text.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// Whether `presented` is the signature of `fields`, compared in constant time.
pub fn verify(fields: &[(String, String)], key: &str, sha1: bool, presented: &str) -> bool {
    let expected = signature(fields, key, sha1);
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// `fields` form-encoded, the signature appended last.
pub fn signed_body(fields: &[(String, String)], key: &str, sha1: bool) -> String {
    let sig = signature(fields, key, sha1);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("signature", &sig)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_example_signs_as_documented() {
        // Spec B.9 example 2 (the HMAC-SHA-256 worked example of the Lyra pages).
        let f: Vec<(String, String)> = [
            ("vads_action_mode", "INTERACTIVE"),
            ("vads_amount", "5124"),
            ("vads_ctx_mode", "TEST"),
            ("vads_currency", "978"),
            ("vads_page_action", "PAYMENT"),
            ("vads_payment_config", "SINGLE"),
            ("vads_site_id", "12345678"),
            ("vads_trans_date", "20170129130025"),
            ("vads_trans_id", "123456"),
            ("vads_version", "V2"),
        ]
        .into_iter()
        .rev()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            signature(&f, "1122334455667788", false),
            "ycA5Do5tNvsnKdc/eP1bj2xa19z9q3iWPy9/rpesfS0="
        );
        assert_eq!(
            signature(&f, "1122334455667788", true),
            "59c96b34c74b9375c332b0b6a32e6deeec87de2b"
        );
        assert!(verify(&f, "1122334455667788", false, "ycA5Do5tNvsnKdc/eP1bj2xa19z9q3iWPy9/rpesfS0="));
        assert!(!verify(&f, "1122334455667789", false, "ycA5Do5tNvsnKdc/eP1bj2xa19z9q3iWPy9/rpesfS0="));
    }
}
