//! The Worldline side's own state: hosted checkouts, payments, idempotent answers and the
//! registered webhook endpoints; the JSON shapes of the platform (spec §G.4, §G.6, §G.7).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::state::{BankState, MAX_ROWS, insert_capped, Store, page_store};

/// The state the Worldline side keeps in the [`BankState`].
#[derive(Default)]
pub(crate) struct WorldlineState {
    data: Mutex<WorldlineData>,
}

/// Everything behind one lock.
#[derive(Default)]
pub(crate) struct WorldlineData {
    pub(super) checkouts: HashMap<String, Checkout>,
    pub(super) payments: HashMap<String, Payment>,
    /// Stored answers, by merchant and `X-GCS-Idempotence-Key`.
    pub(super) idempotence: HashMap<(String, String), (u16, String)>,
    /// Webhook endpoints registered at run time, by merchant id.
    pub(super) webhook_urls: HashMap<String, String>,
}

page_store!(WorldlineState { data: WorldlineData, checkouts: Checkout, order: order });

/// A hosted checkout session.
#[derive(Clone, Debug)]
pub(crate) struct Checkout {
    pub(super) id: String,
    pub(super) merchant_id: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) merchant_reference: String,
    pub(super) merchant_parameters: Option<String>,
    pub(super) return_url: String,
    pub(super) webhook_url: Option<String>,
    pub(super) returnmac: String,
    pub(super) authorization_mode: String,
    pub(super) locale: String,
    /// `IN_PROGRESS`, `PAYMENT_CREATED` or `CANCELLED_BY_CONSUMER`.
    pub(super) status: &'static str,
    pub(super) payment_id: Option<String>,
    /// Payment attempts made on the page (each a payment `<checkout id>_<attempt>`).
    pub(super) attempts: u32,
    /// `allowedNumberOfPaymentAttempts` of the request (the platform's default 10).
    pub(super) allowed_attempts: u32,
    pub(super) order: u64,
}

/// A payment.
#[derive(Clone, Debug)]
pub(super) struct Payment {
    pub(super) id: String,
    pub(super) checkout_id: String,
    pub(super) merchant_id: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) merchant_reference: String,
    pub(super) merchant_parameters: Option<String>,
    pub(super) status_code: u32,
    pub(super) captured: u64,
    pub(super) refunded: u64,
    pub(super) refunds: u32,
    pub(super) card_end: String,
    pub(super) changed_at: String,
    pub(super) order: u64,
}

/// The `status` and `statusCategory` the mock shows for a `statusCode` (spec §G.7).
pub(super) fn status_of(code: u32) -> (&'static str, &'static str) {
    match code {
        9 => ("CAPTURED", "COMPLETED"),
        5 | 56 => ("PENDING_CAPTURE", "PENDING_MERCHANT"),
        91 => ("CAPTURE_REQUESTED", "PENDING_CONNECT_OR_3RD_PARTY"),
        4 | 46 | 50 | 51 | 99 => ("AUTHORIZATION_REQUESTED", "PENDING_CONNECT_OR_3RD_PARTY"),
        2 | 57 | 59 | 93 => ("REJECTED", "UNSUCCESSFUL"),
        1 | 6 | 61 | 64 | 7 | 74 | 75 => ("CANCELLED", "UNSUCCESSFUL"),
        8 | 85 => ("REFUNDED", "REFUNDED"),
        81 => ("REFUND_REQUESTED", "PENDING_CONNECT_OR_3RD_PARTY"),
        _ => ("CREATED", "CREATED"),
    }
}

impl Payment {
    /// The `PaymentResponse` JSON.
    pub(super) fn to_json(&self) -> Value {
        let (status, category) = status_of(self.status_code);
        let authorized = matches!(self.status_code, 5 | 56 | 9 | 91 | 8 | 85 | 81);
        json!({
            "id": self.id,
            "paymentOutput": {
                "amountOfMoney": {"amount": self.amount, "currencyCode": self.currency},
                "acquiredAmount": {"amount": self.captured, "currencyCode": self.currency},
                "references": {
                    "merchantReference": self.merchant_reference,
                    "merchantParameters": self.merchant_parameters,
                },
                "cardPaymentMethodSpecificOutput": {
                    "paymentProductId": 1,
                    "authorisationCode": if authorized { Some("T12345") } else { None },
                    "card": {"cardNumber": format!("************{}", self.card_end), "expiryDate": "1230"},
                },
                "paymentMethod": "card",
            },
            "hostedCheckoutSpecificOutput": {"hostedCheckoutId": self.checkout_id},
            "status": status,
            "statusOutput": {
                "isCancellable": matches!(self.status_code, 5 | 56),
                "statusCategory": category,
                "statusCode": self.status_code,
                "statusCodeChangeDateTime": self.changed_at,
                "isAuthorized": authorized,
                "isRefundable": self.status_code == 9 && self.refunded < self.captured,
            },
        })
    }
}

impl Checkout {
    /// The `GetHostedCheckoutResponse` JSON, with its payment when there is one.
    pub(super) fn to_json(&self, payment: Option<&Payment>) -> Value {
        let mut v = json!({"status": self.status});
        if let Some(p) = payment {
            let category = match p.status_code {
                9 | 5 | 56 | 8 => "SUCCESSFUL",
                2 | 57 | 59 | 93 | 1 | 6 => "REJECTED",
                _ => "STATUS_UNKNOWN",
            };
            v["createdPaymentOutput"] = json!({"payment": p.to_json(), "paymentStatusCategory": category});
        }
        v
    }
}

/// Keeps `checkout`, forgetting the oldest past [`MAX_ROWS`].
pub(super) fn keep_checkout(d: &mut WorldlineData, checkout: Checkout) {
    insert_capped(&mut d.checkouts, checkout.id.clone(), checkout, |c| c.order);
}

/// Keeps `payment`, forgetting the oldest past [`MAX_ROWS`].
pub(super) fn keep_payment(d: &mut WorldlineData, payment: Payment) {
    insert_capped(&mut d.payments, payment.id.clone(), payment, |p| p.order);
}

/// Keeps an idempotent answer, forgetting all of them past [`MAX_ROWS`] (a test bank).
pub(super) fn keep_answer(d: &mut WorldlineData, key: (String, String), answer: (u16, String)) {
    if d.idempotence.len() >= MAX_ROWS {
        d.idempotence.clear();
    }
    d.idempotence.insert(key, answer);
}

/// The Rust control API of the Worldline side.
impl BankState {
    pub(super) fn worldline(&self) -> &WorldlineState {
        self.bank::<WorldlineState>()
    }

    /// The `merchantReference` of the latest checkout created with these
    /// `merchantParameters` (the demo finds a checkout's bank reference by its shop reference).
    #[must_use]
    pub fn worldline_reference_for(&self, merchant_parameters: &str) -> Option<String> {
        self.worldline().with(|d| {
            d.checkouts
                .values()
                .filter(|c| c.merchant_parameters.as_deref() == Some(merchant_parameters))
                .max_by_key(|c| c.order)
                .map(|c| c.merchant_reference.clone())
        })
    }

    /// Registers (or replaces) the webhook endpoint of a Worldline merchant, used when a
    /// checkout names none in `feedbacks.webhooksUrls`. `false` when the merchant is unknown
    /// or the URL is not an absolute http(s) URL.
    pub fn set_worldline_webhook_url(&self, merchant_id: &str, url: &str) -> bool {
        if crate::notify::check_callback_url(url).is_err() {
            return false;
        }
        let known = self
            .config()
            .worldline_merchants
            .iter()
            .any(|m| m.merchant_id == merchant_id);
        if known {
            self.worldline()
                .with(|d| d.webhook_urls.insert(merchant_id.to_owned(), url.to_owned()));
        }
        known
    }
}
