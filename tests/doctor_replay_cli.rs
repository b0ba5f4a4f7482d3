//! `tpe doctor` and `tpe replay` as a person runs them: the example configuration passes
//! offline, and the exit codes follow the command line's convention (0 fine, 1 findings,
//! 2 usage or an unreadable configuration).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const TPE: &str = env!("CARGO_BIN_EXE_tpe");

fn tpe(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(TPE)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_example_configuration_passes_offline() {
    let (code, text) = tpe(&["doctor", "--config", "docs/shop.example.toml", "--offline"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("[ok] [paybox] retour"), "{text}");
    assert!(text.ends_with("0 error(s), 0 warning(s)\n"), "{text}");
}

#[test]
fn an_http_shop_url_is_a_finding_and_a_missing_file_a_usage_error() {
    let (code, text) = tpe(&[
        "doctor",
        "--config",
        "docs/shop.example.toml",
        "--offline",
        "--url",
        "http://shop.example.fr/",
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("[error] shop public_url"), "{text}");
    let (code, _) = tpe(&["doctor", "--config", "no-such-file.toml"]);
    assert_eq!(code, Some(2));
    let (code, _) = tpe(&["replay", "--config", "docs/shop.example.toml"]);
    assert_eq!(code, Some(2), "no reference and no id");
    let (code, text) = tpe(&["replay", "--config", "docs/shop.example.toml", "--list"]);
    assert_eq!(code, Some(2), "the example's store does not exist: {text}");
    assert!(text.contains("no database at"), "{text}");
}
