#![doc = include_str!("../README.md")]

mod api;
mod checkout;
mod codes;
mod config;
mod error;
mod remote;
mod sign;
mod webhook;

use http::Method;
use serde_json::json;
use tpe_core::{
    Capabilities, NonceSource, NotificationChannel, NotificationLimits, OperationReceipt,
    OperationRequest, PaymentProvider, PaymentReference, PaymentRequest, Prepared, Profile,
    ProviderError, ProviderId, RawNotification, Redirect, RefundReceipt, RefundRequest,
    RemoteStatus, StatusQuery, StatusReport, Timestamp, Verified,
};

pub use api::{IDEMPOTENCE_HEADER, JSON, MAX_ERROR_MESSAGE, MAX_RESPONSE, http_date};
pub use checkout::{
    MAX_AMOUNT, MAX_MERCHANT_REFERENCE, MAX_RETURNMAC, SessionData, create_idempotence_key,
    hosted_checkout_body, merchant_reference,
};
pub use codes::{Verdict, classify, known_codes, verdict};
pub use config::{
    ApiTimeouts, AuthorizationMode, CAWL_PREPROD, CAWL_PRODUCTION, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT, DIRECT_PREPROD, DIRECT_PRODUCTION, ENV_PREFIX, Environment,
    WebhookKey, WorldlineConfig,
};
pub use sign::{
    AUTH_SCHEME, KEY_ID_HEADER, MAX_KEY_ID_LEN, MAX_SECRET_LEN, SIGNATURE_HEADER, SIGNATURE_LEN,
    SignatureError, WebhookVerifier, authorization, canonical_header_value, string_to_sign,
    webhook_signature,
};
pub use webhook::{MAX_VERIFICATION_LEN, VERIFICATION_HEADER};

use crate::api::{ApiClient, is_segment};
use crate::error::{config_error, invalid_request, unreadable};
use crate::remote::{
    CancelResponse, CaptureResponse, HostedCheckout, PaymentResponse, RefundResponse,
};

/// Worldline Direct / CAWL: Hosted Checkout created over the signed API, verdicts from signed
/// webhooks, status queries, refunds, captures and cancellations.
///
/// Built once at startup from a checked [`WorldlineConfig`]; `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Worldline {
    api: ApiClient,
    verifier: WebhookVerifier,
    api_base: url::Url,
    authorization_mode: AuthorizationMode,
}

/// The API answers status queries, refunds, captures and cancels; webhooks are JSON posts,
/// and a GET verifies the endpoint; merchant references `YYYYMMDD-<n>` are readable in the
/// platform's reports, one per checkout and day.
static PROFILE: Profile = Profile::new(Worldline::ID)
    .with_capabilities(Capabilities::API)
    .with_channel(NotificationChannel::JSON_POST_GET_CHECK)
    .with_limits(NotificationLimits::JSON)
    .with_bank_references(NonceSource::DailySequence, |_, now, nonce| {
        merchant_reference(now, nonce)
    });

impl Worldline {
    /// The provider id.
    pub const ID: ProviderId = ProviderId::from_static("worldline");

    /// Checks the configuration and builds the provider.
    ///
    /// ```
    /// use tpe_worldline::{WebhookKey, Worldline, WorldlineConfig};
    /// let ok = Worldline::new(WorldlineConfig::new("PSP1", "k", "s", [WebhookKey::new("w", "x")]));
    /// assert!(ok.is_ok());
    /// let no_webhook_key = Worldline::new(WorldlineConfig::new("PSP1", "k", "s", []));
    /// assert!(no_webhook_key.is_err());
    /// ```
    ///
    /// # Errors
    /// [`ProviderError::Config`] naming the setting: a merchant id outside
    /// `[A-Za-z0-9_-]{1,64}`, an API key id or secret, or a webhook key, empty, too long or not
    /// visible ASCII; no webhook key; a base URL not `https` (plain `http` on the loopback
    /// only) or with credentials, query or fragment; a zero timeout.
    pub fn new(config: WorldlineConfig) -> Result<Self, ProviderError> {
        use secrecy::ExposeSecret as _;
        let api = ApiClient::new(&config)?;
        let verifier = WebhookVerifier::new(
            config
                .webhook_keys
                .iter()
                .map(|k| (k.key_id.as_str(), k.secret.expose_secret())),
        )
        .map_err(|e| config_error(format!("webhook_keys: {e}")))?;
        Ok(Self {
            api,
            verifier,
            api_base: config.api_base()?,
            authorization_mode: config.authorization_mode,
        })
    }

    /// The webhook verifier (signature only).
    pub fn verifier(&self) -> &WebhookVerifier {
        &self.verifier
    }

    /// Verifies a webhook body against its `X-GCS-KeyId` and `X-GCS-Signature` values, then
    /// reads it: what [`PaymentProvider::verify`] does with a POST.
    ///
    /// # Errors
    /// As [`PaymentProvider::verify`].
    pub fn verify_bytes(
        &self,
        key_id: &[u8],
        signature: &[u8],
        body: &[u8],
    ) -> Result<Verified, ProviderError> {
        self.verifier
            .verify(Some(key_id), Some(signature), body)
            .map_err(|e| match e {
                SignatureError::BadlyEncoded => error::malformed("X-GCS-Signature"),
                _ => error::bad_signature(),
            })?;
        webhook::parse_event(body)
    }

    /// Creates the hosted checkout of a request: the session data to keep and the page URL.
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] before any call for a request the platform cannot
    /// take; API errors typed from the answer; transport errors.
    pub async fn create_hosted_checkout(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<(SessionData, url::Url), ProviderError> {
        let body = hosted_checkout_body(request, self.authorization_mode)?;
        let created: checkout::Created = self
            .api
            .call(
                Method::POST,
                &["hostedcheckouts"],
                Some(&body),
                Some(&create_idempotence_key(request)),
                now,
            )
            .await?;
        created.check(&self.api_base)
    }

    async fn hosted_checkout(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<HostedCheckout>, ProviderError> {
        match self
            .api
            .call(Method::GET, &["hostedcheckouts", id], None, None, now)
            .await
        {
            Ok(h) => Ok(Some(h)),
            Err(ProviderError::Api {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn payment(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<PaymentResponse>, ProviderError> {
        match self
            .api
            .call(Method::GET, &["payments", id], None, None, now)
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(ProviderError::Api {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn payment_id(id: &str) -> Result<&str, ProviderError> {
        if is_segment(id) {
            Ok(id)
        } else {
            Err(invalid_request(
                "bank_transaction_id",
                "not a payment id ([A-Za-z0-9_-]{1,64})",
            ))
        }
    }

    fn operation_key(op: &str, request: &OperationRequest) -> String {
        format!(
            "tpe-{op}-{}-{}-{}",
            request.reference,
            request.bank_transaction_id,
            request.amount.minor()
        )
    }
}

fn status_report(reference: &PaymentReference, status: RemoteStatus) -> StatusReport {
    StatusReport {
        reference: reference.clone(),
        status,
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Worldline {
    async fn prepare(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let (session, url) = self.create_hosted_checkout(request, now).await?;
        Ok(Prepared::new(Redirect::get(url)).with_provider_data(session.to_provider_data()?))
    }

    fn verify(&self, raw: &RawNotification, _now: Timestamp) -> Result<Verified, ProviderError> {
        // The platform signs no time: replays are caught by the event id and the lifecycle.
        webhook::verify(&self.verifier, raw)
    }

    async fn query_status(
        &self,
        query: &StatusQuery,
        now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        let ours =
            |p: &PaymentResponse| p.merchant_reference() == Some(query.bank_reference.as_str());
        // A known payment id first: the hosted checkout may no longer be readable.
        for id in query.known_transactions.iter().filter(|t| is_segment(t)) {
            if let Some(p) = self.payment(id, now).await?
                && ours(&p)
            {
                return Ok(status_report(&query.reference, p.remote_status()?));
            }
        }
        let Some(session) = query
            .provider_data
            .as_ref()
            .and_then(SessionData::from_provider_data)
        else {
            return Ok(status_report(&query.reference, RemoteStatus::NotFound));
        };
        let Some(hc) = self
            .hosted_checkout(&session.hosted_checkout_id, now)
            .await?
        else {
            return Ok(status_report(&query.reference, RemoteStatus::NotFound));
        };
        let (status, payment) = hc.remote_status()?;
        if payment.is_some_and(|p| !ours(p)) {
            return Err(unreadable(
                "the hosted checkout's payment names another reference",
            ));
        }
        Ok(status_report(&query.reference, status))
    }

    async fn refund(
        &self,
        request: &RefundRequest,
        now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        if request.amount.is_zero() {
            return Err(invalid_request("amount", "must be greater than zero"));
        }
        let id = Self::payment_id(&request.bank_transaction_id)?;
        let body = json!({
            "amountOfMoney": {
                "amount": request.amount.minor(),
                "currencyCode": request.amount.currency().alpha(),
            },
            "operationReferences": {"merchantReference": request.bank_reference.as_str()},
        });
        let r: RefundResponse = self
            .api
            .call(
                Method::POST,
                &["payments", id, "refund"],
                Some(&body),
                Some(&request.idempotency_key),
                now,
            )
            .await?;
        if !is_segment(&r.id) {
            return Err(unreadable("unusable refund id in the API answer"));
        }
        let amount = match r
            .refund_output
            .as_ref()
            .and_then(|o| o.amount_of_money.as_ref())
        {
            Some(m) => m.amount()?,
            None => request.amount,
        };
        Ok(RefundReceipt {
            refund_id: r.id,
            amount,
            pending: r.status.as_deref() != Some("REFUNDED"),
        })
    }

    async fn capture(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        if request.amount.is_zero() {
            return Err(invalid_request("amount", "must be greater than zero"));
        }
        let id = Self::payment_id(&request.bank_transaction_id)?;
        let body = json!({"amount": request.amount.minor(), "isFinal": true});
        let r: CaptureResponse = self
            .api
            .call(
                Method::POST,
                &["payments", id, "capture"],
                Some(&body),
                Some(&Self::operation_key("capture", request)),
                now,
            )
            .await?;
        if !is_segment(&r.id) {
            return Err(unreadable("unusable capture id in the API answer"));
        }
        Ok(OperationReceipt::new(r.id, request.amount))
    }

    async fn cancel(
        &self,
        request: &OperationRequest,
        now: Timestamp,
    ) -> Result<OperationReceipt, ProviderError> {
        let id = Self::payment_id(&request.bank_transaction_id)?;
        let body = json!({});
        let r: CancelResponse = self
            .api
            .call(
                Method::POST,
                &["payments", id, "cancel"],
                Some(&body),
                Some(&Self::operation_key("cancel", request)),
                now,
            )
            .await?;
        let op = r
            .payment
            .map(|p| p.id)
            .filter(|i| is_segment(i))
            .ok_or_else(|| unreadable("unusable cancelled payment in the API answer"))?;
        Ok(OperationReceipt::new(op, request.amount))
    }

    tpe_core::provider_facts!(PROFILE, codes);
}
