//! Cross-check with Worldline Direct's official Python SDK (`onlinepayments-sdk-python3`,
//! pinned in `tests/sdk/requirements.txt`): `tests/sdk/worldline_sdk_check.py` creates and reads
//! a hosted checkout through the SDK (its own v1HMAC signatures), pays it on the mock's page,
//! has the SDK's `WebhooksHelper` validate and read the mock's signed webhook (and refuse it
//! once a byte is changed), reads the payment, and checks the SDK's typed exceptions for a wrong
//! secret, an unknown id and an invalid request. It uses the SDKs' own test merchant, which every
//! mock bank knows.
//!
//! The SDK lives in the virtualenv made by `.ci/crosscheck-venv` (see `sdk/venv.rs`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/worldline_sdk_check.py");
    let base = bank.base_url().trim_end_matches('/').to_owned();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(&script)
            .args([
                base.as_str(),
                WORLDLINE_SDK_TEST_MERCHANT_ID,
                WORLDLINE_SDK_TEST_API_KEY_ID,
                WORLDLINE_SDK_TEST_API_SECRET,
                WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID,
                WORLDLINE_SDK_TEST_WEBHOOK_SECRET,
            ])
            .output()
    });
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the SDK check ends within five minutes")
        .expect("the SDK check task")
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the Worldline SDK found differences ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains(" checks, 0 differences"), "{stdout}");
}
