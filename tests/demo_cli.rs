//! `tpe demo` as a person starts it: the mock bank on the chosen address, the Gestion password
//! printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TPE: &str = env!("CARGO_BIN_EXE_tpe");

#[test]
fn the_bank_listens_where_asked_and_the_password_is_printed() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    let data = std::env::temp_dir().join(format!("tpe-demo-cli-{:016x}", u64::from_le_bytes(b)));
    let mut child = Command::new(TPE)
        .args(["demo", "--listen", "127.0.0.1:0", "--bank-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut bank, mut password) = (None, None);
    while (bank.is_none() || password.is_none()) && Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("banque") {
            bank = Some(line.clone());
        }
        if let Some((_, p)) = line.split_once("mot de passe : ") {
            password = Some(p.trim().trim_end_matches(')').to_owned());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    let bank = bank.expect("the bank's address was not printed");
    assert!(bank.contains(&format!("http://127.0.0.1:{port}")), "{bank}");
    let password = password.expect("no Gestion password printed");
    assert_eq!(password.len(), 16, "{password}");
    assert!(password.bytes().all(|c| c.is_ascii_alphanumeric()));
}
