//! The `tpe paybox …` and `tpe codes paybox …` tools, for people debugging a live integration.
//!
//! The `tpe` binary wires [`PayboxCommand`] as a clap subcommand and calls [`run`]; `tpe codes
//! paybox <CODE>` prints [`explain_code`]. Nothing here prints a secret: `sign` prints only the
//! MAC, `verify` says why a signature failed without echoing it.

use std::io::Write;
use std::path::PathBuf;

use secrecy::SecretString;

use tpe_paybox::codes;
use tpe_paybox::config::HashAlgorithm;
use tpe_paybox::notify::{SignatureProblem, check_signature};
use tpe_paybox::sign::{BankKeys, hmac_hex};

/// `tpe paybox …`.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum PayboxCommand {
    /// Print the upper-case hex HMAC of NAME=VALUE fields, in the given order.
    Sign {
        /// The 128-hex-character HMAC key from the back office.
        #[arg(long, value_name = "HEX")]
        key: String,
        /// Hash algorithm (PBX_HASH).
        #[arg(
            long,
            default_value = "SHA512",
            value_name = "SHA512|SHA384|SHA256|SHA224"
        )]
        hash: HashAlgorithm,
        /// Fields; the value is everything after the first `=`.
        #[arg(required = true, value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
    /// Check the RSA signature of a notification (query string or body, signature last).
    Verify {
        /// The bank's public key (PEM or DER); default: the key Paybox publishes.
        #[arg(long, value_name = "PEM file")]
        public_key: Option<PathBuf>,
        /// The query string or body exactly as received.
        #[arg(value_name = "RAW")]
        raw: String,
    },
}

use crate::Exit;

/// Runs a command, writing its output (including usage errors) to `out`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Tpe { #[command(subcommand)] cmd: tpe_cli::banks::paybox::PayboxCommand }
/// let key = "0123456789ABCDEF".repeat(8);
/// let t = Tpe::try_parse_from(["tpe", "sign", "--key", &key, "PBX_SITE=1999888"]).unwrap();
/// let mut out = Vec::new();
/// assert_eq!(tpe_cli::banks::paybox::run(&t.cmd, &mut out), tpe_cli::Exit::Success);
/// assert_eq!(String::from_utf8(out).unwrap().trim().len(), 128);
/// ```
pub fn run(cmd: &PayboxCommand, out: &mut dyn Write) -> Exit {
    let result = match cmd {
        PayboxCommand::Sign { key, hash, fields } => sign(key, *hash, fields, out),
        PayboxCommand::Verify { public_key, raw } => verify(public_key.as_deref(), raw, out),
    };
    result.unwrap_or(Exit::Usage)
}

fn sign(
    key: &str,
    hash: HashAlgorithm,
    fields: &[String],
    out: &mut dyn Write,
) -> std::io::Result<Exit> {
    let Some(pairs) = crate::tool::field_pairs_or_usage(fields, out)? else {
        return Ok(Exit::Usage);
    };
    match hmac_hex(&SecretString::from(key.to_owned()), hash, &pairs) {
        Ok(mac) => writeln!(out, "{mac}")?,
        Err(e) => {
            writeln!(out, "error: {e}")?;
            return Ok(Exit::Usage);
        }
    }
    Ok(Exit::Success)
}

fn verify(
    public_key: Option<&std::path::Path>,
    raw: &str,
    out: &mut dyn Write,
) -> std::io::Result<Exit> {
    let keys = match public_key {
        None => BankKeys::load(&[tpe_paybox::config::PublicKeySource::Embedded]),
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => BankKeys::from_pem_or_der(&bytes),
            Err(e) => {
                writeln!(out, "error: cannot read {}: {}", path.display(), e.kind())?;
                return Ok(Exit::Usage);
            }
        },
    };
    let keys = match keys {
        Ok(k) => k,
        Err(e) => {
            writeln!(out, "error: {e}")?;
            return Ok(Exit::Usage);
        }
    };
    let raw = raw_part(raw).as_bytes();
    let mut result = check_signature(&keys, raw, None, None).map(|p| p.prefix_len);
    if result == Err(SignatureProblem::Mismatch) {
        // A merchant prefix may precede the bank's variables (spec §4.3): try after each `&`.
        let last = raw.iter().rposition(|&b| b == b'&').unwrap_or(0);
        result = raw[..last]
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'&')
            .find_map(|(i, _)| {
                check_signature(&keys, &raw[i + 1..], None, None)
                    .ok()
                    .map(|_| i + 1)
            })
            .ok_or(SignatureProblem::Mismatch);
    }
    match result {
        Ok(0) => writeln!(out, "valid")?,
        Ok(n) => writeln!(
            out,
            "valid\n(the first {n} bytes are a merchant prefix, not signed)"
        )?,
        Err(why) => {
            writeln!(out, "invalid: {why}")?;
            return Ok(Exit::CheckFailed);
        }
    }
    Ok(Exit::Success)
}

/// Accepts a full URL or `?query` as well as the bare query string.
fn raw_part(raw: &str) -> &str {
    let raw = raw.trim_end_matches(['\r', '\n']);
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return raw.split_once('?').map_or("", |(_, q)| q);
    }
    raw.strip_prefix('?').unwrap_or(raw)
}

/// `tpe codes paybox <CODE>`: the normalized reason, the bank's wording in French and English,
/// the retry advice and the customer messages.
///
/// ```
/// let text = tpe_cli::banks::paybox::explain_code("00151");
/// assert!(text.contains("insufficient_funds") || text.contains("InsufficientFunds"));
/// assert!(text.contains("Provision insuffisante"));
/// ```
pub fn explain_code(code: &str) -> String {
    let code = code.trim();
    if codes::is_success(code) {
        return "paybox 00000: success — not a decline\n  fr: Opération réussie\n  en: Operation successful\n".to_owned();
    }
    codes::classify(code).explained("paybox", "not in the Paybox table")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> (Exit, String) {
        crate::tool::run_subcommand::<PayboxCommand>(args, run)
    }

    const KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

    #[test]
    fn sign_prints_the_vector_mac() {
        // Spec §3.3 vector S1; the value keeps everything after the first '='.
        let (exit, out) = run_args(&[
            "sign",
            "--key",
            KEY,
            "PBX_SITE=1999888",
            "PBX_RANG=32",
            "PBX_IDENTIFIANT=107904482",
            "PBX_TOTAL=999",
            "PBX_DEVISE=978",
            "PBX_CMD=TEST Paybox",
            "PBX_PORTEUR=test@paybox.com",
            "PBX_RETOUR=Mt:M;Ref:R;Auto:A;Erreur:E;Sign:K",
            "PBX_HASH=SHA512",
            "PBX_TIME=2011-02-28T11:01:50+01:00",
        ]);
        assert_eq!(exit, Exit::Success);
        assert_eq!(
            out.trim(),
            "1F7B7B17C0FE89B9B90ACA3FEA4AB76CFEF6DF671409AFAC0EC8ACE164EA22E1389A49E9FC79857806AB3770AA4DFE81CF87E9D31506C13D48DFDA4BE4929601"
        );
        let (_, with_eq) = run_args(&["sign", "--key", KEY, "A=b=c"]);
        let (_, plain) = run_args(&["sign", "--key", KEY, "A=b"]);
        assert_ne!(with_eq, plain);
        let (_, sha256) = run_args(&["sign", "--key", KEY, "--hash", "SHA256", "A=b"]);
        assert_eq!(sha256.trim().len(), 64);
    }

    #[test]
    fn sign_usage_errors_exit_2_without_the_key() {
        let (exit, out) = run_args(&["sign", "--key", KEY, "NOEQUALS"]);
        assert_eq!((exit, exit.code()), (Exit::Usage, 2));
        assert!(out.contains("NOEQUALS"), "{out}");
        let bad = "Z".repeat(128);
        let (exit, out) = run_args(&["sign", "--key", &bad, "A=b"]);
        assert_eq!(exit, Exit::Usage);
        assert!(!out.contains(&bad), "{out}");
        let e = crate::tool::parse_subcommand::<PayboxCommand>(&[
            "sign", "--key", KEY, "--hash", "MD5", "A=b",
        ])
        .err()
        .unwrap();
        assert_eq!(e.exit_code(), 2);
        let e = crate::tool::parse_subcommand::<PayboxCommand>(&["sign", "--key", KEY])
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn the_sign_tool_prints_only_the_mac() {
        let secret = "7E57C0DE".repeat(16);
        let (exit, out) = run_args(&["sign", "--key", &secret, "A=1"]);
        assert_eq!(exit, Exit::Success);
        assert!(
            !out.contains("7E57C0DE") && out.trim().len() == 128,
            "{out}"
        );
    }

    #[test]
    fn verify_published_samples() {
        let raw = "Mt=1000&Ref=CMD1349338388&Auto=XXXXXX&Erreur=00000&Sign=QnhlnuOpcbfUruOU7kKG%2FZmDPsDzM31VrpMIObQomYwEE%2FafhJiDPkWVN9%2Br3JVFXBsFnqo3VlOVzxQVVahXpF7eWiJoAe5LcIoqSvms96SFFv9LfndS%2F3zAO5fF%2FtR4Us3rOSUwT1Hs2AS17R3B9ATwBMhKt1l3DPw9hClpFw0%3D";
        assert_eq!(
            run_args(&["verify", raw]),
            (Exit::Success, "valid\n".to_owned())
        );
        let url = format!("https://shop.example/ipn?{raw}");
        assert_eq!(run_args(&["verify", &url]).0, Exit::Success);
        let prefixed = format!("order=12&action=ipn&{raw}");
        let (exit, out) = run_args(&["verify", &prefixed]);
        assert_eq!(exit, Exit::Success, "{out}");
        assert!(out.starts_with("valid\n"));
        let tampered = raw.replace("CMD1349338388", "CMD1349338389");
        let (exit, out) = run_args(&["verify", &tampered]);
        assert_eq!(
            (exit.code(), out.as_str()),
            (
                1,
                "invalid: the signature does not verify with the bank's public key(s)\n"
            )
        );
        let (exit, out) = run_args(&["verify", "Mt=1&Sign=%%%"]);
        assert_eq!(exit, Exit::CheckFailed);
        assert!(out.contains("base64"), "{out}");
        let (exit, out) = run_args(&["verify", "nothing"]);
        assert_eq!(exit, Exit::CheckFailed);
        assert!(out.starts_with("invalid: no signature"), "{out}");
    }

    #[test]
    fn verify_with_a_key_file() {
        let dir = std::env::temp_dir().join(format!("tpe-paybox-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("k.pem");
        std::fs::write(&pem, tpe_paybox::sign::PAYBOX_PUBLIC_KEY_PEM).unwrap();
        let raw = "Mt=100&Id=47&Ref=601957&Erreur=00000&sign=jRk0xXxO6wGwyL9G0K5oj5Xihxbr0s0gxhBkXT7D0k0KAFKywaqy1xd%2BorpeU1hM2Dq5KvDP42byaRzEIx3ymVvAP%2FCtM7jzTXO58tbvsXojPvLGEqz4q9QhrCH%2BOmQL6AfXt6lXImzjTgrKDIvIu6EX%2BNpp5sbcot%2BafOrTVkQ%3D";
        let p = pem.to_str().unwrap();
        assert_eq!(
            run_args(&["verify", "--public-key", p, raw]).0,
            Exit::Success
        );
        let (exit, out) = run_args(&["verify", "--public-key", "/nonexistent/k.pem", raw]);
        assert_eq!(exit, Exit::Usage, "{out}");
        std::fs::write(&pem, "not a key").unwrap();
        assert_eq!(run_args(&["verify", "--public-key", p, raw]).0, Exit::Usage);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn explain_codes() {
        let t = explain_code("001A1");
        assert!(
            t.contains("AuthenticationRequired") || t.contains("authentication_required"),
            "{t}"
        );
        assert!(
            t.contains("Repli VADS") && t.contains("Soft decline"),
            "{t}"
        );
        assert!(t.contains("3-D Secure"), "{t}");
        let u = explain_code("00777");
        assert!(
            u.contains("00777") && u.contains("not in the Paybox table"),
            "{u}"
        );
        assert!(explain_code("00000").contains("success"));
        let _ = explain_code("\u{0}\n garbage ".repeat(100).as_str());
    }
}
