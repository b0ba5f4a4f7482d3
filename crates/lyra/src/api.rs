//! The REST API V4 (spec B.11 hosts; `api-payment/V4/…`): `Order/Get` for the status of a
//! checkout, `Transaction/CancelOrRefund` for a refund. Basic auth with the REST user and
//! password, JSON both ways, bounded timeouts, no redirect followed, typed retryable errors.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tpe_core::{Amount, ApiErrorKind, Currency, ProviderError, Reason, RemoteStatus};

use crate::Lyra;
use crate::codes::{self, StatusGroup};
use crate::config::Rest;

/// The longest answer read, in bytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// A connected REST client.
pub(crate) struct Api {
    http: reqwest::Client,
    base: url::Url,
    auth: HeaderValue,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

fn transport(retryable: bool, source: impl Into<tpe_core::BoxError>) -> ProviderError {
    ProviderError::transport(&Lyra::ID, retryable, source)
}

fn api_error(
    kind: ApiErrorKind,
    status: Option<u16>,
    code: Option<String>,
    message: impl Into<String>,
    retryable: bool,
) -> ProviderError {
    let message = message.into().chars().take(200).collect();
    ProviderError::api(&Lyra::ID, kind, status, code, message, retryable)
}

/// The envelope of every answer.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    answer: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WsError {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

/// One transaction of an answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transaction {
    pub(crate) uuid: String,
    pub(crate) amount: u64,
    pub(crate) currency: String,
    #[serde(default)]
    pub(crate) operation_type: Option<String>,
    #[serde(default)]
    pub(crate) detailed_status: Option<String>,
    #[serde(default)]
    pub(crate) transaction_details: Option<Details>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Details {
    #[serde(default)]
    card_details: Option<Card>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Card {
    #[serde(default)]
    authorization_response: Option<Authorization>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authorization {
    #[serde(default)]
    authorization_result: Option<String>,
}

impl Transaction {
    fn auth_result(&self) -> String {
        let r = self
            .transaction_details
            .as_ref()
            .and_then(|d| d.card_details.as_ref())
            .and_then(|c| c.authorization_response.as_ref())
            .and_then(|a| a.authorization_result.clone())
            .unwrap_or_default();
        // REST writes the issuer's code without its leading zero.
        if r.len() == 1 { format!("0{r}") } else { r }
    }

    fn is_credit(&self) -> bool {
        self.operation_type.as_deref() == Some("CREDIT")
    }
}

#[derive(Deserialize)]
struct OrderTransactions {
    #[serde(default)]
    transactions: Vec<Transaction>,
}

impl Api {
    /// A client for `rest`.
    pub(crate) fn new(rest: &Rest) -> Result<Self, ProviderError> {
        let bad = |what: &'static str| ProviderError::config(&Lyra::ID, what);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(rest.timeout))
            .timeout(rest.timeout)
            // The API never redirects; following one could send the password elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tpe-lyra/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| bad("the HTTP client cannot be built"))?;
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            rest.user,
            rest.password.expose_secret()
        ));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| bad("rest.password cannot be sent in a header"))?;
        auth.set_sensitive(true);
        let base = rest
            .api
            .join("api-payment/V4/")
            .map_err(|_| bad("base_url cannot hold api-payment/V4/"))?;
        Ok(Self { http, base, auth })
    }

    /// Calls `path` with `body`; the `answer` of a `SUCCESS`.
    async fn call(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, ProviderError> {
        let url = self
            .base
            .join(path)
            .map_err(|_| transport(false, "bad API path"))?;
        let resp = self
            .http
            .post(url)
            .header(AUTHORIZATION, self.auth.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(e.is_timeout() || e.is_connect(), e.without_url()))?;
        let status = resp.status().as_u16();
        let declared = resp.content_length();
        let bytes = tpe_core::api::read_bounded(resp, declared, MAX_ANSWER, |r| {
            Box::pin(async { r.chunk().await.map_err(reqwest::Error::without_url) })
        })
        .await
        .map_err(|e| e.into_provider_error(&crate::Lyra::ID))?;
        match status {
            401 | 403 => {
                return Err(api_error(
                    ApiErrorKind::Authentication,
                    Some(status),
                    None,
                    "REST credentials refused",
                    false,
                ));
            }
            429 => {
                return Err(api_error(
                    ApiErrorKind::RateLimit,
                    Some(status),
                    None,
                    "rate limited",
                    true,
                ));
            }
            500..=599 => {
                return Err(api_error(
                    ApiErrorKind::Server,
                    Some(status),
                    None,
                    "server error",
                    true,
                ));
            }
            200..=299 => {}
            _ => {
                return Err(api_error(
                    ApiErrorKind::InvalidRequest,
                    Some(status),
                    None,
                    "unexpected status",
                    false,
                ));
            }
        }
        let envelope: Envelope = serde_json::from_slice(&bytes)
            .map_err(|_| transport(false, "the answer is not a V4 envelope"))?;
        if envelope.status == "SUCCESS" {
            return Ok(envelope.answer);
        }
        let e: WsError = serde_json::from_value(envelope.answer).unwrap_or(WsError {
            error_code: None,
            error_message: None,
        });
        let code = e.error_code.map(|c| c.chars().take(32).collect::<String>());
        let kind = match code.as_deref() {
            Some(c) if c.starts_with("INT_9") || c.starts_with("AUTH") => {
                ApiErrorKind::Authentication
            }
            _ => ApiErrorKind::InvalidRequest,
        };
        Err(api_error(
            kind,
            Some(status),
            code,
            e.error_message.unwrap_or_else(|| "error".into()),
            false,
        ))
    }

    /// `Order/Get`: the transactions of the order `order_id` (`vads_order_id`).
    pub(crate) async fn order(&self, order_id: &str) -> Result<Vec<Transaction>, ProviderError> {
        let answer = self
            .call("Order/Get", json!({ "orderId": order_id }))
            .await?;
        let order: OrderTransactions = serde_json::from_value(answer)
            .map_err(|_| transport(false, "Order/Get answered no transaction list"))?;
        Ok(order.transactions)
    }

    /// `Transaction/CancelOrRefund` of `amount` on `uuid`: the refund transaction.
    pub(crate) async fn refund(
        &self,
        uuid: &str,
        amount: Amount,
    ) -> Result<Transaction, ProviderError> {
        let answer = self
            .call(
                "Transaction/CancelOrRefund",
                json!({
                    "uuid": uuid,
                    "amount": amount.minor(),
                    "currency": amount.currency().alpha(),
                    "resolutionMode": "AUTO",
                }),
            )
            .await?;
        serde_json::from_value(answer)
            .map_err(|_| transport(false, "CancelOrRefund answered no transaction"))
    }
}

impl Api {
    /// `Transaction/Validate` (manual validation: the capture) or `Transaction/Cancel` of
    /// `uuid`: the transaction as it now is.
    pub(crate) async fn operate(
        &self,
        path: &str,
        uuid: &str,
    ) -> Result<Transaction, ProviderError> {
        let answer = self.call(path, json!({ "uuid": uuid })).await?;
        serde_json::from_value(answer)
            .map_err(|_| transport(false, "the operation answered no transaction"))
    }
}

/// What the transactions of an order say about the checkout.
pub(crate) fn status_of(transactions: &[Transaction]) -> Result<RemoteStatus, ProviderError> {
    let Some(debit) = transactions.iter().rfind(|t| !t.is_credit()) else {
        return Ok(RemoteStatus::NotFound);
    };
    let status = debit.detailed_status.as_deref().unwrap_or_default();
    Ok(match codes::status_group(status) {
        Some(StatusGroup::Paid) => {
            if transactions.iter().any(Transaction::is_credit) {
                RemoteStatus::Refunded {
                    bank_transaction_id: debit.uuid.clone(),
                }
            } else {
                let currency = Currency::from_alpha(&debit.currency)
                    .map_err(|_| transport(false, "Order/Get: unknown currency"))?;
                RemoteStatus::Paid {
                    bank_transaction_id: debit.uuid.clone(),
                    amount: Amount::new(debit.amount, currency)
                        .map_err(|_| transport(false, "Order/Get: amount out of range"))?,
                }
            }
        }
        Some(StatusGroup::Pending) => RemoteStatus::Pending,
        Some(StatusGroup::Cancelled) => RemoteStatus::Cancelled,
        Some(StatusGroup::Refused | StatusGroup::Expired | StatusGroup::Failed) => {
            let code = debit.auth_result();
            let reason = if code.is_empty() {
                Reason::new(tpe_core::ReasonKind::Declined, status.to_owned())
            } else {
                codes::classify(&code)
            };
            RemoteStatus::Refused { reason }
        }
        None => RemoteStatus::Unclassified {
            code: status.chars().take(32).collect(),
        },
    })
}
