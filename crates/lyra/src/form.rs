//! `PaymentRequest` → the `vads_*` fields of spec B.3, the bank reference and the provider
//! data: pure (no key, no I/O), every value bounded to its field's length and charset so that
//! an impossible request is an [`ProviderError::InvalidRequest`] naming the field before any
//! redirect.

use tpe_core::{
    BankReference, FormRules, Lang, PaymentRequest, ProviderData, ProviderError, Timestamp,
};

use crate::Lyra;
use crate::config::Shop;

/// The largest amount accepted, in minor units (12 digits).
pub const MAX_AMOUNT: u64 = 999_999_999_999;
/// The first transaction id the platform keeps for itself (spec B.4: `900000`–`999999`).
pub const RESERVED_TRANS_ID: u64 = 900_000;
/// The longest `vads_order_id` (the plugins allow 63 alphanumerics).
pub const MAX_ORDER_ID: usize = 63;
/// The longest `vads_order_info` (the purchase's label); longer ones are cut.
pub const MAX_ORDER_INFO: usize = 255;

/// The bank reference of the day's `nonce`-th transaction: `YYYYMMDD-NNNNNN`, the UTC date
/// and `vads_trans_id` — the platform's own unique key (site id + date + trans id, spec B.4),
/// so unique per shop forever.
///
/// # Errors
/// [`ProviderError::InvalidRequest`] on `vads_trans_id` for 0 or a nonce reaching the
/// platform's reserved range (900000).
pub(crate) fn bank_reference(now: Timestamp, nonce: u64) -> Result<BankReference, ProviderError> {
    if !(1..RESERVED_TRANS_ID).contains(&nonce) {
        return Err(RULES.invalid(
            "vads_trans_id",
            format!("the day's sequence must be 1 to {}", RESERVED_TRANS_ID - 1),
        ));
    }
    let text = format!("{}-{nonce:06}", day(now));
    BankReference::parse(&text).map_err(|e| RULES.invalid("vads_trans_id", e.to_string()))
}

/// `YYYYMMDD` of `now` in UTC.
fn day(now: Timestamp) -> String {
    now.strftime("%Y%m%d").to_string()
}

/// The day and trans id of a bank reference made by [`bank_reference`].
pub(crate) fn split_reference(reference: &BankReference) -> Option<(&str, &str)> {
    let (day, trans_id) = reference.as_str().split_once('-')?;
    (day.len() == 8
        && day.bytes().all(|b| b.is_ascii_digit())
        && trans_id.len() == 6
        && trans_id.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some((day, trans_id))
}

/// The provider data of a checkout: `vads_trans_date`, what the platform needs with the
/// trans id to find the payment again.
pub(crate) fn provider_data(trans_date: &str) -> Result<ProviderData, ProviderError> {
    ProviderData::new(trans_date.to_owned())
        .map_err(|e| RULES.invalid("vads_trans_date", e.to_string()))
}

/// Checks one value: at most `max` characters, no control character, and `allowed` for each.
fn bounded(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<String, ProviderError> {
    if value.chars().count() > max {
        return Err(RULES.invalid(field, format!("longer than {max} characters")));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() || !allowed(*c)) {
        return Err(RULES.invalid(
            field,
            format!("character {:?} not allowed", c.escape_default().to_string()),
        ));
    }
    Ok(value.to_owned())
}

/// The field `name` with `value` checked by [`bounded`].
fn field(
    name: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(&'static str, String), ProviderError> {
    Ok((name, bounded(name, value, max, allowed)?))
}

fn any(_: char) -> bool {
    true
}

fn name_char(c: char) -> bool {
    c.is_alphabetic() || " -'.".contains(c)
}

fn order_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn zip_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || c == '-'
}

fn phone_char(c: char) -> bool {
    c.is_ascii_digit() || c == '+'
}

fn url_char(c: char) -> bool {
    c.is_ascii_graphic()
}

/// The form's fields (signature excluded), in the documentation's order.
/// `vads_payment_config`: `SINGLE`, or for a payment in instalments `MULTI_EXT:` and each
/// instalment's `YYYYMMDD=<minor units>` joined by `;` (spec B.3), which says every date and
/// amount as the schedule has them (`MULTI` can only say equal instalments a fixed number of
/// days apart). `vads_amount` stays the total.
fn payment_config(
    shop: &Shop,
    request: &PaymentRequest,
    now: Timestamp,
) -> Result<String, ProviderError> {
    let today = tpe_core::instalments::french_day(now);
    let limits = Some(shop.instalments);
    let schedule = request.schedule_within(&Lyra::ID, limits, today, "vads_payment_config")?;
    Ok(schedule.map_or_else(
        || "SINGLE".to_owned(),
        |s| {
            let parts: Vec<String> = s
                .instalments()
                .iter()
                .map(|i| format!("{}={}", i.due.strftime("%Y%m%d"), i.amount.minor()))
                .collect();
            format!("MULTI_EXT:{}", parts.join(";"))
        },
    ))
}

/// The amount checks and the field errors of the form.
const RULES: FormRules = FormRules::new(Lyra::ID, MAX_AMOUNT, ("vads_currency", "vads_amount"));

pub(crate) fn fields(
    shop: &Shop,
    request: &PaymentRequest,
    now: Timestamp,
) -> Result<Vec<(&'static str, String)>, ProviderError> {
    RULES.amount(request, shop.currency)?;
    let amount = request.amount;
    let Some((ref_day, trans_id)) = split_reference(&request.bank_reference) else {
        return Err(RULES.invalid(
            "vads_trans_id",
            "the bank reference is not YYYYMMDD-NNNNNN from Lyra::bank_reference".to_owned(),
        ));
    };
    // The platform's key is the day of vads_trans_date + trans id: the date must be that day.
    if ref_day != day(now) {
        return Err(RULES.invalid(
            "vads_trans_date",
            format!("the transaction id was allocated for {ref_day}, not today (UTC)"),
        ));
    }
    let trans_date = now.strftime("%Y%m%d%H%M%S").to_string();
    let order_id = bounded(
        "vads_order_id",
        request.reference.as_str(),
        MAX_ORDER_ID,
        order_char,
    )?;
    let info: String = request
        .description
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ORDER_INFO)
        .collect();
    let language = match &shop.language {
        Some(l) => l.clone(),
        None => match request.language {
            Lang::En => "en".to_owned(),
            _ => "fr".to_owned(),
        },
    };
    let c = &request.customer;
    let a = &c.address;
    let street = match &a.line2 {
        Some(l2) => format!("{} {l2}", a.line1),
        None => a.line1.clone(),
    };
    let urls = &request.urls;
    let url = |name, u: &url::Url| field(name, u.as_str(), 1024, url_char);
    let ipn = shop.ipn_url.as_ref().unwrap_or(&urls.notify);
    let ret = shop.return_url.as_ref().unwrap_or(&urls.pending);
    let mut fields = vec![
        ("vads_action_mode", "INTERACTIVE".to_owned()),
        ("vads_amount", amount.minor().to_string()),
        ("vads_ctx_mode", shop.ctx_mode.as_str().to_owned()),
        (
            "vads_currency",
            format!("{:03}", amount.currency().numeric()),
        ),
        field("vads_cust_address", &street, 255, any)?,
        field("vads_cust_city", &a.city, 128, any)?,
        ("vads_cust_country", a.country.alpha2().to_owned()),
        field("vads_cust_email", &c.email, 150, |ch| ch.is_ascii_graphic())?,
        field("vads_cust_first_name", &c.first_name, 63, name_char)?,
        field("vads_cust_last_name", &c.last_name, 63, name_char)?,
        field("vads_cust_phone", c.phone.e164(), 32, phone_char)?,
        field("vads_cust_zip", &a.postcode, 64, zip_char)?,
        ("vads_language", language),
        ("vads_order_id", order_id),
        ("vads_order_info", info),
        ("vads_page_action", "PAYMENT".to_owned()),
        ("vads_payment_config", payment_config(shop, request, now)?),
        ("vads_return_mode", shop.return_mode.as_str().to_owned()),
        // 3-D Secure: the goods ship to the billing identity and address.
        field("vads_ship_to_city", &a.city, 128, any)?,
        ("vads_ship_to_country", a.country.alpha2().to_owned()),
        field("vads_ship_to_first_name", &c.first_name, 63, name_char)?,
        field("vads_ship_to_last_name", &c.last_name, 63, name_char)?,
        field("vads_ship_to_phone_num", c.phone.e164(), 32, phone_char)?,
        field("vads_ship_to_street", &street, 255, any)?,
        field("vads_ship_to_zip", &a.postcode, 64, zip_char)?,
        ("vads_site_id", shop.site_id.clone()),
        ("vads_trans_date", trans_date),
        ("vads_trans_id", trans_id.to_owned()),
        url("vads_url_cancel", &urls.cancelled)?,
        url("vads_url_check", ipn)?,
        url("vads_url_refused", &urls.refused)?,
        url("vads_url_return", ret)?,
        url("vads_url_success", &urls.accepted)?,
        ("vads_version", "V2".to_owned()),
    ];
    if shop.manual_validation {
        fields.push(("vads_validation_mode", "1".to_owned()));
    }
    Ok(fields)
}
