#![doc = include_str!("../README.md")]

pub mod bank;
pub mod checks;
pub mod fixtures;
mod harness;
pub mod instalments;
#[macro_use]
mod mock_side;
mod macros;
pub mod mock_lyra;
pub mod mock_monetico;
pub mod mock_paybox;
pub mod mock_stripe_like;
pub mod mock_worldline;
mod page;
pub mod receiver;
pub mod timing;

use std::future::Future;

pub use bank::{
    BankError, BankSide, Captured, Channel, Completion, Deliveries, ExpectedAck, Forgery, Page,
    Refusal,
};
pub use checks::{CheckFailure, CheckResult, Verdict};
pub use harness::{Harness, ProviderFactory};
pub use mock_lyra::MockLyra;
pub use mock_monetico::MockMonetico;
pub use mock_paybox::MockPaybox;
pub use mock_stripe_like::MockStripeLike;
pub use mock_worldline::MockWorldline;
pub use receiver::Receiver;

/// Runs `fut` to completion on a fresh tokio runtime (what each generated test does).
///
/// # Panics
/// When no runtime can be built.
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    #[allow(clippy::expect_used)] // a test cannot run without a runtime
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    rt.block_on(fut)
}

/// Turns a check's result into a test result: prints `SKIPPED <check>: <reason>` for a
/// skipped check, panics with the failure for a failed one.
///
/// # Panics
/// When the check failed.
pub fn report(check: &str, result: CheckResult) {
    match result {
        Ok(Verdict::Passed) => {}
        Ok(Verdict::Skipped(reason)) => println!("SKIPPED {check}: {reason}"),
        Err(failure) => panic!("{failure}"),
    }
}

/// A client that behaves like a browser on the bank's pages (follows redirects, bounded time).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// An expiry far in the future for the test cards (`MM/YY`).
pub(crate) const TEST_CARD_EXPIRY: &str = "12/99";

/// Starts a mock bank on `127.0.0.1:0` whose clock reads `now`.
///
/// # Panics
/// When the mock bank cannot start (no loopback port): the test cannot run at all.
pub(crate) async fn spawn_mock_bank(
    now: tpe_core::Timestamp,
    configure: impl FnOnce(&mut tpe_mock_bank::MockBankConfig),
) -> tpe_mock_bank::RunningBank {
    let mut config = tpe_mock_bank::MockBankConfig::for_tests();
    config.clock = tpe_mock_bank::Clock::fixed(now);
    configure(&mut config);
    #[allow(clippy::expect_used)] // a test fixture: no mock bank means no test
    tpe_mock_bank::MockBank::spawn(config)
        .await
        .expect("start the mock bank")
}

/// `http://127.0.0.1:PORT` → a base URL with a trailing slash.
pub(crate) fn base_url(base: &str) -> url::Url {
    #[allow(clippy::expect_used)] // the mock bank's own base URL always parses
    url::Url::parse(&format!("{base}/")).expect("the mock bank's base URL")
}
