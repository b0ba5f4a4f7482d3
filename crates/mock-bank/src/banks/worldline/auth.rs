//! The request check of the platform (spec §G.3), written from the spec: the
//! `Authorization: GCS v1HMAC:<key id>:<base64>` header recomputed over the method, the
//! `Content-Type` and `Date` as received, the `x-gcs` headers (lower-cased, line breaks
//! folded, sorted) and the path with its query; compared in constant time. A refusal has the
//! platform's error shape (spec §G.10) and the configured status.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::json;

use crate::config::WorldlineMerchant;
use crate::layer::Note;
use crate::state::BankState;

/// The merchant authenticated by the request's signature (and named in its path).
pub(super) struct Merchant {
    pub(super) merchant: WorldlineMerchant,
    pub(super) headers: HeaderMap,
}

impl FromRequestParts<BankState> for Merchant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &BankState) -> Result<Self, Response> {
        let resource = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let path_merchant = parts.uri.path().split('/').nth(2).unwrap_or_default();
        match check(state, parts.method.as_str(), &parts.headers, &resource, path_merchant) {
            Ok(merchant) => Ok(Self {
                merchant,
                headers: parts.headers.clone(),
            }),
            Err(why) => {
                let status = StatusCode::from_u16(state.config().worldline_auth_failure_status)
                    .unwrap_or(StatusCode::UNAUTHORIZED);
                Err(Note::new(None, why).attach(error(
                    status,
                    "9007",
                    "AUTHORIZATION",
                    "the request is not authorised (GCS v1HMAC signature)",
                )))
            }
        }
    }
}

/// An error answer in the platform's shape.
pub(super) fn error(status: StatusCode, code: &str, id: &str, message: &str) -> Response {
    let body = json!({
        "errorId": crate::random_hex(16),
        "errors": [{
            "errorCode": code,
            "code": code,
            "category": "DIRECT_PLATFORM_ERROR",
            "httpStatusCode": status.as_u16(),
            "id": id,
            "message": message,
            "retriable": status.is_server_error(),
        }],
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A header value as text, `""` when absent or not text.
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An `x-gcs` value folded: each line break and the blanks after it become one space; trimmed.
pub(super) fn fold(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('\n') {
        let line = &rest[..i];
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push(' ');
        rest = rest[i + 1..].trim_start_matches(|c: char| c.is_whitespace() && c != '\r' && c != '\n');
    }
    out.push_str(rest);
    out.trim().to_owned()
}

/// The string the client signed.
pub(super) fn signed_string(method: &str, headers: &HeaderMap, resource: &str) -> Option<String> {
    let date = text(headers, "date")?;
    let content_type = text(headers, "content-type").unwrap_or_default();
    let mut gcs: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-gcs"))
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), fold(v.to_str().ok()?))))
        .collect();
    gcs.sort();
    let lines: String = gcs.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    Some(format!(
        "{}\n{content_type}\n{date}\n{lines}{resource}\n",
        method.to_uppercase()
    ))
}

/// The merchant whose API key signed the request, or why not.
fn check(
    state: &BankState,
    method: &str,
    headers: &HeaderMap,
    resource: &str,
    path_merchant: &str,
) -> Result<WorldlineMerchant, &'static str> {
    let auth = text(headers, "authorization").ok_or("no_authorization")?;
    let rest = auth.strip_prefix("GCS v1HMAC:").ok_or("not_gcs_v1hmac")?;
    let (key_id, signature) = rest.rsplit_once(':').ok_or("malformed_authorization")?;
    let merchant = state
        .config()
        .worldline_merchants
        .iter()
        .find(|m| m.api_key_id == key_id)
        .ok_or("unknown_api_key")?;
    let tag = STANDARD
        .decode(signature)
        .map_err(|_| "malformed_signature")?;
    let to_sign = signed_string(method, headers, resource).ok_or("no_date")?;
    let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(merchant.api_secret.expose().as_bytes())
        .map_err(|_| "bad_key")?;
    mac.chain_update(to_sign.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| "bad_signature")?;
    if merchant.merchant_id != path_merchant {
        return Err("merchant_mismatch");
    }
    Ok(merchant.clone())
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn values_fold_as_the_spec_says() {
        for (input, expected) in [
            ("aap\nnoot  ", "aap noot"),
            (" aap\r\n  noot", "aap noot"),
            ("a\r\nb\r\nc", "a b c"),
            ("   ", ""),
            ("", ""),
            (" some value  \r\n \n with  some \r\n  spaces ", "some value    with  some  spaces"),
        ] {
            assert_eq!(fold(input), expected, "{input:?}");
        }
    }
}
