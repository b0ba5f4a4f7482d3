//! Reading verified JSON without copying: [`JsonStr`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A JSON string borrowed from the body unless it had escapes, also inside an `Option`.
///
/// serde's `#[serde(borrow)]` borrows a `Cow<'a, str>` field but not an `Option<Cow<'a, str>>`
/// (that one is always copied); webhook payloads are mostly optional strings, read on the hot
/// path of every notification, after their signature is verified.
///
/// ```
/// use tpe_core::JsonStr;
/// #[derive(serde::Deserialize)]
/// struct Event<'a> {
///     #[serde(borrow)]
///     id: Option<JsonStr<'a>>,
/// }
/// let body = r#"{"id":"evt_1"}"#;
/// let e: Event<'_> = serde_json::from_str(body).unwrap();
/// assert!(matches!(e.id.unwrap().0, std::borrow::Cow::Borrowed("evt_1")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStr<'a>(pub Cow<'a, str>);

impl JsonStr<'_> {
    /// The empty string, for `#[serde(default = "JsonStr::empty")]`.
    pub fn empty() -> Self {
        Self(Cow::Borrowed(""))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}
