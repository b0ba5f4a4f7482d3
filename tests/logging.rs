//! The `tpe` binary logs: one line per notification, a `tpe::security` warning per rejection,
//! JSON on demand, never a secret or a card number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TPE: &str = env!("CARGO_BIN_EXE_tpe");

/// Test secrets and cards of the mock bank that must never reach a log line.
const NEVER_LOGGED: &[&str] = &[
    tpe_mock_bank::PAYBOX_TEST_HMAC_KEY,
    tpe_mock_bank::DEFAULT_STRIPE_SECRET_KEY,
    tpe_mock_bank::DEFAULT_STRIPE_WEBHOOK_SECRET,
    "1111222233334444",
    "4242424242424242",
];

fn temp_dir(name: &str) -> std::path::PathBuf {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    std::env::temp_dir().join(format!("tpe-{name}-{:016x}", u64::from_le_bytes(b)))
}

#[test]
fn the_tour_logs_each_notification_as_json() {
    let data = temp_dir("log-tour");
    let out = Command::new(TPE)
        .args(["--log-format", "json", "demo", "--tour", "--data"])
        .arg(&data)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = String::from_utf8(out.stderr).unwrap();
    let mut applied = 0;
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if v["message"] == "notification applied" {
            applied += 1;
            for field in ["provider", "reference", "outcome", "status", "latency"] {
                assert!(v.get(field).is_some(), "no {field} in {line}");
            }
        }
        for secret in NEVER_LOGGED {
            assert!(
                !line.contains(secret),
                "a secret or a card number was logged: {line}"
            );
        }
    }
    assert!(applied >= 10, "{applied} notifications logged:\n{log}");
}

#[test]
fn a_forged_notification_is_a_security_warning() {
    let data = temp_dir("log-forged");
    let mut child = Command::new(TPE)
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The demo prints its address: "  boutique : http://127.0.0.1:PORT/".
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut shop = None;
    while shop.is_none() && Instant::now() < deadline {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        shop = line
            .split_once("http://")
            .filter(|_| line.contains("boutique"))
            .map(|(_, rest)| rest.trim().trim_end_matches('/').to_owned());
    }
    let Some(addr) = shop else {
        let _ = child.kill();
        panic!("the demo did not print its address");
    };
    let body = "Mt=2770&Ref=FORGED&Auto=XXXXXX&Erreur=00000&K=bm90IGEgc2lnbmF0dXJl";
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /tpe/notify/paybox HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("tpe::security"))
        .unwrap_or_else(|| panic!("no security warning:\n{log}"));
    assert!(warning.contains("paybox"), "{warning}");
    assert!(
        !log.contains("bm90IGEgc2lnbmF0dXJl"),
        "the forged signature was logged"
    );
}
