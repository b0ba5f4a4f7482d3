//! The parameters of the session API: creating a Checkout Session and listing sessions, checked
//! as the PSP checks them (a 400 naming the parameter).

use std::collections::BTreeMap;

use super::api::{Cursor, is_expand, missing_message};
use super::objects::Expand;
use super::state::{Collected, IntentData, LineItem, Price, StripeSession};
use crate::extract::Pairs;
use crate::random_hex;
use crate::state::{BankState, Store};

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
    /// `line_items[i][price]`: a price created by `POST /v1/prices`.
    price: Option<String>,
    currency: Option<String>,
    unit_amount: Option<u64>,
    name: Option<String>,
    /// `line_items[i][price_data][product]`: a product created with an earlier price.
    product: Option<String>,
    tax_behavior: Option<String>,
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
    let mut payment_method_types: Vec<String> = Vec::new();
    let mut intent_data = IntentData::default();
    let mut submit_type = None;
    let mut billing_address_collection = None;
    let mut phone_number_collection = false;
    let mut customer_creation = None;
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
                "[price]" => item.price = Some(v.clone()),
                "[price_data][product]" => item.product = Some(v.clone()),
                "[price_data][tax_behavior]" => {
                    item.tax_behavior = Some(tax_behavior(v, k)?);
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
        if is_expand(k) {
            if !matches!(v.as_str(), "line_items" | "payment_intent") {
                return Err(invalid(
                    format!("This property cannot be expanded ({v})."),
                    "expand",
                ));
            }
            continue;
        }
        if k == "payment_method_types[]" || bracket_key(k, "payment_method_types[").is_some() {
            if v.is_empty() || v.len() > 40 || !v.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(invalid("Invalid payment_method_types", k));
            }
            if !payment_method_types.contains(v) {
                payment_method_types.push(v.clone());
            }
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
                intent_data.capture_method = Some(v.clone());
            }
            "payment_intent_data[description]" => {
                intent_data.description = Some(bounded(v, 1000, k)?);
            }
            "payment_intent_data[receipt_email]" => {
                if !v.contains('@') || v.len() > 512 {
                    return Err(invalid("Invalid email address", k));
                }
                intent_data.receipt_email = Some(v.clone());
            }
            "payment_intent_data[statement_descriptor_suffix]" => {
                intent_data.statement_descriptor_suffix = Some(bounded(v, 22, k)?);
            }
            "submit_type" => {
                if !matches!(v.as_str(), "auto" | "book" | "donate" | "pay" | "subscribe") {
                    return Err(invalid("Invalid submit_type", k));
                }
                submit_type = Some(v.clone());
            }
            "billing_address_collection" => {
                if !matches!(v.as_str(), "auto" | "required") {
                    return Err(invalid(
                        "Invalid billing_address_collection: auto or required",
                        k,
                    ));
                }
                billing_address_collection = Some(v.clone());
            }
            "phone_number_collection[enabled]" => {
                phone_number_collection = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("Invalid boolean", k)),
                };
            }
            "customer_creation" => {
                if !matches!(v.as_str(), "always" | "if_required") {
                    return Err(invalid(
                        "Invalid customer_creation: always or if_required",
                        k,
                    ));
                }
                customer_creation = Some(v.clone());
            }
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
    let now = state.now().as_second();
    let mut total: u64 = 0;
    let mut currency: Option<String> = None;
    let mut line_items = Vec::with_capacity(items.len());
    for (i, item) in items {
        let p = |f: &str| format!("line_items[{i}]{f}");
        let q = item
            .quantity
            .ok_or_else(|| invalid("Missing required param", &p("[quantity]")))?;
        let price = item_price(state, account, item, &p, now)?;
        if currency.as_ref().is_some_and(|cur| *cur != price.currency) {
            return Err(invalid(
                "All line items must use the same currency",
                &p("[price_data][currency]"),
            ));
        }
        currency = Some(price.currency.clone());
        total = q
            .checked_mul(price.unit_amount)
            .and_then(|x| total.checked_add(x))
            .filter(|t| *t <= 99_999_999)
            .ok_or_else(|| invalid("Amount too large", &p("[price_data][unit_amount]")))?;
        line_items.push(LineItem {
            id: format!("li_test_{}", random_hex(12)),
            quantity: q,
            price,
        });
    }
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
        line_items,
        payment_method_types: if payment_method_types.is_empty() {
            vec!["card".to_owned()]
        } else {
            payment_method_types
        },
        billing_address_collection,
        phone_number_collection,
        customer_creation,
        customer: None,
        submit_type,
        collected: Collected::default(),
        intent_data,
        intent_secret: String::new(),
        intent_created: now,
        charge: None,
        payment_method: None,
    })
}

/// `v` when it has 1 to `max` characters.
fn bounded(v: &str, max: usize, param: &str) -> Result<String, Invalid> {
    if v.is_empty() || v.chars().count() > max {
        return Err(invalid(format!("Invalid string: 1 to {max} characters"), param));
    }
    Ok(v.to_owned())
}

/// A `tax_behavior`.
pub(super) fn tax_behavior(v: &str, param: &str) -> Result<String, Invalid> {
    if matches!(v, "exclusive" | "inclusive" | "unspecified") {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            "Invalid tax_behavior: exclusive, inclusive or unspecified",
            param,
        ))
    }
}

/// The price of a line item: the account's active price named by `[price]`, or an inline price
/// from `[price_data]` (inactive, as the PSP makes them), not both.
fn item_price(
    state: &BankState,
    account: &str,
    item: Item,
    p: &impl Fn(&str) -> String,
    now: i64,
) -> Result<Price, Invalid> {
    let inline = item.currency.is_some()
        || item.unit_amount.is_some()
        || item.name.is_some()
        || item.product.is_some();
    if let Some(id) = item.price {
        if inline {
            return Err(invalid(
                "You may only specify one of these parameters: price, price_data.",
                &p("[price]"),
            ));
        }
        let price = state
            .stripe()
            .with(|d| d.prices.get(&id).filter(|x| x.account == account).cloned())
            .ok_or_else(|| invalid(missing_message("price", &id), &p("[price]")))?;
        if !price.active {
            return Err(invalid(
                format!("The price specified is inactive: {id}."),
                &p("[price]"),
            ));
        }
        return Ok(price);
    }
    if !inline {
        return Err(invalid(
            "Missing required param: one of price or price_data.",
            &p("[price]"),
        ));
    }
    let currency = item
        .currency
        .ok_or_else(|| invalid("Missing required param", &p("[price_data][currency]")))?;
    let unit_amount = item
        .unit_amount
        .ok_or_else(|| invalid("Missing required param", &p("[price_data][unit_amount]")))?;
    let (product, product_name) = match (item.product, item.name) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "You may only specify one of these parameters: product, product_data.",
                &p("[price_data][product]"),
            ));
        }
        (Some(id), None) => {
            let name = state
                .stripe()
                .with(|d| d.products.get(&id).cloned())
                .ok_or_else(|| {
                    invalid(missing_message("product", &id), &p("[price_data][product]"))
                })?;
            (id, name)
        }
        (None, Some(name)) => (format!("prod_test_{}", random_hex(7)), name),
        (None, None) => {
            return Err(invalid(
                "Missing required param",
                &p("[price_data][product_data][name]"),
            ));
        }
    };
    Ok(Price {
        id: format!("price_test_{}", random_hex(12)),
        account: account.to_owned(),
        active: false,
        currency,
        unit_amount,
        product,
        product_name,
        nickname: None,
        lookup_key: None,
        tax_behavior: item.tax_behavior,
        metadata: BTreeMap::new(),
        created: now,
        created_order: state.next_counter(),
    })
}



/// The filters and cursor of `GET /v1/checkout/sessions`.
pub(super) struct ListQuery {
    pub(super) cursor: Cursor,
    pub(super) created: Created,
    payment_intent: Option<String>,
    status: Option<String>,
    pub(super) expand: Expand,
}

/// A parameter the API refuses, answered as its 400.
pub(super) enum Refused {
    /// `parameter_invalid`: the parameter and the message.
    Invalid(String, String),
    /// `parameter_unknown`.
    Unknown(String),
}

impl Refused {
    /// An invalid `param`.
    pub(super) fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::Invalid(param.to_owned(), message.into())
    }

}

impl axum::response::IntoResponse for Refused {
    fn into_response(self) -> axum::response::Response {
        match &self {
            Self::Invalid(param, message) => {
                super::api::bad_request("parameter_invalid", message, Some(param))
            }
            Self::Unknown(param) => super::api::unknown_parameter(param),
        }
    }
}

/// The paging and `created` parameters of a list call (`GET /v1/prices`, `GET /v1/refunds`);
/// every other parameter goes to `other`, which reads the call's own filters.
pub(super) fn list_params(
    pairs: &Pairs,
    mut other: impl FnMut(&str, &str) -> Result<(), Refused>,
) -> Result<(Cursor, Created), Refused> {
    let mut cursor = Cursor::default();
    let mut created = Created::default();
    for (k, v) in pairs.as_slice() {
        match cursor.take(k, v).and_then(|t| Ok(t || created.take(k, v)?)) {
            Ok(true) => {}
            Ok(false) => other(k, v)?,
            Err((param, message)) => return Err(Refused::invalid(param, message)),
        }
    }
    Ok((cursor, created))
}

/// A `created` filter: `created=t` or `created[gte|gt|lte|lt]=t`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Created([Option<i64>; 4]);

impl Created {
    /// Takes `k=v` when it is a `created` filter (`Ok(true)`); an error names the parameter.
    pub(super) fn take(&mut self, k: &str, v: &str) -> Result<bool, (&'static str, String)> {
        let slot = match k {
            "created" => None,
            "created[gte]" => Some(0),
            "created[gt]" => Some(1),
            "created[lte]" => Some(2),
            "created[lt]" => Some(3),
            _ => return Ok(false),
        };
        let t = v
            .parse::<i64>()
            .ok()
            .filter(|t| (0..=253_402_300_799).contains(t))
            .ok_or(("created", "Invalid integer: created".to_owned()))?;
        match slot {
            Some(i) => self.0[i] = Some(t),
            None => {
                self.0[0] = Some(t);
                self.0[2] = Some(t);
            }
        }
        Ok(true)
    }

    /// Whether a creation time passes the filter.
    pub(super) fn keeps(&self, created: i64) -> bool {
        let [gte, gt, lte, lt] = self.0;
        gte.is_none_or(|t| created >= t)
            && gt.is_none_or(|t| created > t)
            && lte.is_none_or(|t| created <= t)
            && lt.is_none_or(|t| created < t)
    }
}

/// Whether `v` looks like an object id.
pub(super) fn object_id(v: &str, what: &'static str) -> Result<String, (&'static str, String)> {
    if !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(v.to_owned())
    } else {
        Err((what, format!("Invalid {what}: not an object id")))
    }
}

/// A list error with its parameter name owned.
fn owned((param, message): (&'static str, String)) -> (String, String) {
    (param.to_owned(), message)
}

/// Reads the list parameters; an error names the parameter.
pub(super) fn list_query(pairs: &Pairs) -> Result<ListQuery, (String, String)> {
    let mut q = ListQuery {
        cursor: Cursor::default(),
        created: Created::default(),
        payment_intent: None,
        status: None,
        expand: Expand::default(),
    };
    for (k, v) in pairs.as_slice() {
        if q.cursor.take(k, v).map_err(owned)? || q.created.take(k, v).map_err(owned)? {
            continue;
        }
        match k.as_str() {
            "payment_intent" => {
                q.payment_intent = Some(object_id(v, "payment_intent").map_err(owned)?);
            }
            "status" => {
                if !matches!(v.as_str(), "open" | "complete" | "expired") {
                    return Err(owned(("status", "Invalid status: open, complete or expired".into())));
                }
                q.status = Some(v.clone());
            }
            _ if is_expand(k) => match v.as_str() {
                "data.payment_intent" => q.expand.payment_intent = true,
                "data.line_items" => q.expand.line_items = true,
                _ => return Err(owned(("expand", format!("This property cannot be expanded ({v}).")))),
            },
            _ => return Err((k.clone(), format!("Received unknown parameter: {k}"))),
        }
    }
    Ok(q)
}

impl ListQuery {
    pub(super) fn keeps(&self, s: &StripeSession) -> bool {
        self.created.keeps(s.created)
            && self
                .payment_intent
                .as_ref()
                .is_none_or(|pi| s.payment_intent.as_ref() == Some(pi))
            && self.status.as_deref().is_none_or(|st| s.status == st)
    }
}
