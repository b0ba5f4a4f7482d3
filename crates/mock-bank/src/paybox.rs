//! The Paybox side: hosted payment page, signed IPN, browser returns, `load.html`, Paybox Direct.
//!
//! Written from `../shared/specs/paybox.md`, independently of the `tpe-paybox` provider crate.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use serde::Serialize;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::journal::{EntryKind, JournalEntry, Side};
use crate::notify::{Ack, Delivery, check_callback_url, dispatch};
use crate::scenario::{Outcome, Scenario};
use crate::state::{BankState, MAX_ROWS};
use crate::{Error, Note, html_page, random_hex};

/// The shipped test private key (PKCS#8 PEM). Test-only: see `keys/README.md`.
pub const SHIPPED_PRIVATE_KEY_PEM: &str = include_str!("../keys/paybox-test-private.pem");
/// The shipped test public key (SubjectPublicKeyInfo PEM) matching [`SHIPPED_PRIVATE_KEY_PEM`].
pub const SHIPPED_PUBLIC_KEY_PEM: &str = include_str!("../keys/paybox-test-public.pem");

/// The paths of the hosted payment page (all variants share one form and one MAC rule).
pub const PAGE_PATHS: &[&str] = &[
    "/cgi/MYchoix_pagepaiement.cgi",
    "/cgi/FramepagepaiementRWD.cgi",
    "/cgi/MYframepagepaiement_ip.cgi",
    "/cgi/ChoixPaiementMobile.cgi",
    "/php/",
    "/php",
];

/// Paybox test cards understood by the mock's page (see the README for the full table).
pub mod cards {
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
}

/// How many card attempts a payment page allows before it gives up (several bank transactions
/// under one reference).
pub const MAX_ATTEMPTS: u32 = 3;

// ---------------------------------------------------------------------------------------------
// HMAC of requests

/// Why a request MAC was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HmacError {
    /// No MAC field.
    #[error("the MAC field is missing")]
    Missing,
    /// The MAC field is not the last field.
    #[error("the MAC field is not the last field")]
    NotLast,
    /// The hash named is not supported.
    #[error("unsupported hash {0}")]
    UnsupportedHash(String),
    /// The merchant key is not hexadecimal.
    #[error("the merchant key is not hexadecimal")]
    BadKey,
    /// The MAC does not match.
    #[error("the MAC does not match")]
    Mismatch,
}

/// HMAC of `message` with the hash named as in `PBX_HASH`, upper-case hex.
///
/// # Errors
/// [`HmacError::UnsupportedHash`] or [`HmacError::BadKey`].
pub fn hmac_hex(hash: &str, key_hex: &str, message: &[u8]) -> Result<String, HmacError> {
    let key = hex::decode(key_hex).map_err(|_| HmacError::BadKey)?;
    raw_hmac(hash, &key, message).map(hex::encode_upper)
}

fn raw_hmac(hash: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, HmacError> {
    use hmac::{KeyInit, Mac};
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = hmac::Hmac::<$h>::new_from_slice(key).map_err(|_| HmacError::BadKey)?;
            m.update(message);
            Ok(m.finalize().into_bytes().to_vec())
        }};
    }
    match hash {
        "SHA512" => mac!(Sha512),
        "SHA384" => mac!(Sha384),
        "SHA256" => mac!(Sha256),
        "SHA224" => mac!(Sha224),
        other => Err(HmacError::UnsupportedHash(other.chars().take(16).collect())),
    }
}

/// Checks the MAC of an ordered field list as the bank does: the MAC field (`PBX_HMAC`, or `HMAC`
/// for Paybox Direct) must be last; the string is `NAME=value&…` of every other field in order,
/// raw values, UTF-8; the hash is named by `hash_field` (`PBX_HASH` / `HASH`), SHA512 when absent;
/// the presented MAC is compared case-insensitively in constant time.
///
/// # Errors
/// An [`HmacError`] saying why the MAC was refused.
pub fn verify_fields_hmac(
    fields: &[(String, String)],
    mac_field: &str,
    hash_field: &str,
    key_hex: &str,
) -> Result<(), HmacError> {
    let Some(((last_name, presented), rest)) = fields.split_last() else {
        return Err(HmacError::Missing);
    };
    if last_name != mac_field {
        return if fields.iter().any(|(k, _)| k == mac_field) {
            Err(HmacError::NotLast)
        } else {
            Err(HmacError::Missing)
        };
    }
    let hash = rest
        .iter()
        .find(|(k, _)| k == hash_field)
        .map_or("SHA512", |(_, v)| v.as_str());
    let message = rest
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let key = hex::decode(key_hex).map_err(|_| HmacError::BadKey)?;
    let expected = raw_hmac(hash, &key, message.as_bytes())?;
    let presented = hex::decode(presented).map_err(|_| HmacError::Mismatch)?;
    if presented.len() == expected.len() && bool::from(presented.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(HmacError::Mismatch)
    }
}

/// Checks a hosted-page request (`PBX_HMAC` last, `PBX_HASH`) with the merchant key.
///
/// # Errors
/// See [`verify_fields_hmac`].
pub fn verify_request_hmac(fields: &[(String, String)], key_hex: &str) -> Result<(), HmacError> {
    verify_fields_hmac(fields, "PBX_HMAC", "PBX_HASH", key_hex)
}

// ---------------------------------------------------------------------------------------------
// RSA signature of responses

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

/// Builds the signed variable string: `name=value&…&sig=<base64, URL-encoded>`.
///
/// `values` are the `PBX_RETOUR` pairs except the signature; `sig_name` is the name given to `K`.
/// With `wrong` the signature is computed over other bytes, so it does not verify.
pub(crate) fn signed_payload(
    signer: &PayboxSigner,
    values: &[(String, String)],
    sig_name: &str,
    wrong: bool,
) -> String {
    let data = values
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, RETURN_VALUE)))
        .collect::<Vec<_>>()
        .join("&");
    let signature = if wrong {
        signer.sign(format!("{data}&tampered").as_bytes())
    } else {
        signer.sign(data.as_bytes())
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    format!(
        "{data}&{sig_name}={}",
        utf8_percent_encode(&b64, NON_ALPHANUMERIC)
    )
}

// ---------------------------------------------------------------------------------------------
// Sessions and ledger

/// A payment page session (one `PBX_*` form).
#[derive(Clone, Debug)]
pub(crate) struct PayboxSession {
    id: String,
    site: String,
    rang: String,
    reference: String,
    amount: u64,
    currency: String,
    retour: Vec<(String, char)>,
    ipn_post: bool,
    effectue: Option<String>,
    refuse: Option<String>,
    annule: Option<String>,
    attente: Option<String>,
    repondre_a: Option<String>,
    challenge_wanted: bool,
    authorize_only: bool,
    error_code_test: Option<String>,
    attempts: u32,
    finished: bool,
    numappel: u64,
    awaiting_challenge: Option<CardData>,
    created_order: u64,
}

/// State of a bank transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TxState {
    Authorized,
    Captured,
    Refunded,
    Cancelled,
    Refused,
    Pending,
}

impl TxState {
    fn label(self) -> &'static str {
        match self {
            Self::Authorized => "Autorisé",
            Self::Captured => "Capturé",
            Self::Refunded => "Remboursé",
            Self::Cancelled => "Annulé",
            Self::Refused => "Refusé",
            Self::Pending => "En attente",
        }
    }
}

/// One bank transaction (one try on the page, or one Direct operation).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PayboxTransaction {
    numtrans: u64,
    numappel: u64,
    site: String,
    rang: String,
    reference: String,
    amount: u64,
    currency: String,
    code: String,
    authorization: String,
    state: TxState,
    refunded: u64,
}

#[derive(Clone, Debug)]
struct CardData {
    pan: String,
    expiry_yymm: String,
}

/// The decision for one card attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Decision {
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

fn decide_card(pan: &str) -> Decision {
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

fn from_outcome(o: &Outcome) -> Decision {
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

pub(crate) fn luhn_valid(pan: &str) -> bool {
    if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in pan.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Minor-unit exponent of an ISO 4217 numeric currency (the ones a shop may send).
fn exponent(currency: &str) -> u32 {
    match currency {
        "392" | "952" | "953" => 0,
        "048" | "414" | "788" => 3,
        _ => 2,
    }
}

/// `4321`, `978` → `43,21 €` (French formatting, as the bank's page).
#[must_use]
pub fn format_amount(amount: u64, currency: &str) -> String {
    let exp = exponent(currency);
    let unit = 10u64.pow(exp);
    let symbol = match currency {
        "978" => "€",
        "840" => "$",
        "826" => "£",
        "756" => "CHF",
        "392" => "¥",
        other => other,
    };
    if exp == 0 {
        format!("{amount} {symbol}")
    } else {
        let width = usize::try_from(exp).unwrap_or(2);
        format!("{},{:0width$} {symbol}", amount / unit, amount % unit)
    }
}

// ---------------------------------------------------------------------------------------------
// Request parsing and checks

const MAX_FIELDS: usize = 100;
const MAX_VALUE: usize = 4096;

pub(crate) fn parse_form(raw: &[u8]) -> Result<Vec<(String, String)>, String> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
        .map_err(|_| "the form is not valid x-www-form-urlencoded".to_owned())?;
    if fields.len() > MAX_FIELDS {
        return Err(format!("more than {MAX_FIELDS} fields"));
    }
    for (k, v) in &fields {
        if k.len() > 64 || v.len() > MAX_VALUE {
            return Err(format!(
                "field {} too long",
                k.chars().take(64).collect::<String>()
            ));
        }
    }
    Ok(fields)
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// A refusal by the page, shown as the bank's error page.
struct PageError {
    code: &'static str,
    message: String,
    detail: &'static str,
}

impl PageError {
    fn new(code: &'static str, detail: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail,
        }
    }
}

fn check_xml(name: &str, value: &str, required: &[&str]) -> Result<(), PageError> {
    let mut reader = quick_xml::Reader::from_str(value);
    let mut seen: Vec<String> = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                seen.push(e.name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Empty(e)) => {
                seen.push(e.name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(_) => {
                return Err(PageError::new(
                    "00004",
                    "field_invalid",
                    format!("{name} : XML mal formé"),
                ));
            }
        }
        if seen.len() > 200 {
            return Err(PageError::new(
                "00004",
                "field_invalid",
                format!("{name} : XML trop long"),
            ));
        }
    }
    if depth != 0 {
        return Err(PageError::new(
            "00004",
            "field_invalid",
            format!("{name} : XML mal formé"),
        ));
    }
    for r in required {
        if !seen.iter().any(|s| s == r) {
            return Err(PageError::new(
                "00004",
                "field_invalid",
                format!("{name} : élément {r} manquant"),
            ));
        }
    }
    Ok(())
}

fn parse_retour(v: &str) -> Result<Vec<(String, char)>, PageError> {
    let bad = || PageError::new("00004", "field_invalid", "PBX_RETOUR invalide");
    let mut out = Vec::new();
    for part in v.split(';').filter(|p| !p.is_empty()) {
        let (name, letter) = part.split_once(':').ok_or_else(bad)?;
        let mut chars = letter.chars();
        let (Some(l), None) = (chars.next(), chars.next()) else {
            return Err(bad());
        };
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(bad());
        }
        out.push((name.to_owned(), l));
    }
    if out.last().is_none_or(|(_, l)| *l != 'K')
        || out.iter().filter(|(_, l)| *l == 'K').count() != 1
    {
        return Err(PageError::new(
            "00004",
            "field_invalid",
            "PBX_RETOUR : la signature K doit être la dernière variable",
        ));
    }
    Ok(out)
}

/// Authenticates and checks a page request; returns the session to create.
fn check_request(
    state: &BankState,
    fields: &[(String, String)],
) -> Result<PayboxSession, PageError> {
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(PageError::new(
            "00004",
            "field_invalid",
            "variable en double",
        ));
    }
    let site = get(fields, "PBX_SITE").unwrap_or_default();
    let rang = get(fields, "PBX_RANG").unwrap_or_default();
    let ident = get(fields, "PBX_IDENTIFIANT").unwrap_or_default();
    let merchant = state
        .config()
        .paybox_merchants
        .iter()
        .find(|m| {
            m.site == site && same_number(&m.rang, rang) && same_number(&m.identifiant, ident)
        })
        .ok_or_else(|| {
            PageError::new(
                "00006",
                "unknown_merchant",
                "Accès refusé : site, rang ou identifiant incorrect",
            )
        })?;
    if let Err(e) = verify_request_hmac(fields, merchant.hmac_key_hex.expose()) {
        tracing::info!(site, rang, reason = %e, "mock bank refused a Paybox request MAC");
        return Err(PageError::new("00006", "hmac_refused", "Accès refusé"));
    }
    for required in [
        "PBX_TOTAL",
        "PBX_DEVISE",
        "PBX_CMD",
        "PBX_PORTEUR",
        "PBX_RETOUR",
        "PBX_TIME",
    ] {
        if get(fields, required).is_none_or(str::is_empty) {
            return Err(PageError::new(
                "00004",
                "field_missing",
                format!("variable manquante : {required}"),
            ));
        }
    }
    let total = get(fields, "PBX_TOTAL").unwrap_or_default();
    let amount = if total.len() <= 10 && total.bytes().all(|b| b.is_ascii_digit()) {
        total.parse::<u64>().ok()
    } else {
        None
    }
    .filter(|a| *a > 0)
    .ok_or_else(|| PageError::new("00011", "field_invalid", "PBX_TOTAL : montant incorrect"))?;
    let currency = get(fields, "PBX_DEVISE").unwrap_or_default();
    if !matches!(
        currency,
        "978"
            | "840"
            | "826"
            | "756"
            | "124"
            | "036"
            | "392"
            | "752"
            | "208"
            | "578"
            | "985"
            | "203"
    ) {
        return Err(PageError::new(
            "00010",
            "field_invalid",
            "PBX_DEVISE : devise inconnue",
        ));
    }
    let reference = get(fields, "PBX_CMD").unwrap_or_default();
    if reference.chars().count() > 250 {
        return Err(PageError::new(
            "00004",
            "field_invalid",
            "PBX_CMD trop long",
        ));
    }
    let email = get(fields, "PBX_PORTEUR").unwrap_or_default();
    let email_ok = (6..=80).contains(&email.len())
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !email.contains(char::is_whitespace);
    if !email_ok {
        return Err(PageError::new(
            "00004",
            "field_invalid",
            "PBX_PORTEUR : adresse e-mail invalide",
        ));
    }
    let retour = parse_retour(get(fields, "PBX_RETOUR").unwrap_or_default())?;
    let ipn_post = match get(fields, "PBX_RUF1") {
        None | Some("GET") => false,
        Some("POST") => true,
        Some(_) => {
            return Err(PageError::new(
                "00004",
                "field_invalid",
                "PBX_RUF1 : GET ou POST",
            ));
        }
    };
    let mut urls = Vec::new();
    for name in [
        "PBX_EFFECTUE",
        "PBX_REFUSE",
        "PBX_ANNULE",
        "PBX_ATTENTE",
        "PBX_REPONDRE_A",
    ] {
        let url =
            match get(fields, name) {
                Some(u) => Some(check_callback_url(u).map(|_| u.to_owned()).map_err(|e| {
                    PageError::new("00004", "field_invalid", format!("{name} : {e}"))
                })?),
                None => None,
            };
        urls.push(url);
    }
    match (get(fields, "PBX_SHOPPINGCART"), get(fields, "PBX_BILLING")) {
        (Some(cart), Some(billing)) => {
            check_xml("PBX_SHOPPINGCART", cart, &["shoppingcart", "totalQuantity"])?;
            check_xml(
                "PBX_BILLING",
                billing,
                &[
                    "Billing",
                    "Address",
                    "FirstName",
                    "LastName",
                    "Address1",
                    "ZipCode",
                    "City",
                    "CountryCode",
                ],
            )?;
        }
        (cart, billing) if state.config().require_3ds_xml => {
            let missing = if cart.is_none() {
                "PBX_SHOPPINGCART"
            } else {
                "PBX_BILLING"
            };
            let _ = billing;
            return Err(PageError::new(
                "00004",
                "field_missing",
                format!("variable manquante : {missing}"),
            ));
        }
        (Some(cart), None) => check_xml("PBX_SHOPPINGCART", cart, &["shoppingcart"])?,
        (None, Some(billing)) => check_xml("PBX_BILLING", billing, &["Billing"])?,
        (None, None) => {}
    }
    let error_code_test = get(fields, "PBX_ERRORCODETEST")
        .filter(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned);
    let [effectue, refuse, annule, attente, repondre_a]: [Option<String>; 5] =
        urls.try_into().unwrap_or_default();
    Ok(PayboxSession {
        id: random_hex(16),
        site: site.to_owned(),
        rang: rang.to_owned(),
        reference: reference.to_owned(),
        amount,
        currency: currency.to_owned(),
        retour,
        ipn_post,
        effectue,
        refuse,
        annule,
        attente,
        repondre_a,
        challenge_wanted: get(fields, "PBX_SOUHAITAUTHENT") == Some("04"),
        authorize_only: get(fields, "PBX_AUTOSEULE") == Some("O"),
        error_code_test,
        attempts: 0,
        finished: false,
        numappel: 0,
        awaiting_challenge: None,
        created_order: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// Pages

fn error_page(code: &str, message: &str) -> String {
    html_page(
        "Erreur PAYBOX",
        &format!(
            "<h1>Erreur PAYBOX</h1><p class=\"error\">Erreur {} : {}</p>",
            html_escape::encode_text(code),
            html_escape::encode_text(message)
        ),
    )
}

fn payment_page(s: &PayboxSession, error: Option<&str>) -> String {
    let esc = |v: &str| html_escape::encode_text(v).into_owned();
    let err = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" id=\"error\">{}</p>", esc(e))
    });
    let remaining = MAX_ATTEMPTS.saturating_sub(s.attempts);
    html_page(
        "Paiement sécurisé",
        &format!(
            "<h1>Paiement sécurisé</h1>\
<p>Commerçant : site {site}, rang {rang}</p>\
<p>Référence : <strong id=\"reference\">{reference}</strong></p>\
<p>Montant : <strong id=\"amount\">{amount}</strong></p>{err}\
<form method=\"post\" action=\"/paybox/page/{id}\">\
<p><label>Numéro de carte <input name=\"numero\" inputmode=\"numeric\" autocomplete=\"cc-number\" maxlength=\"23\" required></label></p>\
<p><label>Date d'expiration (MM/AA) <input name=\"expiry\" autocomplete=\"cc-exp\" maxlength=\"5\" required></label></p>\
<p><label>Cryptogramme <input name=\"cvv\" inputmode=\"numeric\" autocomplete=\"cc-csc\" maxlength=\"4\" required></label></p>\
<p>Essais restants : {remaining}</p>\
<p><button name=\"action\" value=\"pay\">Payer</button></p></form>\
<form method=\"post\" action=\"/paybox/page/{id}\"><input type=\"hidden\" name=\"action\" value=\"cancel\">\
<button>Annuler</button></form>\
<details><summary>Cartes de test</summary><ul>\
<li>1111222233334444 : acceptée</li><li>1111222233330151 : refusée 00151 (provision insuffisante)</li>\
<li>1111222233330154 : refusée 00154 (carte expirée)</li><li>1111222233330105 : refusée 00105 (ne pas honorer)</li>\
<li>1111222233330141 : refusée 00141 (carte perdue)</li><li>1111222233333333 : 3-D Secure avec challenge</li>\
<li>1111222233330189 : échec 3-D Secure (00189)</li><li>1111222233339999 / …9998 : en attente (99999) puis acceptée / refusée</li>\
<li>1234567812345678 : numéro invalide (00004), nouvel essai</li></ul></details>",
            site = esc(&s.site),
            rang = esc(&s.rang),
            reference = esc(&s.reference),
            amount = esc(&format_amount(s.amount, &s.currency)),
            id = esc(&s.id),
        ),
    )
}

fn challenge_page(s: &PayboxSession) -> String {
    html_page(
        "3-D Secure",
        &format!(
            "<h1>Authentification 3-D Secure</h1><p>Montant : {amount}</p>\
<p>Votre banque vous demande de confirmer ce paiement.</p>\
<form method=\"post\" action=\"/paybox/page/{id}/3ds\">\
<button name=\"result\" value=\"ok\">Confirmer</button> \
<button name=\"result\" value=\"fail\">Échec de l'authentification</button></form>",
            amount = html_escape::encode_text(&format_amount(s.amount, &s.currency)),
            id = html_escape::encode_text(&s.id),
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Handlers

pub(crate) async fn page_entry(
    State(state): State<BankState>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if state.with_data(|d| d.server_down) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(error_page("00003", "Service indisponible")),
        )
            .into_response();
    }
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let fields = match parse_form(raw) {
        Ok(f) => f,
        Err(e) => return Note::new(None, "bad_form").attach(Html(error_page("00004", &e))),
    };
    let reference = get(&fields, "PBX_CMD").map(str::to_owned);
    let mut session = match check_request(&state, &fields) {
        Ok(s) => s,
        Err(e) => {
            return Note::new(reference.as_deref(), e.detail)
                .attach(Html(error_page(e.code, &e.message)));
        }
    };
    session.numappel = 70_000_000 + state.next_counter();
    session.created_order = state.next_counter();
    let page = payment_page(&session, None);
    let id = session.id.clone();
    state.with_data(|d| {
        if d.paybox_sessions.len() >= MAX_ROWS {
            // Forget the oldest page so memory stays bounded.
            if let Some(oldest) = d
                .paybox_sessions
                .values()
                .min_by_key(|s| s.created_order)
                .map(|s| s.id.clone())
            {
                d.paybox_sessions.remove(&oldest);
            }
        }
        d.paybox_sessions.insert(id, session);
    });
    Note::new(reference.as_deref(), "page_shown").attach(Html(page))
}

pub(crate) async fn page_submit(
    State(state): State<BankState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(session) = state.with_data(|d| d.paybox_sessions.get(&id).cloned()) else {
        return (
            StatusCode::NOT_FOUND,
            Html(error_page("00030", "Session inconnue ou expirée")),
        )
            .into_response();
    };
    let reference = session.reference.clone();
    if session.finished {
        return Note::new(Some(&reference), "page_finished").attach(Html(error_page(
            "00015",
            "Paiement déjà effectué ou terminé",
        )));
    }
    let form = parse_form(&body).unwrap_or_default();
    if get(&form, "action") == Some("cancel") {
        return cancel(&state, session).await;
    }
    let pan: String = get(&form, "numero")
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let expiry = get(&form, "expiry").unwrap_or_default().replace('/', "");
    let cvv = get(&form, "cvv").unwrap_or_default();
    let now = state.now().in_tz("Europe/Paris").ok();
    let expiry_yymm = match (expiry.len(), expiry.get(..2), expiry.get(2..)) {
        (4, Some(mm), Some(yy)) if expiry.bytes().all(|b| b.is_ascii_digit()) => {
            let m: u32 = mm.parse().unwrap_or(0);
            let y: i32 = yy.parse().unwrap_or(0);
            let valid_month = (1..=12).contains(&m);
            let not_past = now.as_ref().is_none_or(|n| {
                let cy = i32::from(n.year()) % 100;
                let cm = u32::try_from(n.month()).unwrap_or(1);
                y > cy || (y == cy && m >= cm)
            });
            (valid_month && not_past).then(|| format!("{yy}{mm}"))
        }
        _ => None,
    };
    let card_ok = pan.len() <= 19 && pan.bytes().all(|b| b.is_ascii_digit()) && !pan.is_empty();
    let cvv_ok = (3..=4).contains(&cvv.len()) && cvv.bytes().all(|b| b.is_ascii_digit());
    let card = CardData {
        pan: if card_ok { pan.clone() } else { String::new() },
        expiry_yymm: expiry_yymm.clone().unwrap_or_default(),
    };
    let scenario = state.scenario_for(&reference);
    let decision = if !card_ok || !cvv_ok {
        Decision::Retry("00004".into())
    } else if expiry_yymm.is_none() {
        Decision::Retry("00008".into())
    } else if let Some(o) = &scenario.outcome {
        from_outcome(o)
    } else if let Some(code) = &session.error_code_test {
        match code.as_str() {
            "00000" => Decision::Accept,
            "99999" => Decision::Pending {
                final_code: "00000".into(),
            },
            other => Decision::Refuse(other.to_owned()),
        }
    } else {
        decide_card(&pan)
    };
    let decision = match decision {
        Decision::Accept if session.challenge_wanted => Decision::Challenge {
            then: Box::new(Decision::Accept),
            fail_code: "00189".into(),
        },
        d => d,
    };
    if let Decision::Challenge { .. } = decision {
        state.with_data(|d| {
            if let Some(s) = d.paybox_sessions.get_mut(&id) {
                s.awaiting_challenge = Some(card.clone());
            }
        });
        let page = challenge_page(&session);
        return Note::new(Some(&reference), "3ds_challenge").attach(Html(page));
    }
    conclude(&state, &id, decision, card, 'N').await
}

pub(crate) async fn challenge_submit(
    State(state): State<BankState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(session) = state.with_data(|d| d.paybox_sessions.get(&id).cloned()) else {
        return (
            StatusCode::NOT_FOUND,
            Html(error_page("00030", "Session inconnue ou expirée")),
        )
            .into_response();
    };
    let Some(card) = session
        .awaiting_challenge
        .clone()
        .filter(|_| !session.finished)
    else {
        return Note::new(Some(&session.reference), "no_challenge").attach(Html(error_page(
            "00003",
            "Aucune authentification en cours",
        )));
    };
    state.with_data(|d| {
        if let Some(s) = d.paybox_sessions.get_mut(&id) {
            s.awaiting_challenge = None;
        }
    });
    let form = parse_form(&body).unwrap_or_default();
    let passed = get(&form, "result") == Some("ok");
    let scenario = state.scenario_for(&session.reference);
    let base = if let Some(o) = &scenario.outcome {
        from_outcome(o)
    } else {
        match decide_card(&card.pan) {
            Decision::Challenge { then, .. } => *then,
            other => other,
        }
    };
    let (decision, three_ds) = if passed {
        (base, 'Y')
    } else {
        (Decision::Refuse("00189".into()), 'N')
    };
    conclude(&state, &id, decision, card, three_ds).await
}

async fn cancel(state: &BankState, session: PayboxSession) -> Response {
    state.with_data(|d| {
        if let Some(s) = d.paybox_sessions.get_mut(&session.id) {
            s.finished = true;
        }
    });
    state.record(
        JournalEntry::new(
            EntryKind::Decision,
            Side::Paybox,
            "/paybox/page",
            "cancelled",
        )
        .reference(Some(&session.reference)),
    );
    // As observed on the platform: a customer cancellation returns E=00001 and S=0, and only to
    // the browser (no IPN for a cancellation: there was no payment attempt).
    let values = retour_values(
        state,
        &session,
        None,
        "00001",
        &CardData {
            pan: String::new(),
            expiry_yymm: String::new(),
        },
        'U',
    );
    let sig = sig_name(&session);
    let payload = signed_payload(state.signer(), &values, &sig, false);
    browser_return(
        state,
        &session,
        session.annule.as_deref(),
        &payload,
        "00001",
    )
}

/// Decides, records the transaction, notifies and sends the browser back.
async fn conclude(
    state: &BankState,
    id: &str,
    decision: Decision,
    card: CardData,
    three_ds: char,
) -> Response {
    let Some(mut session) = state.with_data(|d| {
        let s = d.paybox_sessions.get_mut(id)?;
        s.attempts += 1;
        Some(s.clone())
    }) else {
        return (
            StatusCode::NOT_FOUND,
            Html(error_page("00030", "Session inconnue")),
        )
            .into_response();
    };
    let reference = session.reference.clone();
    let scenario = state.scenario_for(&reference);
    if decision == Decision::Abandon {
        finish(state, id);
        state.record(
            JournalEntry::new(
                EntryKind::Decision,
                Side::Paybox,
                "/paybox/page",
                "abandoned",
            )
            .reference(Some(&reference)),
        );
        let page = html_page(
            "Paiement",
            "<h1>Page fermée</h1><p>Le client a quitté la page de paiement.</p>",
        );
        return Note::new(Some(&reference), "abandoned").attach(Html(page));
    }
    let (code, final_code) = match &decision {
        Decision::Accept => ("00000".to_owned(), None),
        Decision::Refuse(c) | Decision::Retry(c) => (c.clone(), None),
        Decision::Pending { final_code } => ("99999".to_owned(), Some(final_code.clone())),
        Decision::Challenge { .. } | Decision::Abandon => ("00003".to_owned(), None),
    };
    let numtrans = 30_000_000 + state.next_counter();
    let tx_state = match code.as_str() {
        "00000" if session.authorize_only => TxState::Authorized,
        "00000" => TxState::Captured,
        "99999" => TxState::Pending,
        _ => TxState::Refused,
    };
    let authorization = if code == "00000" {
        "XXXXXX".to_owned()
    } else {
        String::new()
    };
    state.with_data(|d| {
        if d.paybox_transactions.len() >= MAX_ROWS {
            d.paybox_transactions.remove(0);
        }
        d.paybox_transactions.push(PayboxTransaction {
            numtrans,
            numappel: session.numappel,
            site: session.site.clone(),
            rang: session.rang.clone(),
            reference: reference.clone(),
            amount: session.amount,
            currency: session.currency.clone(),
            code: code.clone(),
            authorization: authorization.clone(),
            state: tx_state,
            refunded: 0,
        });
    });
    let retry_allowed = matches!(decision, Decision::Retry(_)) && session.attempts < MAX_ATTEMPTS;
    let mut decision_entry = JournalEntry::new(
        EntryKind::Decision,
        Side::Paybox,
        "/paybox/page",
        code.clone(),
    )
    .reference(Some(&reference));
    decision_entry.attempt = Some(session.attempts);
    state.record(decision_entry);
    if !retry_allowed {
        finish(state, id);
        session.finished = true;
    }
    let values = retour_values(
        state,
        &session,
        Some((numtrans, &authorization)),
        &code,
        &card,
        three_ds,
    );
    let sig = sig_name(&session);
    send_ipn(
        state,
        &session,
        &values,
        &sig,
        &scenario,
        &code,
        final_code.is_none(),
    )
    .await;
    if let Some(final_code) = final_code {
        let delay = state.config().pending_delay;
        let task_state = state.clone();
        let task_session = session.clone();
        let card = card.clone();
        state.spawn(async move {
            if !task_state.sleep_or_shutdown(delay).await {
                return;
            }
            let auth = if final_code == "00000" { "XXXXXX" } else { "" };
            let new_state = match final_code.as_str() {
                "00000" if task_session.authorize_only => TxState::Authorized,
                "00000" => TxState::Captured,
                _ => TxState::Refused,
            };
            task_state.with_data(|d| {
                if let Some(t) = d
                    .paybox_transactions
                    .iter_mut()
                    .find(|t| t.numtrans == numtrans)
                {
                    t.state = new_state;
                    t.code.clone_from(&final_code);
                    auth.clone_into(&mut t.authorization);
                }
            });
            task_state.record(
                JournalEntry::new(
                    EntryKind::Decision,
                    Side::Paybox,
                    "/paybox/page",
                    final_code.clone(),
                )
                .reference(Some(&task_session.reference)),
            );
            let values = retour_values(
                &task_state,
                &task_session,
                Some((numtrans, auth)),
                &final_code,
                &card,
                three_ds,
            );
            let sig = sig_name(&task_session);
            let scenario = task_state.scenario_for(&task_session.reference);
            send_ipn(
                &task_state,
                &task_session,
                &values,
                &sig,
                &scenario,
                &final_code,
                true,
            )
            .await;
        });
    }
    if retry_allowed {
        let message = match code.as_str() {
            "00008" => "Date de fin de validité incorrecte (00008). Veuillez réessayer.",
            _ => "Numéro de carte ou cryptogramme invalide (00004). Veuillez réessayer.",
        };
        let page = payment_page(&session, Some(message));
        return Note::new(Some(&reference), "retry_on_page").attach(Html(page));
    }
    let target = match code.as_str() {
        "00000" => session.effectue.as_deref(),
        "99999" => session.attente.as_deref().or(session.effectue.as_deref()),
        _ => session.refuse.as_deref(),
    };
    let payload = signed_payload(state.signer(), &values, &sig, scenario.wrong_signature);
    browser_return(state, &session, target, &payload, &code)
}

fn finish(state: &BankState, id: &str) {
    state.with_data(|d| {
        if let Some(s) = d.paybox_sessions.get_mut(id) {
            s.finished = true;
        }
    });
}

fn sig_name(session: &PayboxSession) -> String {
    session
        .retour
        .iter()
        .find(|(_, l)| *l == 'K')
        .map_or_else(|| "K".to_owned(), |(n, _)| n.clone())
}

/// The `PBX_RETOUR` values (signature excluded), in the order asked for.
fn retour_values(
    state: &BankState,
    s: &PayboxSession,
    tx: Option<(u64, &str)>,
    code: &str,
    card: &CardData,
    three_ds: char,
) -> Vec<(String, String)> {
    let now = state.now();
    let local = now.in_tz("Europe/Paris").ok();
    let date = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%d%m%Y").to_string());
    let time = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%H:%M:%S").to_string());
    let accepted = code == "00000";
    s.retour
        .iter()
        .filter(|(_, l)| *l != 'K')
        .map(|(name, letter)| {
            let v = match letter {
                'M' => s.amount.to_string(),
                'R' => s.reference.clone(),
                'T' => tx.map_or_else(|| "0".to_owned(), |_| s.numappel.to_string()),
                'S' => tx.map_or_else(|| "0".to_owned(), |(n, _)| n.to_string()),
                'A' => tx.map_or_else(String::new, |(_, a)| a.to_owned()),
                'E' => code.to_owned(),
                'C' => if card.pan.starts_with('4') {
                    "VISA"
                } else {
                    "CB"
                }
                .to_owned(),
                'D' => card.expiry_yymm.clone(),
                'N' => card.pan.get(..6).unwrap_or_default().to_owned(),
                'J' => card
                    .pan
                    .get(card.pan.len().saturating_sub(2)..)
                    .unwrap_or_default()
                    .to_owned(),
                'F' => three_ds.to_string(),
                'G' => if three_ds == 'Y' && accepted {
                    "O"
                } else {
                    "N"
                }
                .to_owned(),
                'O' => if three_ds == 'U' { "U" } else { "Y" }.to_owned(),
                'P' => "CARTE".to_owned(),
                'Q' => time.clone(),
                'W' => date.clone(),
                'I' | 'Y' => "FRA".to_owned(),
                'v' => "2.2.0".to_owned(),
                _ => String::new(),
            };
            (name.clone(), v)
        })
        .collect()
}

async fn send_ipn(
    state: &BankState,
    s: &PayboxSession,
    values: &[(String, String)],
    sig: &str,
    scenario: &Scenario,
    code: &str,
    is_final: bool,
) {
    let Some(url) = s.repondre_a.clone() else {
        state.record(
            JournalEntry::new(EntryKind::Withheld, Side::Paybox, "", "no_ipn_url")
                .reference(Some(&s.reference)),
        );
        return;
    };
    let payload = signed_payload(state.signer(), values, sig, scenario.wrong_signature);
    let (full_url, body) = if s.ipn_post {
        (url, Some(payload.clone()))
    } else {
        let sep = if url.contains('?') { '&' } else { '?' };
        (format!("{url}{sep}{payload}"), None)
    };
    let delivery = Delivery {
        side: Side::Paybox,
        reference: Some(s.reference.clone()),
        post: s.ipn_post,
        url: full_url,
        body,
        content_type: "application/x-www-form-urlencoded",
        payload,
        signature_header: None,
        detail: code.to_owned(),
        ack: Ack::Exactly200,
    };
    dispatch(state, delivery, scenario, is_final).await;
}

fn browser_return(
    state: &BankState,
    s: &PayboxSession,
    target: Option<&str>,
    payload: &str,
    code: &str,
) -> Response {
    let Some(url) = target else {
        let page = html_page(
            "Paiement",
            &format!(
                "<h1>Résultat du paiement</h1><p id=\"code\">{}</p><p>Référence : {}</p>",
                html_escape::encode_text(code),
                html_escape::encode_text(&s.reference)
            ),
        );
        return Note::new(Some(&s.reference), "result_page").attach(Html(page));
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{sep}{payload}");
    let mut e = JournalEntry::new(EntryKind::Redirect, Side::Paybox, full.clone(), code)
        .reference(Some(&s.reference));
    e.payload = Some(payload.to_owned());
    state.record(e);
    Note::new(Some(&s.reference), "browser_return").attach(Redirect::to(&full))
}

pub(crate) async fn load_html(State(state): State<BankState>) -> Response {
    let ok = !state.with_data(|d| d.server_down);
    let status = if ok { "OK" } else { "KO" };
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Paybox</title></head><body><div id=\"server_status\">{status}</div></body></html>"
    ))
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Paybox Direct (PPPS.php)

fn latin1(s: &str) -> Vec<u8> {
    // The bank answers in ISO-8859-1; characters outside it cannot occur in our own texts.
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn direct_answer(
    fields: &[(String, String)],
    code: &str,
    comment: &str,
    tx: Option<&PayboxTransaction>,
    extra: &[(&str, String)],
) -> Response {
    let echo = |k: &str| get(fields, k).unwrap_or_default().to_owned();
    let mut parts: Vec<(String, String)> = vec![
        (
            "NUMTRANS".into(),
            format!("{:010}", tx.map_or(0, |t| t.numtrans)),
        ),
        (
            "NUMAPPEL".into(),
            format!("{:010}", tx.map_or(0, |t| t.numappel)),
        ),
        ("NUMQUESTION".into(), echo("NUMQUESTION")),
        ("SITE".into(), echo("SITE")),
        ("RANG".into(), echo("RANG")),
        (
            "AUTORISATION".into(),
            tx.map_or_else(String::new, |t| t.authorization.clone()),
        ),
        ("CODEREPONSE".into(), code.to_owned()),
        ("COMMENTAIRE".into(), comment.to_owned()),
        ("REFABONNE".into(), String::new()),
        ("PORTEUR".into(), String::new()),
    ];
    for (k, v) in extra {
        parts.push(((*k).to_owned(), v.clone()));
    }
    // Values go out as the bank sends them: not percent-encoded, Latin-1 bytes.
    let text = parts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    (
        [(header::CONTENT_TYPE, "text/plain; charset=ISO-8859-1")],
        latin1(&text),
    )
        .into_response()
}

pub(crate) async fn ppps(
    State(state): State<BankState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _ = headers;
    let fields = match parse_form(&body) {
        Ok(f) => f,
        Err(_) => {
            return Note::new(None, "00014").attach(direct_answer(
                &[],
                "00014",
                "PAYBOX : Trame incohérente",
                None,
                &[],
            ));
        }
    };
    let reference = get(&fields, "REFERENCE").map(str::to_owned);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return api_fault(&state, fault, reference.as_deref()).await;
    }
    if state.with_data(|d| d.server_down) {
        return Note::new(reference.as_deref(), "server_down")
            .attach((StatusCode::SERVICE_UNAVAILABLE, "server unavailable"));
    }
    let (code, comment, tx, extra) = direct_operation(&state, &fields);
    let mut e = JournalEntry::new(EntryKind::Decision, Side::Paybox, "/PPPS.php", code.clone())
        .reference(reference.as_deref());
    e.payload = get(&fields, "TYPE").map(|t| format!("TYPE={t}"));
    state.record(e);
    Note::new(reference.as_deref(), &code).attach(direct_answer(
        &fields,
        &code,
        &comment,
        tx.as_ref(),
        &extra,
    ))
}

pub(crate) async fn api_fault(
    state: &BankState,
    fault: crate::ApiFault,
    reference: Option<&str>,
) -> Response {
    // Recorded before hanging: a client that gives up closes the connection, which cancels this
    // handler, and the journal must still show the fault.
    let detail = match fault {
        crate::ApiFault::Error500 => "fault_500",
        crate::ApiFault::Timeout => "fault_timeout",
    };
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Control, "api_fault", detail)
            .reference(reference),
    );
    match fault {
        crate::ApiFault::Error500 => Note::new(reference, "fault_500")
            .attach((StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        crate::ApiFault::Timeout => {
            let hang = state.config().api_hang;
            state.sleep_or_shutdown(hang).await;
            Note::new(reference, "fault_timeout").attach((StatusCode::GATEWAY_TIMEOUT, "timeout"))
        }
    }
}

type DirectResult = (
    String,
    String,
    Option<PayboxTransaction>,
    Vec<(&'static str, String)>,
);

fn direct_operation(state: &BankState, fields: &[(String, String)]) -> DirectResult {
    let fail = |code: &str, comment: &str| (code.to_owned(), comment.to_owned(), None, Vec::new());
    let site = get(fields, "SITE").unwrap_or_default();
    let rang = get(fields, "RANG").unwrap_or_default();
    let ident = get(fields, "IDENTIFIANT");
    let Some(merchant) = state.config().paybox_merchants.iter().find(|m| {
        m.site == site
            && same_number(&m.rang, rang)
            && ident.is_none_or(|i| same_number(&m.identifiant, i))
    }) else {
        return fail("00006", "PAYBOX : Accès refusé ou site/rang incorrect");
    };
    let authenticated = if fields.iter().any(|(k, _)| k == "HMAC") {
        verify_fields_hmac(fields, "HMAC", "HASH", merchant.hmac_key_hex.expose()).is_ok()
    } else {
        match (get(fields, "CLE"), &merchant.direct_cle) {
            (Some(cle), Some(expected)) => expected.matches(cle),
            _ => false,
        }
    };
    if !authenticated {
        return fail(
            "00006",
            "PAYBOX : Accès refusé ou site/rang incorrect, clé HMAC invalide",
        );
    }
    let numq = get(fields, "NUMQUESTION").unwrap_or_default();
    if numq.is_empty() || numq.len() > 10 || !numq.bytes().all(|b| b.is_ascii_digit()) {
        return fail("00005", "PAYBOX : Numéro de question invalide");
    }
    let dateq = get(fields, "DATEQ").unwrap_or_default();
    if dateq.len() != 14 || !dateq.bytes().all(|b| b.is_ascii_digit()) {
        return fail("00007", "PAYBOX : Date invalide");
    }
    let op = get(fields, "TYPE").unwrap_or_default();
    if !matches!(op, "00017" | "00014" | "00002" | "00005") {
        return fail("00009", "PAYBOX : Type d'opération invalide");
    }
    let numtrans = get(fields, "NUMTRANS").and_then(|v| v.parse::<u64>().ok());
    let numappel = get(fields, "NUMAPPEL").and_then(|v| v.parse::<u64>().ok());
    let reference = get(fields, "REFERENCE");
    let amount = get(fields, "MONTANT").map(|m| {
        if m.len() <= 10 {
            m.parse::<u64>().ok()
        } else {
            None
        }
    });
    if matches!(amount, Some(None)) {
        return fail("00011", "PAYBOX : Montant incorrect");
    }
    let amount = amount.flatten();
    state.with_data(|d| {
        // The operation concerns the transaction named by NUMTRANS (and NUMAPPEL when given),
        // or, for a status query without numbers, the latest transaction of the reference.
        let pos = d.paybox_transactions.iter().rposition(|t| {
            t.site == site
                && same_number(&t.rang, rang)
                && match numtrans {
                    Some(n) => t.numtrans == n && numappel.is_none_or(|a| a == t.numappel),
                    None => op == "00017" && reference.is_some_and(|r| r == t.reference),
                }
        });
        let Some(pos) = pos else {
            return fail("00018", "PAYBOX : Transaction non trouvée");
        };
        let t = &mut d.paybox_transactions[pos];
        let ok = "Demande traitée avec succès";
        match op {
            "00017" => {
                let label = t.state.label().to_owned();
                (
                    "00000".into(),
                    ok.into(),
                    Some(t.clone()),
                    vec![("STATUS", label)],
                )
            }
            "00002" => {
                if t.state != TxState::Authorized {
                    return fail("00002", "PAYBOX : Transaction non capturable");
                }
                if amount.is_some_and(|a| a == 0 || a > t.amount) {
                    return fail("00011", "PAYBOX : Montant incorrect");
                }
                t.state = TxState::Captured;
                if let Some(a) = amount {
                    t.amount = a;
                }
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
            "00014" => {
                if !matches!(t.state, TxState::Captured | TxState::Refunded) {
                    return fail("00002", "PAYBOX : Transaction non remboursable");
                }
                let wanted = amount.unwrap_or(t.amount - t.refunded);
                if wanted == 0 || wanted > t.amount - t.refunded {
                    return fail("00011", "PAYBOX : Montant incorrect");
                }
                t.refunded += wanted;
                t.state = TxState::Refunded;
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
            _ => {
                if !matches!(t.state, TxState::Authorized | TxState::Captured) {
                    return fail("00002", "PAYBOX : Transaction non annulable");
                }
                t.state = TxState::Cancelled;
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
        }
    })
}
