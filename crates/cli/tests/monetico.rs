//! `tpe monetico sign|verify` and `tpe codes monetico`, through `run` and `explain_code`, on
//! the returns the Monetico crate's own tests sign.
#![allow(clippy::unwrap_used)]

#[path = "../../monetico/tests/common/mod.rs"]
mod common;

use clap::Parser;
use tpe_cli::Exit;
use tpe_cli::banks::monetico::{MoneticoCommand, explain_code, run};

#[derive(Parser)]
struct Tpe {
    #[command(subcommand)]
    cmd: MoneticoCommand,
}

fn run_args(args: &[&str]) -> (Exit, String) {
    let t = Tpe::try_parse_from(std::iter::once("tpe").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    let exit = run(&t.cmd, &mut out);
    (exit, String::from_utf8(out).unwrap())
}

#[test]
fn sign_prints_the_mac_of_the_fields_in_any_order() {
    let fields = common::fields("payetest", "Refus");
    let args: Vec<String> = fields
        .iter()
        .rev()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut all = vec!["sign", "--key", common::KEY];
    all.extend(args.iter().map(String::as_str));
    let (exit, out) = run_args(&all);
    assert_eq!(exit, Exit::Success);
    assert_eq!(out.trim(), common::key().sign(fields.iter().copied()));
    assert!(!out.contains(common::KEY));
}

#[test]
fn verify_says_valid_or_invalid_and_why() {
    let body = common::signed("payetest", "");
    let (exit, out) = run_args(&["verify", "--key", common::KEY, &body]);
    assert_eq!((exit, out.trim()), (Exit::Success, "valid"));
    assert_eq!(exit.code(), 0);
    let forged = body.replace("montant=25.50EUR", "montant=2.50EUR");
    let (exit, out) = run_args(&["verify", "--key", common::KEY, &forged]);
    assert_eq!(exit, Exit::CheckFailed);
    assert_eq!(exit.code(), 1);
    assert!(out.starts_with("invalid: the MAC does not match"), "{out}");
    let (_, out) = run_args(&["verify", "--key", common::KEY, "TPE=1"]);
    assert!(out.contains("no MAC"), "{out}");
    let (_, out) = run_args(&["verify", "--key", common::KEY, "TPE=1&MAC=12"]);
    assert!(out.contains("40 hexadecimal"), "{out}");
    let (_, out) = run_args(&["verify", "--key", common::KEY, "TPE=1&TPE=1&MAC=12"]);
    assert!(out.contains("repeated"), "{out}");
}

#[test]
fn usage_errors_exit_2_without_quoting_the_key() {
    let (exit, out) = run_args(&["sign", "--key", "0123NOTAKEY", "TPE=1"]);
    assert_eq!(exit.code(), 2);
    assert!(out.contains("key") && !out.contains("0123NOTAKEY"), "{out}");
    let (exit, _) = run_args(&["sign", "--key", common::KEY, "no-equals"]);
    assert_eq!(exit, Exit::Usage);
    let (exit, _) = run_args(&["verify", "--key", "short", "TPE=1&MAC=00"]);
    assert_eq!(exit, Exit::Usage);
}

#[test]
fn codes_of_the_three_tables() {
    let text = explain_code("3DSecure");
    assert!(
        text.contains("AuthenticationFailed") && text.contains("3-D Secure"),
        "{text}"
    );
    assert!(explain_code("Annulation").contains("une autorisation peut encore"));
    assert!(explain_code("payetest").contains("code-retour"));
    assert!(explain_code("4").contains("status3ds"));
    assert!(explain_code("inconnu").contains("not in the Monetico tables"));
}
