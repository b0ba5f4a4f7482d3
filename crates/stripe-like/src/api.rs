//! The PSP's REST API (spec §A.2, §A.5): bearer authentication, form-encoded bodies,
//! `Idempotency-Key`, bounded responses, and errors typed from the HTTP status and the
//! `{"error":{…}}` body.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tpe_core::api::read_bounded;
use tpe_core::{ApiErrorKind, ProviderError};
use url::Url;

use crate::config::StripeLikeConfig;
use crate::error::{api, config_error, invalid_request, transport};
use tpe_core::Unreadable;

/// Largest API response read, in bytes (a list of 100 sessions stays well below).
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Longest API error message kept, in characters.
pub const MAX_ERROR_MESSAGE: usize = 300;

/// An authenticated client of the PSP's API.
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: Url,
    secret_key: SecretString,
    auth: HeaderValue,
    version: Option<HeaderValue>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for a checked configuration.
    pub(crate) fn new(cfg: &StripeLikeConfig) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            // The API never redirects; following one could send the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tpe-stripe-like/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| config_error("the HTTP client cannot be built"))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.secret_key.expose_secret()))
            .map_err(|_| config_error("secret_key cannot be sent in a header"))?;
        auth.set_sensitive(true);
        let version = cfg
            .api_version
            .as_deref()
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| config_error("api_version cannot be sent in a header"))?;
        Ok(Self {
            http,
            base: cfg.api_base.clone(),
            secret_key: cfg.secret_key.clone(),
            auth,
            version,
        })
    }

    /// `base` + the path segments (each percent-encoded) + the query pairs.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `GET` and read the JSON answer into `T`.
    pub(crate) async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        url: Url,
    ) -> Result<T, ProviderError> {
        let body = self.send(self.http.get(url)).await?;
        parse(&body)
    }

    /// `POST` a form body with an `Idempotency-Key` and read the JSON answer into `T`.
    pub(crate) async fn post_form<T: for<'de> Deserialize<'de>>(
        &self,
        url: Url,
        form: String,
        idempotency_key: &str,
    ) -> Result<T, ProviderError> {
        check_idempotency_key(idempotency_key)?;
        let req = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Idempotency-Key", idempotency_key)
            .body(form);
        let body = self.send(req).await?;
        parse(&body)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Bytes, ProviderError> {
        let mut req = req.header(AUTHORIZATION, self.auth.clone());
        if let Some(v) = &self.version {
            req = req.header("Stripe-Version", v.clone());
        }
        let resp = req.send().await.map_err(|e| transport(true, e))?;
        let status = resp.status();
        let declared = resp.content_length();
        let body = read_bounded(resp, declared, MAX_RESPONSE, |r| Box::pin(r.chunk()))
            .await
            .map_err(|e| e.into_provider_error(&crate::StripeLike::ID))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(error_from_response(
                status,
                &body,
                self.secret_key.expose_secret(),
            ))
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| {
        transport(
            false,
            Unreadable(format!("unreadable API answer: {e}").into()),
        )
    })
}

/// 1 to 255 visible ASCII characters, as the PSP requires.
pub(crate) fn check_idempotency_key(key: &str) -> Result<(), ProviderError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid_request(
            "idempotency_key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    error: Option<ErrorObject>,
}

#[derive(Deserialize, Default)]
struct ErrorObject {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

/// Types an API error from the HTTP status and the `{"error":{…}}` body, as the PSP's own SDK
/// does: 400/404 invalid request (or idempotency, or rate limit with `code=rate_limit`), 401
/// authentication, 402 card, 403 permission, 409 idempotency conflict (retryable), 429 rate
/// limit (retryable), 5xx server (retryable). The message is bounded and never repeats
/// `secret_key`.
pub(crate) fn error_from_response(
    status: StatusCode,
    body: &[u8],
    secret_key: &str,
) -> ProviderError {
    let err = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default();
    let type_is = |t: &str| err.kind.as_deref() == Some(t);
    let code_is = |c: &str| err.code.as_deref() == Some(c);
    let (kind, retryable) = match status.as_u16() {
        400 | 404 if type_is("idempotency_error") => (ApiErrorKind::Idempotency, false),
        400 if code_is("rate_limit") => (ApiErrorKind::RateLimit, true),
        400 | 404 => (ApiErrorKind::InvalidRequest, false),
        401 => (ApiErrorKind::Authentication, false),
        402 => (ApiErrorKind::Card, false),
        403 => (ApiErrorKind::Permission, false),
        409 => (ApiErrorKind::Idempotency, true),
        429 => (ApiErrorKind::RateLimit, true),
        500..=599 => (ApiErrorKind::Server, true),
        _ => (ApiErrorKind::Server, false),
    };
    let code = match kind {
        ApiErrorKind::Card => err.decline_code.clone().or(err.code.clone()),
        _ => err.code.clone(),
    }
    .map(|c| bounded(&c, 64, secret_key));
    let message = match &err.message {
        Some(m) => bounded(m, MAX_ERROR_MESSAGE, secret_key),
        None if body.is_empty() => format!("HTTP {}", status.as_u16()),
        None => format!("HTTP {} with an unreadable error body", status.as_u16()),
    };
    api(kind, Some(status.as_u16()), code, message, retryable)
}

/// Without control characters, at most `max` characters, and with `secret` blanked out.
fn bounded(s: &str, max: usize, secret: &str) -> String {
    let s = if !secret.is_empty() && s.contains(secret) {
        s.replace(secret, "[redacted]")
    } else {
        s.to_owned()
    };
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> (ApiErrorKind, bool, Option<String>, String) {
        match error_from_response(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            "sk_test_SECRET",
        ) {
            ProviderError::Api {
                kind,
                retryable,
                code,
                message,
                status: s,
                ..
            } => {
                assert_eq!(s, Some(status));
                (kind, retryable, code, message)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn api_errors_are_typed_from_status_and_body() {
        use ApiErrorKind as K;
        let e = |t: &str, c: &str| {
            format!(r#"{{"error":{{"type":"{t}","code":"{c}","message":"m"}}}}"#)
        };
        let card = r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;
        let table: &[(u16, String, K, bool, Option<&str>)] = &[
            (
                400,
                e("invalid_request_error", "parameter_missing"),
                K::InvalidRequest,
                false,
                Some("parameter_missing"),
            ),
            (
                404,
                e("invalid_request_error", "resource_missing"),
                K::InvalidRequest,
                false,
                Some("resource_missing"),
            ),
            (
                400,
                e("idempotency_error", "idempotency_key_in_use"),
                K::Idempotency,
                false,
                Some("idempotency_key_in_use"),
            ),
            (
                400,
                e("invalid_request_error", "rate_limit"),
                K::RateLimit,
                true,
                Some("rate_limit"),
            ),
            (
                401,
                e("invalid_request_error", "api_key_expired"),
                K::Authentication,
                false,
                Some("api_key_expired"),
            ),
            (
                402,
                card.to_owned(),
                K::Card,
                false,
                Some("insufficient_funds"),
            ),
            (
                403,
                e("invalid_request_error", "secret_key_required"),
                K::Permission,
                false,
                Some("secret_key_required"),
            ),
            (
                409,
                e("idempotency_error", "lock_timeout"),
                K::Idempotency,
                true,
                Some("lock_timeout"),
            ),
            (
                429,
                e("invalid_request_error", "rate_limit"),
                K::RateLimit,
                true,
                Some("rate_limit"),
            ),
            (500, e("api_error", "x"), K::Server, true, Some("x")),
            (503, String::new(), K::Server, true, None),
            (
                502,
                "<html>bad gateway</html>".to_owned(),
                K::Server,
                true,
                None,
            ),
            (302, String::new(), K::Server, false, None),
        ];
        for (status, body, kind, retryable, code) in table {
            let (k, r, c, _) = classify(*status, body);
            assert_eq!(
                (k, r, c.as_deref()),
                (*kind, *retryable, *code),
                "{status} {body}"
            );
        }
        assert_eq!(classify(402, card).3, "Your card has insufficient funds.");
        assert_eq!(
            classify(502, "<html>").3,
            "HTTP 502 with an unreadable error body"
        );
        assert_eq!(classify(503, "").3, "HTTP 503");
    }

    #[test]
    fn error_messages_are_bounded_and_never_echo_the_key() {
        let body = format!(
            r#"{{"error":{{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_SECRET\n{}"}}}}"#,
            "x".repeat(5000)
        );
        let (_, _, _, m) = classify(401, &body);
        assert!(!m.contains("SECRET") && m.contains("[redacted]"));
        assert!(m.chars().count() <= MAX_ERROR_MESSAGE && !m.contains('\n'));
        let e = error_from_response(StatusCode::UNAUTHORIZED, body.as_bytes(), "sk_test_SECRET");
        assert!(!e.to_string().contains("SECRET") && !format!("{e:?}").contains("SECRET"));
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(check_idempotency_key("tpe-1").is_ok());
        assert!(check_idempotency_key(&"k".repeat(255)).is_ok());
        for bad in ["", "a b", "é", &"k".repeat(256)] {
            assert!(check_idempotency_key(bad).is_err(), "{bad}");
        }
    }
}
