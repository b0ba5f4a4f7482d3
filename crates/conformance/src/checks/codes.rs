//! The provider's code table classifies, and `classify` is total.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use tpe_core::{Reason, ReasonKind};

use super::{CheckFailure, CheckResult, Verdict};
use crate::harness::Harness;

/// Every code of `known_codes()` is listed once, classifies to a known kind, keeps its code and
/// is worded differently in French and English ([`tpe_core::codes::table_problems`]).
pub async fn known_codes_classified(h: &Harness) -> CheckResult {
    const CHECK: &str = "known_codes_classified";
    let codes = h.provider.known_codes();
    if codes.is_empty() {
        return Err(CheckFailure::new(CHECK, "known_codes() is empty"));
    }
    let mut bad = Vec::new();
    for code in codes {
        match classify(h, code) {
            None => bad.push(format!("{code}: classify panicked")),
            Some(r) if r.kind() == ReasonKind::UnknownCode => {
                bad.push(format!("{code}: classified as UnknownCode"));
            }
            Some(r) if !r.code().eq_ignore_ascii_case(code) => {
                bad.push(format!("{code}: classified with code {}", r.code()));
            }
            Some(_) => {}
        }
    }
    if bad.is_empty() {
        // classify never panicked on these codes: the table's own checks can run.
        bad = tpe_core::codes::table_problems(codes, |c| h.provider.classify(c));
    }
    if bad.is_empty() {
        Ok(Verdict::Passed)
    } else {
        Err(CheckFailure::new(CHECK, bad.join("; ")))
    }
}

/// Random strings never make `classify` panic; an unknown one keeps its raw value (trimmed at
/// most), and the code kept is bounded.
pub async fn random_codes_never_panic(h: &Harness) -> CheckResult {
    const CHECK: &str = "random_codes_never_panic";
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    // Printable ASCII of code-like length, and any Unicode of any length.
    let strategies = ["[ -~]{0,64}", "\\PC{0,200}", "[0-9A-Za-z_]{1,12}"];
    for pattern in strategies {
        for _ in 0..256 {
            let tree = pattern
                .new_tree(&mut runner)
                .map_err(|e| CheckFailure::new(CHECK, format!("generator: {e}")))?;
            let s = tree.current();
            let Some(r) = classify(h, &s) else {
                return Err(CheckFailure::new(
                    CHECK,
                    format!("classify({s:?}) panicked"),
                ));
            };
            if r.code().chars().count() > Reason::MAX_CODE_LEN {
                return Err(CheckFailure::new(
                    CHECK,
                    format!(
                        "classify({s:?}) kept a code longer than {}",
                        Reason::MAX_CODE_LEN
                    ),
                ));
            }
            let plain = s.len() <= Reason::MAX_CODE_LEN && !s.chars().any(char::is_control);
            if plain && r.kind() == ReasonKind::UnknownCode && r.code() != s && r.code() != s.trim()
            {
                return Err(CheckFailure::new(
                    CHECK,
                    format!("classify({s:?}) lost the raw value: code {:?}", r.code()),
                ));
            }
        }
    }
    Ok(Verdict::Passed)
}

fn classify(h: &Harness, code: &str) -> Option<Reason> {
    catch_unwind(AssertUnwindSafe(|| h.provider.classify(code))).ok()
}
