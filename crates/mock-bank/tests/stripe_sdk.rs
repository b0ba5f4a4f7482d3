//! Cross-check with the PSP's official Python SDK: `tests/sdk/stripe_sdk_check.py` runs the
//! flows a shop runs through `stripe` (pinned in `tests/sdk/requirements.txt`) against a mock
//! bank started here, and must find no difference.
//!
//! The SDK lives in a virtualenv made by `.ci/crosscheck-venv`: `TPE_PY_VENV`, by default
//! `.venv-crosscheck` at the workspace root. Without it the test says "skipped" and passes,
//! unless `REQUIRE_CROSSCHECK=1`.

#[path = "sdk/venv.rs"]
mod venv;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tpe_mock_bank::{DEFAULT_STRIPE_SECRET_KEY as SK, MockBank, MockBankConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_finds_no_difference() {
    let Some(python) = venv::python() else {
        return;
    };
    let bank = MockBank::spawn(MockBankConfig::for_tests())
        .await
        .expect("mock bank starts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/stripe_sdk_check.py");
    let base = bank.base_url().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&base)
            .arg(SK)
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
        "the stripe SDK found differences ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
