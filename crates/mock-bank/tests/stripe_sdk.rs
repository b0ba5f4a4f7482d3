//! Cross-check with the PSP's official Python SDK: `tests/sdk/stripe_sdk_check.py` runs the
//! flows a shop runs through `stripe` (pinned in `tests/sdk/requirements.txt`) against a mock
//! bank started here, and must find no difference.
//!
//! The SDK lives in a virtualenv made by `.ci/crosscheck-venv`: `TPE_PY_VENV`, by default
//! `.venv-crosscheck` at the workspace root. Without it the test says "skipped" and passes,
//! unless `REQUIRE_CROSSCHECK=1`.

#[path = "sdk/venv.rs"]
mod venv;

use tpe_mock_bank::{DEFAULT_STRIPE_SECRET_KEY as SK, MockBank, MockBankConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_finds_no_difference() {
    let Some(python) = venv::python() else {
        return;
    };
    let bank = MockBank::spawn(MockBankConfig::for_tests())
        .await
        .expect("mock bank starts");
    let args = vec![bank.base_url().to_owned(), SK.to_owned()];
    venv::run(python, "stripe_sdk_check.py", args, "the stripe SDK").await;
}
