//! Forged, damaged, wrongly signed and stale notifications are refused (fail closed).

use http::HeaderValue;
use tpe_core::{OutcomeKind, ProviderError, Timestamp, Verified};

use super::{
    CheckFailure, CheckResult, Paid, Verdict, describe, is_panic, open, pay, standard_amount,
    verify,
};
use crate::bank::{Captured, Channel, Forgery};
use crate::harness::Harness;
use crate::receiver::NOTIFY_PATH;

/// A genuine accepted notification, checked to verify first.
async fn genuine(h: &Harness, check: &'static str) -> Result<Result<Paid, Verdict>, CheckFailure> {
    let paid = match pay(h, check, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(Err(skip)),
    };
    let r = verify(h, &paid.captured, h.now);
    if !matches!(r, Ok(Verified::Payment(_))) {
        return Err(CheckFailure::new(
            check,
            format!("the genuine notification gave {}", describe(&r)),
        ));
    }
    Ok(Ok(paid))
}

/// Flipping any single byte of the notification (payload, and every header carrying the
/// signature) makes `verify` refuse it.
pub async fn flipped_byte_refused(h: &Harness) -> CheckResult {
    const CHECK: &str = "flipped_byte_refused";
    let paid = match genuine(h, CHECK).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let g = &paid.captured;
    let mut failures = Vec::new();
    let mut try_one = |what: String, c: &Captured| {
        let r = verify(h, c, h.now);
        if is_panic(&r) || !matches!(&r, Err(e) if e.is_rejection()) {
            failures.push(format!("{what}: {}", describe(&r)));
        }
    };
    for (part, bytes) in [("query", &g.query), ("body", &g.body)] {
        for i in 0..bytes.len() {
            let mut v = bytes.to_vec();
            v[i] ^= 0x01;
            let mut c = g.clone();
            match part {
                "query" => c.query = v.into(),
                _ => c.body = v.into(),
            }
            try_one(format!("{part} byte {i}"), &c);
        }
    }
    for name in h.bank.signature_headers() {
        let Some(value) = g.headers.get(*name) else {
            try_one(
                format!("the genuine notification without its {name} header"),
                g,
            );
            continue;
        };
        for i in 0..value.len() {
            let mut v = value.as_bytes().to_vec();
            v[i] ^= 0x01;
            let Ok(v) = HeaderValue::from_bytes(&v) else {
                continue;
            };
            let mut c = g.clone();
            c.headers.insert(*name, v);
            try_one(format!("{name} header byte {i}"), &c);
        }
    }
    if failures.is_empty() {
        Ok(Verdict::Passed)
    } else {
        failures.truncate(10);
        Err(CheckFailure::new(
            CHECK,
            format!("flipped bytes were not refused: {}", failures.join("; ")),
        ))
    }
}

async fn forged(h: &Harness, check: &'static str, forgery: Forgery) -> CheckResult {
    let paid = match genuine(h, check).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let variants = h.bank.forge(&paid.captured, forgery);
    if variants.is_empty() {
        return Ok(Verdict::bank_lacks(format!(
            "a {forgery:?} signature variant"
        )));
    }
    let mut failures = Vec::new();
    for (i, c) in variants.iter().enumerate() {
        let r = verify(h, c, h.now);
        let refused = matches!(
            r,
            Err(ProviderError::BadSignature { .. } | ProviderError::Malformed { .. })
        ) && !is_panic(&r);
        if !refused {
            failures.push(format!("variant {i}: {}", describe(&r)));
        }
    }
    if failures.is_empty() {
        Ok(Verdict::Passed)
    } else {
        Err(CheckFailure::new(
            check,
            format!(
                "a notification with a {forgery:?} signature was not refused as BadSignature or Malformed: {}",
                failures.join("; ")
            ),
        ))
    }
}

/// A notification without its signature is refused.
pub async fn signature_missing_refused(h: &Harness) -> CheckResult {
    forged(h, "signature_missing_refused", Forgery::Missing).await
}

/// A notification with an empty signature is refused.
pub async fn signature_empty_refused(h: &Harness) -> CheckResult {
    forged(h, "signature_empty_refused", Forgery::Empty).await
}

/// A notification whose signature is given twice is refused.
pub async fn signature_duplicated_refused(h: &Harness) -> CheckResult {
    forged(h, "signature_duplicated_refused", Forgery::Duplicated).await
}

/// A notification whose signature is badly encoded is refused.
pub async fn signature_badly_encoded_refused(h: &Harness) -> CheckResult {
    forged(h, "signature_badly_encoded_refused", Forgery::BadlyEncoded).await
}

/// A notification the bank signed with another key gives `BadSignature`.
pub async fn wrongly_signed_notification_refused(h: &Harness) -> CheckResult {
    const CHECK: &str = "wrongly_signed_notification_refused";
    let opened = open(h, CHECK, standard_amount(h)).await?;
    if !h.bank.sign_wrongly(opened.bank_reference()) {
        return Ok(Verdict::bank_lacks("wrongly signed notifications"));
    }
    let completion = h
        .bank
        .complete(&opened.page, OutcomeKind::Accepted)
        .await
        .map_err(|e| CheckFailure::new(CHECK, e.to_string()))?;
    if completion.channel != Channel::ServerToServer {
        return Err(CheckFailure::new(
            CHECK,
            "an accepted payment sent no notification",
        ));
    }
    let captured = opened
        .receiver
        .wait_for(super::NOTIFICATION_WAIT, |c| {
            (c.path == NOTIFY_PATH).then(|| c.clone())
        })
        .await
        .ok_or_else(|| CheckFailure::new(CHECK, "no notification arrived"))?;
    let r = verify(h, &captured, h.now);
    if matches!(r, Err(ProviderError::BadSignature { .. })) && !is_panic(&r) {
        Ok(Verdict::Passed)
    } else {
        Err(CheckFailure::new(
            CHECK,
            format!("a wrongly signed notification gave {}", describe(&r)),
        ))
    }
}

/// Where notifications carry a signed timestamp, one outside the tolerance gives `Stale`
/// (too old or from the future), and one at the edge still verifies.
pub async fn stale_notification_refused(h: &Harness) -> CheckResult {
    const CHECK: &str = "stale_notification_refused";
    if !h.provider.profile().capabilities.signed_timestamp {
        return Ok(Verdict::provider_lacks("signed_timestamp"));
    }
    let paid = match genuine(h, CHECK).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    // Without a declared tolerance, a day (the longest any provider should accept).
    let tolerance = i64::try_from(h.tolerance_secs.unwrap_or(86_400)).unwrap_or(i64::MAX / 2);
    let at = |secs: i64| -> Result<Timestamp, CheckFailure> {
        h.now
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .map_err(|e| CheckFailure::new(CHECK, format!("time arithmetic: {e}")))
    };
    let c = &paid.captured;
    for secs in [tolerance + 1, -(tolerance + 1)] {
        let r = verify(h, c, at(secs)?);
        if !matches!(r, Err(ProviderError::Stale { .. })) {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "a notification verified {secs}s away from its timestamp gave {}, not Stale",
                    describe(&r)
                ),
            ));
        }
    }
    if h.tolerance_secs.is_some() {
        let r = verify(h, c, at(tolerance)?);
        if !matches!(r, Ok(Verified::Payment(_))) {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "a notification exactly {tolerance}s old (the tolerance) gave {}",
                    describe(&r)
                ),
            ));
        }
    }
    Ok(Verdict::Passed)
}
