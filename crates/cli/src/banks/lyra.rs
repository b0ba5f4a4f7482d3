//! The `tpe lyra …` and `tpe codes lyra …` tools, for people debugging a live integration.
//!
//! The `tpe` binary wires [`LyraCommand`] as a clap subcommand and calls [`run`]; `tpe codes
//! lyra <CODE>` prints [`explain_code`]. Nothing here prints a key: `sign` prints only the
//! signature, `verify` says why a signature failed without echoing it.

use std::io::Write;

use secrecy::SecretString;
use tpe_core::Lang;

use tpe_lyra::codes;
use tpe_lyra::notify::{check_rest, check_vads};
use tpe_lyra::sign::{Algorithm, KeyRing, RestKey, ShopKey};

/// `tpe lyra …`.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum LyraCommand {
    /// Print the signature of vads_* fields (base64 for HMAC-SHA-256, hex for SHA-1).
    Sign {
        /// The shop's TEST or PRODUCTION key.
        #[arg(long)]
        key: String,
        /// The shop's signature algorithm.
        #[arg(long, value_enum, default_value = "hmac-sha256")]
        algorithm: SignatureAlgorithm,
        /// Fields; the value is everything after the first `=`. Non-`vads_` names are ignored.
        #[arg(required = true, value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
    /// Check the signature of a vads_* form body (IPN or browser return).
    Verify {
        /// The shop's TEST or PRODUCTION key.
        #[arg(long)]
        key: String,
        /// The shop's signature algorithm.
        #[arg(long, value_enum, default_value = "hmac-sha256")]
        algorithm: SignatureAlgorithm,
        /// The body exactly as received.
        #[arg(value_name = "RAW_FORM_BODY")]
        raw: String,
    },
    /// Check the kr-hash of a REST V4 notification body.
    VerifyRest {
        /// The REST password (IPN) or HMAC-SHA-256 key (browser return).
        #[arg(long)]
        key: String,
        /// The kind of key, as `kr-hash-key` must name it.
        #[arg(long, default_value = "password", value_parser = ["password", "sha256_hmac"])]
        key_kind: String,
        /// The body exactly as received.
        #[arg(value_name = "RAW_FORM_BODY")]
        raw: String,
    },
}

use crate::Exit;

/// The shop's form signature algorithm, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignatureAlgorithm {
    /// HMAC-SHA-256 (the default of the back office).
    #[value(name = "hmac-sha256")]
    HmacSha256,
    /// Legacy SHA-1.
    #[value(name = "sha1")]
    Sha1,
}

impl From<SignatureAlgorithm> for Algorithm {
    fn from(a: SignatureAlgorithm) -> Self {
        match a {
            SignatureAlgorithm::HmacSha256 => Self::HmacSha256,
            SignatureAlgorithm::Sha1 => Self::Sha1,
        }
    }
}
use crate::tool::verdict;

/// Runs a command, writing its output (including usage errors) to `out`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Tpe { #[command(subcommand)] cmd: tpe_cli::banks::lyra::LyraCommand }
/// let t = Tpe::try_parse_from(["tpe", "sign", "--key", "1122334455667788", "vads_amount=5124"]).unwrap();
/// let mut out = Vec::new();
/// assert_eq!(tpe_cli::banks::lyra::run(&t.cmd, &mut out), tpe_cli::Exit::Success);
/// assert_eq!(String::from_utf8(out).unwrap().trim().len(), 44);
/// ```
pub fn run(cmd: &LyraCommand, out: &mut dyn Write) -> Exit {
    let result = match cmd {
        LyraCommand::Sign {
            key,
            algorithm,
            fields,
        } => sign(key, (*algorithm).into(), fields, out),
        LyraCommand::Verify {
            key,
            algorithm,
            raw,
        } => verify(key, (*algorithm).into(), raw, out),
        LyraCommand::VerifyRest { key, key_kind, raw } => verify_rest(key, key_kind, raw, out),
    };
    result.unwrap_or(Exit::Usage)
}

fn shop_key(
    key: &str,
    algorithm: Algorithm,
    out: &mut dyn Write,
) -> std::io::Result<Option<ShopKey>> {
    match ShopKey::new(&SecretString::from(key.to_owned()), algorithm, "--key") {
        Ok(k) => Ok(Some(k)),
        Err(e) => {
            writeln!(out, "error: {e}")?;
            Ok(None)
        }
    }
}

fn sign(
    key: &str,
    algorithm: Algorithm,
    fields: &[String],
    out: &mut dyn Write,
) -> std::io::Result<Exit> {
    let Some(pairs) = crate::tool::field_pairs_or_usage(fields, out)? else {
        return Ok(Exit::Usage);
    };
    if !pairs
        .iter()
        .any(|(n, _)| n.starts_with(tpe_lyra::sign::PREFIX))
    {
        writeln!(out, "error: no vads_* field to sign")?;
        return Ok(Exit::Usage);
    }
    let Some(key) = shop_key(key, algorithm, out)? else {
        return Ok(Exit::Usage);
    };
    writeln!(out, "{}", key.sign(pairs.iter().copied()))?;
    Ok(Exit::Success)
}

fn verify(
    key: &str,
    algorithm: Algorithm,
    raw: &str,
    out: &mut dyn Write,
) -> std::io::Result<Exit> {
    let Some(key) = shop_key(key, algorithm, out)? else {
        return Ok(Exit::Usage);
    };
    let ring = KeyRing::new(key, Vec::new());
    let result = check_vads(&ring, raw.trim_end_matches(['\r', '\n']).as_bytes());
    verdict(out, result.map(drop))
}

fn verify_rest(key: &str, key_kind: &str, raw: &str, out: &mut dyn Write) -> std::io::Result<Exit> {
    let key = match RestKey::new(&SecretString::from(key.to_owned()), "--key") {
        Ok(k) => k,
        Err(e) => {
            writeln!(out, "error: {e}")?;
            return Ok(Exit::Usage);
        }
    };
    let kind = if key_kind == "sha256_hmac" {
        "sha256_hmac"
    } else {
        "password"
    };
    let result = check_rest(&key, kind, raw.trim_end_matches(['\r', '\n']).as_bytes());
    verdict(out, result.map(drop))
}

/// `tpe codes lyra <CODE>`: a `vads_auth_result` code (and the `vads_result` of the same
/// number, when there is one) or a `vads_trans_status`: the normalized reason, the wording in
/// French and English, the retry advice.
///
/// ```
/// let text = tpe_cli::banks::lyra::explain_code("51");
/// assert!(text.contains("insufficient_funds") || text.contains("InsufficientFunds"));
/// assert!(text.contains("Provision insuffisante"));
/// ```
pub fn explain_code(code: &str) -> String {
    let code = code.trim();
    if code == codes::APPROVED {
        return "lyra 00: approved — not a decline\n  fr: Transaction approuvée\n  en: Transaction approved\n".to_owned();
    }
    if let Some(group) = codes::status_group(code) {
        return format!("lyra vads_trans_status {code}: {group:?}\n");
    }
    let mut s = codes::classify(code).explained("lyra vads_auth_result", "not in the Lyra table");
    if codes::lookup(&codes::RESULTS, code).is_some() {
        let v = codes::classify_result(code);
        s.push_str(&format!(
            "lyra vads_result {code}: {}\n  fr: {}\n  en: {}\n",
            v.kind(),
            v.bank_text(Lang::Fr),
            v.bank_text(Lang::En)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run_args(args: &[&str]) -> (Exit, String) {
        crate::tool::run_subcommand::<LyraCommand>(args, run)
    }

    const DOC_FIELDS: [&str; 10] = [
        "vads_action_mode=INTERACTIVE",
        "vads_amount=5124",
        "vads_ctx_mode=TEST",
        "vads_currency=978",
        "vads_page_action=PAYMENT",
        "vads_payment_config=SINGLE",
        "vads_site_id=12345678",
        "vads_trans_date=20170129130025",
        "vads_trans_id=123456",
        "vads_version=V2",
    ];

    #[test]
    fn sign_prints_the_published_signatures() {
        let mut args = vec!["sign", "--key", "1122334455667788"];
        args.extend(DOC_FIELDS);
        assert_eq!(
            run_args(&args),
            (
                Exit::Success,
                "ycA5Do5tNvsnKdc/eP1bj2xa19z9q3iWPy9/rpesfS0=\n".to_owned()
            )
        );
        let mut args = vec!["sign", "--key", "1122334455667788", "--algorithm", "sha1"];
        args.extend(DOC_FIELDS);
        assert_eq!(
            run_args(&args),
            (
                Exit::Success,
                "59c96b34c74b9375c332b0b6a32e6deeec87de2b\n".to_owned()
            )
        );
    }

    #[test]
    fn verify_says_valid_or_why_not() {
        let body = format!(
            "{}&signature=ycA5Do5tNvsnKdc%2FeP1bj2xa19z9q3iWPy9%2FrpesfS0%3D",
            DOC_FIELDS.join("&")
        );
        assert_eq!(
            run_args(&["verify", "--key", "1122334455667788", &body]),
            (Exit::Success, "valid\n".to_owned())
        );
        let (exit, text) = run_args(&["verify", "--key", "1122334455667789", &body]);
        assert_eq!(exit, Exit::CheckFailed);
        assert!(
            text.starts_with("invalid: the signature does not match"),
            "{text}"
        );
        assert!(!text.contains("1122334455667789"));
        let (exit, _) = run_args(&["verify", "--key", "has space", &body]);
        assert_eq!(exit, Exit::Usage);
        let (exit, _) = run_args(&["sign", "--key", "k", "vads_amount"]);
        assert_eq!(exit, Exit::Usage);
    }

    #[test]
    fn verify_rest_checks_the_demo_ipn_vector() {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../../../lyra/tests/data/other-vectors.json"))
                .unwrap();
        let v = &all["lyra_rest"][0];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("kr-hash", v["expected_kr_hash"].as_str().unwrap())
            .append_pair("kr-hash-algorithm", "sha256_hmac")
            .append_pair("kr-hash-key", "password")
            .append_pair("kr-answer", v["kr-answer"].as_str().unwrap())
            .finish();
        let password = v["password"].as_str().unwrap();
        assert_eq!(
            run_args(&["verify-rest", "--key", password, &body]),
            (Exit::Success, "valid\n".to_owned())
        );
        let hmac_key = v["hmac_sha256_key"].as_str().unwrap();
        let (exit, text) = run_args(&["verify-rest", "--key", hmac_key, &body]);
        assert_eq!(
            (exit, text.as_str()),
            (Exit::CheckFailed, "invalid: the signature does not match\n")
        );
        let (exit, text) = run_args(&[
            "verify-rest",
            "--key",
            password,
            "--key-kind",
            "sha256_hmac",
            &body,
        ]);
        assert_eq!(
            (exit, text.as_str()),
            (
                Exit::CheckFailed,
                "invalid: kr-hash-key must be sha256_hmac here\n"
            )
        );
        let (exit, _) = run_args(&["verify-rest", "--key", "", &body]);
        assert_eq!(exit, Exit::Usage);
    }

    #[test]
    fn codes_are_explained() {
        assert!(explain_code("05").contains("vads_result 05"));
        assert!(explain_code("ZZ").contains("not in the Lyra table"));
        assert!(explain_code("REFUSED").contains("Refused"));
        assert!(explain_code("00").contains("approved"));
    }
}
