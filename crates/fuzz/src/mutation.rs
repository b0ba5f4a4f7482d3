//! Structure-aware mutations of a valid input: each one breaks the input the way a faulty or
//! hostile sender would (a flipped bit, a cut, a duplicated or swapped field, a value encoded
//! another way, bytes that are not UTF-8, a length blown up), knowing where the input's fields
//! are so most mutations stay close enough to valid to reach deep into the parser.

use bolero::generator::TypeGenerator;

/// Largest input a mutation may produce: well above every bound the parsers set (so a bound is
/// reached and refused), small enough to keep a run fast.
pub const MAX_MUTATED_LEN: usize = 64 * 1024;

/// How an input is divided into fields, for the mutations that work on fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shape {
    /// `application/x-www-form-urlencoded`: fields split on `&`, names on `=`.
    Form,
    /// JSON text: fields split on `,`, names on `:`.
    Json,
    /// Lines of `KEY=value` or TOML: fields split on newlines, names on `=`.
    Lines,
    /// A signature header followed by a body, the header being `k=v,k=v`: fields split on `,`
    /// and newlines, names on `=`.
    Header,
}

impl Shape {
    fn field_separators(self) -> &'static [u8] {
        match self {
            Self::Form => b"&",
            Self::Json => b",",
            Self::Lines => b"\n",
            Self::Header => b",\n",
        }
    }

    fn name_separator(self) -> u8 {
        match self {
            Self::Form | Self::Lines | Self::Header => b'=',
            Self::Json => b':',
        }
    }
}

/// One change to an input. Positions and field numbers are taken modulo the input's length or
/// field count, so every generated value applies to every input.
#[derive(Debug, Clone, PartialEq, Eq, TypeGenerator)]
#[non_exhaustive]
pub enum Mutation {
    /// Flips one bit of one byte.
    FlipBit {
        /// Byte position.
        at: u32,
        /// Bit number (modulo 8).
        bit: u8,
    },
    /// Replaces one byte.
    SetByte {
        /// Byte position.
        at: u32,
        /// New value.
        value: u8,
    },
    /// Removes a range of bytes.
    Cut {
        /// First byte removed.
        at: u32,
        /// Bytes removed.
        len: u16,
    },
    /// Keeps only the bytes before a position.
    Truncate {
        /// New length.
        at: u32,
    },
    /// Copies a range of bytes right after itself.
    DuplicateRange {
        /// First byte copied.
        at: u32,
        /// Bytes copied.
        len: u16,
    },
    /// Copies a field right after itself (with its separator).
    DuplicateField {
        /// Field number.
        field: u8,
    },
    /// Removes a field.
    DropField {
        /// Field number.
        field: u8,
    },
    /// Exchanges two fields.
    SwapFields {
        /// One field number.
        a: u8,
        /// The other field number.
        b: u8,
    },
    /// Percent-encodes every byte of a field's value (`%41` for `A`).
    PercentEncodeValue {
        /// Field number.
        field: u8,
    },
    /// Decodes the percent escapes and `+` of a field's value (what a careless relay does).
    PercentDecodeValue {
        /// Field number.
        field: u8,
    },
    /// Re-encodes a field's value: UTF-8 to Latin-1, or to JSON `\u` escapes in JSON.
    ReEncodeValue {
        /// Field number.
        field: u8,
    },
    /// Replaces a field's value with nothing.
    EmptyValue {
        /// Field number.
        field: u8,
    },
    /// Replaces the digits of a field's value with a huge number.
    InflateNumber {
        /// Field number.
        field: u8,
    },
    /// Repeats a field's value many times (a length far beyond any the bank sends).
    InflateLength {
        /// Field number.
        field: u8,
        /// How many copies (the result stays under [`MAX_MUTATED_LEN`]).
        times: u16,
    },
    /// Inserts bytes that are not UTF-8.
    InsertInvalidUtf8 {
        /// Byte position.
        at: u32,
        /// Which sequence (modulo the list).
        which: u8,
    },
    /// Inserts one syntax character of some input format (`&`, `=`, `%`, `"`, `{`, `\`, ...).
    InsertSyntax {
        /// Byte position.
        at: u32,
        /// Which character (modulo the list).
        which: u8,
    },
    /// Inserts arbitrary bytes.
    InsertBytes {
        /// Byte position.
        at: u32,
        /// The bytes (at most 64 are used).
        bytes: Vec<u8>,
    },
}

/// Sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an overlong
/// encoding, a surrogate, a byte never valid, and a Latin-1 `é`.
const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xC3",
    b"\xC0\xAF",
    b"\xED\xA0\x80",
    b"\xFF",
    b"\xE9",
    b"\xF4\x90\x80\x80",
];

/// Characters with a meaning in one of the formats parsed.
const SYNTAX: &[&[u8]] = &[
    b"&", b"=", b"%", b"%2", b"%zz", b"+", b"\"", b"{", b"}", b"[", b"]", b"\\", b":", b",", b"\n",
    b"\r\n", b"\0", b"<", b">", b"'", b"#", b";", b"*", b"|", b".", b"\\u0000",
];

impl Mutation {
    /// Applies this mutation to `input`, seen as `shape`.
    pub fn apply(&self, input: &mut Vec<u8>, shape: Shape) {
        match self {
            Self::FlipBit { at, bit } => {
                if let Some(i) = pos(*at, input.len()) {
                    input[i] ^= 1 << (bit % 8);
                }
            }
            Self::SetByte { at, value } => {
                if let Some(i) = pos(*at, input.len()) {
                    input[i] = *value;
                }
            }
            Self::Cut { at, len } => {
                if let Some(i) = pos(*at, input.len()) {
                    let end = i.saturating_add(usize::from(*len)).min(input.len());
                    input.drain(i..end);
                }
            }
            Self::Truncate { at } => {
                if let Some(i) = pos(*at, input.len()) {
                    input.truncate(i);
                }
            }
            Self::DuplicateRange { at, len } => {
                if let Some(i) = pos(*at, input.len()) {
                    let end = i.saturating_add(usize::from(*len)).min(input.len());
                    let copy = input[i..end].to_vec();
                    splice(input, end..end, &copy);
                }
            }
            Self::DuplicateField { field } => {
                if let Some(f) = nth_field(input, shape, *field) {
                    let mut copy = input[f.start..f.end].to_vec();
                    copy.insert(0, shape.field_separators()[0]);
                    splice(input, f.end..f.end, &copy);
                }
            }
            Self::DropField { field } => {
                if let Some(f) = nth_field(input, shape, *field) {
                    // The field and the separator after it, if any.
                    let end = (f.end + 1).min(input.len());
                    input.drain(f.start..end);
                }
            }
            Self::SwapFields { a, b } => swap_fields(input, shape, *a, *b),
            Self::PercentEncodeValue { field } => map_value(input, shape, *field, |v| {
                v.iter()
                    .flat_map(|b| format!("%{b:02X}").into_bytes())
                    .collect()
            }),
            Self::PercentDecodeValue { field } => map_value(input, shape, *field, |v| {
                let plus_as_space: Vec<u8> = v
                    .iter()
                    .map(|&b| if b == b'+' { b' ' } else { b })
                    .collect();
                percent_encoding::percent_decode(&plus_as_space).collect()
            }),
            Self::ReEncodeValue { field } => {
                let json = shape == Shape::Json;
                map_value(input, shape, *field, |v| re_encode(v, json));
            }
            Self::EmptyValue { field } => map_value(input, shape, *field, |_| Vec::new()),
            Self::InflateNumber { field } => map_value(input, shape, *field, |v| {
                let mut out = Vec::with_capacity(v.len() + 40);
                let mut done = false;
                for &b in v {
                    if b.is_ascii_digit() {
                        if !done {
                            out.extend_from_slice(b"184467440737095516161844674407370955161");
                            done = true;
                        }
                    } else {
                        out.push(b);
                    }
                }
                if !done {
                    out.extend_from_slice(b"99999999999999999999");
                }
                out
            }),
            Self::InflateLength { field, times } => {
                let room = MAX_MUTATED_LEN.saturating_sub(input.len());
                map_value(input, shape, *field, |v| {
                    let n = usize::from(*times).max(2);
                    let copies = if v.is_empty() {
                        0
                    } else {
                        n.min(room / v.len())
                    };
                    let mut out = Vec::with_capacity(v.len().saturating_mul(copies.max(1)));
                    out.extend_from_slice(v);
                    for _ in 1..copies {
                        out.extend_from_slice(v);
                    }
                    if v.is_empty() {
                        out.resize(n.min(room), b'9');
                    }
                    out
                });
            }
            Self::InsertInvalidUtf8 { at, which } => {
                let bytes = INVALID_UTF8[usize::from(*which) % INVALID_UTF8.len()];
                let i = insert_pos(*at, input.len());
                splice(input, i..i, bytes);
            }
            Self::InsertSyntax { at, which } => {
                let bytes = SYNTAX[usize::from(*which) % SYNTAX.len()];
                let i = insert_pos(*at, input.len());
                splice(input, i..i, bytes);
            }
            Self::InsertBytes { at, bytes } => {
                let i = insert_pos(*at, input.len());
                let bytes = &bytes[..bytes.len().min(64)];
                splice(input, i..i, bytes);
            }
        }
        input.truncate(MAX_MUTATED_LEN);
    }
}

/// A position inside a non-empty input.
fn pos(at: u32, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::try_from(at).unwrap_or(usize::MAX) % len)
}

/// A position inside or at the end of an input.
fn insert_pos(at: u32, len: usize) -> usize {
    usize::try_from(at).unwrap_or(usize::MAX) % (len + 1)
}

fn splice(input: &mut Vec<u8>, range: std::ops::Range<usize>, with: &[u8]) {
    input.splice(range, with.iter().copied());
}

/// The byte ranges of the fields (separators excluded), in order.
pub fn fields(input: &[u8], shape: Shape) -> Vec<std::ops::Range<usize>> {
    let seps = shape.field_separators();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in input.iter().enumerate() {
        if seps.contains(b) {
            out.push(start..i);
            start = i + 1;
        }
    }
    out.push(start..input.len());
    out
}

fn nth_field(input: &[u8], shape: Shape, n: u8) -> Option<std::ops::Range<usize>> {
    let all = fields(input, shape);
    let i = usize::from(n) % all.len();
    all.into_iter().nth(i)
}

/// The value part of a field: after the name separator, without JSON quotes.
fn value_of(input: &[u8], shape: Shape, field: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    let piece = &input[field.clone()];
    let start = match piece.iter().position(|&b| b == shape.name_separator()) {
        Some(eq) => field.start + eq + 1,
        None => field.start,
    };
    let mut range = start..field.end;
    if shape == Shape::Json {
        let v = &input[range.clone()];
        if let (Some(open), Some(close)) = (
            v.iter().position(|&b| b == b'"'),
            v.iter().rposition(|&b| b == b'"'),
        ) && open < close
        {
            range = range.start + open + 1..range.start + close;
        }
    }
    range
}

fn map_value(input: &mut Vec<u8>, shape: Shape, field: u8, f: impl FnOnce(&[u8]) -> Vec<u8>) {
    if let Some(field) = nth_field(input, shape, field) {
        let value = value_of(input, shape, &field);
        let new = f(&input[value.clone()]);
        splice(input, value, &new);
    }
}

fn swap_fields(input: &mut Vec<u8>, shape: Shape, a: u8, b: u8) {
    let all = fields(input, shape);
    let (a, b) = (usize::from(a) % all.len(), usize::from(b) % all.len());
    if a == b {
        return;
    }
    let (first, second) = (all[a.min(b)].clone(), all[a.max(b)].clone());
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first.start]);
    out.extend_from_slice(&input[second.clone()]);
    out.extend_from_slice(&input[first.end..second.start]);
    out.extend_from_slice(&input[first]);
    out.extend_from_slice(&input[second.end..]);
    *input = out;
}

/// UTF-8 text re-encoded: as JSON `\u` escapes (same meaning to a JSON reader, other bytes), or
/// as Latin-1 (one byte per character up to U+00FF, `?` beyond).
fn re_encode(v: &[u8], json: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(v);
    if json {
        text.encode_utf16()
            .flat_map(|u| format!("\\u{u:04x}").into_bytes())
            .collect()
    } else {
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(m: Mutation, input: &str, shape: Shape) -> String {
        let mut bytes = input.as_bytes().to_vec();
        m.apply(&mut bytes, shape);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn field_mutations_follow_the_shape() {
        let form = "a=1&b=2&c=3";
        assert_eq!(
            apply(Mutation::SwapFields { a: 0, b: 2 }, form, Shape::Form),
            "c=3&b=2&a=1"
        );
        assert_eq!(
            apply(Mutation::DuplicateField { field: 1 }, form, Shape::Form),
            "a=1&b=2&b=2&c=3"
        );
        assert_eq!(
            apply(Mutation::DropField { field: 0 }, form, Shape::Form),
            "b=2&c=3"
        );
        assert_eq!(
            apply(Mutation::PercentEncodeValue { field: 4 }, form, Shape::Form),
            "a=1&b=%32&c=3"
        );
        assert_eq!(
            apply(Mutation::InflateNumber { field: 2 }, form, Shape::Form),
            "a=1&b=2&c=184467440737095516161844674407370955161"
        );
        assert_eq!(
            apply(
                Mutation::ReEncodeValue { field: 0 },
                r#"{"a":"é"}"#,
                Shape::Json
            ),
            r#"{"a":"\u00e9"}"#
        );
        assert_eq!(
            apply(
                Mutation::InflateLength { field: 0, times: 3 },
                "k=ab",
                Shape::Lines
            ),
            "k=ababab"
        );
    }

    #[test]
    fn byte_mutations_stay_in_bounds() {
        for m in [
            Mutation::FlipBit { at: 99, bit: 9 },
            Mutation::Cut {
                at: 7,
                len: u16::MAX,
            },
            Mutation::Truncate { at: u32::MAX },
            Mutation::DuplicateRange { at: 3, len: 900 },
            Mutation::InsertInvalidUtf8 { at: 5, which: 200 },
            Mutation::InsertSyntax { at: 0, which: 255 },
        ] {
            let _ = apply(m.clone(), "", Shape::Form);
            let _ = apply(m, "a=1&b=2", Shape::Form);
        }
        let mut big = vec![b'x'; 10];
        Mutation::InflateLength {
            field: 0,
            times: u16::MAX,
        }
        .apply(&mut big, Shape::Lines);
        assert!(big.len() <= MAX_MUTATED_LEN);
    }
}
