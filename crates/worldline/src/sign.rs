//! The two HMAC-SHA256 schemes of the platform, and the only file that holds key material:
//!
//! - requests (spec §G.3): `Authorization: GCS v1HMAC:<apiKeyId>:<base64 MAC>` over
//!   `METHOD\nContent-Type\nDate\n` + the canonical `x-gcs` headers + the resource `\n`;
//! - webhooks (spec §G.9): `X-GCS-Signature` = base64 of the MAC over the raw body, under the
//!   secret of the key named by `X-GCS-KeyId`.
//!
//! Secrets are used as UTF-8 text, never base64-decoded (they often look like base64).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The scheme prefix of the `Authorization` header.
pub const AUTH_SCHEME: &str = "GCS v1HMAC";
/// The webhook signature header (names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-gcs-signature";
/// The webhook key id header.
pub const KEY_ID_HEADER: &str = "x-gcs-keyid";
/// Length of a base64 HMAC-SHA256 with padding.
pub const SIGNATURE_LEN: usize = 44;
/// Longest key id accepted (API or webhook).
pub const MAX_KEY_ID_LEN: usize = 128;
/// Longest secret accepted (API or webhook).
pub const MAX_SECRET_LEN: usize = 512;

/// Why a request cannot be signed or a webhook signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The request has no `Date` header.
    #[error("the request has no Date header")]
    NoDate,
    /// A header name or value that cannot be signed (control character, not ASCII).
    #[error("header {0} cannot be signed")]
    BadHeader(String),
    /// A key id or secret outside the accepted shape.
    #[error("{0} must be 1 to {1} visible ASCII characters")]
    BadKey(&'static str, usize),
    /// The webhook has no `X-GCS-Signature` header.
    #[error("no X-GCS-Signature header")]
    MissingSignature,
    /// The webhook has no `X-GCS-KeyId` header.
    #[error("no X-GCS-KeyId header")]
    MissingKeyId,
    /// The signature is not 44 characters of padded base64 of 32 bytes.
    #[error("X-GCS-Signature is not the base64 of a 32-byte MAC")]
    BadlyEncoded,
    /// No configured webhook key has this id.
    #[error("X-GCS-KeyId names no configured webhook key")]
    UnknownKeyId,
    /// The MAC does not match under any secret of the key id.
    #[error("X-GCS-Signature does not match the body")]
    Mismatch,
}

/// Canonical form of an `x-gcs` header value (spec §G.3 step 3c): every line break (`\r\n` or
/// `\n`) with the spaces and tabs after it becomes one space, then the ends are trimmed.
///
/// ```
/// use tpe_worldline::canonical_header_value;
/// assert_eq!(canonical_header_value(" aap\r\n  noot"), "aap noot");
/// ```
pub fn canonical_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let line_break = c == '\n' || (c == '\r' && chars.peek() == Some(&'\n'));
        if !line_break {
            out.push(c);
            continue;
        }
        if c == '\r' {
            chars.next();
        }
        while chars
            .peek()
            .is_some_and(|n| n.is_whitespace() && *n != '\r' && *n != '\n')
        {
            chars.next();
        }
        out.push(' ');
    }
    out.trim().to_owned()
}

/// The string to sign of a request (spec §G.3 step 5) from its method, all its headers as
/// sent (only `Content-Type`, `Date` and `X-GCS-*` count) and its resource (path and query).
///
/// ```
/// use tpe_worldline::string_to_sign;
/// let s = string_to_sign("get", &[("Date", "Fri, 06 Jun 2014 13:39:43 GMT")], "/v2/1/tokens/2")?;
/// assert_eq!(s, "GET\n\nFri, 06 Jun 2014 13:39:43 GMT\n/v2/1/tokens/2\n");
/// # Ok::<(), tpe_worldline::SignatureError>(())
/// ```
///
/// # Errors
/// [`SignatureError::NoDate`] without a `Date` header; [`SignatureError::BadHeader`] for a
/// value holding a control character other than a line break.
pub fn string_to_sign(
    method: &str,
    headers: &[(&str, &str)],
    resource: &str,
) -> Result<String, SignatureError> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let content_type = find("content-type").unwrap_or("");
    let date = find("date").ok_or(SignatureError::NoDate)?;
    for (name, value) in [("Content-Type", content_type), ("Date", date)] {
        if value.chars().any(char::is_control) {
            return Err(SignatureError::BadHeader(name.to_owned()));
        }
    }
    let mut gcs: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.len() >= 5 && n[..5].eq_ignore_ascii_case("x-gcs"))
        .map(|(n, v)| (n.to_ascii_lowercase(), canonical_header_value(v)))
        .collect();
    if let Some((n, _)) = gcs
        .iter()
        .find(|(n, v)| n.chars().any(char::is_control) || v.chars().any(char::is_control))
    {
        return Err(SignatureError::BadHeader(n.clone()));
    }
    gcs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = String::with_capacity(64 + resource.len() + date.len());
    s.push_str(&method.to_ascii_uppercase());
    s.push('\n');
    s.push_str(content_type);
    s.push('\n');
    s.push_str(date);
    s.push('\n');
    for (n, v) in &gcs {
        s.push_str(n);
        s.push(':');
        s.push_str(v);
        s.push('\n');
    }
    s.push_str(resource);
    s.push('\n');
    Ok(s)
}

/// The `Authorization` header value of a string to sign under an API key.
///
/// ```
/// use tpe_worldline::authorization;
/// let s = "GET\n\nFri, 06 Jun 2014 13:39:43 GMT\n/v2/1/tokens/2\n";
/// assert_eq!(
///     authorization("EC36A74A98D21", "6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1", s)?,
///     "GCS v1HMAC:EC36A74A98D21:vCos01y77soPNJOW6kDCm4Bu5b2darAZ09PP7Wa+jRA="
/// );
/// # Ok::<(), tpe_worldline::SignatureError>(())
/// ```
///
/// # Errors
/// [`SignatureError::BadKey`] for a key id or secret of the wrong shape.
pub fn authorization(
    key_id: &str,
    secret: &str,
    string_to_sign: &str,
) -> Result<String, SignatureError> {
    RequestSigner::new(key_id, &SecretString::from(secret)).map(|s| s.sign(string_to_sign))
}

/// The base64 `X-GCS-Signature` of a webhook body under a webhook secret (for tests, the CLI
/// and the mock bank's own checks).
///
/// ```
/// assert_eq!(
///     tpe_worldline::webhook_signature("hello+world", b"{}"),
///     tpe_worldline::webhook_signature("hello+world", b"{}"),
/// );
/// ```
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => STANDARD.encode(mac.chain_update(body).finalize().into_bytes()),
        Err(_) => String::new(),
    }
}

fn check_key(what: &'static str, value: &str, max: usize) -> Result<(), SignatureError> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SignatureError::BadKey(what, max));
    }
    Ok(())
}

/// Signs API requests with one API key (pre-keyed HMAC, cloned per request).
#[derive(Clone)]
pub(crate) struct RequestSigner {
    key_id: String,
    mac: HmacSha256,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    pub(crate) fn new(key_id: &str, secret: &SecretString) -> Result<Self, SignatureError> {
        check_key("api_key_id", key_id, MAX_KEY_ID_LEN)?;
        let secret = secret.expose_secret();
        check_key("api_secret", secret, MAX_SECRET_LEN)?;
        let mac = HmacSha256::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::BadKey("api_secret", MAX_SECRET_LEN))?;
        Ok(Self {
            key_id: key_id.to_owned(),
            mac,
        })
    }

    /// `GCS v1HMAC:<key id>:<base64 MAC>`.
    pub(crate) fn sign(&self, string_to_sign: &str) -> String {
        let tag = self
            .mac
            .clone()
            .chain_update(string_to_sign.as_bytes())
            .finalize()
            .into_bytes();
        format!("{AUTH_SCHEME}:{}:{}", self.key_id, STANDARD.encode(tag))
    }
}

/// Checks `X-GCS-Signature` against every configured webhook secret of the named key id
/// (several while a key is rotated), in constant time.
#[derive(Clone)]
pub struct WebhookVerifier {
    keys: Vec<(String, HmacSha256)>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| &k.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for `(key id, secret)` pairs; a key id may appear more than once.
    ///
    /// ```
    /// use tpe_worldline::{WebhookVerifier, webhook_signature};
    /// let v = WebhookVerifier::new([("k1", "s3cret")])?;
    /// let sig = webhook_signature("s3cret", b"{}");
    /// assert!(v.verify(Some(b"k1"), Some(sig.as_bytes()), b"{}").is_ok());
    /// assert!(v.verify(Some(b"k1"), Some(sig.as_bytes()), b"{} ").is_err());
    /// # Ok::<(), tpe_worldline::SignatureError>(())
    /// ```
    ///
    /// # Errors
    /// [`SignatureError::BadKey`] when there is no pair, or a key id or secret is empty, too
    /// long or not visible ASCII.
    pub fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, SignatureError> {
        let mut keys = Vec::new();
        for (id, secret) in pairs {
            check_key("webhook key id", id, MAX_KEY_ID_LEN)?;
            check_key("webhook secret", secret, MAX_SECRET_LEN)?;
            let mac = HmacSha256::new_from_slice(secret.as_bytes())
                .map_err(|_| SignatureError::BadKey("webhook secret", MAX_SECRET_LEN))?;
            keys.push((id.to_owned(), mac));
        }
        if keys.is_empty() {
            return Err(SignatureError::BadKey("webhook secret", MAX_SECRET_LEN));
        }
        Ok(Self { keys })
    }

    /// Verifies `body` exactly as received against the two header values.
    ///
    /// # Errors
    /// A [`SignatureError`] saying which check failed.
    pub fn verify(
        &self,
        key_id: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let signature = signature.ok_or(SignatureError::MissingSignature)?;
        let key_id = key_id.ok_or(SignatureError::MissingKeyId)?;
        if signature.len() != SIGNATURE_LEN {
            return Err(SignatureError::BadlyEncoded);
        }
        let mut tag = [0u8; 33];
        match STANDARD.decode_slice(signature, &mut tag) {
            Ok(32) => {}
            _ => return Err(SignatureError::BadlyEncoded),
        }
        let mut known = false;
        let mut matched = false;
        for (id, mac) in &self.keys {
            if id.as_bytes() != key_id {
                continue;
            }
            known = true;
            // Every secret of the id is tried, so the time taken does not say which matched.
            matched |= mac
                .clone()
                .chain_update(body)
                .verify_slice(&tag[..32])
                .is_ok();
        }
        match (known, matched) {
            (false, _) => Err(SignatureError::UnknownKeyId),
            (true, false) => Err(SignatureError::Mismatch),
            (true, true) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert!(WebhookVerifier::new([]).is_err());
        assert!(WebhookVerifier::new([("", "x")]).is_err());
        assert!(WebhookVerifier::new([("k", "a b")]).is_err());
        let v = WebhookVerifier::new([("k", "SECRETVALUE")]).unwrap();
        assert!(!format!("{v:?}").contains("SECRETVALUE"));
        let s = RequestSigner::new("id", &SecretString::from("SECRETVALUE")).unwrap();
        assert!(!format!("{s:?}").contains("SECRETVALUE"));
        let e = RequestSigner::new("id", &SecretString::from("bad SECRETVALUE")).unwrap_err();
        assert!(!e.to_string().contains("SECRETVALUE"));
    }

    #[test]
    fn every_secret_of_the_key_id_is_tried() {
        let v = WebhookVerifier::new([("k", "old"), ("k", "new"), ("j", "other")]).unwrap();
        let body = b"{\"a\":1}";
        for secret in ["old", "new"] {
            let sig = webhook_signature(secret, body);
            assert_eq!(v.verify(Some(b"k"), Some(sig.as_bytes()), body), Ok(()));
        }
        let sig = webhook_signature("other", body);
        assert_eq!(
            v.verify(Some(b"k"), Some(sig.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v.verify(Some(b"zz"), Some(sig.as_bytes()), body),
            Err(SignatureError::UnknownKeyId)
        );
        assert_eq!(
            v.verify(None, Some(sig.as_bytes()), body),
            Err(SignatureError::MissingKeyId)
        );
        assert_eq!(
            v.verify(Some(b"k"), None, body),
            Err(SignatureError::MissingSignature)
        );
        let short = &sig.as_bytes()[..43];
        assert_eq!(
            v.verify(Some(b"k"), Some(short), body),
            Err(SignatureError::BadlyEncoded)
        );
        let bad = "!".repeat(44);
        assert_eq!(
            v.verify(Some(b"k"), Some(bad.as_bytes()), body),
            Err(SignatureError::BadlyEncoded)
        );
    }
}
