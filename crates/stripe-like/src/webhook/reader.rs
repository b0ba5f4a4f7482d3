//! A single-pass reader of the event JSON into [`Event`]: the fields read are decoded, every other
//! byte is checked and skipped.
//!
//! It accepts only what `serde_json::from_str::<Event>` accepts, with the same values: what it
//! refuses, `parse_event` hands to serde_json, which decides and words the error. It mirrors
//! serde_json 1 (`from_str`, derived structs):
//! - the body is UTF-8; whitespace is space, tab, CR and LF; nothing follows the top object;
//! - strings: control characters are errors, escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`; a
//!   string read (a field's value or a key of an object read) is decoded and a `\u` surrogate
//!   must be half of a pair, while a skipped string needs only four hex digits after `\u`;
//! - a known field twice is an error, `null` included; unknown fields are skipped, repeated or
//!   not;
//! - an amount is a `u64`: digits, no leading zero, no sign, fraction or exponent, no overflow.
//!
//! Left to serde_json ([`Fail::Deferred`]): a struct written as an array (serde reads one) and
//! skipped values nested more than [`MAX_SKIP_DEPTH`] deep (serde_json skips any depth).
//!
//! Speed: a pass the compiler vectorizes looks for a backslash or a control character. Without
//! one (compact JSON, no escape: `PLAIN`), the body is checked for UTF-8 at once and a string
//! ends at its first quote. With one (pretty-printed JSON, which tells at its first newline),
//! string ends are also looked for at `\\`, control characters and non-ASCII bytes, and each
//! non-ASCII character is checked where it is. A local cursor moves through small inlined
//! steps, compact JSON first, writing into the caller's [`Event`]; string ends are found eight
//! bytes at a time, and so are the ends of runs of spaces (indentation). A key of a length no
//! field of its struct has is skipped at once; others are told apart by their first and last
//! eight bytes, through a perfect hash. The MAC follows the reader (`Progress`). Measured in
//! the crate README.

use std::borrow::Cow;

use super::{Data, Event, Metadata, PaymentError, PaymentIntentRef, SessionObject, Str};
use crate::signature::Progress;

/// Deepest nesting of a skipped value read here.
pub(super) const MAX_SKIP_DEPTH: u32 = 64;

/// Why the reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// Not an event serde_json reads either.
    Invalid,
    /// A shape left to serde_json.
    Deferred,
}

use Fail::{Deferred, Invalid};

pub(super) type Read<T> = Result<T, Fail>;

/// Reads `body` into `event` as serde_json reads an [`Event`] from it. On failure `event` may
/// be partly written.
pub(super) fn read_event<'a, P: Progress>(
    body: &'a [u8],
    event: &mut Event<'a>,
    p: &mut P,
) -> Read<()> {
    // The MAC's first blocks, for this pass to run in their shadow.
    p.reached(2 * 64);
    // Has the body a `\\` or a control character? Then it is read on the general path, which
    // checks each non-ASCII character where it is (only a string may hold one). A
    // pretty-printed body tells at its first newline, and needs no pass of its own.
    let mut all = 0u8;
    for chunk in body.chunks(64) {
        // Vectorized by the compiler.
        let (special, bits) = chunk.iter().fold((false, 0u8), |(special, bits), &b| {
            (special | (b == b'\\') | (b < 0x20), bits | b)
        });
        if special {
            return read::<false, P>(body, event, p);
        }
        all |= bits;
    }
    // Without them (compact JSON, no escape), a string ends at its first quote: `PLAIN` looks
    // for nothing else, and the body is checked for UTF-8 here, at once.
    if !all.is_ascii() && std::str::from_utf8(body).is_err() {
        return Err(Invalid);
    }
    read::<true, P>(body, event, p)
}

fn read<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    event: &mut Event<'a>,
    p: &mut P,
) -> Read<()> {
    let i = ws(s, 0);
    let i = match byte(s, i) {
        b'{' => i + 1,
        b'[' => return Err(Deferred),
        _ => return Err(Invalid),
    };
    let mut seen = 0u16;
    const KEYS: u32 = Key::lengths(&[Key::ID, Key::TYPE, Key::DATA]);
    let i = members::<PLAIN, P>(s, i, KEYS, p, |p, i, key| match key {
        Key::ID => {
            once(&mut seen, 0)?;
            str_field::<PLAIN>(s, i, &mut event.id)
        }
        Key::TYPE => {
            once(&mut seen, 1)?;
            str_field::<PLAIN>(s, i, &mut event.kind)
        }
        Key::DATA => {
            once(&mut seen, 2)?;
            data::<PLAIN, P>(s, i, &mut event.data, p)
        }
        _ => skip_value::<PLAIN, P>(s, i, p),
    })?;
    // `type` and `data` are required.
    if seen & 0b110 != 0b110 || ws(s, i) != s.len() {
        return Err(Invalid);
    }
    Ok(())
}

impl Event<'_> {
    /// An event with nothing read yet, for [`read_event`] to fill.
    pub(super) const EMPTY: Self = Event {
        id: Str(Cow::Borrowed("")),
        kind: Str(Cow::Borrowed("")),
        data: Data {
            object: SessionObject::EMPTY,
        },
    };
}

impl SessionObject<'_> {
    const EMPTY: Self = SessionObject {
        id: None,
        object: None,
        client_reference_id: None,
        amount_total: None,
        amount: None,
        currency: None,
        payment_status: None,
        metadata: None,
        payment_intent: None,
        last_payment_error: None,
    };
}

/// Marks field `bit` of a struct as read: serde refuses a known field twice.
#[inline(always)]
fn once(seen: &mut u16, bit: u8) -> Read<()> {
    let bit = 1 << bit;
    if *seen & bit != 0 {
        return Err(Invalid);
    }
    *seen |= bit;
    Ok(())
}

/// The byte at `i`, 0 past the end (0 is valid nowhere, so it ends everything).
#[inline(always)]
fn byte(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// The index of the first byte at or after `i` that is not whitespace. Runs of spaces (the
/// indentation of pretty-printed JSON) are crossed eight bytes at a time.
#[inline(always)]
fn ws(s: &[u8], mut i: usize) -> usize {
    // One test of a byte, not a jump per kind of whitespace: a newline then spaces, the
    // indentation of pretty-printed JSON, takes one turn.
    while matches!(byte(s, i), b' ' | b'\n' | b'\t' | b'\r') {
        i = spaces(s, i + 1);
    }
    i
}

/// The index of the first byte at or after `i` that is not a space.
#[inline(always)]
fn spaces(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let other = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(b' '));
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while s.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// `i` if `b` is there, else after whitespace; `Invalid` when `b` is not next.
#[inline(always)]
fn at_byte(s: &[u8], i: usize, b: u8) -> Read<usize> {
    if byte(s, i) == b {
        return Ok(i);
    }
    let i = ws(s, i);
    if byte(s, i) == b { Ok(i) } else { Err(Invalid) }
}

/// `i` past `lit`, which must be there.
#[inline(always)]
fn literal(s: &[u8], i: usize, lit: &[u8]) -> Read<usize> {
    if s.get(i..i + lit.len()) == Some(lit) {
        Ok(i + lit.len())
    } else {
        Err(Invalid)
    }
}

/// The members of an object read into a struct, from after its `{` to after its `}`. Each key
/// is decoded and numbered ([`Key`]) when its length is in `lengths`; `known` reads the value
/// of a numbered key at the index it is given (whitespace not skipped) and returns the index
/// after it. Other values are skipped.
#[inline(always)]
fn members<const PLAIN: bool, P: Progress>(
    s: &[u8],
    i: usize,
    lengths: u32,
    p: &mut P,
    mut known: impl FnMut(&mut P, usize, u8) -> Read<usize>,
) -> Read<usize> {
    let mut i = i;
    if byte(s, i) != b'"' {
        i = ws(s, i);
        match byte(s, i) {
            b'"' => {}
            b'}' => return Ok(i + 1),
            _ => return Err(Invalid),
        }
    }
    loop {
        p.reached(i);
        // At the opening quote of a key.
        let start = i + 1;
        let (close, escaped) = string_close::<PLAIN, true>(s, start)?;
        let len = close - start;
        let key = if escaped {
            Key::of_escaped(&s[start..close])?
        } else if (lengths >> len.min(31)) & 1 != 0 {
            Key::at(s, start, close)
        } else {
            0
        };
        i = at_byte(s, close + 1, b':')? + 1;
        i = if key == 0 {
            skip_value::<PLAIN, P>(s, i, p)?
        } else {
            known(p, i, key)?
        };
        let mut c = byte(s, i);
        if c <= b' ' {
            i = ws(s, i);
            c = byte(s, i);
        }
        match c {
            b',' => i = at_byte(s, i + 1, b'"')?,
            b'}' => return Ok(i + 1),
            _ => return Err(Invalid),
        }
    }
}

/// Known keys, numbered from 1; 0 is any other key.
struct Key;

impl Key {
    const ID: u8 = 1;
    const TYPE: u8 = 2;
    const DATA: u8 = 3;
    const OBJECT: u8 = 4;
    const CLIENT_REFERENCE_ID: u8 = 5;
    const AMOUNT_TOTAL: u8 = 6;
    const AMOUNT: u8 = 7;
    const CURRENCY: u8 = 8;
    const PAYMENT_STATUS: u8 = 9;
    const METADATA: u8 = 10;
    const PAYMENT_INTENT: u8 = 11;
    const LAST_PAYMENT_ERROR: u8 = 12;
    const TPE_REFERENCE: u8 = 13;
    const DECLINE_CODE: u8 = 14;
    const CODE: u8 = 15;

    /// The key of each number, from 1.
    const NAMES: [&'static [u8]; 15] = [
        b"id",
        b"type",
        b"data",
        b"object",
        b"client_reference_id",
        b"amount_total",
        b"amount",
        b"currency",
        b"payment_status",
        b"metadata",
        b"payment_intent",
        b"last_payment_error",
        b"tpe_reference",
        b"decline_code",
        b"code",
    ];

    /// The set of the lengths of `keys`, one bit per length: a key of another length is none
    /// of them, which is cheaper to tell than its number.
    const fn lengths(keys: &[u8]) -> u32 {
        let mut set = 0;
        let mut n = 0;
        while n < keys.len() {
            let len = Self::NAMES[keys[n] as usize - 1].len();
            assert!(len < 31, "a key name is too long for the length set");
            set |= 1 << len;
            n += 1;
        }
        set
    }

    /// Multiplier of the perfect hash: it sends the signatures of the 15 names to distinct
    /// slots of [`Self::SLOTS`] (checked when the table is built).
    const MAGIC: u64 = 0xe544_6dd4_552b_82f7;

    /// The first and last 8 bytes of each name, as [`Self::words`] gives them, by number
    /// from 1.
    const WORDS: [(u64, u64); 15] = {
        let mut words = [(0, 0); 15];
        let mut n = 0;
        while n < Self::NAMES.len() {
            words[n] = Self::words(Self::NAMES[n]);
            n += 1;
        }
        words
    };

    /// Key number by hash slot, 0 for an empty slot.
    const SLOTS: [u8; 32] = {
        let mut slots = [0u8; 32];
        let mut n = 0;
        let mut number = 1;
        while n < Self::NAMES.len() {
            let (first, last) = Self::WORDS[n];
            let slot = Self::slot(Self::signature(first, last, Self::NAMES[n].len()));
            assert!(slots[slot] == 0, "two key names share a hash slot");
            slots[slot] = number;
            number += 1;
            n += 1;
        }
        slots
    };

    /// The first 8 bytes of `name` (zero-padded) and its last 8 (0 when shorter than 8).
    const fn words(name: &[u8]) -> (u64, u64) {
        let mut first = [0u8; 8];
        let mut last = [0u8; 8];
        let mut k = 0;
        while k < name.len() {
            if k < 8 {
                first[k] = name[k];
            }
            if name.len() >= 8 && k + 8 >= name.len() {
                last[k + 8 - name.len()] = name[k];
            }
            k += 1;
        }
        (u64::from_le_bytes(first), u64::from_le_bytes(last))
    }

    /// The signature of a key of `len` bytes: `first` is its first 8 bytes (zero-padded),
    /// `last` its last 8 bytes (0 when shorter than 8).
    #[inline(always)]
    const fn signature(first: u64, last: u64, len: usize) -> u64 {
        first ^ last.rotate_left(32) ^ len as u64
    }

    /// The hash slot of a signature.
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation, reason = "5 bits")]
    const fn slot(signature: u64) -> usize {
        (signature.wrapping_mul(Self::MAGIC) >> 59) as usize
    }

    /// The number of the key `s[start..end]` (unescaped), read in place: the bytes after it
    /// are masked off.
    #[inline(always)]
    fn at(s: &[u8], start: usize, end: usize) -> u8 {
        let len = end - start;
        let Some(first) = s.get(start..).and_then(<[u8]>::first_chunk::<8>) else {
            return Self::of(&s[start..end]);
        };
        let first = u64::from_le_bytes(*first);
        let (first, last) = if len >= 8 {
            let last = s[..end]
                .last_chunk::<8>()
                .map_or(0, |l| u64::from_le_bytes(*l));
            (first, last)
        } else {
            (first & ((1 << (8 * len)) - 1), 0)
        };
        Self::check(&s[start..end], first, last)
    }

    /// The number of `key`, anywhere.
    fn of(key: &[u8]) -> u8 {
        let (first, last) = Self::words(key);
        Self::check(key, first, last)
    }

    /// The number of an escaped key, once decoded.
    #[cold]
    fn of_escaped(raw: &[u8]) -> Read<u8> {
        Ok(Self::of(decode(raw)?.as_bytes()))
    }

    /// The number of `key` given its [`Self::words`]: the name in its hash slot, if that is
    /// `key`. Up to 16 bytes, the words and the length are the whole key.
    #[inline(always)]
    fn check(key: &[u8], first: u64, last: u64) -> u8 {
        let n = Self::SLOTS[Self::slot(Self::signature(first, last, key.len()))];
        let Some(k) = usize::from(n).checked_sub(1) else {
            return 0;
        };
        if Self::WORDS[k] == (first, last)
            && Self::NAMES[k].len() == key.len()
            && (key.len() <= 16 || Self::NAMES[k] == key)
        {
            n
        } else {
            0
        }
    }
}

/// After an opening quote at `i - 1`: the index of the closing quote, and whether the string
/// has escapes. The string is checked on the way; `STRICT` for a string decoded (a `\u`
/// surrogate must be half of a pair).
#[inline(always)]
fn string_close<const PLAIN: bool, const STRICT: bool>(s: &[u8], i: usize) -> Read<(usize, bool)> {
    let j = find_special::<PLAIN>(s, i);
    if byte(s, j) == b'"' {
        return Ok((j, false));
    }
    string_close_slow::<PLAIN, STRICT>(s, j)
}

/// [`string_close`] from a byte found that is no closing quote.
#[cold]
#[inline(never)]
fn string_close_slow<const PLAIN: bool, const STRICT: bool>(
    s: &[u8],
    mut j: usize,
) -> Read<(usize, bool)> {
    let mut escaped = false;
    loop {
        match byte(s, j) {
            b'"' => return Ok((j, escaped)),
            b'\\' if !PLAIN => {
                escaped = true;
                j = escape::<STRICT>(s, j + 1)?;
            }
            // Part of a character: the whole body was checked for a `PLAIN` read, this
            // character is checked otherwise.
            0x80.. if PLAIN => j += 1,
            0x80.. => j += utf8_len(s, j)?,
            // A control character, or the end.
            _ => return Err(Invalid),
        }
        j = find_special::<PLAIN>(s, j);
    }
}

/// The length of the UTF-8 character at `j`, which must be one: serde_json reads UTF-8 only.
fn utf8_len(s: &[u8], j: usize) -> Read<usize> {
    let len = match byte(s, j) {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return Err(Invalid),
    };
    let bytes = s.get(j..j + len).ok_or(Invalid)?;
    std::str::from_utf8(bytes).map_err(|_| Invalid)?;
    Ok(len)
}

/// The text of the string `s[start..end]` (no quotes), borrowed unless it has escapes.
fn text(s: &[u8], start: usize, end: usize, escaped: bool) -> Read<Cow<'_, str>> {
    let raw = s.get(start..end).ok_or(Invalid)?;
    if escaped {
        decode(raw).map(Cow::Owned)
    } else {
        std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| Invalid)
    }
}

/// A string at `i`, after whitespace: its text, and the index after it.
fn string<const PLAIN: bool>(s: &[u8], i: usize) -> Read<(Cow<'_, str>, usize)> {
    let i = at_byte(s, i, b'"')? + 1;
    let (close, escaped) = string_close::<PLAIN, true>(s, i)?;
    Ok((text(s, i, close, escaped)?, close + 1))
}

/// A `Str` field at `i`: a string, `null` refused.
fn str_field<'a, const PLAIN: bool>(s: &'a [u8], i: usize, out: &mut Str<'a>) -> Read<usize> {
    let (text, i) = string::<PLAIN>(s, i)?;
    *out = Str(text);
    Ok(i)
}

/// An `Option<Str>` field at `i`.
fn opt_str<'a, const PLAIN: bool>(s: &'a [u8], i: usize, out: &mut Option<Str<'a>>) -> Read<usize> {
    let i = ws(s, i);
    if byte(s, i) != b'"' {
        return literal(s, i, b"null");
    }
    let (text, i) = string::<PLAIN>(s, i)?;
    *out = Some(Str(text));
    Ok(i)
}

/// An `Option<u64>` field at `i`: what serde_json reads into a `u64`, or `null`.
fn opt_u64(s: &[u8], i: usize, out: &mut Option<u64>) -> Read<usize> {
    let mut i = ws(s, i);
    let mut n: u64 = 0;
    match byte(s, i) {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while let Some(&d @ b'0'..=b'9') = s.get(i) {
                // Past u64::MAX serde_json reads a float, which is not a u64 either.
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                    .ok_or(Invalid)?;
                i += 1;
            }
        }
        // A negative number, `-0` included, is no u64; nor is anything else.
        _ => return literal(s, i, b"null"),
    }
    // A fraction or an exponent makes a float, a digit after a leading zero no number.
    if let Some(b'.' | b'e' | b'E' | b'0'..=b'9') = s.get(i) {
        return Err(Invalid);
    }
    *out = Some(n);
    Ok(i)
}

/// Opens an object read into a struct: `Deferred` for an array (serde reads a struct from
/// one), `Invalid` for anything else. Returns the index after `{`.
fn open_struct(s: &[u8], i: usize) -> Read<usize> {
    let i = ws(s, i);
    match byte(s, i) {
        b'{' => Ok(i + 1),
        b'[' => Err(Deferred),
        _ => Err(Invalid),
    }
}

/// `data`: a struct with `object`, required.
fn data<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    out: &mut Data<'a>,
    p: &mut P,
) -> Read<usize> {
    let mut seen = 0u16;
    const KEYS: u32 = Key::lengths(&[Key::OBJECT]);
    let i = members::<PLAIN, P>(s, open_struct(s, i)?, KEYS, p, |p, i, key| {
        if key != Key::OBJECT {
            return skip_value::<PLAIN, P>(s, i, p);
        }
        once(&mut seen, 0)?;
        session_object::<PLAIN, P>(s, i, &mut out.object, p)
    })?;
    if seen == 0 {
        return Err(Invalid);
    }
    Ok(i)
}

fn session_object<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    o: &mut SessionObject<'a>,
    p: &mut P,
) -> Read<usize> {
    let mut seen = 0u16;
    const KEYS: u32 = Key::lengths(&[
        Key::ID,
        Key::OBJECT,
        Key::CLIENT_REFERENCE_ID,
        Key::AMOUNT_TOTAL,
        Key::AMOUNT,
        Key::CURRENCY,
        Key::PAYMENT_STATUS,
        Key::METADATA,
        Key::PAYMENT_INTENT,
        Key::LAST_PAYMENT_ERROR,
    ]);
    members::<PLAIN, P>(s, open_struct(s, i)?, KEYS, p, |p, i, key| {
        if key != Key::ID && !(Key::OBJECT..=Key::LAST_PAYMENT_ERROR).contains(&key) {
            return skip_value::<PLAIN, P>(s, i, p);
        }
        once(&mut seen, key)?;
        match key {
            Key::ID => opt_str::<PLAIN>(s, i, &mut o.id),
            Key::OBJECT => opt_str::<PLAIN>(s, i, &mut o.object),
            Key::CLIENT_REFERENCE_ID => opt_str::<PLAIN>(s, i, &mut o.client_reference_id),
            Key::AMOUNT_TOTAL => opt_u64(s, i, &mut o.amount_total),
            Key::AMOUNT => opt_u64(s, i, &mut o.amount),
            Key::CURRENCY => opt_str::<PLAIN>(s, i, &mut o.currency),
            Key::PAYMENT_STATUS => opt_str::<PLAIN>(s, i, &mut o.payment_status),
            Key::METADATA => opt_struct(s, i, &mut o.metadata, p, metadata::<PLAIN, P>),
            Key::PAYMENT_INTENT => payment_intent::<PLAIN, P>(s, i, &mut o.payment_intent, p),
            _ => opt_struct(
                s,
                i,
                &mut o.last_payment_error,
                p,
                payment_error::<PLAIN, P>,
            ),
        }
    })
}

/// `Option<struct>` at `i`: `null`, or the struct read by `read`.
fn opt_struct<'a, T, P>(
    s: &'a [u8],
    i: usize,
    out: &mut Option<T>,
    p: &mut P,
    read: impl FnOnce(&'a [u8], usize, &mut P) -> Read<(T, usize)>,
) -> Read<usize> {
    let i = ws(s, i);
    if byte(s, i) == b'n' {
        return literal(s, i, b"null");
    }
    let (value, i) = read(s, i, p)?;
    *out = Some(value);
    Ok(i)
}

/// A struct whose only fields read are two optional strings, keys `first` and `second`.
fn two_strings<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    p: &mut P,
    first: u8,
    second: u8,
) -> Read<([Option<Str<'a>>; 2], usize)> {
    let mut out = [None, None];
    let mut seen = 0u16;
    let keys = Key::lengths(&[first, second]);
    let i = members::<PLAIN, P>(s, open_struct(s, i)?, keys, p, |p, i, key| {
        let n = if key == first {
            0
        } else if key == second {
            1
        } else {
            return skip_value::<PLAIN, P>(s, i, p);
        };
        once(&mut seen, n)?;
        opt_str::<PLAIN>(s, i, &mut out[usize::from(n)])
    })?;
    Ok((out, i))
}

fn metadata<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    p: &mut P,
) -> Read<(Metadata<'a>, usize)> {
    let ([tpe_reference, decline_code], i) =
        two_strings::<PLAIN, P>(s, i, p, Key::TPE_REFERENCE, Key::DECLINE_CODE)?;
    let m = Metadata {
        tpe_reference,
        decline_code,
    };
    Ok((m, i))
}

fn payment_error<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    p: &mut P,
) -> Read<(PaymentError<'a>, usize)> {
    let ([code, decline_code], i) = two_strings::<PLAIN, P>(s, i, p, Key::CODE, Key::DECLINE_CODE)?;
    Ok((PaymentError { code, decline_code }, i))
}

/// `Option<PaymentIntentRef>` at `i`: an id (checked as a string decoded, then dropped), an
/// expanded object, or `null`; numbers, booleans and arrays are refused by its visitor.
fn payment_intent<'a, const PLAIN: bool, P: Progress>(
    s: &'a [u8],
    i: usize,
    out: &mut Option<PaymentIntentRef<'a>>,
    p: &mut P,
) -> Read<usize> {
    let i = ws(s, i);
    match byte(s, i) {
        b'"' => {
            let (close, _) = string_close::<PLAIN, true>(s, i + 1)?;
            *out = Some(PaymentIntentRef::Id);
            Ok(close + 1)
        }
        b'{' => {
            let mut last_payment_error = None;
            let mut seen = 0u16;
            const KEYS: u32 = Key::lengths(&[Key::LAST_PAYMENT_ERROR]);
            let i = members::<PLAIN, P>(s, i + 1, KEYS, p, |p, i, key| {
                if key != Key::LAST_PAYMENT_ERROR {
                    return skip_value::<PLAIN, P>(s, i, p);
                }
                once(&mut seen, 0)?;
                opt_struct(s, i, &mut last_payment_error, p, payment_error::<PLAIN, P>)
            })?;
            *out = Some(PaymentIntentRef::Object { last_payment_error });
            Ok(i)
        }
        _ => literal(s, i, b"null"),
    }
}

/// Skips the value at `i`, checking it as serde_json's `IgnoredAny` does; returns the index
/// after it.
#[inline(always)]
fn skip_value<const PLAIN: bool, P: Progress>(s: &[u8], i: usize, p: &mut P) -> Read<usize> {
    // Pretty-printed JSON puts one space after each colon.
    let i = if byte(s, i) == b' ' { i + 1 } else { i };
    match byte(s, i) {
        b'"' => Ok(string_close::<PLAIN, false>(s, i + 1)?.0 + 1),
        b'n' => literal(s, i, b"null"),
        b'f' => literal(s, i, b"false"),
        b't' => literal(s, i, b"true"),
        b'-' | b'0'..=b'9' => skip_number(s, i),
        _ => skip_nested::<PLAIN, P>(s, i, p),
    }
}

/// [`skip_value`] for a container, or after whitespace. Iterative: one bit per open
/// container, 1 for an object.
#[inline(never)]
fn skip_nested<const PLAIN: bool, P: Progress>(s: &[u8], mut i: usize, p: &mut P) -> Read<usize> {
    let mut stack: u64 = 0;
    let mut depth: u32 = 0;
    loop {
        // A value.
        let mut c = byte(s, i);
        if c <= b' ' {
            i = ws(s, i);
            c = byte(s, i);
        }
        i += 1;
        match c {
            b'"' => i = string_close::<PLAIN, false>(s, i)?.0 + 1,
            b'{' | b'[' => {
                // `}` is `{` + 2, `]` is `[` + 2.
                let j = ws(s, i);
                if byte(s, j) == c + 2 {
                    i = j + 1;
                } else {
                    if depth == MAX_SKIP_DEPTH {
                        return Err(Deferred);
                    }
                    depth += 1;
                    stack = (stack << 1) | u64::from(c == b'{');
                    if c == b'{' {
                        i = skipped_key::<PLAIN>(s, j)?;
                    }
                    continue;
                }
            }
            b'n' => i = literal(s, i, b"ull")?,
            b'f' => i = literal(s, i, b"alse")?,
            b't' => i = literal(s, i, b"rue")?,
            b'-' | b'0'..=b'9' => i = skip_number(s, i - 1)?,
            _ => return Err(Invalid),
        }
        p.reached(i);
        // After a value: close what ends here, then go on to the next element.
        loop {
            if depth == 0 {
                return Ok(i);
            }
            let mut c = byte(s, i);
            if c <= b' ' {
                i = ws(s, i);
                c = byte(s, i);
            }
            i += 1;
            let object = stack & 1 == 1;
            if c == b',' {
                if object {
                    i = skipped_key::<PLAIN>(s, i)?;
                }
                break;
            }
            if c != if object { b'}' } else { b']' } {
                return Err(Invalid);
            }
            stack >>= 1;
            depth -= 1;
        }
    }
}

/// In a skipped object, at a key (whitespace first): the index after its colon.
#[inline(always)]
fn skipped_key<const PLAIN: bool>(s: &[u8], i: usize) -> Read<usize> {
    let i = at_byte(s, i, b'"')?;
    let (close, _) = string_close::<PLAIN, false>(s, i + 1)?;
    Ok(at_byte(s, close + 1, b':')? + 1)
}

/// A number skipped. A plain integer, the common case, is done here; the rest by
/// [`skip_number_slow`].
#[inline(always)]
fn skip_number(s: &[u8], i: usize) -> Read<usize> {
    if let b'1'..=b'9' = byte(s, i) {
        let mut j = i + 1;
        while let Some(b'0'..=b'9') = s.get(j) {
            j += 1;
        }
        if !matches!(byte(s, j), b'.' | b'e' | b'E') {
            return Ok(j);
        }
    }
    skip_number_slow(s, i)
}

/// A number skipped: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[inline(never)]
fn skip_number_slow(s: &[u8], mut i: usize) -> Read<usize> {
    let digits = |mut i: usize| {
        while let Some(b'0'..=b'9') = s.get(i) {
            i += 1;
        }
        i
    };
    if byte(s, i) == b'-' {
        i += 1;
    }
    i = match byte(s, i) {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i + 1),
        _ => return Err(Invalid),
    };
    if byte(s, i) == b'.' {
        let end = digits(i + 1);
        if end == i + 1 {
            return Err(Invalid);
        }
        i = end;
    }
    if let b'e' | b'E' = byte(s, i) {
        i += 1;
        if let b'+' | b'-' = byte(s, i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return Err(Invalid);
        }
        i = end;
    }
    Ok(i)
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The index of the first byte from `i` on that may end a plain run of string, `s.len()` when
/// none: `"`, `\\`, a control character or a non-ASCII byte; for a `PLAIN` body, which has
/// no `\\` and no control character, `"` or most non-ASCII bytes (the body was checked for
/// UTF-8: they are only skipped). Eight bytes a step.
#[inline(always)]
fn find_special<const PLAIN: bool>(s: &[u8], i: usize) -> usize {
    let Some(rest) = s.get(i..) else {
        return i;
    };
    let (chunks, tail) = rest.as_chunks::<8>();
    let mut at = i;
    for chunk in chunks {
        let w = u64::from_le_bytes(*chunk);
        // The high bit of a byte is set in `x - ONES` when the byte of `x` is 0, and in
        // `w - 0x20 * ONES` when the byte of `w` is below 0x20 or above 0x9f; `"` and `\\`
        // give a zero in `x`, a non-ASCII byte a high bit in the first. A borrow may also set
        // it in higher bytes, never below the first byte found, the only one used.
        let mut found = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
        if !PLAIN {
            found |=
                (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) | w.wrapping_sub(ONES * 0x20);
        }
        let found = found & HIGHS;
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    for &b in tail {
        if b == b'"' || b >= 0x80 || (!PLAIN && (b == b'\\' || b < 0x20)) {
            return at;
        }
        at += 1;
    }
    at
}

/// After a backslash at `i - 1`: the index after the escape. `STRICT`: a surrogate must be
/// the first half of a `\uD8xx\uDCxx` pair, as when serde_json decodes a string.
fn escape<const STRICT: bool>(s: &[u8], i: usize) -> Read<usize> {
    match byte(s, i) {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(i + 1),
        b'u' => {
            let n = hex4(s, i + 1)?;
            if !STRICT {
                return Ok(i + 5);
            }
            match n {
                0xD800..=0xDBFF => {
                    if byte(s, i + 5) == b'\\' && byte(s, i + 6) == b'u' {
                        match hex4(s, i + 7)? {
                            0xDC00..=0xDFFF => Ok(i + 11),
                            _ => Err(Invalid),
                        }
                    } else {
                        Err(Invalid)
                    }
                }
                0xDC00..=0xDFFF => Err(Invalid),
                _ => Ok(i + 5),
            }
        }
        _ => Err(Invalid),
    }
}

/// Four hex digits from `i`.
fn hex4(s: &[u8], i: usize) -> Read<u16> {
    let digits = s.get(i..i + 4).ok_or(Invalid)?;
    digits.iter().try_fold(0u16, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Invalid),
        };
        Ok((n << 4) | u16::from(v))
    })
}

/// Decodes the content of a string whose escapes [`escape`] (strict) accepted.
fn decode(raw: &[u8]) -> Read<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(rel) = raw
        .get(i..)
        .and_then(|r| r.iter().position(|&b| b == b'\\'))
    {
        out.extend_from_slice(&raw[i..i + rel]);
        i += rel + 1;
        let c = match byte(raw, i) {
            b'b' => b'\x08',
            b'f' => b'\x0c',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let n = u32::from(hex4(raw, i + 1)?);
                i += 5;
                let code = if (0xD800..=0xDBFF).contains(&n) {
                    let low = u32::from(hex4(raw, i + 2)?);
                    i += 6;
                    0x1_0000 + ((n - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF)
                } else {
                    n
                };
                let c = char::from_u32(code).ok_or(Invalid)?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            c => c,
        };
        out.push(c);
        i += 1;
    }
    out.extend_from_slice(&raw[i..]);
    String::from_utf8(out).map_err(|_| Invalid)
}

#[cfg(test)]
mod tests;
