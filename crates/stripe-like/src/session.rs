//! Checkout Sessions (spec §A.3, §A.4): the creation parameters in the PSP's bracket form
//! encoding, the session object returned, and its reading as a [`RemoteStatus`].

use std::collections::BTreeMap;

use serde::Deserialize;
use tpe_core::{Amount, Currency, Lang, PaymentRequest, ProviderError, RemoteStatus};

use crate::codes::classify;
use crate::error::{invalid_request, unreadable};
use crate::webhook::{FALLBACK_DECLINE_CODE, METADATA_REFERENCE, is_object_id};

/// Longest product name sent.
pub const MAX_PRODUCT_NAME: usize = 250;

/// How the payment intent is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureMethod {
    /// Captured at once.
    Automatic,
    /// Captured at once, asynchronously.
    AutomaticAsync,
    /// Authorized now, captured later.
    Manual,
}

impl CaptureMethod {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::AutomaticAsync => "automatic_async",
            Self::Manual => "manual",
        }
    }
}

/// One line item with inline price data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// Product label.
    pub name: String,
    /// Unit amount (its currency is the line's currency).
    pub unit_amount: Amount,
    /// Quantity, at least 1.
    pub quantity: u32,
}

/// The parameters of `POST /v1/checkout/sessions` for a one-off payment (`mode=payment`).
///
/// [`Self::form_pairs`] yields them in the PSP SDK's encoding: nested keys in brackets, arrays
/// always indexed, absent values omitted.
///
/// ```
/// use tpe_core::{Amount, Currency};
/// use tpe_stripe_like::{CheckoutSessionParams, LineItem};
/// let mut p = CheckoutSessionParams::new("https://shop.example/ok".parse()?);
/// p.line_items.push(LineItem { name: "Order 7".into(),
///     unit_amount: Amount::new(990, Currency::EUR)?, quantity: 1 });
/// let pairs = p.form_pairs();
/// assert!(pairs.contains(&("line_items[0][price_data][currency]".into(), "eur".into())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckoutSessionParams {
    /// Browser return after payment.
    pub success_url: url::Url,
    /// Browser "back" target.
    pub cancel_url: Option<url::Url>,
    /// Our reference.
    pub client_reference_id: Option<String>,
    /// Prefilled e-mail.
    pub customer_email: Option<String>,
    /// What is bought.
    pub line_items: Vec<LineItem>,
    /// Metadata on the session.
    pub metadata: Vec<(String, String)>,
    /// Metadata on the payment intent (the session's is not copied there).
    pub payment_intent_metadata: Vec<(String, String)>,
    /// Capture method; the account default when absent.
    pub capture_method: Option<CaptureMethod>,
    /// Page language (`fr`, `en`, `auto`).
    pub locale: Option<String>,
}

impl CheckoutSessionParams {
    /// Parameters with only the success URL set.
    pub fn new(success_url: url::Url) -> Self {
        Self {
            success_url,
            cancel_url: None,
            client_reference_id: None,
            customer_email: None,
            line_items: Vec::new(),
            metadata: Vec::new(),
            payment_intent_metadata: Vec::new(),
            capture_method: None,
            locale: None,
        }
    }

    /// The session for a checkout: one line of the whole amount labelled with the
    /// description, success = accepted URL, cancel = cancelled URL, our reference as
    /// `client_reference_id` and as `tpe_reference` metadata on the session and the intent.
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] for a zero amount.
    pub fn for_request(request: &PaymentRequest) -> Result<Self, ProviderError> {
        if request.amount.is_zero() {
            return Err(invalid_request("amount", "must be greater than zero"));
        }
        let reference = request.bank_reference.as_str().to_owned();
        let description = request.description.trim();
        let name: String = if description.is_empty() {
            reference.clone()
        } else {
            description
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_PRODUCT_NAME)
                .collect()
        };
        let mut p = Self::new(request.urls.accepted.clone());
        p.cancel_url = Some(request.urls.cancelled.clone());
        p.client_reference_id = Some(reference.clone());
        p.customer_email = Some(request.customer.email.clone());
        p.line_items.push(LineItem {
            name,
            unit_amount: request.amount,
            quantity: 1,
        });
        p.metadata
            .push((METADATA_REFERENCE.to_owned(), reference.clone()));
        p.payment_intent_metadata
            .push((METADATA_REFERENCE.to_owned(), reference));
        p.locale = Some(
            match request.language {
                Lang::Fr => "fr",
                Lang::En => "en",
                _ => "auto",
            }
            .to_owned(),
        );
        Ok(p)
    }

    /// The form pairs, in the SDK's order (see the `checkout_session_create_form_pairs`
    /// vector of the spec).
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("mode".to_owned(), "payment".to_owned()),
            ("success_url".to_owned(), self.success_url.to_string()),
        ];
        if let Some(u) = &self.cancel_url {
            out.push(("cancel_url".to_owned(), u.to_string()));
        }
        if let Some(r) = &self.client_reference_id {
            out.push(("client_reference_id".to_owned(), r.clone()));
        }
        if let Some(e) = &self.customer_email {
            out.push(("customer_email".to_owned(), e.clone()));
        }
        for (i, item) in self.line_items.iter().enumerate() {
            let amount = item.unit_amount;
            out.push((
                format!("line_items[{i}][quantity]"),
                item.quantity.to_string(),
            ));
            out.push((
                format!("line_items[{i}][price_data][currency]"),
                amount.currency().alpha().to_ascii_lowercase(),
            ));
            out.push((
                format!("line_items[{i}][price_data][unit_amount]"),
                amount.minor().to_string(),
            ));
            out.push((
                format!("line_items[{i}][price_data][product_data][name]"),
                item.name.clone(),
            ));
        }
        for (k, v) in &self.metadata {
            out.push((format!("metadata[{k}]"), v.clone()));
        }
        for (k, v) in &self.payment_intent_metadata {
            out.push((format!("payment_intent_data[metadata][{k}]"), v.clone()));
        }
        if let Some(c) = self.capture_method {
            out.push((
                "payment_intent_data[capture_method]".to_owned(),
                c.as_str().to_owned(),
            ));
        }
        if let Some(l) = &self.locale {
            out.push(("locale".to_owned(), l.clone()));
        }
        out
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn encode(&self) -> String {
        encode_pairs(&self.form_pairs())
    }
}

/// Encodes form pairs (`[`/`]` percent-encoded, spaces as `+`).
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A Checkout Session as the API returns it (only the fields used).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) url: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) payment_status: Option<String>,
    #[serde(default)]
    pub(crate) amount_total: Option<u64>,
    #[serde(default)]
    pub(crate) currency: Option<String>,
    #[serde(default)]
    pub(crate) client_reference_id: Option<String>,
    #[serde(default)]
    pub(crate) metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) payment_intent: Option<IntentRef>,
}

/// `payment_intent`: an id or, when expanded, the object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum IntentRef {
    Id(String),
    Object(Intent),
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Intent {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) last_payment_error: Option<LastError>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LastError {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) decline_code: Option<String>,
}

impl Session {
    /// The reference the session was made for.
    pub(crate) fn reference(&self) -> Option<&str> {
        self.client_reference_id.as_deref().or_else(|| {
            self.metadata
                .as_ref()
                .and_then(|m| m.get(METADATA_REFERENCE))
                .map(String::as_str)
        })
    }

    /// The payment intent id, when there is one.
    pub(crate) fn payment_intent_id(&self) -> Option<&str> {
        match &self.payment_intent {
            Some(IntentRef::Id(id)) => Some(id.as_str()),
            Some(IntentRef::Object(o)) => Some(o.id.as_str()),
            None => None,
        }
        .filter(|id| is_object_id(id))
    }

    /// The bank's view: `complete` + `paid` is paid; `complete` + `unpaid` is pending unless
    /// the expanded intent shows the delayed payment failed; `open` (the hosted page still
    /// waiting) is no payment yet ([`RemoteStatus::NotFound`]) when there is no intent or the
    /// expanded one holds nothing, refused when it shows the last card declined, pending when
    /// it shows a payment processing or is not expanded; `expired` is cancelled.
    ///
    /// `fallback` is the amount expected, used if the session shows none.
    pub(crate) fn remote_status(&self, fallback: Amount) -> Result<RemoteStatus, ProviderError> {
        let status = self.status.as_deref().unwrap_or_default();
        let payment = self.payment_status.as_deref().unwrap_or_default();
        Ok(match (status, payment) {
            ("complete", "paid" | "no_payment_required") => RemoteStatus::Paid {
                bank_transaction_id: self.id.clone(),
                amount: self.amount()?.unwrap_or(fallback),
            },
            ("complete", _) => match &self.payment_intent {
                Some(IntentRef::Object(intent))
                    if matches!(
                        intent.status.as_deref(),
                        Some("requires_payment_method" | "canceled")
                    ) =>
                {
                    let code = intent
                        .last_payment_error
                        .as_ref()
                        .and_then(|e| e.decline_code.as_deref().or(e.code.as_deref()))
                        .unwrap_or(FALLBACK_DECLINE_CODE);
                    RemoteStatus::Refused {
                        reason: classify(code),
                    }
                }
                _ => RemoteStatus::Pending,
            },
            // The hosted page still waits for the customer: no payment yet, unless the
            // (expanded) intent shows one in flight or the last card declined.
            ("open", _) => match &self.payment_intent {
                Some(IntentRef::Object(intent))
                    if intent.status.as_deref() == Some("processing") =>
                {
                    RemoteStatus::Pending
                }
                Some(IntentRef::Object(intent)) => match intent
                    .last_payment_error
                    .as_ref()
                    .and_then(|e| e.decline_code.as_deref().or(e.code.as_deref()))
                {
                    Some(code) => RemoteStatus::Refused {
                        reason: classify(code),
                    },
                    None => RemoteStatus::NotFound,
                },
                // An intent not shown (not expanded): what it holds is unknown, so not final.
                Some(IntentRef::Id(_)) => RemoteStatus::Pending,
                None => RemoteStatus::NotFound,
            },
            ("expired", _) => RemoteStatus::Cancelled,
            _ => {
                return Err(unreadable(
                    "unusable checkout session status in the API answer",
                ));
            }
        })
    }

    fn amount(&self) -> Result<Option<Amount>, ProviderError> {
        match (self.amount_total, self.currency.as_deref()) {
            (Some(minor), Some(c)) => Currency::from_alpha(c)
                .and_then(|c| Amount::new(minor, c))
                .map(Some)
                .map_err(|_| unreadable("unusable checkout session amount in the API answer")),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use tpe_core::ReasonKind;

    use super::*;

    fn session(json: &str) -> Session {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn remote_status_of_each_session_state() {
        let eur = |m| Amount::new(m, Currency::EUR).unwrap();
        let s = |status: &str, ps: &str| {
            session(&format!(
                r#"{{"id":"cs_1","status":"{status}","payment_status":"{ps}","amount_total":4200,"currency":"eur","payment_intent":"pi_1"}}"#
            ))
            .remote_status(eur(1))
            .unwrap()
        };
        assert_eq!(
            s("complete", "paid"),
            RemoteStatus::Paid {
                bank_transaction_id: "cs_1".into(),
                amount: eur(4200)
            }
        );
        assert_eq!(s("complete", "unpaid"), RemoteStatus::Pending);
        assert_eq!(s("open", "unpaid"), RemoteStatus::Pending);
        assert_eq!(
            session(r#"{"id":"cs_1","status":"open","payment_status":"unpaid"}"#)
                .remote_status(eur(1))
                .unwrap(),
            RemoteStatus::NotFound
        );
        let open = |intent: &str| {
            session(&format!(
                r#"{{"id":"cs_1","status":"open","payment_status":"unpaid","payment_intent":{intent}}}"#
            ))
            .remote_status(eur(1))
            .unwrap()
        };
        assert_eq!(
            open(r#"{"id":"pi_1","status":"processing"}"#),
            RemoteStatus::Pending
        );
        assert_eq!(
            open(r#"{"id":"pi_1","status":"requires_payment_method"}"#),
            RemoteStatus::NotFound
        );
        match open(
            r#"{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"code":"card_declined","decline_code":"lost_card"}}"#,
        ) {
            RemoteStatus::Refused { reason } => {
                assert_eq!(reason.kind(), ReasonKind::CardLostOrStolen)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s("expired", "unpaid"), RemoteStatus::Cancelled);
        let failed = session(
            r#"{"id":"cs_1","status":"complete","payment_status":"unpaid","payment_intent":{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds"}}}"#,
        );
        match failed.remote_status(eur(1)).unwrap() {
            RemoteStatus::Refused { reason } => {
                assert_eq!(reason.kind(), ReasonKind::InsufficientFunds)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(failed.payment_intent_id(), Some("pi_1"));
        let no_amount = session(r#"{"id":"cs_1","status":"complete","payment_status":"paid"}"#);
        assert_eq!(
            no_amount.remote_status(eur(7)).unwrap(),
            RemoteStatus::Paid {
                bank_transaction_id: "cs_1".into(),
                amount: eur(7)
            }
        );
        assert!(
            session(r#"{"id":"cs_1","status":"weird"}"#)
                .remote_status(eur(1))
                .is_err()
        );
        assert!(session(r#"{"id":"cs_1","status":"complete","payment_status":"paid","amount_total":1,"currency":"zz"}"#).remote_status(eur(1)).is_err());
    }

    #[test]
    fn reference_from_client_reference_id_or_metadata() {
        assert_eq!(
            session(r#"{"id":"cs_1","client_reference_id":"A"}"#).reference(),
            Some("A")
        );
        assert_eq!(
            session(r#"{"id":"cs_1","metadata":{"tpe_reference":"B"}}"#).reference(),
            Some("B")
        );
        assert_eq!(session(r#"{"id":"cs_1","metadata":{}}"#).reference(), None);
    }
}
