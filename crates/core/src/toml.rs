//! TOML configuration text (feature `toml`): a provider's schema read from a file's text, with
//! errors that name the offending key and never quote a value.

use serde::de::DeserializeOwned;

use crate::env::blank_quotes;

/// Deserializes `text` into the schema `T`.
///
/// ```
/// use tpe_core::instalments::InstalmentSettings;
/// let s: InstalmentSettings = tpe_core::toml::from_str("min_amount = 5000")?;
/// assert_eq!(s.min_amount, 5000);
/// # Ok::<(), String>(())
/// ```
///
/// # Errors
/// The [`error_message`] of the document's first error.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    ::toml::from_str(text).map_err(|e| error_message(text, &e))
}

/// A TOML error without any value: serde quotes values in its messages (`string "…"`,
/// `` variant `…` ``), so every quoted part is blanked, and the key of the offending line is
/// named instead, with its line.
///
/// ```
/// #[derive(Debug, serde::Deserialize)]
/// struct C { #[allow(dead_code)] mode: u8 }
/// let text = "mode = \"SECRET\"\n";
/// let message = tpe_core::toml::from_str::<C>(text).unwrap_err();
/// assert!(message.contains("(key mode) (line 1)") && !message.contains("SECRET"), "{message}");
/// ```
pub fn error_message(text: &str, e: &::toml::de::Error) -> String {
    let mut out = format!("TOML: {}", blank_quotes(e.message()));
    let key = e.span().and_then(|span| {
        let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
        let line = text.get(line_start..)?.lines().next()?;
        let key = line.split('=').next()?.trim();
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then_some(key)
    });
    if let Some(key) = key {
        out.push_str(&format!(" (key {key})"));
    }
    if let Some(span) = e.span() {
        let line = text.get(..span.start).unwrap_or(text).matches('\n').count() + 1;
        out.push_str(&format!(" (line {line})"));
    }
    out
}
