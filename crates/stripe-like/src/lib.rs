#![doc = include_str!("../README.md")]

mod api;
mod codes;
mod config;
mod error;
mod session;
mod signature;
mod webhook;

use std::borrow::Cow;

use serde::Deserialize;
use tpe_core::{
    Ack, Amount, Capabilities, Currency, Handled, NotificationChannel, NotificationLimits,
    PaymentProvider, PaymentRequest, Prepared, Profile, ProviderData, ProviderError, ProviderId,
    RawNotification, Redirect, RefundReceipt, RefundRequest, RemoteStatus, StatusQuery,
    StatusReport, Timestamp, Verified,
};
use url::Url;

pub use api::{MAX_ERROR_MESSAGE, MAX_RESPONSE};
pub use codes::{classify, known_codes};
pub use config::{
    ApiTimeouts, DEFAULT_API_BASE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TOLERANCE_SECS, ENV_PREFIX, Mode, StripeLikeConfig,
};
pub use session::{CaptureMethod, CheckoutSessionParams, LineItem, MAX_PRODUCT_NAME, encode_pairs};
pub use signature::{
    MAX_HEADER_LEN, MAX_SECRET_LEN, MAX_SIGNATURES, SIGNATURE_HEADER, SignatureError,
    WebhookVerifier, generate_test_header,
};
pub use webhook::{
    ASYNC_FAILED, ASYNC_SUCCEEDED, COMPLETED, EXPIRED, FALLBACK_DECLINE_CODE,
    METADATA_DECLINE_CODE, METADATA_REFERENCE, PAYMENT_FAILED, failed_attempt_id,
};

use crate::api::ApiClient;
use crate::error::{config_error, invalid_request, malformed, unreadable};
use crate::session::Session;

/// [`SIGNATURE_HEADER`] as a header name, built once.
static SIGNATURE_HEADER_NAME: http::HeaderName = http::HeaderName::from_static("stripe-signature");

/// The Stripe-compatible PSP: Checkout Sessions and signed webhooks.
///
/// Built once at startup from a checked [`StripeLikeConfig`]; cheap to share as
/// `Arc<dyn PaymentProvider>`. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct StripeLike {
    api: ApiClient,
    verifier: WebhookVerifier,
    mode: Mode,
}

/// A Checkout Session just created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedSession {
    /// The session id (`cs_…`): record it to query the session later.
    pub id: String,
    /// The hosted payment page.
    pub url: Url,
}

/// Status queries and refunds (partial ones too), no capture or cancel; signed timestamps in
/// webhooks. Events with many line items or a large metadata set run past 64 KiB.
static PROFILE: Profile = Profile::new(StripeLike::ID)
    .with_capabilities(Capabilities::STATUS_AND_REFUND.with_signed_timestamp())
    .with_channel(NotificationChannel::JSON_POST)
    .with_limits(NotificationLimits::JSON);

impl StripeLike {
    /// The provider id.
    pub const ID: ProviderId = ProviderId::from_static("stripe-like");

    /// Checks the configuration and builds the provider.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when the secret key is malformed or of the other mode, a
    /// webhook secret is missing or malformed, the API base is not `https` (plain `http` is
    /// allowed in test mode only), the tolerance is 0 or above a day, a timeout is zero, or
    /// the API version is not a short `[A-Za-z0-9._-]` value.
    ///
    /// ```
    /// use tpe_stripe_like::{Mode, StripeLike, StripeLikeConfig};
    /// let ok = StripeLike::new(StripeLikeConfig::new(Mode::Test, "sk_test_abc", ["whsec_x"]));
    /// assert!(ok.is_ok());
    /// let wrong_mode = StripeLike::new(StripeLikeConfig::new(Mode::Live, "sk_test_abc", ["whsec_x"]));
    /// assert!(wrong_mode.is_err());
    /// ```
    pub fn new(config: StripeLikeConfig) -> Result<Self, ProviderError> {
        use secrecy::ExposeSecret as _;
        let key_mode = config::key_mode(config.secret_key.expose_secret())?;
        if key_mode.0 != config.mode {
            return Err(config_error(format!(
                "secret_key is a {} key but mode is {}",
                key_mode.0.as_str(),
                config.mode.as_str()
            )));
        }
        let base = &config.api_base;
        match base.scheme() {
            "https" => {}
            "http" if config.mode == Mode::Test => {}
            _ => {
                return Err(config_error(
                    "api_base must be https (plain http only in test mode)",
                ));
            }
        }
        if !tpe_core::api::is_plain_base(base) {
            return Err(config_error(
                "api_base must be a plain URL with a host, without credentials, query or fragment",
            ));
        }
        if config.tolerance_secs == 0 || config.tolerance_secs > 24 * 3600 {
            return Err(config_error("tolerance_secs must be 1 to 86400"));
        }
        if config.connect_timeout.is_zero() || config.request_timeout.is_zero() {
            return Err(config_error("timeouts must be greater than zero"));
        }
        if let Some(v) = &config.api_version
            && (v.is_empty()
                || v.len() > 64
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
        {
            return Err(config_error(
                "api_version must be 1 to 64 characters of [A-Za-z0-9._-]",
            ));
        }
        let verifier =
            WebhookVerifier::from_secrets(&config.webhook_secrets, config.tolerance_secs)?;
        Ok(Self {
            api: ApiClient::new(&config)?,
            verifier,
            mode: config.mode,
        })
    }

    /// Test or live.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The webhook verifier (signature and timestamp only).
    pub fn verifier(&self) -> &WebhookVerifier {
        &self.verifier
    }

    /// The `Idempotency-Key` of the session of a checkout: stable, so a retried `prepare`
    /// (after a crash or a timeout) gets the same session back instead of a second one.
    pub fn idempotency_key(request: &PaymentRequest) -> String {
        format!("tpe-checkout-{}", request.reference)
    }

    /// Creates the Checkout Session of a checkout; [`PaymentProvider::prepare`] is this plus
    /// a GET redirect to its URL.
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] for a zero amount; [`ProviderError::Api`] typed
    /// from the PSP's answer; [`ProviderError::Transport`] (retryable) when the PSP cannot be
    /// reached, or (not retryable) when its answer is unreadable or has no usable URL.
    pub async fn create_session(
        &self,
        request: &PaymentRequest,
    ) -> Result<CreatedSession, ProviderError> {
        let params = CheckoutSessionParams::for_request(request)?;
        let url = self.api.url(&["v1", "checkout", "sessions"], &[]);
        let session: Session = self
            .api
            .post_form(url, params.encode(), &Self::idempotency_key(request))
            .await?;
        if !webhook::is_object_id(&session.id) {
            return Err(unreadable("unusable checkout session id in the API answer"));
        }
        let page = session
            .url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| u.scheme() == "https" || (u.scheme() == "http" && self.mode == Mode::Test))
            .ok_or_else(|| unreadable("unusable checkout session url in the API answer"))?;
        Ok(CreatedSession {
            id: session.id,
            url: page,
        })
    }

    /// The session id in a redirect made by [`PaymentProvider::prepare`], when its URL shows
    /// one (a path segment starting with `cs_`, as the PSP's and the mock bank's pages do).
    pub fn session_id_from_redirect(redirect: &Redirect) -> Option<String> {
        redirect
            .action
            .path_segments()?
            .rev()
            .find(|s| s.starts_with("cs_") && webhook::is_object_id(s))
            .map(str::to_owned)
    }

    async fn retrieve(&self, id: &str) -> Result<Option<Session>, ProviderError> {
        let url = self.api.url(
            &["v1", "checkout", "sessions", id],
            &[("expand[]", "payment_intent")],
        );
        match self.api.get::<Session>(url).await {
            Ok(s) => Ok(Some(s)),
            Err(ProviderError::Api {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn payment_intent_of(&self, request: &RefundRequest) -> Result<String, ProviderError> {
        let id = request.bank_transaction_id.as_str();
        if !webhook::is_object_id(id) {
            return Err(invalid_request(
                "bank_transaction_id",
                "not a session or payment intent id",
            ));
        }
        if id.starts_with("pi_") {
            return Ok(id.to_owned());
        }
        let session = self
            .retrieve(id)
            .await?
            .ok_or_else(|| invalid_request("bank_transaction_id", "no such checkout session"))?;
        if session.reference() != Some(request.bank_reference.as_str()) {
            return Err(invalid_request(
                "bank_transaction_id",
                "the session belongs to another reference",
            ));
        }
        if let Some(c) = session.currency.as_deref()
            && !c.eq_ignore_ascii_case(request.amount.currency().alpha())
        {
            return Err(invalid_request(
                "amount",
                "currency differs from the payment's",
            ));
        }
        session
            .payment_intent_id()
            .map(str::to_owned)
            .ok_or_else(|| invalid_request("bank_transaction_id", "the session has no payment"))
    }
}

/// Best first: paid, then pending, refused, cancelled.
fn rank(status: &RemoteStatus) -> u8 {
    match status {
        RemoteStatus::Paid { .. } | RemoteStatus::Refunded { .. } => 0,
        RemoteStatus::Pending => 1,
        RemoteStatus::Refused { .. } => 2,
        RemoteStatus::Cancelled => 3,
        _ => 4,
    }
}

#[derive(Deserialize)]
struct Refund {
    id: String,
    amount: u64,
    currency: String,
    #[serde(default)]
    status: Option<String>,
}

#[async_trait::async_trait]
impl PaymentProvider for StripeLike {
    async fn prepare(
        &self,
        request: &PaymentRequest,
        _now: Timestamp,
    ) -> Result<Prepared, ProviderError> {
        let session = self.create_session(request).await?;
        // The session id is what status queries and refunds look up: kept with the checkout.
        let data = ProviderData::new(session.id)
            .map_err(|_| unreadable("unusable checkout session id in the API answer"))?;
        Ok(Prepared::new(Redirect::get(session.url)).with_provider_data(data))
    }

    fn verify(&self, raw: &RawNotification, now: Timestamp) -> Result<Verified, ProviderError> {
        let mut headers = raw.headers().get_all(&SIGNATURE_HEADER_NAME).iter();
        let header = headers.next().map(http::HeaderValue::as_bytes);
        if headers.next().is_some() {
            return Err(malformed("more than one Stripe-Signature header"));
        }
        webhook::verify_event(&self.verifier, header, raw.body(), now)
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        match handled {
            // Any 2xx stops the PSP's retries; its own libraries answer this body.
            Handled::Processed(Verified::Payment(_) | Verified::Ignored(_)) => Ack {
                status: 200,
                content_type: "application/json",
                body: Cow::Borrowed(r#"{"received":true}"#),
            },
            other => Ack::default_for(other),
        }
    }

    async fn query_status(
        &self,
        query: &StatusQuery,
        _now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        let mut candidates: Vec<&str> = Vec::new();
        for id in query
            .provider_data
            .as_ref()
            .map(ProviderData::as_str)
            .into_iter()
            .chain(query.known_transactions.iter().map(String::as_str))
        {
            if id.starts_with("cs_") && webhook::is_object_id(id) && !candidates.contains(&id) {
                candidates.push(id);
            }
        }
        let mut sessions = Vec::new();
        for id in candidates {
            if let Some(s) = self.retrieve(id).await?
                && s.reference() == Some(query.bank_reference.as_str())
            {
                sessions.push(s);
            }
        }
        let mut best: Option<RemoteStatus> = None;
        for s in &sessions {
            let status = s.remote_status(query.amount)?;
            if best.as_ref().is_none_or(|b| rank(&status) < rank(b)) {
                best = Some(status);
            }
        }
        Ok(StatusReport {
            reference: query.reference.clone(),
            status: best.unwrap_or(RemoteStatus::NotFound),
        })
    }

    async fn refund(
        &self,
        request: &RefundRequest,
        _now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        if request.amount.is_zero() {
            return Err(invalid_request("amount", "must be greater than zero"));
        }
        api::check_idempotency_key(&request.idempotency_key)?;
        let intent = self.payment_intent_of(request).await?;
        let form = encode_pairs(&[
            ("payment_intent".to_owned(), intent),
            ("amount".to_owned(), request.amount.minor().to_string()),
            (
                format!("metadata[{METADATA_REFERENCE}]"),
                request.reference.as_str().to_owned(),
            ),
        ]);
        let url = self.api.url(&["v1", "refunds"], &[]);
        let refund: Refund = self
            .api
            .post_form(url, form, &request.idempotency_key)
            .await?;
        let status = refund.status.as_deref().unwrap_or("pending");
        if matches!(status, "failed" | "canceled") {
            return Err(error::api(
                tpe_core::ApiErrorKind::Refused,
                None,
                Some(status.to_owned()),
                format!("refund {status}"),
                false,
            ));
        }
        let currency = Currency::from_alpha(&refund.currency)
            .map_err(|_| unreadable("unusable refund currency in the API answer"))?;
        let amount = Amount::new(refund.amount, currency)
            .map_err(|_| unreadable("unusable refund amount in the API answer"))?;
        if !webhook::is_object_id(&refund.id) {
            return Err(unreadable("unusable refund id in the API answer"));
        }
        Ok(RefundReceipt {
            refund_id: refund.id,
            amount,
            pending: status != "succeeded",
        })
    }

    tpe_core::provider_facts!(PROFILE, codes);
}
