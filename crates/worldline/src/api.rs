//! The platform's server API (spec §G.3, §G.10): every request signed `GCS v1HMAC` with a
//! `Date` taken from the `now` the engine passes in, JSON bodies, `X-GCS-Idempotence-Key` on
//! creations and operations, bounded answers and timeouts, errors typed from the HTTP status
//! and the `errors[]` body.

use std::fmt;

use http::{Method, StatusCode};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, DATE};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tpe_core::api::read_bounded;
use tpe_core::{ApiErrorKind, ProviderError, Timestamp};
use url::Url;

use crate::config::WorldlineConfig;
use crate::error::{api, config_error, invalid_request, transport};
use crate::sign::{RequestSigner, string_to_sign};
use tpe_core::Unreadable;

/// Largest API answer read, in bytes.
pub const MAX_RESPONSE: usize = 256 * 1024;
/// Longest API error message kept, in characters.
pub const MAX_ERROR_MESSAGE: usize = 300;
/// The content type of every request body, as sent and signed.
pub const JSON: &str = "application/json";
/// The idempotence header (an `x-gcs` header: signed).
pub const IDEMPOTENCE_HEADER: &str = "X-GCS-Idempotence-Key";

/// An authenticated client of the platform's API.
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: Url,
    merchant_id: String,
    signer: RequestSigner,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("merchant_id", &self.merchant_id)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// A path segment the platform and every SDK sign alike: `[A-Za-z0-9_-]{1,64}` (spec §G.3
/// step 4: percent-encoding is signed differently by different SDKs, so none is sent).
pub(crate) fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The `Date` header of a request made at `now` (RFC 1123, zero-padded day, GMT).
///
/// ```
/// let t = tpe_core::Timestamp::from_second(1_402_061_983)?;
/// assert_eq!(tpe_worldline::http_date(t), "Fri, 06 Jun 2014 13:39:43 GMT");
/// # Ok::<(), jiff::Error>(())
/// ```
pub fn http_date(now: Timestamp) -> String {
    now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl ApiClient {
    pub(crate) fn new(cfg: &WorldlineConfig) -> Result<Self, ProviderError> {
        let base = cfg.api_base()?;
        let local = matches!(base.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if !(base.scheme() == "https" || (base.scheme() == "http" && local)) {
            return Err(config_error(
                "base_url must be https (plain http only on the loopback, for a mock bank)",
            ));
        }
        if !tpe_core::api::is_plain_base(&base) {
            return Err(config_error(
                "base_url must be a plain URL with a host, without credentials, query or fragment",
            ));
        }
        if !is_segment(&cfg.merchant_id) {
            return Err(config_error(
                "merchant_id must be 1 to 64 characters of [A-Za-z0-9_-]",
            ));
        }
        if cfg.connect_timeout.is_zero() || cfg.request_timeout.is_zero() {
            return Err(config_error(
                "connect_timeout_ms and request_timeout_ms must be greater than zero",
            ));
        }
        let signer = RequestSigner::new(&cfg.api_key_id, &cfg.api_secret)
            .map_err(|e| config_error(e.to_string()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            // The API never redirects; following one could send a signed request elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tpe-worldline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| config_error("the HTTP client cannot be built"))?;
        Ok(Self {
            http,
            base,
            merchant_id: cfg.merchant_id.clone(),
            signer,
        })
    }

    /// `base` + `/v2/{merchantId}/` + the segments (each checked).
    fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        if let Some(bad) = segments.iter().find(|s| !is_segment(s)) {
            let _ = bad;
            return Err(invalid_request(
                "bank_transaction_id",
                "an id in an API path must be 1 to 64 characters of [A-Za-z0-9_-]",
            ));
        }
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .push("v2")
                .push(&self.merchant_id)
                .extend(segments);
        }
        Ok(url)
    }

    /// Sends a signed request and reads the JSON answer into `T`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&serde_json::Value>,
        idempotence_key: Option<&str>,
        now: Timestamp,
    ) -> Result<T, ProviderError> {
        let url = self.url(segments)?;
        let date = http_date(now);
        let mut headers: Vec<(&str, &str)> = vec![("Date", &date)];
        if body.is_some() {
            headers.push(("Content-Type", JSON));
        }
        if let Some(key) = idempotence_key {
            if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid_request(
                    "idempotency_key",
                    "must be 1 to 128 visible ASCII characters",
                ));
            }
            headers.push((IDEMPOTENCE_HEADER, key));
        }
        let to_sign = string_to_sign(method.as_str(), &headers, url.path())
            .map_err(|e| invalid_request("headers", e.to_string()))?;
        let mut auth = http::HeaderValue::from_str(&self.signer.sign(&to_sign))
            .map_err(|_| config_error("api_key_id cannot be sent in a header"))?;
        auth.set_sensitive(true);
        let mut req = self
            .http
            .request(method, url)
            .header(DATE, &date)
            .header(AUTHORIZATION, auth);
        if let Some(key) = idempotence_key {
            req = req.header(IDEMPOTENCE_HEADER, key);
        }
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, JSON).body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| transport(true, e))?;
        let status = resp.status();
        let declared = resp.content_length();
        let buf = read_bounded(resp, declared, MAX_RESPONSE, |r| Box::pin(r.chunk()))
            .await
            .map_err(|e| e.into_provider_error(&crate::Worldline::ID))?;
        if !status.is_success() {
            return Err(error_from_response(status, &buf));
        }
        serde_json::from_slice(&buf).map_err(|e| {
            transport(
                false,
                Unreadable(format!("unreadable API answer: {e}").into()),
            )
        })
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    error_code: Option<String>,
    code: Option<String>,
    message: Option<String>,
    property_name: Option<String>,
    retriable: Option<bool>,
}

/// Types an API error (spec §G.10): 400 invalid request, 401 authentication, 402 payment
/// rejected, 403 not allowed, 404/410 unknown object, 409 with `1409` an idempotent request
/// still running (retryable), 429 rate limit, 5xx platform error (retryable unless the body
/// says `retriable: false`). Messages are bounded and stripped of control characters.
pub(crate) fn error_from_response(status: StatusCode, body: &[u8]) -> ProviderError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).unwrap_or_default();
    let first = parsed.errors.into_iter().next().unwrap_or_default();
    let code = first.error_code.clone().or(first.code.clone());
    let (kind, retryable) = match status.as_u16() {
        400 | 404 | 410 => (ApiErrorKind::InvalidRequest, false),
        401 => (ApiErrorKind::Authentication, false),
        402 => (ApiErrorKind::Refused, false),
        403 => (ApiErrorKind::Permission, false),
        409 => (ApiErrorKind::Idempotency, code.as_deref() == Some("1409")),
        429 => (ApiErrorKind::RateLimit, true),
        500..=599 => (ApiErrorKind::Server, first.retriable != Some(false)),
        _ => (ApiErrorKind::Server, false),
    };
    let mut message = match &first.message {
        Some(m) => bounded(m, MAX_ERROR_MESSAGE),
        None if body.is_empty() => format!("HTTP {}", status.as_u16()),
        None => format!("HTTP {} with an unreadable error body", status.as_u16()),
    };
    if let Some(p) = &first.property_name {
        message.push_str(&format!(" (property {})", bounded(p, 100)));
    }
    api(
        kind,
        Some(status.as_u16()),
        code.map(|c| bounded(&c, 32)),
        message,
        retryable,
    )
}

fn bounded(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn typed(status: u16, body: &str) -> (ApiErrorKind, bool, Option<String>, String) {
        match error_from_response(StatusCode::from_u16(status).unwrap(), body.as_bytes()) {
            ProviderError::Api {
                kind,
                retryable,
                code,
                message,
                ..
            } => (kind, retryable, code, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn api_errors_are_typed() {
        use ApiErrorKind as K;
        let sdk = r#"{"errorId": "0953f236", "errors": [{"code": "21000020", "requestId": "24146", "message": "VALUE **************** OF FIELD CREDITCARDNUMBER DID NOT PASS THE LUHNCHECK", "httpStatusCode": 400}]}"#;
        let (k, r, c, m) = typed(400, sdk);
        assert_eq!(
            (k, r, c.as_deref()),
            (K::InvalidRequest, false, Some("21000020"))
        );
        assert!(m.contains("LUHNCHECK"));
        let busy =
            r#"{"errors":[{"errorCode":"1409","code":"x","category":"DIRECT_PLATFORM_ERROR"}]}"#;
        assert_eq!(typed(409, busy).0, K::Idempotency);
        assert!(typed(409, busy).1);
        assert!(!typed(409, "{}").1);
        assert_eq!(typed(401, "").0, K::Authentication);
        assert_eq!(typed(403, "").0, K::Permission);
        assert_eq!(typed(402, "{}").0, K::Refused);
        assert_eq!(typed(404, "{}").0, K::InvalidRequest);
        assert!(typed(503, "").1);
        assert!(!typed(500, r#"{"errors":[{"retriable":false}]}"#).1);
        assert_eq!(
            typed(502, "<html>").3,
            "HTTP 502 with an unreadable error body"
        );
        let prop = r#"{"errors":[{"errorCode":"x","message":"bad\nvalue","propertyName":"order.amountOfMoney"}]}"#;
        assert_eq!(
            typed(400, prop).3,
            "badvalue (property order.amountOfMoney)"
        );
    }

    #[test]
    fn segments_are_plain() {
        assert!(is_segment("3254564310_0"));
        for bad in ["", "a/b", "a%2F", "..", &"x".repeat(65)] {
            assert!(!is_segment(bad), "{bad}");
        }
    }
}
