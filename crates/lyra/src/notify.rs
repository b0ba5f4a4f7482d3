//! Notifications: the `vads_*` IPN (spec B.6) and the REST V4 IPN (spec B.11), decoded
//! strictly, verified, *then* read; and the acknowledgement of spec B.7.
//!
//! The `vads_*` signature covers the decoded values, so the form is decoded first (strictly,
//! duplicates refused: they would make the signed string ambiguous), the string rebuilt, the
//! signature checked against every configured key, and only then is any value read. The REST
//! `kr-hash` covers the `kr-answer` value exactly as received, checked before the JSON is parsed.

use serde::Deserialize;
use tpe_core::form::{Form, FormError, FormLimits};
use tpe_core::{
    Ack, Amount, BankReference, CardSummary, Currency, Handled, ProviderError, VerifiedNotification,
};

use crate::config::Shop;
use crate::sign::{KeyRing, RestKey, SIGNATURE, Signed};
use crate::{Lyra, codes};

/// The platform takes 2xx and some 3xx as received and ignores the body (spec B.7); the
/// Lyra plugins answer a short text, shown in the back office's call history.
pub const RECEIVED: &str = "OK";
/// The body of a notification not taken into account (the status makes the platform retry).
pub const NOT_RECEIVED: &str = "KO";

/// The REST field carrying the signed JSON.
pub const KR_ANSWER: &str = "kr-answer";
/// The REST field carrying the signature.
pub const KR_HASH: &str = "kr-hash";
/// The REST field naming the key.
pub const KR_HASH_KEY: &str = "kr-hash-key";
/// The REST field naming the algorithm.
pub const KR_HASH_ALGORITHM: &str = "kr-hash-algorithm";
/// The REST field naming the type of `kr-answer`.
pub const KR_ANSWER_TYPE: &str = "kr-answer-type";
/// Every field of a REST notification. Only `kr-answer` is signed, so the others are held to
/// this vocabulary and to known values, as `vads_*` names are: a changed byte anywhere is
/// refused.
pub const REST_FIELDS: [&str; 5] = [
    KR_ANSWER,
    KR_ANSWER_TYPE,
    KR_HASH,
    KR_HASH_ALGORITHM,
    KR_HASH_KEY,
];
/// The `kr-answer-type` of a payment: documented (`V4/Payment`), and seen in the REST SDK's
/// sample IPN (`V3.1/IPNRequest`, over the same V4 JSON).
const PAYMENT_ANSWER_TYPES: [&str; 2] = ["V4/Payment", "V3.1/IPNRequest"];

/// Form limits of a notification: a REST one holds one large JSON value.
const LIMITS: FormLimits = {
    let mut limits = FormLimits::NOTIFICATION;
    limits.max_value = 60 * 1024;
    limits
};

/// Why a signature check failed, said without echoing the signature or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureProblem {
    /// The body is not a valid form.
    #[error("the body is not a valid form: {0}")]
    Form(String),
    /// A field appears twice.
    #[error("field {0} appears more than once")]
    Duplicate(String),
    /// No signature field.
    #[error("no {0} field")]
    Missing(&'static str),
    /// The algorithm named is not HMAC-SHA-256.
    #[error("kr-hash-algorithm must be sha256_hmac")]
    Algorithm,
    /// The key named is not the one of this route.
    #[error("kr-hash-key must be {0} here")]
    KeyKind(&'static str),
    /// The signature does not match any configured key.
    #[error("the signature does not match")]
    Mismatch,
}

fn problem_to_error(p: &SignatureProblem) -> ProviderError {
    match p {
        SignatureProblem::Form(what) | SignatureProblem::Duplicate(what) => {
            ProviderError::malformed(&Lyra::ID, what.clone())
        }
        _ => ProviderError::bad_signature(&Lyra::ID),
    }
}

fn decode(raw: &[u8]) -> Result<Form<'_>, SignatureProblem> {
    let form = Form::parse(raw, LIMITS).map_err(|e| SignatureProblem::Form(e.to_string()))?;
    if let Some(name) = form.first_duplicate() {
        return Err(SignatureProblem::Duplicate(name.chars().take(64).collect()));
    }
    Ok(form)
}

/// Decodes a `vads_*` form and checks its signature against `keys`: the form, verified.
///
/// # Errors
/// The [`SignatureProblem`].
pub fn check_vads<'a>(keys: &KeyRing, raw: &'a [u8]) -> Result<Form<'a>, SignatureProblem> {
    let form = Form::parse(raw, LIMITS).map_err(|e| SignatureProblem::Form(e.to_string()))?;
    check_vads_form(keys, &form)?;
    Ok(form)
}

/// Checks the signature of a decoded form: the signed fields, sorted by name.
fn check_vads_form<'f>(keys: &KeyRing, form: &'f Form<'_>) -> Result<Signed<'f>, SignatureProblem> {
    let signature = form
        .unique(SIGNATURE)
        .map_err(|_| SignatureProblem::Duplicate(SIGNATURE.to_owned()))?
        .ok_or(SignatureProblem::Missing(SIGNATURE))?;
    let fields = form
        .fields()
        .iter()
        .map(|f| (f.name.as_ref(), f.value.as_ref()));
    // Duplicates among the signed fields are found once sorted (an unsigned duplicate is
    // never read).
    let signed = Signed::unique(fields)
        .map_err(|name| SignatureProblem::Duplicate(name.chars().take(64).collect()))?;
    if keys.verifies_sorted(&signed, signature) {
        Ok(signed)
    } else {
        Err(SignatureProblem::Mismatch)
    }
}

/// Decodes a REST notification and checks `kr-hash` with `key`, which must be the kind
/// `key_kind` (`password` for the IPN, `sha256_hmac` for the browser return): the verified
/// `kr-answer`.
///
/// The raw value is verified first; only if that fails and it contains `\/` is it verified
/// once more with `\/` → `/` (the SDK's rule, spec B.11).
///
/// # Errors
/// The [`SignatureProblem`].
pub fn check_rest(
    key: &RestKey,
    key_kind: &'static str,
    raw: &[u8],
) -> Result<String, SignatureProblem> {
    check_rest_form(key, key_kind, &decode(raw)?)
}

fn check_rest_form(
    key: &RestKey,
    key_kind: &'static str,
    form: &Form<'_>,
) -> Result<String, SignatureProblem> {
    let field = |name: &'static str| {
        form.last(name)
            .map(|f| f.value.as_ref())
            .ok_or(SignatureProblem::Missing(name))
    };
    let hash = field(KR_HASH)?;
    let answer = field(KR_ANSWER)?;
    if field(KR_HASH_ALGORITHM)? != "sha256_hmac" {
        return Err(SignatureProblem::Algorithm);
    }
    if field(KR_HASH_KEY)? != key_kind {
        return Err(SignatureProblem::KeyKind(key_kind));
    }
    if key.verifies(answer, hash) {
        return Ok(answer.to_owned());
    }
    if answer.contains("\\/") {
        let unescaped = answer.replace("\\/", "/");
        if key.verifies(&unescaped, hash) {
            return Ok(unescaped);
        }
    }
    Err(SignatureProblem::Mismatch)
}

/// Decodes a notification, then verifies and reads it as a REST V4 IPN when it carries
/// `kr-answer` (with `rest_key`, the REST password), as a `vads_*` IPN otherwise.
pub(crate) fn verify(
    keys: &KeyRing,
    rest_key: Option<&RestKey>,
    shop: &Shop,
    raw: &[u8],
) -> Result<VerifiedNotification, ProviderError> {
    let form = Form::parse(raw, LIMITS).map_err(malformed_form)?;
    if form.last(KR_ANSWER).is_some() {
        let key = rest_key.ok_or_else(|| ProviderError::bad_signature(&Lyra::ID))?;
        return verify_rest_form(key, "password", shop, &form);
    }
    let signed = check_vads_form(keys, &form).map_err(|p| problem_to_error(&p))?;
    read_vads(&signed, shop)
}

fn malformed_form(e: FormError) -> ProviderError {
    ProviderError::malformed_form(&Lyra::ID, &e)
}

/// Reads the verified `vads_*` fields, sorted by name and unique.
fn read_vads(signed: &Signed<'_>, shop: &Shop) -> Result<VerifiedNotification, ProviderError> {
    let required = |name: &'static str| {
        signed.get(name).ok_or_else(|| {
            malformed_form(FormError::Missing {
                name: name.to_owned(),
            })
        })
    };
    // Names are not signed (spec B.5: values sorted by name), so a renamed field keeping its
    // place would verify: every field read is required, empty or not, as the platform always
    // sends them all. A renamed field read is then missing, and a renamed field not read
    // changes nothing read.
    let optional = |name| required(name);
    let malformed = |what: &'static str| ProviderError::malformed(&Lyra::ID, what);
    if let Some(name) = crate::fields::first_unknown(signed, &shop.extra_fields) {
        let name: String = name.chars().take(64).collect();
        return Err(ProviderError::malformed(
            &Lyra::ID,
            format!("field {name} is not a documented vads_ field (see extra_fields)"),
        ));
    }
    if required("vads_site_id")? != shop.site_id {
        return Err(malformed("vads_site_id is another shop's"));
    }
    if required("vads_ctx_mode")? != shop.ctx_mode.as_str() {
        return Err(malformed("vads_ctx_mode is not this shop's mode"));
    }
    let trans_date = required("vads_trans_date")?;
    if trans_date.len() != 14 || !trans_date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("vads_trans_date must be 14 digits"));
    }
    let trans_id = required("vads_trans_id")?;
    if trans_id.len() != 6 || !trans_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(malformed("vads_trans_id must be 6 letters or digits"));
    }
    let day = trans_date.get(..8).unwrap_or_default();
    let reference = BankReference::parse(&format!("{day}-{trans_id}"))
        .map_err(|_| malformed("vads_trans_id does not make a bank reference"))?;
    let currency = numeric_currency(required("vads_currency")?)
        .ok_or_else(|| malformed("vads_currency is not an ISO 4217 numeric code"))?;
    let amount = minor(required("vads_amount")?)
        .and_then(|m| Amount::new(m, currency).ok())
        .ok_or_else(|| malformed("vads_amount must be 1 to 12 digits"))?;
    let uuid = optional("vads_trans_uuid")?;
    // The platform's transaction id; a platform without it names the transaction by its key.
    let transaction = if uuid.is_empty() {
        reference.as_str().to_owned()
    } else if uuid.len() <= 64 && uuid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        uuid.to_owned()
    } else {
        return Err(malformed(
            "vads_trans_uuid must be up to 64 letters or digits",
        ));
    };
    let outcome = codes::outcome(
        required("vads_trans_status")?,
        optional("vads_auth_result")?,
        optional("vads_result")?,
        Some(optional("vads_auth_number")?),
    );
    let mut n = VerifiedNotification::new(Lyra::ID, reference, transaction, outcome, amount);
    if let Some(number) = instalment(signed) {
        n = n.with_instalment(number);
        // Each instalment is a transaction of its own; its amount is the effective one.
        if let Some(effective) = signed
            .get("vads_effective_amount")
            .and_then(minor)
            .and_then(|m| Amount::new(m, currency).ok())
        {
            n.amount = effective;
        }
    }
    let pan = optional("vads_card_number")?;
    if !pan.is_empty() {
        let brand = optional("vads_card_brand")?;
        let bin = pan
            .get(..6)
            .filter(|b| b.bytes().all(|c| c.is_ascii_digit()));
        let last4 = pan
            .get(pan.len().saturating_sub(4)..)
            .filter(|l| l.bytes().all(|c| c.is_ascii_digit()));
        n = n.with_card(CardSummary::masked(
            (!brand.is_empty()).then_some(brand),
            bin,
            last4,
            None,
            None,
        ));
    }
    Ok(n)
}

/// The instalment of a payment in instalments (`vads_payment_config` `MULTI…`): its
/// transaction's `vads_sequence_number`, 1 for the first.
fn instalment(signed: &Signed<'_>) -> Option<u8> {
    let multi = signed
        .get("vads_payment_config")
        .is_some_and(|c| c.starts_with("MULTI"));
    let number = signed.get("vads_sequence_number")?;
    if !multi
        || number.is_empty()
        || number.len() > 2
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    number
        .parse::<u8>()
        .ok()
        .filter(|n| (1..=crate::config::MAX_INSTALMENTS).contains(n))
}

fn minor(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn numeric_currency(text: &str) -> Option<Currency> {
    if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Currency::from_numeric(text.parse().ok()?).ok()
}

/// The REST answer fields read after verification (spec B.11).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestAnswer {
    #[serde(default)]
    shop_id: Option<String>,
    order_details: OrderDetails,
    #[serde(default)]
    transactions: Vec<RestTransaction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderDetails {
    #[serde(default)]
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestTransaction {
    uuid: String,
    amount: u64,
    currency: String,
    #[serde(default)]
    detailed_status: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    transaction_details: Option<TransactionDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionDetails {
    #[serde(default)]
    card_details: Option<CardDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CardDetails {
    #[serde(default)]
    legacy_trans_id: Option<String>,
    #[serde(default)]
    legacy_trans_date: Option<String>,
    #[serde(default)]
    authorization_response: Option<AuthorizationResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationResponse {
    #[serde(default)]
    authorization_result: Option<String>,
    #[serde(default)]
    authorization_number: Option<String>,
}

/// Verifies then reads a REST V4 notification whose `kr-hash-key` must be `key_kind`
/// (`password` for the IPN, `sha256_hmac` for the browser return).
pub(crate) fn verify_rest(
    key: &RestKey,
    key_kind: &'static str,
    shop: &Shop,
    raw: &[u8],
) -> Result<VerifiedNotification, ProviderError> {
    let form = Form::parse(raw, LIMITS).map_err(malformed_form)?;
    verify_rest_form(key, key_kind, shop, &form)
}

fn verify_rest_form(
    key: &RestKey,
    key_kind: &'static str,
    shop: &Shop,
    form: &Form<'_>,
) -> Result<VerifiedNotification, ProviderError> {
    if let Some(name) = form.first_duplicate() {
        return Err(malformed_form(FormError::Duplicate {
            name: name.to_owned(),
        }));
    }
    let answer = check_rest_form(key, key_kind, form).map_err(|p| problem_to_error(&p))?;
    let malformed = |what: &'static str| ProviderError::malformed(&Lyra::ID, what);
    if let Some(f) = form.fields().iter().find(|f| {
        !REST_FIELDS.contains(&f.name.as_ref()) && !shop.extra_fields.iter().any(|e| *e == f.name)
    }) {
        let name: String = f.name.chars().take(64).collect();
        return Err(ProviderError::malformed(
            &Lyra::ID,
            format!("field {name} is not a REST notification field (see extra_fields)"),
        ));
    }
    if !form
        .last(KR_ANSWER_TYPE)
        .is_some_and(|f| PAYMENT_ANSWER_TYPES.contains(&f.value.as_ref()))
    {
        return Err(malformed("kr-answer-type is not a payment"));
    }
    let answer: RestAnswer =
        serde_json::from_str(&answer).map_err(|_| malformed("kr-answer is not a V4 payment"))?;
    if answer.shop_id.as_deref().is_some_and(|s| s != shop.site_id) {
        return Err(malformed("kr-answer shopId is another shop's"));
    }
    if answer.order_details.mode.as_deref() != Some(shop.ctx_mode.as_str()) {
        return Err(malformed(
            "kr-answer orderDetails.mode is not this shop's mode",
        ));
    }
    let tx = answer
        .transactions
        .first()
        .ok_or_else(|| malformed("kr-answer has no transaction"))?;
    let card = tx
        .transaction_details
        .as_ref()
        .and_then(|d| d.card_details.as_ref())
        .ok_or_else(|| malformed("kr-answer has no card details"))?;
    // The form-API key of the transaction: its trans id and the UTC day of its trans date.
    let trans_id = card.legacy_trans_id.as_deref().unwrap_or_default();
    let day = card
        .legacy_trans_date
        .as_deref()
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
        .map(|t| t.strftime("%Y%m%d").to_string())
        .ok_or_else(|| malformed("kr-answer legacyTransDate is not a date"))?;
    if trans_id.len() != 6 || !trans_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(malformed(
            "kr-answer legacyTransId must be 6 letters or digits",
        ));
    }
    let reference = BankReference::parse(&format!("{day}-{trans_id}"))
        .map_err(|_| malformed("kr-answer legacyTransId does not make a bank reference"))?;
    let currency = Currency::from_alpha(&tx.currency)
        .map_err(|_| malformed("kr-answer currency is not an ISO 4217 code"))?;
    let amount = Amount::new(tx.amount, currency)
        .map_err(|_| malformed("kr-answer amount is out of range"))?;
    if tx.uuid.is_empty()
        || tx.uuid.len() > 64
        || !tx.uuid.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(malformed(
            "kr-answer transaction uuid must be up to 64 letters or digits",
        ));
    }
    let auth = card.authorization_response.as_ref();
    // REST writes the issuer's code without its leading zero ("0"): back to two digits.
    let auth_result = auth
        .and_then(|a| a.authorization_result.as_deref())
        .map(|r| {
            if r.len() == 1 {
                format!("0{r}")
            } else {
                r.to_owned()
            }
        })
        .unwrap_or_default();
    let status = tx
        .detailed_status
        .as_deref()
        .or(tx.status.as_deref())
        .unwrap_or_default();
    let outcome = codes::outcome(
        status,
        &auth_result,
        "",
        auth.and_then(|a| a.authorization_number.as_deref()),
    );
    Ok(VerifiedNotification::new(
        Lyra::ID,
        reference,
        tx.uuid.clone(),
        outcome,
        amount,
    ))
}

/// The answer to the platform (spec B.7): 200 `OK` once processed, a status that makes it
/// retry otherwise.
pub(crate) fn answer(handled: &Handled<'_>) -> Ack {
    Ack::receipt(handled, RECEIVED, NOT_RECEIVED)
}
