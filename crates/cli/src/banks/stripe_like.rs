//! Command-line tools, wired into the `tpe` binary by its `main`:
//!
//! - `tpe stripe-like sign --secret <WHSEC> --timestamp <UNIX> --body-file <FILE>` prints the
//!   header value `t=<UNIX>,v1=<hex>`;
//! - `tpe stripe-like verify --secret <WHSEC> --header <VALUE> --body-file <FILE>
//!   [--now <UNIX>] [--tolerance <SECS>]` prints `valid` (exit 0), or `invalid: <why>` (exit 1);
//!   2 for bad usage (unreadable file, bad secret, bad number);
//! - `tpe codes stripe-like <DECLINE_CODE>` prints [`explain_code`].
//!
//! ```
//! use clap::Parser;
//! use tpe_cli::banks::stripe_like::{StripeLikeCommand, run};
//! #[derive(Parser)]
//! struct Cli { #[command(subcommand)] cmd: StripeLikeCommand }
//! let dir = std::env::temp_dir().join(format!("tpe-stripe-like-doc-{}", std::process::id()));
//! std::fs::write(&dir, b"{}")?;
//! let cli = Cli::try_parse_from(["x", "sign", "--secret", "whsec_x", "--timestamp", "1700000000",
//!     "--body-file", dir.to_str().unwrap()])?;
//! let mut out = Vec::new();
//! assert_eq!(run(&cli.cmd, &mut out), tpe_cli::Exit::Success);
//! assert!(String::from_utf8(out)?.starts_with("t=1700000000,v1="));
//! # std::fs::remove_file(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Exit;
use std::io::Write;
use std::path::PathBuf;

use tpe_core::clock::{Clock as _, SystemClock};
use tpe_core::{Lang, Timestamp};

use tpe_stripe_like::{WebhookVerifier, generate_test_header};
use tpe_stripe_like::{classify, known_codes};

/// `tpe stripe-like …` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum StripeLikeCommand {
    /// Signs a webhook body: prints the `Stripe-Signature` header value.
    Sign(SignArgs),
    /// Verifies a `Stripe-Signature` header over a webhook body.
    Verify(VerifyArgs),
}

/// Arguments of `sign`.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct SignArgs {
    /// Webhook signing secret (`whsec_…`), used whole as the HMAC key.
    #[arg(long)]
    pub secret: String,
    /// Unix time to sign, in seconds.
    #[arg(long)]
    pub timestamp: i64,
    /// File holding the raw body, byte for byte.
    #[arg(long)]
    pub body_file: PathBuf,
}

/// Arguments of `verify`.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct VerifyArgs {
    /// Webhook signing secret; repeat it to accept any of several (rotation).
    #[arg(long, required = true)]
    pub secret: Vec<String>,
    /// The `Stripe-Signature` header value.
    #[arg(long)]
    pub header: String,
    /// File holding the raw body, byte for byte.
    #[arg(long)]
    pub body_file: PathBuf,
    /// Unix time to judge the timestamp against (default: now).
    #[arg(long)]
    pub now: Option<i64>,
    /// Replay window in seconds, in the past and in the future.
    #[arg(long, default_value_t = tpe_stripe_like::DEFAULT_TOLERANCE_SECS)]
    pub tolerance: u64,
}

/// Runs a subcommand, writing its output (result or error) to `out`.
pub fn run(cmd: &StripeLikeCommand, out: &mut dyn Write) -> Exit {
    let result = match cmd {
        StripeLikeCommand::Sign(a) => sign(a, out),
        StripeLikeCommand::Verify(a) => verify(a, out),
    };
    match result {
        Ok(code) => code,
        Err(usage) => {
            let _ = writeln!(out, "error: {usage}");
            Exit::Usage
        }
    }
}

fn sign(a: &SignArgs, out: &mut dyn Write) -> Result<Exit, String> {
    if a.timestamp < 0 {
        return Err("--timestamp must be unix seconds, not negative".into());
    }
    // Checks the secret the way the verifier will.
    WebhookVerifier::new([a.secret.as_str()], 1).map_err(|e| e.to_string())?;
    let body = crate::tool::read_body_file(&a.body_file)?;
    writeln!(
        out,
        "{}",
        generate_test_header(&body, &a.secret, a.timestamp)
    )
    .map_err(|e| format!("cannot write: {e}"))?;
    Ok(Exit::Success)
}

fn verify(a: &VerifyArgs, out: &mut dyn Write) -> Result<Exit, String> {
    let verifier = WebhookVerifier::new(a.secret.iter().map(String::as_str), a.tolerance)
        .map_err(|e| e.to_string())?;
    let body = crate::tool::read_body_file(&a.body_file)?;
    let now = match a.now {
        Some(s) => Timestamp::from_second(s).map_err(|e| format!("--now: {e}"))?,
        None => SystemClock.now(),
    };
    let result = verifier.verify(Some(a.header.as_bytes()), &body, now);
    crate::tool::verdict(out, result.map(drop)).map_err(|e| format!("cannot write: {e}"))
}

/// The explanation of a decline code for `tpe codes stripe-like <CODE>`: kind, the PSP's
/// meaning and the advice in French and English, and the customer's message.
///
/// ```
/// let text = tpe_cli::banks::stripe_like::explain_code("insufficient_funds");
/// assert!(text.contains("insufficient_funds") && text.contains("InsufficientFunds"));
/// ```
pub fn explain_code(code: &str) -> String {
    let r = classify(code);
    let known = known_codes().contains(&r.code());
    let mut s = r.heading("stripe-like", (!known).then_some("code not in the table"));
    for (lang, label) in [(Lang::Fr, "fr"), (Lang::En, "en")] {
        s.push_str(&format!(
            "  {label} manager:  {}\n  {label} customer: {}\n",
            r.manager_message(lang),
            r.customer_message(lang)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: StripeLikeCommand,
    }

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(name: &str, body: &[u8]) -> Self {
            let p = std::env::temp_dir().join(format!("tpe-sl-cli-{}-{name}", std::process::id()));
            std::fs::write(&p, body).unwrap();
            Self(p)
        }
        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn exec(args: &[&str]) -> (Exit, String) {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
        crate::tool::captured(|out| run(&cli.cmd, out))
    }

    #[test]
    fn sign_then_verify() {
        let f = Tmp::new("sv", br#"{"a":1}"#);
        let (code, out) = exec(&[
            "sign",
            "--secret",
            "whsec_k",
            "--timestamp",
            "1000",
            "--body-file",
            f.path(),
        ]);
        assert_eq!(code, Exit::Success);
        let header = out.trim();
        assert_eq!(header, generate_test_header(br#"{"a":1}"#, "whsec_k", 1000));
        // `verify` with the secrets before the header and body, then `extra`.
        let verify = |secrets: &[&str], extra: &[&str]| {
            let mut a = vec!["verify"];
            for secret in secrets {
                a.extend(["--secret", secret]);
            }
            a.extend(["--header", header, "--body-file", f.path()]);
            a.extend_from_slice(extra);
            exec(&a)
        };
        let v = |extra: &[&str]| verify(&["whsec_k"], extra);
        assert_eq!(v(&["--now", "1200"]), (Exit::Success, "valid\n".into()));
        let (code, out) = v(&["--now", "1400"]);
        assert_eq!(code, Exit::CheckFailed);
        assert!(
            out.starts_with("invalid: timestamp is 400s from now"),
            "{out}"
        );
        assert_eq!(v(&["--now", "1400", "--tolerance", "500"]).0, Exit::Success);
        // Without --now the system clock is used: a timestamp of 1000 is long stale.
        assert_eq!(v(&[]).0, Exit::CheckFailed);
        let (code, out) = verify(&["whsec_other", "whsec_k"], &["--now", "1000"]);
        assert_eq!((code, out.as_str()), (Exit::Success, "valid\n"));
    }

    #[test]
    fn verify_refusals_and_usage_errors() {
        let f = Tmp::new("ref", b"body");
        let header = generate_test_header(b"body", "whsec_k", 1000);
        let (code, out) = exec(&[
            "verify",
            "--secret",
            "whsec_bad",
            "--header",
            &header,
            "--body-file",
            f.path(),
            "--now",
            "1000",
        ]);
        assert_eq!(code, Exit::CheckFailed);
        assert_eq!(out, "invalid: signature does not match\n");
        let (code, out) = exec(&[
            "verify",
            "--secret",
            "whsec_k",
            "--header",
            "garbage",
            "--body-file",
            f.path(),
            "--now",
            "1000",
        ]);
        assert_eq!(code, Exit::CheckFailed);
        assert!(
            out.starts_with("invalid: Stripe-Signature header is malformed"),
            "{out}"
        );
        let (code, out) = exec(&[
            "verify",
            "--secret",
            "whsec_k",
            "--header",
            &header,
            "--body-file",
            "/nonexistent/tpe/body",
            "--now",
            "1000",
        ]);
        assert_eq!(code, Exit::Usage);
        assert!(out.starts_with("error: cannot read"), "{out}");
        let (code, _) = exec(&[
            "sign",
            "--secret",
            "",
            "--timestamp",
            "1",
            "--body-file",
            f.path(),
        ]);
        assert_eq!(code, Exit::Usage);
        let (code, _) = exec(&[
            "sign",
            "--secret",
            "whsec_k",
            "--timestamp=-1",
            "--body-file",
            f.path(),
        ]);
        assert_eq!(code, Exit::Usage);
        let big = Tmp::new("big", &vec![b'a'; tpe_core::RawNotification::MAX_BODY + 1]);
        let (code, _) = exec(&[
            "sign",
            "--secret",
            "whsec_k",
            "--timestamp",
            "1",
            "--body-file",
            big.path(),
        ]);
        assert_eq!(code, Exit::Usage);
        // Missing required arguments are clap errors (exit 2 when the binary reports them).
        let err = Cli::try_parse_from(["x", "verify", "--header", "h"])
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn explain_known_and_unknown_codes() {
        let t = explain_code("lost_card");
        assert!(
            t.contains("CardLostOrStolen") && t.contains("fr manager") && t.contains("en customer")
        );
        assert!(!t.contains("not in the table"));
        let t = explain_code("zz_new");
        assert!(
            t.contains("UnknownCode") && t.contains("zz_new") && t.contains("not in the table")
        );
    }
}
