//! Cross-check with Worldline Direct's official Python SDK (`onlinepayments-sdk-python3`,
//! pinned in `tests/sdk/requirements.txt`): `tests/sdk/worldline_sdk_check.py` creates and reads
//! a hosted checkout through the SDK (its own v1HMAC signatures), pays it on the mock's page,
//! has the SDK's `WebhooksHelper` validate and read the mock's signed webhook (and refuse it
//! once a byte is changed), reads the payment, and checks the SDK's typed exceptions for a wrong
//! secret, an unknown id and an invalid request. It uses the SDKs' own test merchant, which every
//! mock bank knows.
//!
//! The SDK lives in the virtualenv made by `.ci/crosscheck-venv` (see `sdk/venv.rs`).

#[path = "sdk/venv.rs"]
mod venv;

use tpe_mock_bank::{
    MockBank, MockBankConfig, WORLDLINE_SDK_TEST_API_KEY_ID, WORLDLINE_SDK_TEST_API_SECRET,
    WORLDLINE_SDK_TEST_MERCHANT_ID, WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID,
    WORLDLINE_SDK_TEST_WEBHOOK_SECRET,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_worldline_sdk_finds_no_difference() {
    let Some(python) = venv::python() else {
        return;
    };
    let bank = MockBank::spawn(MockBankConfig::for_tests())
        .await
        .expect("mock bank starts");
    let args = [
        bank.base_url().trim_end_matches('/'),
        WORLDLINE_SDK_TEST_MERCHANT_ID,
        WORLDLINE_SDK_TEST_API_KEY_ID,
        WORLDLINE_SDK_TEST_API_SECRET,
        WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID,
        WORLDLINE_SDK_TEST_WEBHOOK_SECRET,
    ]
    .map(str::to_owned)
    .to_vec();
    let stdout = venv::run(python, "worldline_sdk_check.py", args, "the Worldline SDK").await;
    assert!(stdout.contains(" checks, 0 differences"), "{stdout}");
}
