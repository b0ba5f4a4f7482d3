//! Prices: `POST /v1/prices` (one-time prices, with a product made from `product_data` or an
//! earlier one), `GET /v1/prices`, `GET /v1/prices/{id}`, `POST /v1/prices/{id}` (update).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::api::{
    Caller, Params, error_body, fault, idempotent, listed, missing,
};
use super::params::{Refused, bracket_key, list_params, object_id, tax_behavior};
use super::state::{Price, insert_capped};
use crate::extract::Pairs;
use crate::layer::Note;
use crate::random_hex;
use crate::state::{BankState, MAX_ROWS, Store};

/// A 400 body naming `param`.
fn invalid(code: &str, message: &str, param: &str) -> (StatusCode, String) {
    (
        StatusCode::BAD_REQUEST,
        error_body("invalid_request_error", Some(code), message, Some(param)),
    )
}

/// `true`/`false`.
fn boolean(v: &str, param: &str) -> Result<bool, (StatusCode, String)> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid("parameter_invalid", "Invalid boolean", param)),
    }
}

/// The fields both creating and updating a price may set.
fn common_field(
    price: &mut Price,
    k: &str,
    v: &str,
) -> Result<bool, (StatusCode, String)> {
    match k {
        "active" => price.active = boolean(v, k)?,
        "nickname" => price.nickname = Some(v.to_owned()).filter(|n| !n.is_empty()),
        "lookup_key" => {
            if v.len() > 200 {
                return Err(invalid("parameter_invalid", "Invalid lookup_key", k));
            }
            price.lookup_key = Some(v.to_owned()).filter(|n| !n.is_empty());
        }
        "tax_behavior" => {
            price.tax_behavior =
                Some(tax_behavior(v, k).map_err(|(m, _)| invalid("parameter_invalid", &m, k))?);
        }
        _ if super::api::is_expand(k) => {}
        _ => {
            let Some(mk) = bracket_key(k, "metadata[") else {
                return Ok(false);
            };
            if mk.is_empty() || mk.len() > 40 || v.len() > 500 || price.metadata.len() >= 50 {
                return Err(invalid(
                    "parameter_invalid",
                    "Invalid metadata: keys up to 40 characters, values up to 500, 50 keys",
                    k,
                ));
            }
            if v.is_empty() {
                price.metadata.remove(mk);
            } else {
                price.metadata.insert(mk.to_owned(), v.to_owned());
            }
        }
    }
    Ok(true)
}

/// Checks the create parameters and keeps the price (and its new product).
fn create_op(state: &BankState, account: &str, pairs: &Pairs) -> (StatusCode, String) {
    let mut price = Price {
        id: format!("price_test_{}", random_hex(12)),
        account: account.to_owned(),
        active: true,
        currency: String::new(),
        unit_amount: 0,
        product: String::new(),
        product_name: String::new(),
        nickname: None,
        lookup_key: None,
        tax_behavior: None,
        metadata: BTreeMap::new(),
        created: state.now().as_second(),
        created_order: state.next_counter(),
    };
    let mut amount = None;
    let mut product = None;
    let mut product_name = None;
    let mut transfer = false;
    for (k, v) in pairs.as_slice() {
        match common_field(&mut price, k, v) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => return e,
        }
        match k.as_str() {
            "currency" => {
                if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_lowercase()) {
                    return invalid(
                        "parameter_invalid",
                        "Invalid currency: use a lowercase ISO 4217 code",
                        k,
                    );
                }
                price.currency.clone_from(v);
            }
            "unit_amount" | "unit_amount_decimal" => {
                match v.parse::<u64>().ok().filter(|a| *a <= 99_999_999) {
                    Some(a) => amount = Some(a),
                    None => return invalid("parameter_invalid_integer", "Invalid integer", k),
                }
            }
            "product" => product = Some(v.clone()),
            "product_data[name]" => {
                if v.is_empty() || v.len() > 250 {
                    return invalid("parameter_invalid", "Invalid product name", k);
                }
                product_name = Some(v.clone());
            }
            "product_data[active]" => {
                if let Err(e) = boolean(v, k) {
                    return e;
                }
            }
            "billing_scheme" if v == "per_unit" => {}
            "transfer_lookup_key" => match boolean(v, k) {
                Ok(t) => transfer = t,
                Err(e) => return e,
            },
            _ if k.starts_with("recurring[") => {
                return invalid(
                    "parameter_invalid",
                    "Recurring prices are not supported: the mock bank takes one-time payments (mode=payment) only.",
                    k,
                );
            }
            _ => {
                return invalid(
                    "parameter_unknown",
                    &format!("Received unknown parameter: {k}"),
                    k,
                );
            }
        }
    }
    if price.currency.is_empty() {
        return invalid("parameter_missing", "Missing required param: currency.", "currency");
    }
    let Some(amount) = amount else {
        return invalid(
            "parameter_missing",
            "Missing required param: unit_amount.",
            "unit_amount",
        );
    };
    price.unit_amount = amount;
    state.stripe().with(|d| {
        match (product, product_name) {
            (Some(_), Some(_)) => {
                return invalid(
                    "parameter_invalid",
                    "You may only specify one of these parameters: product, product_data.",
                    "product",
                );
            }
            (Some(id), None) => {
                let Some(name) = d.products.get(&id) else {
                    return (
                        StatusCode::BAD_REQUEST,
                        error_body(
                            "invalid_request_error",
                            Some("resource_missing"),
                            &super::api::missing_message("product", &id),
                            Some("product"),
                        ),
                    );
                };
                price.product_name.clone_from(name);
                price.product = id;
            }
            (None, Some(name)) => {
                price.product = format!("prod_test_{}", random_hex(7));
                if d.products.len() >= MAX_ROWS {
                    d.products.clear();
                }
                d.products.insert(price.product.clone(), name.clone());
                price.product_name = name;
            }
            (None, None) => {
                return invalid(
                    "parameter_missing",
                    "Missing required param: product or product_data.",
                    "product",
                );
            }
        }
        if let Some(key) = &price.lookup_key {
            let holders = d
                .prices
                .values_mut()
                .filter(|p| p.account == price.account && p.lookup_key.as_ref() == Some(key));
            for holder in holders {
                if !transfer {
                    return invalid(
                        "lookup_key_already_exists",
                        "A price with this lookup_key already exists; set transfer_lookup_key=true to move it.",
                        "lookup_key",
                    );
                }
                holder.lookup_key = None;
            }
        }
        let body = price.to_json().to_string();
        insert_capped(&mut d.prices, price.id.clone(), price);
        (StatusCode::OK, body)
    })
}

/// `POST /v1/prices`.
pub(super) async fn create_price(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    if let Some(f) = state.scenario_for("*").api_fault {
        return fault(&state, f, None).await;
    }
    let resp = idempotent(&state, &account, &headers, "/v1/prices", &pairs, || {
        create_op(&state, &account, &pairs)
    });
    if resp.extensions().get::<Note>().is_some() {
        return resp;
    }
    let detail = if resp.status().is_success() {
        "price_created"
    } else {
        "invalid_request"
    };
    Note::new(None, detail).attach(resp)
}

/// `POST /v1/prices/{id}`: `active`, `nickname`, `lookup_key`, `tax_behavior`, `metadata[…]`.
pub(super) async fn update_price(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Path(id): Path<String>,
    Params(pairs): Params,
) -> Response {
    let updated = state.stripe().with(|d| {
        let Some(price) = d.prices.get_mut(&id).filter(|p| p.account == account) else {
            return Ok(None);
        };
        let mut copy = price.clone();
        for (k, v) in pairs.as_slice() {
            match common_field(&mut copy, k, v) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(invalid(
                        "parameter_unknown",
                        &format!("Received unknown parameter: {k}"),
                        k,
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        *price = copy.clone();
        Ok(Some(copy))
    });
    match updated {
        Ok(Some(p)) => Note::new(None, "price_updated").attach(axum::Json(p.to_json())),
        Ok(None) => Note::new(None, "resource_missing").attach(missing("price", &id, "price")),
        Err((status, body)) => {
            Note::new(None, "invalid_request").attach(super::api::json_response(status, body))
        }
    }
}

/// `GET /v1/prices`: the account's prices, newest first, filtered by `active`, `currency`,
/// `product`, `type`, `lookup_keys[]` and `created`, one page of at most `limit`.
pub(super) async fn list_prices(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Params(pairs): Params,
) -> Result<Response, Refused> {
    let mut active = None;
    let mut currency = None;
    let mut product = None;
    let mut lookup_keys: Vec<String> = Vec::new();
    let mut recurring_only = false;
    let (cursor, created) = list_params(&pairs, |k, v| {
        match k {
            "active" => match v {
                "true" => active = Some(true),
                "false" => active = Some(false),
                _ => return Err(Refused::invalid(k, "Invalid boolean")),
            },
            "currency" => currency = Some(v.to_owned()),
            "product" => {
                let id = object_id(v, "product");
                product = Some(id.map_err(|(param, message)| Refused::invalid(param, message))?);
            }
            "type" => match v {
                "one_time" => {}
                "recurring" => recurring_only = true,
                _ => return Err(Refused::invalid(k, "Invalid type")),
            },
            _ if k == "lookup_keys[]" || bracket_key(k, "lookup_keys[").is_some() => {
                lookup_keys.push(v.to_owned());
            }
            _ if super::api::is_expand(k) => {}
            _ => return Err(Refused::Unknown(k.to_owned())),
        }
        Ok(())
    })?;
    if let Some(f) = state.scenario_for("*").api_fault {
        return Ok(fault(&state, f, None).await);
    }
    let page = state.stripe().with(|d| {
        let (rows, has_more) = cursor.page_of(&d.prices, &account, |p| {
            !recurring_only
                && created.keeps(p.created)
                && active.is_none_or(|a| p.active == a)
                && currency.as_ref().is_none_or(|c| p.currency == *c)
                && product.as_ref().is_none_or(|x| p.product == *x)
                && (lookup_keys.is_empty()
                    || p.lookup_key.as_ref().is_some_and(|l| lookup_keys.contains(l)))
        })?;
        Ok((rows.iter().map(|p| p.to_json()).collect(), has_more))
    });
    Ok(listed(page, "prices_listed", "/v1/prices", |c| {
        missing("price", c, "starting_after")
    }))
}
