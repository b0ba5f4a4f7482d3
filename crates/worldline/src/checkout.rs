//! The Hosted Checkout (spec §G.2, §G.4, §G.6): the bank reference (`merchantReference`), the
//! `CreateHostedCheckoutRequest` body built from a [`PaymentRequest`] (pure: no key, no I/O,
//! bounds checked before any call), the answer, and the provider data kept for later calls
//! (`hostedCheckoutId` and `RETURNMAC`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tpe_core::{BankReference, Lang, PaymentRequest, ProviderData, ProviderError, Timestamp};
use url::Url;

use crate::api::is_segment;
use crate::config::AuthorizationMode;
use crate::error::{invalid_request, unreadable};

/// Longest `merchantReference` sent: 40 characters work on the test platform, the maximum is
/// not documented (spec §G.4, UNSURE), so `[A-Za-z0-9-]{1,40}` is kept.
pub const MAX_MERCHANT_REFERENCE: usize = 40;
/// Largest amount sent, in minor units: the platform documents none (UNSURE); twelve digits
/// stay far below every SDK's integer type.
pub const MAX_AMOUNT: u64 = 999_999_999_999;
/// Longest `RETURNMAC` kept.
pub const MAX_RETURNMAC: usize = 128;

/// The `merchantReference` of a checkout prepared at `now` with `nonce`:
/// `YYYYMMDD-<nonce>` (UTC day), unique per day as long as the nonce is, at most 29
/// characters of `[0-9-]`.
///
/// ```
/// let now = tpe_core::Timestamp::from_second(1_764_406_800)?; // 2025-11-29T09:00:00Z
/// assert_eq!(tpe_worldline::merchant_reference(now, 42)?.as_str(), "20251129-000042");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Never in practice: [`ProviderError::InvalidRequest`] if the text were not a bank reference.
pub fn merchant_reference(now: Timestamp, nonce: u64) -> Result<BankReference, ProviderError> {
    let day = now.strftime("%Y%m%d");
    BankReference::parse(&format!("{day}-{nonce:06}"))
        .map_err(|e| invalid_request("reference", e.to_string()))
}

fn check_merchant_reference(r: &BankReference) -> Result<(), ProviderError> {
    let s = r.as_str();
    if s.len() > MAX_MERCHANT_REFERENCE
        || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid_request(
            "bank_reference",
            "merchantReference must be 1 to 40 characters of [A-Za-z0-9-]",
        ));
    }
    Ok(())
}

fn locale(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "fr_FR",
        _ => "en_GB",
    }
}

/// Cuts `s` to `max` characters without control characters.
fn cut(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The `CreateHostedCheckoutRequest` of a checkout (spec §G.4): amount, references, the
/// customer data 3-D Secure uses (name, e-mail, phone, billing address), return URL, locale,
/// the webhook URL, and the authorization mode.
///
/// # Errors
/// [`ProviderError::InvalidRequest`] naming the field: a zero amount or one above
/// [`MAX_AMOUNT`], a bank reference outside `[A-Za-z0-9-]{1,40}`.
pub fn hosted_checkout_body(
    request: &PaymentRequest,
    mode: AuthorizationMode,
) -> Result<Value, ProviderError> {
    let amount = request.amount.minor();
    if amount == 0 {
        return Err(invalid_request("amount", "must be greater than zero"));
    }
    if amount > MAX_AMOUNT {
        return Err(invalid_request(
            "amount",
            "above the largest amount sent (999999999999 minor units)",
        ));
    }
    check_merchant_reference(&request.bank_reference)?;
    let c = &request.customer;
    let a = &c.address;
    let mut billing = json!({
        "countryCode": a.country.alpha2(),
        "city": cut(&a.city, 40),
        "zip": cut(&a.postcode, 10),
        "street": cut(&a.line1, 50),
    });
    if let Some(l2) = &a.line2 {
        billing["additionalInfo"] = json!(cut(l2, 50));
    }
    Ok(json!({
        "order": {
            "amountOfMoney": {
                "amount": amount,
                "currencyCode": request.amount.currency().alpha(),
            },
            "references": {
                "merchantReference": request.bank_reference.as_str(),
                "merchantParameters": request.reference.as_str(),
            },
            "customer": {
                "merchantCustomerId": cut(&c.email, 15),
                "accountType": "none",
                "locale": locale(request.language),
                "contactDetails": {
                    "emailAddress": cut(&c.email, 70),
                    "phoneNumber": c.phone.e164(),
                },
                "billingAddress": billing,
                "personalInformation": {
                    "name": {
                        "firstName": cut(&c.first_name, 15),
                        "surname": cut(&c.last_name, 70),
                    },
                },
            },
            "shoppingCart": {
                "items": [{
                    "amountOfMoney": {
                        "amount": amount,
                        "currencyCode": request.amount.currency().alpha(),
                    },
                    "orderLineDetails": {
                        "productName": cut(&request.description, 50),
                        "productPrice": amount,
                        "quantity": 1,
                    },
                }],
            },
        },
        "hostedCheckoutSpecificInput": {
            "returnUrl": request.urls.accepted.as_str(),
            "locale": locale(request.language),
            "showResultPage": false,
        },
        "cardPaymentMethodSpecificInput": {
            "authorizationMode": mode.as_str(),
        },
        "feedbacks": {
            "webhooksUrls": [request.urls.notify.as_str()],
        },
    }))
}

/// The `X-GCS-Idempotence-Key` of the creation of a checkout's session: one per (order,
/// attempt), so a retried creation cannot open two sessions.
pub fn create_idempotence_key(request: &PaymentRequest) -> String {
    format!("tpe-hc-{}-{}", request.reference, request.bank_reference)
}

/// The answer to the creation (spec §G.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Created {
    pub(crate) hosted_checkout_id: String,
    #[serde(rename = "RETURNMAC")]
    pub(crate) returnmac: String,
    pub(crate) redirect_url: String,
}

/// What `prepare` keeps: the session id and the `RETURNMAC` the browser comes back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionData {
    /// The hosted checkout id.
    #[serde(rename = "hostedCheckoutId")]
    pub hosted_checkout_id: String,
    /// The `RETURNMAC` (an identifier of the return, not a MAC over a result).
    #[serde(rename = "RETURNMAC")]
    pub returnmac: String,
}

impl SessionData {
    /// As provider data (a small JSON object).
    ///
    /// # Errors
    /// A transport error (not retryable) when it does not fit.
    pub fn to_provider_data(&self) -> Result<ProviderData, ProviderError> {
        let text = serde_json::to_string(self)
            .map_err(|_| unreadable("unusable hosted checkout in the API answer"))?;
        ProviderData::new(text).map_err(|_| unreadable("hosted checkout data over 1024 bytes"))
    }

    /// Whether a browser return (its `hostedCheckoutId` and `RETURNMAC` query values, spec
    /// §G.5) is this checkout's; both compared in constant time. A trigger only: the result is
    /// read by a status query, never from the query string.
    ///
    /// ```
    /// use tpe_worldline::SessionData;
    /// let data = tpe_core::ProviderData::new(r#"{"hostedCheckoutId":"4001","RETURNMAC":"a1b2"}"#)?;
    /// let s = SessionData::from_provider_data(&data).unwrap();
    /// assert!(s.is_return_of("4001", "a1b2"));
    /// assert!(!s.is_return_of("4001", "a1b3"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_return_of(&self, hosted_checkout_id: &str, returnmac: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let id = self
            .hosted_checkout_id
            .as_bytes()
            .ct_eq(hosted_checkout_id.as_bytes());
        let mac = self.returnmac.as_bytes().ct_eq(returnmac.as_bytes());
        (id & mac).into()
    }

    /// From provider data, `None` when it is not ours.
    pub fn from_provider_data(data: &ProviderData) -> Option<Self> {
        serde_json::from_str::<Self>(data.as_str())
            .ok()
            .filter(|d| is_segment(&d.hosted_checkout_id))
    }
}

impl Created {
    /// Checks the answer: a plain session id, a bounded `RETURNMAC`, and a redirect to
    /// `https` (or to the API's own loopback host, for a mock bank).
    pub(crate) fn check(self, api_base: &Url) -> Result<(SessionData, Url), ProviderError> {
        if !is_segment(&self.hosted_checkout_id) {
            return Err(unreadable("unusable hostedCheckoutId in the API answer"));
        }
        if self.returnmac.is_empty()
            || self.returnmac.len() > MAX_RETURNMAC
            || !self.returnmac.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(unreadable("unusable RETURNMAC in the API answer"));
        }
        let url = Url::parse(&self.redirect_url)
            .ok()
            .filter(|u| {
                u.scheme() == "https"
                    || (u.scheme() == "http" && u.host_str() == api_base.host_str())
            })
            .ok_or_else(|| unreadable("unusable redirectUrl in the API answer"))?;
        Ok((
            SessionData {
                hosted_checkout_id: self.hosted_checkout_id,
                returnmac: self.returnmac,
            },
            url,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn session_data_round_trips_and_rejects_others() {
        let d = SessionData {
            hosted_checkout_id: "hc_1".into(),
            returnmac: "abc".into(),
        };
        let p = d.to_provider_data().unwrap();
        assert_eq!(
            p.as_str(),
            r#"{"hostedCheckoutId":"hc_1","RETURNMAC":"abc"}"#
        );
        assert_eq!(SessionData::from_provider_data(&p), Some(d));
        for other in ["cs_1", r#"{"hostedCheckoutId":"../x","RETURNMAC":"a"}"#] {
            assert_eq!(
                SessionData::from_provider_data(&ProviderData::new(other).unwrap()),
                None
            );
        }
    }

    #[test]
    fn answers_are_checked() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let ok = |id: &str, mac: &str, url: &str| {
            Created {
                hosted_checkout_id: id.into(),
                returnmac: mac.into(),
                redirect_url: url.into(),
            }
            .check(&base)
            .is_ok()
        };
        assert!(ok("1", "m", "https://payment.example/hc/1"));
        assert!(ok("1", "m", "http://127.0.0.1:9/hc/1"));
        assert!(!ok("1", "m", "http://evil.example/hc/1"));
        assert!(!ok("a/b", "m", "https://payment.example/"));
        assert!(!ok("1", "", "https://payment.example/"));
        assert!(!ok("1", "m m", "https://payment.example/"));
    }
}
