//! The `vads_*` signature (spec B.5) and the REST `kr-hash` (spec B.11): the only file that
//! holds key material.
//!
//! Form signature: the values of every field named `vads_*`, sorted by name (bytewise), joined
//! by `+`, then `+` and the shop key; HMAC-SHA-256 keyed with the shop key, in base64
//! (recommended), or the legacy SHA-1 of the whole string, in lower-case hex. The same scheme
//! signs the redirect (shop → platform) and the IPN (platform → shop).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The name of the field carrying the form signature.
pub const SIGNATURE: &str = "signature";
/// The prefix of the signed fields.
pub const PREFIX: &str = "vads_";
/// The longest shop key accepted, in bytes (the back office issues 16 characters).
pub const MAX_KEY_LEN: usize = 64;

/// The form signature algorithm: a shop setting in the back office, not a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-256 keyed with the shop key, base64 (44 characters).
    #[default]
    #[serde(rename = "hmac-sha256", alias = "HMAC-SHA-256", alias = "hmac_sha256")]
    HmacSha256,
    /// Legacy: SHA-1 of the string with the key appended, lower-case hex (40 characters).
    #[serde(rename = "sha1", alias = "SHA-1", alias = "sha-1")]
    Sha1,
}

/// Why a key was refused; the message names the setting and never quotes the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} must be 1 to {MAX_KEY_LEN} printable ASCII characters without spaces")]
#[non_exhaustive]
pub struct BadKey {
    /// The setting (`test_key`, `rest.password`…).
    pub setting: &'static str,
}

fn check_key(key: &SecretString, setting: &'static str) -> Result<(), BadKey> {
    let k = key.expose_secret();
    if (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(BadKey { setting })
    }
}

/// The rank of a `vads_*` name: its first 16 bytes after the prefix, zero-padded, as one
/// integer. Ranks order names as bytewise comparison does (a smaller rank is a smaller name;
/// equal ranks are decided by the names), so most comparisons of a sort or a search are one
/// integer comparison instead of a `memcmp` call over the shared `vads_` prefix: two thirds
/// of the time of an IPN of 50 fields went to those calls
/// (bench `lyra/verify_ipn_50_fields_hmac_sha256`).
pub(crate) const fn rank(name: &str) -> u128 {
    let mut key = [0u8; 16];
    if let Some((_, tail)) = name.as_bytes().split_at_checked(PREFIX.len()) {
        let n = if tail.len() < key.len() {
            tail.len()
        } else {
            key.len()
        };
        key.split_at_mut(n).0.copy_from_slice(tail.split_at(n).0);
    }
    u128::from_be_bytes(key)
}

/// One signed field with its [`rank`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedField<'a> {
    rank: u128,
    /// The field's name.
    pub(crate) name: &'a str,
    /// The field's value.
    pub(crate) value: &'a str,
}

impl SignedField<'_> {
    /// What the fields are sorted by: the rank, then the name.
    pub(crate) fn key(&self) -> (u128, &str) {
        (self.rank, self.name)
    }
}

/// The `vads_*` fields of a form sorted by name: what the signature covers.
#[derive(Debug, Clone)]
pub(crate) struct Signed<'a> {
    fields: Vec<SignedField<'a>>,
}

impl<'a> Signed<'a> {
    /// The `vads_*` fields among `fields`, sorted by name (others are left out).
    pub(crate) fn new(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let fields = fields.into_iter();
        // Sized once: a filtered iterator would grow the vector four times for 50 fields.
        let mut signed = Vec::with_capacity(fields.size_hint().0);
        signed.extend(
            fields
                .filter(|(name, _)| name.starts_with(PREFIX))
                .map(|(name, value)| SignedField {
                    rank: rank(name),
                    name,
                    value,
                }),
        );
        let mut fields = signed;
        // Stable: runs already in order are merged, not sorted again.
        fields.sort_by(|a, b| a.key().cmp(&b.key()));
        Self { fields }
    }

    /// [`Self::new`], or the first name that appears twice (it would make the signed string
    /// ambiguous).
    pub(crate) fn unique(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, &'a str> {
        let signed = Self::new(fields);
        match signed.fields.windows(2).find(|w| w[0].key() == w[1].key()) {
            Some(w) => Err(w[0].name),
            None => Ok(signed),
        }
    }

    /// The fields, sorted by name.
    pub(crate) fn fields(&self) -> &[SignedField<'a>] {
        &self.fields
    }

    /// The value of the field `name`, if signed.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        // Searched by rank alone, then the names of that rank compared.
        let rank = rank(name);
        let start = self.fields.partition_point(|f| f.rank < rank);
        self.fields[start..]
            .iter()
            .take_while(|f| f.rank == rank)
            .find(|f| f.name == name)
            .map(|f| f.value)
    }

    fn values(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.fields.iter().map(|f| f.value)
    }
}

/// The signed string without the key: the `vads_*` values sorted by name, joined by `+`
/// (the key is appended after one more `+`).
///
/// ```
/// let s = tpe_lyra::sign::canonical([("vads_b", "2"), ("signature", "x"), ("vads_a", "Zoé"), ("vads_c", "")]);
/// assert_eq!(s, "Zoé+2+");
/// ```
pub fn canonical<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let signed = Signed::new(fields);
    let mut out = String::new();
    for (i, value) in signed.values().enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.push_str(value);
    }
    out
}

/// One shop key (TEST or PRODUCTION) with its algorithm. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ShopKey {
    algorithm: Algorithm,
    key: SecretString,
    // HMAC: the keyed state, cloned for each MAC.
    mac: Option<Hmac<Sha256>>,
}

impl ShopKey {
    /// Checks a key; `setting` names it in the error.
    ///
    /// # Errors
    /// [`BadKey`] when it is empty, longer than [`MAX_KEY_LEN`] or not printable ASCII.
    pub fn new(
        key: &SecretString,
        algorithm: Algorithm,
        setting: &'static str,
    ) -> Result<Self, BadKey> {
        check_key(key, setting)?;
        let mac = match algorithm {
            Algorithm::HmacSha256 => Some(
                Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
                    .map_err(|_| BadKey { setting })?,
            ),
            Algorithm::Sha1 => None,
        };
        Ok(Self {
            algorithm,
            key: key.clone(),
            mac,
        })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw digest over sorted `vads_*` fields.
    fn digest(&self, signed: &Signed<'_>) -> Digested {
        let key = self.key.expose_secret().as_bytes();
        match &self.mac {
            Some(mac) => {
                let mut mac = mac.clone();
                for value in signed.values() {
                    mac.update(value.as_bytes());
                    mac.update(b"+");
                }
                mac.update(key);
                Digested::Hmac(mac)
            }
            None => {
                let mut sha = Sha1::new();
                for value in signed.values() {
                    sha.update(value.as_bytes());
                    sha.update(b"+");
                }
                sha.update(key);
                let mut out = [0u8; 20];
                out.copy_from_slice(&sha.finalize());
                Digested::Sha1(out)
            }
        }
    }

    /// The signature of the `vads_*` fields among `fields` (others are ignored): base64 for
    /// HMAC-SHA-256, lower-case hex for SHA-1.
    pub fn sign<'a>(&self, fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        match self.digest(&Signed::new(fields)) {
            Digested::Hmac(mac) => BASE64.encode(mac.finalize().into_bytes()),
            Digested::Sha1(d) => hex::encode(d),
        }
    }

    /// Whether `signature` signs the `vads_*` fields among `fields`, compared in constant time.
    pub fn verifies<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        signature: &str,
    ) -> bool {
        let Some(tag) = decode_signature(self.algorithm, signature) else {
            return false;
        };
        self.verifies_sorted(&Signed::new(fields), &tag)
    }

    fn verifies_sorted(&self, signed: &Signed<'_>, tag: &Tag) -> bool {
        match (self.digest(signed), tag) {
            (Digested::Hmac(mac), Tag::Hmac(t)) => mac.verify_slice(t).is_ok(),
            (Digested::Sha1(d), Tag::Sha1(t)) => bool::from(d.ct_eq(t)),
            _ => false,
        }
    }

    /// `fields` form-encoded in their order, the signature appended last: what the platform
    /// posts (for tests and the bank side).
    pub fn signed_form(&self, fields: &[(&str, &str)]) -> String {
        let signature = self.sign(fields.iter().copied());
        tpe_core::form::encode_signed(fields, SIGNATURE, &signature)
    }
}

impl fmt::Debug for ShopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShopKey({:?}, redacted)", self.algorithm)
    }
}

enum Digested {
    Hmac(Hmac<Sha256>),
    Sha1([u8; 20]),
}

/// A decoded signature.
enum Tag {
    Hmac([u8; 32]),
    Sha1([u8; 20]),
}

fn decode_signature(algorithm: Algorithm, signature: &str) -> Option<Tag> {
    match algorithm {
        Algorithm::HmacSha256 => {
            if signature.len() != 44 {
                return None;
            }
            let mut out = [0u8; 33];
            let n = BASE64.decode_slice(signature, &mut out).ok()?;
            let tag: [u8; 32] = out.get(..n)?.try_into().ok()?;
            Some(Tag::Hmac(tag))
        }
        Algorithm::Sha1 => {
            let mut out = [0u8; 20];
            // Lower-case only, as the platform writes it: one spelling per signature.
            if signature.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            hex::decode_to_slice(signature, &mut out).ok()?;
            Some(Tag::Sha1(out))
        }
    }
}

/// Every key a notification may be signed with: the active one first, then older ones kept
/// for a rotation.
#[derive(Debug, Clone)]
pub struct KeyRing {
    signing: ShopKey,
    previous: Vec<ShopKey>,
}

impl KeyRing {
    /// A ring of `signing` (used for the redirect) and `previous` keys (accepted on
    /// verification only).
    pub fn new(signing: ShopKey, previous: Vec<ShopKey>) -> Self {
        Self { signing, previous }
    }

    /// The key that signs redirects.
    pub fn signing(&self) -> &ShopKey {
        &self.signing
    }

    /// Whether `signature` signs `fields` under any key of the ring (each compared in
    /// constant time).
    pub fn verifies<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        signature: &str,
    ) -> bool {
        self.verifies_sorted(&Signed::new(fields), signature)
    }

    /// [`Self::verifies`] over fields already sorted.
    pub(crate) fn verifies_sorted(&self, signed: &Signed<'_>, signature: &str) -> bool {
        // Every key is tried (no early exit on a decoding difference between algorithms).
        let mut ok = false;
        for key in std::iter::once(&self.signing).chain(&self.previous) {
            if let Some(tag) = decode_signature(key.algorithm, signature) {
                ok |= key.verifies_sorted(signed, &tag);
            }
        }
        ok
    }
}

/// A REST V4 key (the API password for IPNs, the HMAC-SHA-256 key for browser returns):
/// `kr-hash` = lower-case hex HMAC-SHA-256 of `kr-answer`. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct RestKey {
    mac: Hmac<Sha256>,
}

impl RestKey {
    /// Checks a REST key; `setting` names it in the error.
    ///
    /// # Errors
    /// [`BadKey`] when it is empty, too long or not printable ASCII.
    pub fn new(key: &SecretString, setting: &'static str) -> Result<Self, BadKey> {
        let k = key.expose_secret();
        if !(1..=256).contains(&k.len()) || !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadKey { setting });
        }
        let mac = Hmac::<Sha256>::new_from_slice(k.as_bytes()).map_err(|_| BadKey { setting })?;
        Ok(Self { mac })
    }

    /// `kr-hash` of `answer`.
    ///
    /// ```
    /// use secrecy::SecretString;
    /// let key = tpe_lyra::sign::RestKey::new(&SecretString::from("k"), "rest.password").unwrap();
    /// assert_eq!(key.hash("{}").len(), 64);
    /// ```
    pub fn hash(&self, answer: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(answer.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `kr_hash` (64 lower-case hex digits) is the HMAC of `answer`, in constant time.
    pub fn verifies(&self, answer: &str, kr_hash: &str) -> bool {
        let mut tag = [0u8; 32];
        if kr_hash.bytes().any(|b| b.is_ascii_uppercase())
            || hex::decode_to_slice(kr_hash, &mut tag).is_err()
        {
            return false;
        }
        let mut mac = self.mac.clone();
        mac.update(answer.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }
}

impl fmt::Debug for RestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RestKey(HMAC-SHA-256, redacted)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Oracle: sorting by rank then name is sorting by name, bytewise; lookups find what
        // a plain search finds.
        #[test]
        fn ranks_order_names_as_bytes_do(tails in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(b'b'), Just(b'_'),
                Just(0x7f), Just(0xC3), Just(0xA9)], 0..24), 0..40)) {
            let names: Vec<String> = tails.iter()
                .map(|t| format!("{PREFIX}{}", String::from_utf8_lossy(t)))
                .collect();
            let signed = Signed::new(names.iter().map(|n| (n.as_str(), n.as_str())));
            let ours: Vec<&str> = signed.fields().iter().map(|f| f.name).collect();
            let mut theirs: Vec<&str> = names.iter().map(String::as_str).collect();
            theirs.sort_unstable();
            prop_assert_eq!(&ours, &theirs);
            for name in &names {
                prop_assert_eq!(signed.get(name), Some(name.as_str()));
            }
            prop_assert_eq!(signed.get("vads_absent\u{0}\u{0}"), None);
            let unique = theirs.windows(2).all(|w| w[0] != w[1]);
            prop_assert_eq!(Signed::unique(names.iter().map(|n| (n.as_str(), ""))).is_ok(), unique);
        }
    }
}
