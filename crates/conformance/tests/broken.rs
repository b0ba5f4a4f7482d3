//! The suite catches broken providers: a real provider (Stripe-like, against the mock bank)
//! wrapped so that it skips signature checks, leaks its key in `Debug`, changes the amount,
//! answers the wrong acknowledgement or accepts a rejected notification, hides or invents a
//! capability, drops its provider data, reuses one bank reference or accepts any size. Each must fail the checks it
//! should, while the honest provider passes the same checks (so the failures come from the
//! fault, not from the setup).
#![allow(clippy::unwrap_used)]

use std::fmt;
use std::sync::Arc;

use tpe_conformance::mock_stripe_like::{SECRET_KEY, WEBHOOK_SECRET};
use tpe_conformance::{CheckResult, Harness, MockStripeLike, Verdict, block_on, checks, fixtures};
use tpe_core::{
    Ack, Amount, BankReference, Currency, Handled, PaymentProvider, PaymentReference,
    PaymentRequest, Prepared, Profile, ProviderError, RawNotification, Reason, RefundReceipt,
    RefundRequest, StatusQuery, StatusReport, Timestamp, Verified,
};
use tpe_mock_bank::stripe_like::stripe_signature_header;
use tpe_stripe_like::{Mode, StripeLike, StripeLikeConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Re-signs whatever arrives with the known secret before verifying: accepts anything.
    SkipsSignature,
    /// Prints its secret key in `Debug`.
    LeaksKey,
    /// Reports one more minor unit than the bank notified.
    ChangesAmount,
    /// Acknowledges with a redirect.
    WrongAck,
    /// Declares no signed timestamp.
    HidesTimestamp,
    /// Answers a forged notification with 200, so a genuine retry would stop.
    AcceptsRejected,
    /// Keeps no provider data from `prepare`.
    DropsProviderData,
    /// Declares capture without implementing it.
    DeclaresCapture,
    /// Gives every checkout the same bank reference.
    ReusesBankReference,
    /// Accepts any notification size.
    UnboundedLimits,
}

struct Broken {
    inner: Arc<dyn PaymentProvider>,
    fault: Fault,
    profile: Profile,
}

impl Broken {
    fn new(inner: Arc<dyn PaymentProvider>, fault: Fault) -> Self {
        let mut profile = inner.profile().clone();
        match fault {
            Fault::HidesTimestamp => profile.capabilities.signed_timestamp = false,
            Fault::DeclaresCapture => profile.capabilities.capture = true,
            Fault::UnboundedLimits => profile.limits.max_body = usize::MAX,
            _ => {}
        }
        Self {
            inner,
            fault,
            profile,
        }
    }
}

impl fmt::Debug for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Broken");
        d.field("inner", &self.inner);
        if self.fault == Fault::LeaksKey {
            d.field("secret_key", &SECRET_KEY);
        }
        d.finish()
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Broken {
    fn profile(&self) -> &Profile {
        &self.profile
    }

    fn bank_reference(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
        nonce: u64,
    ) -> Result<BankReference, ProviderError> {
        if self.fault == Fault::ReusesBankReference {
            return Ok(BankReference::parse("SAME-FOR-ALL").unwrap());
        }
        self.inner.bank_reference(reference, now, nonce)
    }

    async fn prepare(&self, r: &PaymentRequest, now: Timestamp) -> Result<Prepared, ProviderError> {
        let mut prepared = self.inner.prepare(r, now).await?;
        if self.fault == Fault::DropsProviderData {
            prepared.provider_data = None;
        }
        Ok(prepared)
    }

    fn verify(&self, raw: &RawNotification, now: Timestamp) -> Result<Verified, ProviderError> {
        match self.fault {
            Fault::SkipsSignature => {
                let mut headers = raw.headers().clone();
                let body = String::from_utf8_lossy(raw.body());
                let header = stripe_signature_header(WEBHOOK_SECRET, now.as_second(), &body);
                headers.remove("stripe-signature");
                headers.insert("stripe-signature", header.parse().unwrap());
                let resigned = RawNotification::new(
                    raw.method(),
                    raw.query().to_vec(),
                    raw.body().to_vec(),
                    headers,
                    raw.peer(),
                )
                .unwrap();
                self.inner.verify(&resigned, now)
            }
            Fault::ChangesAmount => match self.inner.verify(raw, now)? {
                Verified::Payment(mut n) => {
                    n.amount = Amount::new(n.amount.minor() + 1, n.amount.currency()).unwrap();
                    Ok(Verified::Payment(n))
                }
                other => Ok(other),
            },
            _ => self.inner.verify(raw, now),
        }
    }

    fn answer(&self, handled: &Handled<'_>) -> Ack {
        match (self.fault, handled) {
            (Fault::WrongAck, Handled::Processed(_)) => Ack {
                status: 302,
                content_type: "text/html",
                body: "<a href=\"/\">moved</a>".into(),
            },
            (Fault::AcceptsRejected, Handled::Rejected(_)) => Ack::ok_empty(),
            _ => self.inner.answer(handled),
        }
    }

    fn classify(&self, code: &str) -> Reason {
        self.inner.classify(code)
    }

    fn known_codes(&self) -> &'static [&'static str] {
        self.inner.known_codes()
    }

    async fn query_status(
        &self,
        q: &StatusQuery,
        now: Timestamp,
    ) -> Result<StatusReport, ProviderError> {
        self.inner.query_status(q, now).await
    }

    async fn refund(
        &self,
        r: &RefundRequest,
        now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError> {
        self.inner.refund(r, now).await
    }
}

async fn harness(fault: Fault) -> Harness {
    let now = fixtures::now();
    let bank = MockStripeLike::spawn(now).await;
    let cfg = StripeLikeConfig::new(Mode::Test, SECRET_KEY, [WEBHOOK_SECRET])
        .with_api_base(bank.api_base());
    let inner: Arc<dyn PaymentProvider> = Arc::new(StripeLike::new(cfg).unwrap());
    Harness::new(Arc::new(Broken::new(inner, fault)), bank, now)
        .with_secrets([SECRET_KEY, WEBHOOK_SECRET])
        .with_currencies([Currency::EUR, Currency::JPY, Currency::BHD])
        .with_tolerance_secs(300)
}

/// Runs `check` against the honest provider (must pass) and against `fault` (must fail,
/// naming the check).
fn honest_passes_broken_fails<F, Fut>(fault: Fault, name: &str, check: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    block_on(async {
        let honest = check(harness(Fault::None).await).await;
        assert_eq!(honest, Ok(Verdict::Passed), "honest provider on {name}");
        let broken = check(harness(fault).await).await;
        let failure = broken.expect_err(&format!("{fault:?} must fail {name}"));
        assert_eq!(failure.check, name);
        println!("{fault:?} fails as it should: {failure}");
    });
}

macro_rules! must_fail {
    ($test:ident, $fault:expr, $check:ident) => {
        #[test]
        fn $test() {
            honest_passes_broken_fails($fault, stringify!($check), |h| async move {
                checks::$check(&h).await
            });
        }
    };
}

must_fail!(
    skips_signature_flipped_byte,
    Fault::SkipsSignature,
    flipped_byte_refused
);
must_fail!(
    skips_signature_missing,
    Fault::SkipsSignature,
    signature_missing_refused
);
must_fail!(
    skips_signature_empty,
    Fault::SkipsSignature,
    signature_empty_refused
);
must_fail!(
    skips_signature_duplicated,
    Fault::SkipsSignature,
    signature_duplicated_refused
);
must_fail!(
    skips_signature_badly_encoded,
    Fault::SkipsSignature,
    signature_badly_encoded_refused
);
must_fail!(
    skips_signature_wrong_key,
    Fault::SkipsSignature,
    wrongly_signed_notification_refused
);
must_fail!(
    skips_signature_stale,
    Fault::SkipsSignature,
    stale_notification_refused
);
must_fail!(leaks_key_in_debug, Fault::LeaksKey, no_secret_in_output);
must_fail!(
    changes_amount_accepted,
    Fault::ChangesAmount,
    round_trip_accepted
);
must_fail!(
    changes_amount_refused,
    Fault::ChangesAmount,
    round_trip_refused
);
must_fail!(wrong_ack, Fault::WrongAck, acknowledgement_exact);
must_fail!(
    accepts_rejected,
    Fault::AcceptsRejected,
    rejection_answered_by_provider
);
must_fail!(
    drops_provider_data,
    Fault::DropsProviderData,
    provider_data_round_trip
);
must_fail!(
    declares_capture,
    Fault::DeclaresCapture,
    capabilities_match_methods
);
must_fail!(
    reuses_bank_reference,
    Fault::ReusesBankReference,
    bank_references_map_back
);
must_fail!(
    unbounded_limits,
    Fault::UnboundedLimits,
    notification_limits_bounded
);

#[test]
fn a_hidden_capability_skips_its_check_and_says_so() {
    block_on(async {
        let h = harness(Fault::HidesTimestamp).await;
        let verdict = checks::stale_notification_refused(&h).await.unwrap();
        assert_eq!(
            verdict,
            Verdict::Skipped("provider lacks signed_timestamp".into())
        );
    });
}

#[test]
fn a_leaky_provider_still_passes_unrelated_checks() {
    // The suite pins each fault on the right check: leaking a key breaks no signature check.
    block_on(async {
        let h = harness(Fault::LeaksKey).await;
        assert_eq!(checks::flipped_byte_refused(&h).await, Ok(Verdict::Passed));
        assert_eq!(checks::round_trip_accepted(&h).await, Ok(Verdict::Passed));
    });
}

#[test]
fn every_check_is_listed_once() {
    let mut names = checks::ALL.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), checks::ALL.len());
    assert_eq!(checks::ALL.len(), 31);
}
