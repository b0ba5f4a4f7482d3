//! The cross-check virtualenv made by `.ci/crosscheck-venv`, shared by the tests that run an
//! independent implementation against the mock bank.

use std::path::{Path, PathBuf};

/// The virtualenv's Python: `TPE_PY_VENV` (relative to the workspace root, where `.ci/run` sets
/// it), by default `.venv-crosscheck`. `None` (the test says "skipped" and passes) when it is
/// not there, unless `REQUIRE_CROSSCHECK=1`, which fails the test.
pub(crate) fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = std::env::var_os("TPE_PY_VENV")
        .map_or_else(|| root.join(".venv-crosscheck"), |v| root.join(v));
    let python = venv.join("bin").join("python");
    if python.is_file() {
        return Some(python);
    }
    assert!(
        std::env::var("REQUIRE_CROSSCHECK").as_deref() != Ok("1"),
        "REQUIRE_CROSSCHECK=1 but no cross-check virtualenv: run `bash .ci/crosscheck-venv` \
         or set TPE_PY_VENV"
    );
    println!("skipped: no cross-check virtualenv (bash .ci/crosscheck-venv)");
    None
}

/// Runs `tests/sdk/<script>` with `python` and `args` (five minutes at most), prints what it
/// printed, and fails the test unless it exits 0; returns its standard output.
pub(crate) async fn run(python: PathBuf, script: &str, args: Vec<String>, what: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
    });
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), run)
        .await
        .expect("the cross-check ends within five minutes")
        .expect("the cross-check task")
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{what} found differences ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}
