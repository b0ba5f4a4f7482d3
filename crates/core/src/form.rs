//! Strict decoding of `application/x-www-form-urlencoded` bytes (a notification's body or
//! query), for every form bank: ordered fields, each with its raw span, so a raw-bytes scheme
//! can find the signed bytes and a canonical-form scheme can rebuild the bank's string.
//!
//! Decoding is `percent-encoding`'s; this module only adds what a bank notification needs on
//! top: refusal of broken escapes and of invalid UTF-8 (where `form_urlencoded` would replace
//! them silently), bounds, and duplicate detection.

use std::borrow::Cow;
use std::ops::Range;

/// Bounds on a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormLimits {
    /// Most fields.
    pub max_fields: usize,
    /// Longest name, in bytes as received.
    pub max_name: usize,
    /// Longest value, in bytes as received.
    pub max_value: usize,
}

impl FormLimits {
    /// 256 fields, names of 64 bytes, values of 8 KiB: more than any bank sends.
    pub const NOTIFICATION: Self = Self {
        max_fields: 256,
        max_name: 64,
        max_value: 8 * 1024,
    };
}

/// One decoded field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField<'a> {
    /// Decoded name.
    pub name: Cow<'a, str>,
    /// Decoded value.
    pub value: Cow<'a, str>,
    /// The raw bytes of `name=value` in the input.
    pub span: Range<usize>,
}

/// A form decoded strictly, fields in the order received.
///
/// ```
/// use tpe_core::form::{Form, FormLimits};
/// let raw = b"Mt=1000&Ref=CMD%2042&K=abc";
/// let form = Form::parse(raw, FormLimits::NOTIFICATION)?;
/// assert_eq!(form.required("Ref")?, "CMD 42");
/// let k = form.last("K").unwrap();
/// assert_eq!(&raw[..k.span.start - 1], b"Mt=1000&Ref=CMD%2042"); // the signed bytes
/// assert!(Form::parse(b"a=%zz", FormLimits::NOTIFICATION).is_err());
/// # Ok::<(), tpe_core::form::FormError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form<'a> {
    fields: Vec<FormField<'a>>,
}

impl<'a> Form<'a> {
    /// Decodes `raw`. Empty pieces (`a=1&&b=2`) are skipped, as browsers and `form_urlencoded`
    /// do; a piece without `=` is a field with an empty value.
    ///
    /// # Errors
    /// [`FormError`] for a broken `%` escape, invalid UTF-8 after decoding, an empty name, or
    /// a bound exceeded.
    pub fn parse(raw: &'a [u8], limits: FormLimits) -> Result<Self, FormError> {
        // Escapes are ASCII, so a body is nearly always valid UTF-8 as received: checked once
        // here, every name and value without an escape is then borrowed without another
        // check (bench `lyra/baseline_form_parse`: one check per field was a sixth of it).
        let text = std::str::from_utf8(raw).ok();
        // Where the body has escapes (`%`, `+`), found in one search: a name or value with
        // none is borrowed as it is.
        let mut escapes = memchr::memchr2_iter(b'%', b'+', raw).peekable();
        // One allocation for the fields (bounded, whatever the count of `&`).
        let pieces = memchr::memchr_iter(b'&', raw).count() + 1;
        let mut fields = Vec::with_capacity(pieces.min(limits.max_fields));
        let mut start = 0;
        let ends = memchr::memchr_iter(b'&', raw).chain(std::iter::once(raw.len()));
        for end in ends {
            let span = start..end;
            start = end + 1;
            if span.is_empty() {
                continue;
            }
            if fields.len() == limits.max_fields {
                return Err(FormError::TooManyFields {
                    max: limits.max_fields,
                });
            }
            let piece = &raw[span.clone()];
            let (name, value) = match memchr::memchr(b'=', piece) {
                Some(eq) => (span.start..span.start + eq, span.start + eq + 1..span.end),
                None => (span.clone(), span.end..span.end),
            };
            if name.is_empty() {
                return Err(FormError::EmptyName {
                    position: span.start,
                });
            }
            if name.len() > limits.max_name {
                return Err(FormError::TooLong {
                    what: "name",
                    position: span.start,
                    max: limits.max_name,
                });
            }
            if value.len() > limits.max_value {
                return Err(FormError::TooLong {
                    what: "value",
                    position: span.start,
                    max: limits.max_value,
                });
            }
            let mut escaped = |at: &Range<usize>| {
                while escapes.next_if(|&i| i < at.start).is_some() {}
                escapes.peek().is_some_and(|&i| i < at.end)
            };
            let (name_escaped, value_escaped) = (escaped(&name), escaped(&value));
            fields.push(FormField {
                name: decode(raw, text, name, name_escaped)?,
                value: decode(raw, text, value, value_escaped)?,
                span,
            });
        }
        Ok(Self { fields })
    }

    /// The fields in the order received.
    pub fn fields(&self) -> &[FormField<'a>] {
        &self.fields
    }

    /// The last field named `name`.
    pub fn last(&self, name: &str) -> Option<&FormField<'a>> {
        self.fields.iter().rev().find(|f| f.name == name)
    }

    /// The value of the only field named `name`, if any.
    ///
    /// # Errors
    /// [`FormError::Duplicate`] when the name appears twice.
    pub fn unique(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut found = self.fields.iter().filter(|f| f.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(FormError::Duplicate {
                name: bounded(name),
            });
        }
        Ok(first.map(|f| f.value.as_ref()))
    }

    /// The value of the only field named `name`.
    ///
    /// # Errors
    /// [`FormError::Missing`] or [`FormError::Duplicate`].
    pub fn required(&self, name: &str) -> Result<&str, FormError> {
        self.unique(name)?.ok_or_else(|| FormError::Missing {
            name: bounded(name),
        })
    }

    /// The first name that appears twice, if any.
    pub fn first_duplicate(&self) -> Option<&str> {
        self.fields.iter().enumerate().find_map(|(i, f)| {
            self.fields[..i]
                .iter()
                .any(|g| g.name == f.name)
                .then_some(f.name.as_ref())
        })
    }
}

/// `+` is a space, then percent-decoding: the bytes `at` of `body` (whose UTF-8 text is
/// `text` when valid); borrowed when not `escaped`.
fn decode<'a>(
    body: &'a [u8],
    text: Option<&'a str>,
    at: Range<usize>,
    escaped: bool,
) -> Result<Cow<'a, str>, FormError> {
    let position = at.start;
    let raw = &body[at.clone()];
    if !escaped {
        return match text.and_then(|t| t.get(at)) {
            Some(s) => Ok(Cow::Borrowed(s)),
            None => std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| FormError::NotUtf8 { position }),
        };
    }
    // `percent_encoding` passes a broken escape through; a bank's form never has one.
    if let Some(i) = memchr::memchr_iter(b'%', raw).find(|&i| {
        !raw.get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    }) {
        return Err(FormError::BadEscape {
            position: position + i,
        });
    }
    let decoded: Cow<'_, [u8]> = if raw.contains(&b'+') {
        // Decoded between the `+`, into one buffer: a `+` decoded from `%2B` stays a `+`.
        let mut out = Vec::with_capacity(raw.len());
        for (i, part) in raw.split(|&b| b == b'+').enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend(percent_encoding::percent_decode(part));
        }
        Cow::Owned(out)
    } else {
        percent_encoding::percent_decode(raw).into()
    };
    match decoded {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|e| e.utf8_error()),
    }
    .map_err(|_| FormError::NotUtf8 { position })
}

/// `fields` form-encoded in their order, then `name=signature` last: a signed form as a
/// form bank posts it (for tests, tools and the mock bank).
///
/// ```
/// let body = tpe_core::form::encode_signed(&[("a", "x y"), ("b", "é")], "signature", "s+/=");
/// assert_eq!(body, "a=x+y&b=%C3%A9&signature=s%2B%2F%3D");
/// ```
pub fn encode_signed(fields: &[(&str, &str)], name: &str, signature: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair(name, signature)
        .finish()
}

fn bounded(name: &str) -> String {
    name.chars().take(64).collect()
}

/// Why a form was refused. Positions are byte offsets in the raw input; no value is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A `%` not followed by two hexadecimal digits.
    #[error("broken percent escape at byte {position}")]
    BadEscape {
        /// Offset of the `%`.
        position: usize,
    },
    /// A name or value that is not UTF-8 once decoded.
    #[error("name or value at byte {position} is not UTF-8 once decoded")]
    NotUtf8 {
        /// Offset of the name or value.
        position: usize,
    },
    /// `=value` without a name.
    #[error("field at byte {position} has no name")]
    EmptyName {
        /// Offset of the field.
        position: usize,
    },
    /// A name or value over its bound.
    #[error("{what} of the field at byte {position} exceeds {max} bytes")]
    TooLong {
        /// `"name"` or `"value"`.
        what: &'static str,
        /// Offset of the field.
        position: usize,
        /// The bound.
        max: usize,
    },
    /// More fields than allowed.
    #[error("more than {max} fields")]
    TooManyFields {
        /// The bound.
        max: usize,
    },
    /// A field expected once appears twice.
    #[error("field {name} appears more than once")]
    Duplicate {
        /// Its name.
        name: String,
    },
    /// A required field is absent.
    #[error("field {name} is missing")]
    Missing {
        /// Its name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(raw: &[u8]) -> Result<Form<'_>, FormError> {
        Form::parse(raw, FormLimits::NOTIFICATION)
    }

    #[test]
    fn strict_where_form_urlencoded_is_lenient() {
        assert_eq!(parse(b"a=%4"), Err(FormError::BadEscape { position: 2 }));
        assert_eq!(parse(b"x=1&a=%FF"), Err(FormError::NotUtf8 { position: 6 }));
        // Invalid as received, with or without escapes elsewhere.
        assert_eq!(
            parse(b"x=1&a=\xC3"),
            Err(FormError::NotUtf8 { position: 6 })
        );
        assert_eq!(
            parse(b"x=%41&\xFF=1"),
            Err(FormError::NotUtf8 { position: 6 })
        );
        assert_eq!(
            parse(b"x=\xC3\xA9").unwrap().required("x").unwrap(),
            "\u{e9}"
        );
        assert_eq!(parse(b"=1"), Err(FormError::EmptyName { position: 0 }));
        let many = "a=1&".repeat(257);
        assert_eq!(
            parse(many.as_bytes()),
            Err(FormError::TooManyFields { max: 256 })
        );
    }

    #[test]
    fn spans_duplicates_and_lookups() {
        let raw = b"A=1&&B=x+y%21&A=2&C";
        let f = parse(raw).unwrap();
        let names: Vec<_> = f.fields().iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["A", "B", "A", "C"]);
        assert_eq!(&raw[f.fields()[1].span.clone()], b"B=x+y%21");
        assert_eq!(f.required("B").unwrap(), "x y!");
        assert_eq!(f.required("C").unwrap(), "");
        assert_eq!(f.first_duplicate(), Some("A"));
        assert!(matches!(f.required("A"), Err(FormError::Duplicate { .. })));
        assert!(matches!(f.required("Z"), Err(FormError::Missing { .. })));
        assert_eq!(f.last("A").unwrap().value, "2");
        // An escaped `+` is a `+`, a bare one a space, wherever they stand.
        let f = parse(b"D=%2B+%2b++x%20+").unwrap();
        assert_eq!(f.required("D").unwrap(), "+ +  x  ");
    }

    proptest! {
        // Oracle: on every input we accept, the values equal form_urlencoded's.
        #[test]
        fn agrees_with_form_urlencoded(raw in proptest::collection::vec(
            prop_oneof![Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'), Just(b'A'), Just(b'f'),
                        Just(b'3'), Just(0xC3u8), Just(0xA9u8), any::<u8>()], 0..64)) {
            if let Ok(form) = parse(&raw) {
                let ours: Vec<(String, String)> = form.fields().iter()
                    .map(|f| (f.name.to_string(), f.value.to_string())).collect();
                let theirs: Vec<(String, String)> = url::form_urlencoded::parse(&raw)
                    .map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
