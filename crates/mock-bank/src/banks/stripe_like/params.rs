//! The parameters of the session API: creating a Checkout Session and listing sessions, checked
//! as the PSP checks them (a 400 naming the parameter).

use std::collections::BTreeMap;

use super::state::StripeSession;
use crate::extract::Pairs;
use crate::random_hex;
use crate::state::BankState;

/// Splits `line_items[3][price_data][currency]` into `(3, "[price_data][currency]")`.
fn line_item_field(k: &str) -> Option<(usize, &str)> {
    let rest = k.strip_prefix("line_items[")?;
    let end = rest.find(']')?;
    let idx = rest[..end].parse::<usize>().ok().filter(|i| *i < 100)?;
    Some((idx, &rest[end + 1..]))
}

/// The inside of `prefix…]` (`metadata[key]` → `key`), when it holds no other bracket.
pub(super) fn bracket_key<'a>(k: &'a str, prefix: &str) -> Option<&'a str> {
    k.strip_prefix(prefix)?
        .strip_suffix(']')
        .filter(|inner| !inner.contains(['[', ']']))
}

#[derive(Default)]
struct Item {
    quantity: Option<u64>,
    currency: Option<String>,
    unit_amount: Option<u64>,
    name: Option<String>,
}

/// A refused parameter: the message and the parameter named.
pub(super) type Invalid = (String, Option<String>);

fn invalid(msg: impl Into<String>, param: &str) -> Invalid {
    (msg.into(), Some(param.to_owned()))
}

/// Adds one metadata entry within Stripe's bounds (40-character keys, 500-character values,
/// 50 keys).
fn put_metadata(
    metadata: &mut BTreeMap<String, String>,
    key: &str,
    value: &str,
    param: &str,
) -> Result<(), Invalid> {
    if key.is_empty() || key.len() > 40 || value.len() > 500 || metadata.len() >= 50 {
        return Err(invalid(
            "Invalid metadata: keys up to 40 characters, values up to 500, 50 keys",
            param,
        ));
    }
    metadata.insert(key.to_owned(), value.to_owned());
    Ok(())
}

/// Validates the create parameters (400 naming the parameter, as stripe-mock does).
pub(super) fn build_session(
    state: &BankState,
    account: &str,
    pairs: &Pairs,
) -> Result<StripeSession, Invalid> {
    let mut items: BTreeMap<usize, Item> = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut intent_metadata = BTreeMap::new();
    let mut mode = None;
    let mut success_url = None;
    let mut cancel_url = None;
    let mut client_reference_id = None;
    let mut customer_email = None;
    let mut expires_at = None;
    let mut locale = None;
    for (k, v) in pairs.as_slice() {
        if let Some((i, field)) = line_item_field(k) {
            let item = items.entry(i).or_default();
            match field {
                "[quantity]" => {
                    item.quantity = Some(
                        v.parse()
                            .ok()
                            .filter(|q| (1..=999_999).contains(q))
                            .ok_or_else(|| invalid("Invalid integer", k))?,
                    );
                }
                "[price_data][currency]" => {
                    if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_lowercase()) {
                        return Err(invalid(
                            "Invalid currency: use a lowercase ISO 4217 code",
                            k,
                        ));
                    }
                    item.currency = Some(v.clone());
                }
                "[price_data][unit_amount]" => {
                    item.unit_amount = Some(
                        v.parse()
                            .ok()
                            .filter(|a| *a <= 99_999_999)
                            .ok_or_else(|| invalid("Invalid integer", k))?,
                    );
                }
                "[price_data][product_data][name]" => {
                    if v.is_empty() || v.len() > 250 {
                        return Err(invalid("Invalid product name", k));
                    }
                    item.name = Some(v.clone());
                }
                "[price_data][product_data][description]" => {}
                _ => return Err(invalid(format!("Received unknown parameter: {k}"), k)),
            }
            continue;
        }
        if let Some(mk) = bracket_key(k, "metadata[") {
            put_metadata(&mut metadata, mk, v, k)?;
            continue;
        }
        if let Some(mk) = bracket_key(k, "payment_intent_data[metadata][") {
            put_metadata(&mut intent_metadata, mk, v, k)?;
            continue;
        }
        if bracket_key(k, "expand[").is_some() || bracket_key(k, "payment_method_types[").is_some()
        {
            continue;
        }
        match k.as_str() {
            "mode" => mode = Some(v.clone()),
            "success_url" => success_url = Some(v.clone()),
            "cancel_url" => cancel_url = Some(v.clone()),
            "client_reference_id" => {
                if v.is_empty() || v.len() > 200 {
                    return Err(invalid(
                        "client_reference_id must be 1 to 200 characters",
                        k,
                    ));
                }
                client_reference_id = Some(v.clone());
            }
            "customer_email" => {
                if !v.contains('@') || v.len() > 512 {
                    return Err(invalid("Invalid email address", k));
                }
                customer_email = Some(v.clone());
            }
            "expires_at" => {
                expires_at = Some(
                    v.parse::<i64>()
                        .map_err(|_| invalid("Invalid integer", k))?,
                )
            }
            "payment_intent_data[capture_method]" => {
                if !matches!(v.as_str(), "automatic" | "automatic_async" | "manual") {
                    return Err(invalid("Invalid capture_method", k));
                }
            }
            "payment_intent_data[description]"
            | "payment_intent_data[receipt_email]"
            | "payment_intent_data[statement_descriptor_suffix]"
            | "submit_type" => {}
            "locale" => {
                if v.len() > 16 || !v.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
                    return Err(invalid("Invalid locale", k));
                }
                locale = Some(v.clone());
            }
            _ => return Err(invalid(format!("Received unknown parameter: {k}"), k)),
        }
    }
    if mode.as_deref() != Some("payment") {
        return Err(invalid(
            "Missing or unsupported mode: only mode=payment",
            "mode",
        ));
    }
    let success_url = success_url
        .ok_or_else(|| invalid("Missing required param: success_url.", "success_url"))?;
    crate::notify::check_callback_url(&success_url)
        .map_err(|e| invalid(format!("Invalid URL: {e}"), "success_url"))?;
    if let Some(c) = &cancel_url {
        crate::notify::check_callback_url(c)
            .map_err(|e| invalid(format!("Invalid URL: {e}"), "cancel_url"))?;
    }
    if items.is_empty() {
        return Err(invalid("Missing required param: line_items.", "line_items"));
    }
    let mut total: u64 = 0;
    let mut currency: Option<String> = None;
    for (i, item) in &items {
        let p = |f: &str| format!("line_items[{i}]{f}");
        let q = item
            .quantity
            .ok_or_else(|| invalid("Missing required param", &p("[quantity]")))?;
        let c = item
            .currency
            .clone()
            .ok_or_else(|| invalid("Missing required param", &p("[price_data][currency]")))?;
        let a = item
            .unit_amount
            .ok_or_else(|| invalid("Missing required param", &p("[price_data][unit_amount]")))?;
        item.name.as_ref().ok_or_else(|| {
            invalid(
                "Missing required param",
                &p("[price_data][product_data][name]"),
            )
        })?;
        if currency.as_ref().is_some_and(|cur| *cur != c) {
            return Err(invalid(
                "All line items must use the same currency",
                &p("[price_data][currency]"),
            ));
        }
        currency = Some(c);
        total = q
            .checked_mul(a)
            .and_then(|x| total.checked_add(x))
            .filter(|t| *t <= 99_999_999)
            .ok_or_else(|| invalid("Amount too large", &p("[price_data][unit_amount]")))?;
    }
    let now = state.now().as_second();
    if let Some(e) = expires_at
        && !(now + 1800..=now + 86_400).contains(&e)
    {
        return Err(invalid(
            "expires_at must be 30 minutes to 24 hours in the future",
            "expires_at",
        ));
    }
    Ok(StripeSession {
        id: format!("cs_test_{}", random_hex(24)),
        account: account.to_owned(),
        amount_total: total,
        currency: currency.unwrap_or_default(),
        client_reference_id,
        customer_email,
        metadata,
        success_url,
        cancel_url,
        status: "open",
        payment_status: "unpaid",
        payment_intent: None,
        intent_metadata,
        intent_status: "requires_payment_method",
        last_payment_error: None,
        created: now,
        expires_at: expires_at.unwrap_or(now + 86_400),
        refunded: 0,
        created_order: state.next_counter(),
        locale,
    })
}



/// The filters and cursor of `GET /v1/checkout/sessions`.
pub(super) struct ListQuery {
    pub(super) limit: usize,
    pub(super) starting_after: Option<String>,
    pub(super) ending_before: Option<String>,
    created: [Option<i64>; 4],
    payment_intent: Option<String>,
    status: Option<String>,
    pub(super) expand_intent: bool,
}

/// Reads the list parameters; an error names the parameter.
pub(super) fn list_query(pairs: &Pairs) -> Result<ListQuery, (&'static str, String)> {
    let mut q = ListQuery {
        limit: 10,
        starting_after: None,
        ending_before: None,
        created: [None; 4],
        payment_intent: None,
        status: None,
        expand_intent: false,
    };
    let id = |v: &str, what: &'static str| {
        if !v.is_empty()
            && v.len() <= 255
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Ok(v.to_owned())
        } else {
            Err((what, format!("Invalid {what}: not an object id")))
        }
    };
    let time = |v: &str, what: &'static str| {
        v.parse::<i64>()
            .ok()
            .filter(|t| (0..=253_402_300_799).contains(t))
            .ok_or((what, format!("Invalid integer: {what}")))
    };
    for (k, v) in pairs.as_slice() {
        match k.as_str() {
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=100).contains(l))
                    .ok_or(("limit", "Invalid limit: must be 1 to 100".to_owned()))?;
            }
            "starting_after" => q.starting_after = Some(id(v, "starting_after")?),
            "ending_before" => q.ending_before = Some(id(v, "ending_before")?),
            "created" => {
                let t = time(v, "created")?;
                q.created[0] = Some(t);
                q.created[2] = Some(t);
            }
            "created[gte]" => q.created[0] = Some(time(v, "created")?),
            "created[gt]" => q.created[1] = Some(time(v, "created")?),
            "created[lte]" => q.created[2] = Some(time(v, "created")?),
            "created[lt]" => q.created[3] = Some(time(v, "created")?),
            "payment_intent" => q.payment_intent = Some(id(v, "payment_intent")?),
            "status" => {
                if !matches!(v.as_str(), "open" | "complete" | "expired") {
                    return Err(("status", "Invalid status: open, complete or expired".into()));
                }
                q.status = Some(v.clone());
            }
            _ if bracket_key(k, "expand[").is_some() || k == "expand[]" => {
                if v != "data.payment_intent" {
                    return Err(("expand", format!("This property cannot be expanded ({v}).")));
                }
                q.expand_intent = true;
            }
            _ => return Err(("param", format!("Received unknown parameter: {k}"))),
        }
    }
    if q.starting_after.is_some() && q.ending_before.is_some() {
        return Err((
            "ending_before",
            "starting_after and ending_before cannot be used together".into(),
        ));
    }
    Ok(q)
}

impl ListQuery {
    pub(super) fn keeps(&self, s: &StripeSession) -> bool {
        let [gte, gt, lte, lt] = self.created;
        gte.is_none_or(|t| s.created >= t)
            && gt.is_none_or(|t| s.created > t)
            && lte.is_none_or(|t| s.created <= t)
            && lt.is_none_or(|t| s.created < t)
            && self
                .payment_intent
                .as_ref()
                .is_none_or(|pi| s.payment_intent.as_ref() == Some(pi))
            && self.status.as_deref().is_none_or(|st| s.status == st)
    }
}
