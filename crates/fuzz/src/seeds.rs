//! Valid inputs to start from: the known-answer vectors kept in the repository (each citing its
//! source), read once.

use serde_json::Value;

/// The Paybox vectors (`crates/paybox/tests/data`).
pub const PAYBOX_VECTORS: &str = include_str!("../../paybox/tests/data/paybox-vectors.json");
/// The vectors of the other providers (`crates/lyra/tests/data`, a copy of the spec's
/// `other-vectors.json`).
pub const OTHER_VECTORS: &str = include_str!("../../lyra/tests/data/other-vectors.json");

/// The entries of one section (`"lyra_vads"`, `"worldline_gcs"`, ...) of a vector file.
///
/// # Panics
/// When the file or the section is not what the repository ships (a broken test setup).
pub fn section(file: &str, name: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(file).expect("vector file is JSON");
    all[name]
        .as_array()
        .unwrap_or_else(|| panic!("no vector section {name}"))
        .clone()
}

/// A string field of a vector.
///
/// # Panics
/// When the field is missing or not a string.
pub fn text<'a>(vector: &'a Value, field: &str) -> &'a str {
    vector[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector {} has no text {field}", vector["name"]))
}

/// A vector's `fields` (an object, in the order `serde_json` keeps, or a list of pairs) as
/// pairs.
pub fn pairs(vector: &Value, field: &str) -> Vec<(String, String)> {
    match &vector[field] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// `application/x-www-form-urlencoded` bytes of `fields`, in order.
pub fn form_body(fields: &[(String, String)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_used_is_there() {
        assert!(!section(PAYBOX_VECTORS, "rsa_response").is_empty());
        for name in [
            "stripe",
            "lyra_vads",
            "lyra_rest",
            "monetico",
            "worldline_gcs",
        ] {
            assert!(!section(OTHER_VECTORS, name).is_empty(), "{name}");
        }
    }
}
