//! The MAC of Monetico form version 3.0, written from spec C.4: the usable key (40 characters
//! → 20 bytes), the MAC string (every field but `MAC`, sorted by name, `name=value` joined by
//! `*`), HMAC-SHA1 in hexadecimal.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The 20 bytes of a 40-character key: the last two characters rewritten as the bank's kit does
/// (`c1` in `G`..=`` ` `` moves 23 places down; else `c2 == 'M'` becomes `0`), then hex.
pub fn usable_key(key40: &str) -> Option<[u8; 20]> {
    let b = key40.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut text = b.to_vec();
    if (71..=96).contains(&b[38]) {
        text[38] = b[38] - 23;
    } else if b[39] == b'M' {
        text[39] = b'0';
    }
    let mut out = [0u8; 20];
    hex::decode_to_slice(&text, &mut out).ok()?;
    Some(out)
}

/// The MAC string of `fields`.
pub fn mac_string(fields: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = fields.iter().filter(|(k, _)| k != "MAC").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("*")
}

/// `hex(HMAC-SHA1(usable key, UTF-8 bytes of the MAC string))`, lower case as the kits emit it.
pub fn mac_hex(key: &[u8; 20], fields: &[(String, String)]) -> String {
    // HMAC takes a key of any length: this never fails, and an empty MAC never verifies.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(mac_string(fields).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a MAC was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MacError {
    /// Not 40 hexadecimal digits.
    #[error("the MAC is not 40 hexadecimal digits")]
    Malformed,
    /// Well formed, but not the MAC of the fields under the TPE's key.
    #[error("the MAC does not match the fields")]
    Mismatch,
}

/// Checks that `presented` (either case) is the MAC of `fields`, in constant time.
///
/// # Errors
/// [`MacError`] saying whether the MAC is malformed or does not match.
pub fn verify(key: &[u8; 20], fields: &[(String, String)], presented: &str) -> Result<(), MacError> {
    if presented.len() != 40 || !presented.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MacError::Malformed);
    }
    let expected = mac_hex(key, fields);
    let presented = presented.to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) {
        Ok(())
    } else {
        Err(MacError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn usable_keys_of_the_spec() {
        let hex = |k: &str| hex::encode(usable_key(k).unwrap());
        assert_eq!(hex("12345678901234567890123456789012345678P0"), "1234567890123456789012345678901234567890");
        assert_eq!(hex("0123456789ABCDEF0123456789ABCDEF0123454M"), "0123456789abcdef0123456789abcdef01234540");
        assert!(usable_key("0123").is_none());
    }

    #[test]
    fn sorted_mac_string_and_verification() {
        let f = pairs(&[("version", "3.0"), ("TPE", "1234567"), ("MAC", "x"), ("3dsdebrayable", "0")]);
        assert_eq!(mac_string(&f), "3dsdebrayable=0*TPE=1234567*version=3.0");
        let key = usable_key("0123456789ABCDEF0123456789ABCDEF01234567").unwrap();
        let mac = mac_hex(&key, &f);
        assert_eq!(verify(&key, &f, &mac.to_ascii_uppercase()), Ok(()));
        assert_eq!(verify(&key, &f, &mac[..39]), Err(MacError::Malformed));
        assert_eq!(verify(&key, &f, &"0".repeat(40)), Err(MacError::Mismatch));
    }
}
