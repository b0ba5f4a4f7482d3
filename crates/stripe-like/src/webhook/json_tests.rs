//! What serde_json accepts as an event, and what it refuses, on the edges of JSON: these once
//! held a hand-written reader to serde_json, and now hold the event structs to what they read.

use tpe_core::ProviderError;

use super::{Event, parse_event};

/// Whether `body` reads as an [`Event`] (before its mapping), as `parse_event` reads it.
fn reads(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|b| serde_json::from_str::<Event<'_>>(b).is_ok())
}

fn event_with(object: &str) -> String {
    format!(
        r#"{{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{{"object":{object}}}}}"#
    )
}

const SESSION: &str = r#"{"id":"cs_test_1","object":"checkout.session","amount_total":4200,"currency":"eur","client_reference_id":"REF-1","payment_status":"paid","payment_intent":"pi_1","metadata":{"tpe_reference":"REF-1"}}"#;

/// The session with `extra` members first.
fn session_with(extra: &str) -> String {
    event_with(&SESSION.replacen('{', &format!("{{{extra},"), 1))
}

/// Each body reads, or not, as told.
fn assert_all(cases: &[(&str, bool)]) {
    for (body, expected) in cases {
        assert_eq!(reads(body.as_bytes()), *expected, "{body}");
    }
}

const READ: bool = true;
const REFUSED: bool = false;

#[test]
fn events_are_read() {
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&event_with(SESSION)).unwrap(),
    )
    .unwrap();
    assert_all(&[
        (&event_with(SESSION), READ),
        (&pretty, READ),
        (&format!(" \t\r\n{}\n ", event_with(SESSION)), READ),
        (r#"{"type":"x","data":{"object":{}}}"#, READ),
        (r#"{"type":"","data":{"object":{},"x":1},"":[]}"#, READ),
        (
            &session_with(r#""payment_intent2":{"id":"pi_1","last_payment_error":null}"#),
            READ,
        ),
    ]);
    let body = event_with(SESSION);
    let event: Event<'_> = serde_json::from_str(&body).unwrap();
    assert_eq!(event.data.object.amount_total, Some(4200));
    assert_eq!(event.data.object.client_reference_id.unwrap().0, "REF-1");
    // Strings without escapes are borrowed from the body.
    assert!(matches!(event.kind.0, std::borrow::Cow::Borrowed(_)));
}

#[test]
fn the_envelope_and_its_grammar() {
    assert_all(&[
        ("", REFUSED),
        ("{", REFUSED),
        ("null", REFUSED),
        (&format!("{}x", event_with(SESSION)), REFUSED),
        (&format!("{},", event_with(SESSION)), REFUSED),
        (&format!("{}{{}}", event_with(SESSION)), REFUSED),
        (&format!("\u{feff}{}", event_with(SESSION)), REFUSED),
        (&format!("\u{a0}{}", event_with(SESSION)), REFUSED),
        (&format!("\x0b{}", event_with(SESSION)), REFUSED),
        // `type` and `data` are required, `id` is not; none may be null.
        (r#"{"id":"evt_1","data":{"object":{}}}"#, REFUSED),
        (r#"{"id":"evt_1","type":"x"}"#, REFUSED),
        (r#"{"type":"x","data":{}}"#, REFUSED),
        (r#"{"type":"x","data":null}"#, REFUSED),
        (r#"{"type":"x","data":{"object":null}}"#, REFUSED),
        (r#"{"id":null,"type":"x","data":{"object":{}}}"#, REFUSED),
        (r#"{"type":null,"data":{"object":{}}}"#, REFUSED),
        (r#"{"type":1,"data":{"object":{}}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":"s"}}"#, REFUSED),
        // Commas, colons, keys.
        (r#"{"type":"x","data":{"object":{}},}"#, REFUSED),
        (r#"{,"type":"x","data":{"object":{}}}"#, REFUSED),
        (r#"{"type":"x" "data":{"object":{}}}"#, REFUSED),
        (r#"{"type":"x","data"{"object":{}}}"#, REFUSED),
        (r#"{"type"::"x","data":{"object":{}}}"#, REFUSED),
        (r#"{type:"x","data":{"object":{}}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":[1,]}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":[,1]}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":{"b":1,}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":{"b"}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":{1:2}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":[}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"a":{]}"#, REFUSED),
        (
            r#"{"type":"x","data":{"object":{}},"a":[{}, [] , {"":[]} ]}"#,
            READ,
        ),
    ]);
}

#[test]
fn a_known_field_twice_is_refused_an_unknown_one_is_not() {
    assert_all(&[
        (
            r#"{"id":"a","id":"b","type":"x","data":{"object":{}}}"#,
            REFUSED,
        ),
        (r#"{"type":"x","type":"x","data":{"object":{}}}"#, REFUSED),
        (
            r#"{"type":"x","data":{"object":{}},"data":{"object":{}}}"#,
            REFUSED,
        ),
        (r#"{"type":"x","data":{"object":{},"object":{}}}"#, REFUSED),
        (r#"{"type":"x","data":{"object":{}},"x":1,"x":2}"#, READ),
        (&session_with(r#""amount_total":null"#), REFUSED),
        (&session_with(r#""id":"cs_2""#), REFUSED),
        (&session_with(r#""metadata":null"#), REFUSED),
        (&session_with(r#""status":"a","status":"b""#), READ),
        (
            &session_with(r#""last_payment_error":{"code":"a","code":"b"}"#),
            REFUSED,
        ),
        (
            &session_with(r#""last_payment_error":{"decline_code":null,"decline_code":null}"#),
            REFUSED,
        ),
        (
            &event_with(r#"{"metadata":{"tpe_reference":"a","tpe_reference":"a"}}"#),
            REFUSED,
        ),
        (
            &event_with(r#"{"metadata":{"order":"a","order":"b","decline_code":"x"}}"#),
            READ,
        ),
        (
            &event_with(
                r#"{"payment_intent":{"last_payment_error":null,"last_payment_error":null}}"#,
            ),
            REFUSED,
        ),
        (
            &event_with(r#"{"payment_intent":{"id":"a","id":"b","status":"s"}}"#),
            READ,
        ),
        // Keys are compared once decoded.
        (
            r#"{"\u0069d":"a","id":"b","type":"x","data":{"object":{}}}"#,
            REFUSED,
        ),
        (r#"{"\u0069d":"a","type":"x","data":{"object":{}}}"#, READ),
        (r#"{"typ\u0065":"x","d\u0061ta":{"obj\u0065ct":{}}}"#, READ),
        (&session_with(r#""amount\u005ftotal":1"#), REFUSED),
        (&session_with(r#""amount\u005ftotal2":1"#), READ),
    ]);
}

#[test]
fn strings_escapes_and_utf8() {
    let with_id = |id: &str| event_with(&format!(r#"{{"id":"{id}"}}"#));
    let with_extra = |value: &str| session_with(&format!(r#""extra":"{value}""#));
    assert_all(&[
        (&with_id(r#"\"\\\/\b\f\n\r\t"#), READ),
        (&with_id(r"\u0041\u00e9\u20AC\ud83d\ude00\u0000"), READ),
        (&with_id("é中😀"), READ),
        (&with_id("\x7f"), READ),
        (&with_id(r"\ud83d"), REFUSED),
        (&with_id(r"\ud83dx"), REFUSED),
        (&with_id(r"\ud83d\n"), REFUSED),
        (&with_id(r"\ud83d\u0041"), REFUSED),
        (&with_id(r"\ude00"), REFUSED),
        (&with_id(r"\ud83d\ud83d"), REFUSED),
        (&with_id(r"\x"), REFUSED),
        (&with_id(r"\u12"), REFUSED),
        (&with_id(r"\u12g4"), REFUSED),
        (&with_id(r"\U0041"), REFUSED),
        (&with_id("a\tb"), REFUSED),
        (&with_id("a\nb"), REFUSED),
        (&with_id("a\u{1f}b"), REFUSED),
        // A skipped string needs well-formed escapes only.
        (&with_extra(r"\ud83d"), READ),
        (&with_extra(r"\ude00\ud800"), READ),
        (&with_extra(r"\x"), REFUSED),
        (&with_extra(r"\u00"), REFUSED),
        (&with_extra("a\tb"), REFUSED),
        (&with_extra("a\u{0}b"), REFUSED),
        (&with_extra("é中😀"), READ),
        (&format!("\n{}", with_extra(r"é中😀\u00e9")), READ),
        (
            &format!("\n{}", session_with(r#""é":"ü","x":{"中":"😀"}"#)),
            READ,
        ),
        // Keys of a struct read are decoded, keys inside a skipped value are not.
        (&session_with(r#""\ud800":1"#), REFUSED),
        (&session_with(r#""x":{"\ud800":1}"#), READ),
        (&session_with(r#""x":{"\u12":1}"#), REFUSED),
    ]);
    // Escaped text is decoded.
    let body = with_id(r"a\u002d\ud83d\ude00\/\t");
    let event: Event<'_> = serde_json::from_str(&body).unwrap();
    assert_eq!(event.data.object.id.unwrap().0, "a-😀/\t");
}

/// Broken UTF-8 anywhere in a signed body is a malformed event.
#[test]
fn broken_utf8_is_malformed() {
    for bad in [
        &b"\xff"[..],
        b"\xc3\x28",
        b"\xe0\x80\x80",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\x80",
        b"\xe4\xb8",
        b"\xc0\xaf",
        b"\xf8\x88\x80\x80\x80",
    ] {
        let mut inside = session_with(r#""extra":"a""#).into_bytes();
        let at = inside.windows(3).position(|w| w == b"\"a\"").unwrap() + 1;
        inside.splice(at..=at, bad.iter().copied());
        let mut after = event_with(SESSION).into_bytes();
        after.extend_from_slice(bad);
        for body in [inside, after] {
            assert!(!reads(&body), "{bad:?}");
            assert!(
                matches!(parse_event(&body), Err(ProviderError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }
}

#[test]
fn amounts_are_u64_and_skipped_numbers_json() {
    let amount = |n: &str| session_with(&format!(r#""amount":{n}"#));
    let extra = |n: &str| session_with(&format!(r#""extra":{n}"#));
    assert_all(&[
        (&amount("0"), READ),
        (&amount("null"), READ),
        (&amount("18446744073709551615"), READ),
        (&amount("18446744073709551616"), REFUSED),
        (&amount("99999999999999999999999"), REFUSED),
        (&amount("-0"), REFUSED),
        (&amount("-1"), REFUSED),
        (&amount("01"), REFUSED),
        (&amount("00"), REFUSED),
        (&amount("1.0"), REFUSED),
        (&amount("1e2"), REFUSED),
        (&amount("1E2"), REFUSED),
        (&amount("0e0"), REFUSED),
        (&amount("+1"), REFUSED),
        (&amount("\"42\""), REFUSED),
        (&amount("true"), REFUSED),
        (&amount("{}"), REFUSED),
        (&amount("[1]"), REFUSED),
        (&amount("nul"), REFUSED),
        (&amount("1x"), REFUSED),
        (&extra("-0"), READ),
        (&extra("-0.0e-0"), READ),
        (&extra("1e999"), READ),
        (&extra("123456789012345678901234567890"), READ),
        (&extra("1.5E+3"), READ),
        (&extra("01"), REFUSED),
        (&extra("1."), REFUSED),
        (&extra(".5"), REFUSED),
        (&extra("-"), REFUSED),
        (&extra("1e"), REFUSED),
        (&extra("1e+"), REFUSED),
        (&extra("+1"), REFUSED),
        (&extra("0x10"), REFUSED),
        (&extra("NaN"), REFUSED),
        (&extra("True"), REFUSED),
        (&extra("nulll"), REFUSED),
        (&extra("fals"), REFUSED),
    ]);
}

#[test]
fn fields_of_other_types() {
    assert_all(&[
        (&session_with(r#""currency2":1"#), READ),
        (&event_with(r#"{"currency":1}"#), REFUSED),
        (&event_with(r#"{"currency":{}}"#), REFUSED),
        (&event_with(r#"{"metadata":"x"}"#), REFUSED),
        (&event_with(r#"{"payment_intent":"pi_1"}"#), READ),
        (&event_with(r#"{"payment_intent":null}"#), READ),
        (&event_with(r#"{"payment_intent":{}}"#), READ),
        (
            &event_with(r#"{"payment_intent":{"last_payment_error":{"code":"c"}}}"#),
            READ,
        ),
        (&event_with(r#"{"payment_intent":1}"#), REFUSED),
        (&event_with(r#"{"payment_intent":true}"#), REFUSED),
        (&event_with(r#"{"payment_intent":["pi_1"]}"#), REFUSED),
        (&event_with(r#"{"payment_intent":"\ud800"}"#), REFUSED),
        // serde reads a struct from an array of its fields in order, as it always did here;
        // the top level alone is held to be an object.
        (r#"{"type":"x","data":{"object":[]}}"#, REFUSED),
        (r#"{"type":"x","data":[{}]}"#, READ),
        (&event_with(r#"{"metadata":["REF-1",null]}"#), READ),
        (&event_with(r#"{"last_payment_error":[null,"c"]}"#), READ),
    ]);
}

/// serde_json skips a value of any depth without recursion (its stack of open brackets is
/// bounded by the body, itself bounded): deep nesting reads, and a broken one is refused,
/// neither by overflowing the stack.
#[test]
fn nesting() {
    let nested = |depth: usize, open: &str, close: &str| {
        session_with(&format!(
            r#""extra":{}1{}"#,
            open.repeat(depth),
            close.repeat(depth)
        ))
    };
    assert!(reads(nested(64, "[", "]").as_bytes()));
    assert!(reads(nested(64, r#"{"a":"#, "}").as_bytes()));
    assert!(reads(nested(5000, "[", "]").as_bytes()));
    assert!(reads(nested(5000, r#"{"a":"#, "}").as_bytes()));
    assert!(!reads(nested(64, "[", "]").replace("1]", "1").as_bytes()));
    assert!(!reads(
        nested(5000, "[", "]").replacen("]", "}", 1).as_bytes()
    ));
    let deep = format!("{}1", "[".repeat(100_000));
    assert!(!reads(deep.as_bytes()));
    let deep = format!(
        r#"{{"type":"x","data":{{"object":{{}}}},"a":{}1"#,
        "[".repeat(100_000)
    );
    assert!(matches!(
        parse_event(deep.as_bytes()),
        Err(ProviderError::Malformed { .. })
    ));
}
