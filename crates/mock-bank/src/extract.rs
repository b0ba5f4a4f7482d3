//! Request extractors shared by the banks: the form pairs of a request, bounded.
//!
//! Each bank answers a malformed form in its own format (an error page, a Direct answer, a JSON
//! error), so [`Form`] hands the parse result to the handler instead of rejecting the request;
//! only a body that cannot be read at all (over `max_body_bytes`) is rejected, by axum itself.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::any::Any;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::Method;

use crate::state::{BankState, Store};

/// At most this many fields in one form.
const MAX_FIELDS: usize = 100;
/// At most this many bytes in one field name.
const MAX_NAME: usize = 64;
/// At most this many bytes in one value.
const MAX_VALUE: usize = 4096;

/// Why a form was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum FormError {
    /// The bytes are not `application/x-www-form-urlencoded`.
    #[error("the form is not valid x-www-form-urlencoded")]
    Malformed,
    /// More fields than [`MAX_FIELDS`].
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// A name or a value over its bound; carries the (truncated) field name.
    #[error("field {0} too long")]
    TooLong(String),
}

/// The ordered `name=value` pairs of a form, decoded by `serde_urlencoded` and bounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Decodes and bounds `raw` (a query string or a form body).
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, FormError> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(raw).map_err(|_| FormError::Malformed)?;
        if fields.len() > MAX_FIELDS {
            return Err(FormError::TooManyFields);
        }
        if let Some((k, _)) = fields
            .iter()
            .find(|(k, v)| k.len() > MAX_NAME || v.len() > MAX_VALUE)
        {
            return Err(FormError::TooLong(k.chars().take(MAX_NAME).collect()));
        }
        Ok(Self(fields))
    }

    /// The value of the first field called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first field called `name`, or `""`.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The pairs in the order received.
    pub(crate) fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }

    /// What the customer typed in the card form of `card.html` (`numero`, `expiry`, `cvv`).
    pub(crate) fn card_entry(&self) -> CardEntry {
        CardEntry {
            pan: self
                .text("numero")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
            expiry: self.text("expiry").replace('/', ""),
            cvv: self.text("cvv").to_owned(),
        }
    }
}

/// A card typed in a payment page: the number without spaces, the expiry `MMYY` without its
/// slash, the security code; each bank checks the rest its own way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CardEntry {
    /// The card number, white space removed.
    pub(crate) pan: String,
    /// The expiry, `/` removed.
    pub(crate) expiry: String,
    /// The security code.
    pub(crate) cvv: String,
}

impl CardEntry {
    /// 12 to 19 digits.
    pub(crate) fn pan_ok(&self) -> bool {
        (12..=19).contains(&self.pan.len()) && self.pan.bytes().all(|b| b.is_ascii_digit())
    }

    /// 3 or 4 digits.
    pub(crate) fn cvv_ok(&self) -> bool {
        (3..=4).contains(&self.cvv.len()) && self.cvv.bytes().all(|b| b.is_ascii_digit())
    }

    /// Four digits (the month is not checked).
    pub(crate) fn expiry_digits(&self) -> bool {
        self.expiry.len() == 4 && self.expiry.bytes().all(|b| b.is_ascii_digit())
    }
}

/// A bank whose payment pages are named by `{id}` in the path.
pub(crate) trait PageBank: Store + Any + Send + Sync {
    /// The bank's answer for a session it does not know, or cannot use.
    fn unknown_page() -> Response;

    /// Whether a page can still be used (all can, unless the bank says otherwise).
    fn usable(_page: &Self::Page) -> bool {
        true
    }
}

/// The usable page session of bank `B` named by `{id}` in the path; the bank's
/// [`PageBank::unknown_page`] otherwise.
pub(crate) struct PageSession<B: PageBank>(pub(crate) B::Page);

impl<B: PageBank> FromRequestParts<BankState> for PageSession<B> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &BankState) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let page = state.bank::<B>().session(&id).filter(B::usable);
        page.map(Self).ok_or_else(B::unknown_page)
    }
}

/// The form of a request: the query string of a `GET` (or `HEAD`), the body of any other
/// method. Holds the parse result; see the module docs.
pub(crate) struct Form(pub(crate) Result<Pairs, FormError>);

impl Form {
    /// The pairs, or none when the form was malformed (for pages that ignore a bad form).
    pub(crate) fn or_empty(self) -> Pairs {
        self.0.unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            let query = req.uri().query().unwrap_or_default();
            return Ok(Self(Pairs::parse(query.as_bytes())));
        }
        let body = Bytes::from_request(req, state).await?;
        Ok(Self(Pairs::parse(&body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_order_and_bounds() {
        let p = Pairs::parse(b"b=2&a=1&b=3").unwrap_or_default();
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.text("c"), "");
        assert_eq!(p.as_slice().len(), 3);
        let many = vec!["x=1"; MAX_FIELDS + 1].join("&");
        assert_eq!(Pairs::parse(many.as_bytes()), Err(FormError::TooManyFields));
        let long = format!("v={}", "a".repeat(MAX_VALUE + 1));
        assert_eq!(
            Pairs::parse(long.as_bytes()),
            Err(FormError::TooLong("v".into()))
        );
    }
}

#[cfg(test)]
mod card_tests {
    use super::*;

    #[test]
    fn card_entry_strips_spaces_and_the_slash() {
        let form =
            Pairs::parse(b"numero=4970+1000+0000+0000&expiry=12%2F30&cvv=123").unwrap_or_default();
        let card = form.card_entry();
        assert_eq!(
            (card.pan.as_str(), card.expiry.as_str()),
            ("4970100000000000", "1230")
        );
        assert!(card.pan_ok() && card.cvv_ok() && card.expiry_digits());
        let bad = Pairs::parse(b"numero=12&expiry=1%2F3&cvv=12345")
            .unwrap_or_default()
            .card_entry();
        assert!(!bad.pan_ok() && !bad.cvv_ok() && !bad.expiry_digits());
    }
}
