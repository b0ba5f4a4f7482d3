//! The bytes of a quarantined notification, kept so that it can be verified and applied again
//! once the shop has fixed what set it aside (a checkout created late, a key corrected).

use std::fmt;

use tpe_core::{HttpMethod, NotificationLimits, NotificationTooLarge, RawNotification};

/// Headers never kept: credentials and cookies are no part of any bank's signature.
const NEVER_KEPT: [http::HeaderName; 4] = [
    http::header::AUTHORIZATION,
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
    http::header::SET_COOKIE,
];

/// Most header bytes kept (names and values): far above any bank's signature headers, far
/// below a request's own limit.
pub const MAX_RAW_HEADERS: usize = 16 * 1024;

/// A notification exactly as received: method, query, body and the headers a bank's signature
/// may cover (content type, `Stripe-Signature`, `X-GCS-Signature`…). Cookies and credentials
/// are dropped, and so is a header whose value is not visible ASCII. The body and the query
/// stay within [`RawNotification::MAX_BODY`] and [`RawNotification::MAX_QUERY`], since they
/// come from a [`RawNotification`].
///
/// ```
/// use tpe_core::{HttpMethod, NotificationLimits, RawNotification};
/// use tpe_store::RawCopy;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
/// headers.insert("cookie", "session=secret".parse().unwrap());
/// let raw = RawNotification::new(HttpMethod::Post, "", "a=1&b=2", headers, None).unwrap();
/// let copy = RawCopy::of(&raw);
/// let again = copy.to_notification(NotificationLimits::FORM).unwrap();
/// assert_eq!(again.body(), raw.body());
/// assert!(again.headers().get("cookie").is_none());
/// assert!(again.headers().get("content-type").is_some());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RawCopy {
    pub(crate) method: HttpMethod,
    pub(crate) query: Vec<u8>,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(String, String)>,
}

impl fmt::Debug for RawCopy {
    // The bytes may carry personal data: sizes only, as for `RawNotification`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawCopy")
            .field("method", &self.method)
            .field("query_len", &self.query.len())
            .field("body_len", &self.body.len())
            .field("headers", &self.headers.len())
            .finish()
    }
}

impl RawCopy {
    /// The copy of `raw` the quarantine keeps.
    pub fn of(raw: &RawNotification) -> Self {
        let mut size = 0;
        let headers = raw
            .headers()
            .iter()
            .filter(|(name, _)| !NEVER_KEPT.contains(name))
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                size += name.as_str().len() + value.len();
                (size <= MAX_RAW_HEADERS).then(|| (name.as_str().to_owned(), value.to_owned()))
            })
            .collect();
        Self {
            method: raw.method(),
            query: raw.query().to_vec(),
            body: raw.body().to_vec(),
            headers,
        }
    }

    /// The notification again, held to `limits` (the provider's own) as the live route holds it.
    ///
    /// # Errors
    /// [`NotificationTooLarge`] when the copy exceeds `limits`.
    pub fn to_notification(
        &self,
        limits: NotificationLimits,
    ) -> Result<RawNotification, NotificationTooLarge> {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &self.headers {
            // Both were valid when kept; a row edited by hand loses the header it broke.
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        RawNotification::within(
            limits,
            self.method,
            self.query.clone(),
            self.body.clone(),
            headers,
            None,
        )
    }

    pub(crate) fn method_name(&self) -> &'static str {
        match self.method {
            HttpMethod::Get => "GET",
            _ => "POST",
        }
    }

    pub(crate) fn parse_method(name: &str) -> Option<HttpMethod> {
        match name {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_dropped_and_headers_bounded() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "authorization",
            "Bearer x".parse().unwrap_or_else(|_| unreachable!()),
        );
        headers.insert(
            "x-gcs-signature",
            "abc=".parse().unwrap_or_else(|_| unreachable!()),
        );
        let big = "a".repeat(MAX_RAW_HEADERS);
        headers.insert("x-big", big.parse().unwrap_or_else(|_| unreachable!()));
        let raw = RawNotification::new(HttpMethod::Get, "q=1", "", headers, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let copy = RawCopy::of(&raw);
        let names: Vec<_> = copy.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-gcs-signature"]);
        assert_eq!((copy.method_name(), &copy.query[..]), ("GET", &b"q=1"[..]));
        assert_eq!(RawCopy::parse_method("GET"), Some(HttpMethod::Get));
        assert_eq!(RawCopy::parse_method("PUT"), None);
    }
}
