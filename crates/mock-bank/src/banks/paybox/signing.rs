//! The RSA signature of the bank's answers (IPN and browser returns), with the shipped test key.

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_encode, utf8_percent_encode};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};

use crate::Error;

/// The shipped test private key (PKCS#8 PEM). Test-only: see `keys/README.md`.
pub const SHIPPED_PRIVATE_KEY_PEM: &str = include_str!("../../../keys/paybox-test-private.pem");
/// The shipped test public key (SubjectPublicKeyInfo PEM) matching [`SHIPPED_PRIVATE_KEY_PEM`].
pub const SHIPPED_PUBLIC_KEY_PEM: &str = include_str!("../../../keys/paybox-test-public.pem");

/// Signs Paybox responses: RSASSA-PKCS1-v1_5 with SHA-1, as the bank.
///
/// aws-lc-rs offers no PKCS#1 v1.5 SHA-1 *signing* encoding and refuses RSA keys below 2048 bits,
/// and the bank's scheme is 1024-bit RSA with SHA-1; so the mock signs with the pure-Rust `rsa`
/// crate. Verification in tests uses aws-lc-rs, a second implementation.
pub(crate) struct PayboxSigner {
    key: rsa::PrivateKey,
    public_pem: String,
}

impl PayboxSigner {
    pub(crate) fn from_pem(pem: &str) -> Result<Self, Error> {
        let key =
            rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|e| Error::SigningKey(e.to_string()))?;
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::SigningKey(e.to_string()))?;
        Ok(Self { key, public_pem })
    }

    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    pub(crate) fn sign(&self, data: &[u8]) -> Vec<u8> {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(data);
        // Signing with a valid key and a 20-byte digest cannot fail; an empty signature would be
        // refused by any verifier, which is the safe failure.
        self.key
            .sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
            .unwrap_or_default()
    }
}

/// Characters the bank percent-encodes in returned values: space → `%20`, and what would break
/// the query string; `@`, `/`, `:` stay literal (spec §4.3).
const RETURN_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']');

/// How a payload is signed and encoded.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Signing<'a> {
    /// The shop's own query parameters that precede the variables and are signed with them
    /// (browser returns), without the `&` that joins them.
    pub(crate) prefix: Option<&'a str>,
    /// Values are percent-encoded ISO-8859-1 bytes instead of UTF-8 (a character outside
    /// Latin-1 becomes `?`, as a Latin-1 encoder replaces it).
    pub(crate) latin1: bool,
    /// The signature is computed over other bytes, so it does not verify.
    pub(crate) wrong: bool,
}

/// One returned value, percent-encoded as the platform does.
fn encode_value(value: &str, latin1: bool) -> String {
    if latin1 {
        let bytes: Vec<u8> = value
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        percent_encode(&bytes, RETURN_VALUE).to_string()
    } else {
        utf8_percent_encode(value, RETURN_VALUE).to_string()
    }
}

/// Builds the signed variable string: `name=value&…&sig=<base64, URL-encoded>`.
///
/// `values` are the `PBX_RETOUR` pairs except the signature; `sig_name` is the name given to `K`.
/// The signed bytes are `prefix&name=value&…` when `how` has a prefix, else `name=value&…`.
pub(crate) fn signed_payload(
    signer: &PayboxSigner,
    values: &[(String, String)],
    sig_name: &str,
    how: Signing<'_>,
) -> String {
    let data = values
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_value(v, how.latin1)))
        .collect::<Vec<_>>()
        .join("&");
    let mut message = match how.prefix {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}&{data}"),
        _ => data.clone(),
    };
    if how.wrong {
        message.push_str("&tampered");
    }
    let signature = signer.sign(message.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    format!(
        "{data}&{sig_name}={}",
        utf8_percent_encode(&b64, NON_ALPHANUMERIC)
    )
}
