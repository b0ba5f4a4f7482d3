//! Command-line tools, wired into the `tpe` binary by its `main`:
//!
//! - `tpe worldline sign-request --key-id ID --secret SECRET --method METHOD
//!   [--content-type CT] --date DATE [--header 'X-GCS-NAME: VALUE']... --path PATH` prints the
//!   `Authorization` header value;
//! - `tpe worldline verify-webhook --secret SECRET --signature SIG --body-file FILE` prints
//!   `valid` (exit 0), or `invalid: <why>` (exit 1); 2 for bad usage;
//! - `tpe codes worldline <CODE>` prints [`explain_code`].
//!
//! ```
//! use clap::Parser;
//! use tpe_cli::banks::worldline::{WorldlineCommand, run};
//! #[derive(Parser)]
//! struct Cli { #[command(subcommand)] cmd: WorldlineCommand }
//! let cli = Cli::try_parse_from(["x", "sign-request", "--key-id", "EC36A74A98D21",
//!     "--secret", "6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1", "--method", "GET",
//!     "--date", "Fri, 06 Jun 2014 13:39:43 GMT", "--path", "/v2/1/tokens/2"])?;
//! let mut out = Vec::new();
//! assert_eq!(run(&cli.cmd, &mut out), tpe_cli::Exit::Success);
//! assert_eq!(String::from_utf8(out)?,
//!     "GCS v1HMAC:EC36A74A98D21:vCos01y77soPNJOW6kDCm4Bu5b2darAZ09PP7Wa+jRA=\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Exit;
use std::io::Write;
use std::path::PathBuf;

use tpe_core::Lang;

use tpe_worldline::{WebhookVerifier, authorization, string_to_sign};
use tpe_worldline::{classify, known_codes, verdict};

/// `tpe worldline …` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum WorldlineCommand {
    /// Signs an API request: prints the `Authorization` header value.
    SignRequest(SignRequestArgs),
    /// Verifies an `X-GCS-Signature` over a webhook body.
    VerifyWebhook(VerifyWebhookArgs),
}

/// Arguments of `sign-request`.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct SignRequestArgs {
    /// API key id.
    #[arg(long)]
    pub key_id: String,
    /// API secret (used as text, never base64-decoded).
    #[arg(long)]
    pub secret: String,
    /// HTTP method.
    #[arg(long)]
    pub method: String,
    /// `Content-Type` as sent (none for a request without a body).
    #[arg(long)]
    pub content_type: Option<String>,
    /// `Date` as sent (`Fri, 06 Jun 2014 13:39:43 GMT`).
    #[arg(long)]
    pub date: String,
    /// An `X-GCS-*` header as `NAME: VALUE`; repeat for several.
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// Path (and query) of the request, e.g. `/v2/PSPID/hostedcheckouts`.
    #[arg(long)]
    pub path: String,
}

/// Arguments of `verify-webhook`.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct VerifyWebhookArgs {
    /// Webhook secret; repeat it to accept any of several (rotation).
    #[arg(long, required = true)]
    pub secret: Vec<String>,
    /// The `X-GCS-Signature` value.
    #[arg(long)]
    pub signature: String,
    /// File holding the raw body, byte for byte.
    #[arg(long)]
    pub body_file: PathBuf,
}

/// Runs a subcommand, writing its output (result or error) to `out`.
pub fn run(cmd: &WorldlineCommand, out: &mut dyn Write) -> Exit {
    let result = match cmd {
        WorldlineCommand::SignRequest(a) => sign_request(a, out),
        WorldlineCommand::VerifyWebhook(a) => verify_webhook(a, out),
    };
    match result {
        Ok(code) => code,
        Err(usage) => {
            let _ = writeln!(out, "error: {usage}");
            Exit::Usage
        }
    }
}

fn sign_request(a: &SignRequestArgs, out: &mut dyn Write) -> Result<Exit, String> {
    let mut headers: Vec<(&str, &str)> = vec![("Date", a.date.as_str())];
    if let Some(ct) = &a.content_type {
        headers.push(("Content-Type", ct));
    }
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header {h:?} is not NAME: VALUE"))?;
        let name = name.trim();
        if !name.to_ascii_lowercase().starts_with("x-gcs") {
            return Err(format!("--header {name}: only X-GCS-* headers are signed"));
        }
        headers.push((name, value));
    }
    if !a.path.starts_with('/') {
        return Err("--path must start with /".into());
    }
    let s = string_to_sign(&a.method, &headers, &a.path).map_err(|e| e.to_string())?;
    let header = authorization(&a.key_id, &a.secret, &s).map_err(|e| e.to_string())?;
    writeln!(out, "{header}").map_err(|e| format!("cannot write: {e}"))?;
    Ok(Exit::Success)
}

fn verify_webhook(a: &VerifyWebhookArgs, out: &mut dyn Write) -> Result<Exit, String> {
    // The key id is not asked for: every given secret is tried under one local id.
    let verifier = WebhookVerifier::new(a.secret.iter().map(|s| ("cli", s.as_str())))
        .map_err(|e| e.to_string())?;
    let body = crate::tool::read_body_file(&a.body_file)?;
    let result = verifier.verify(Some(b"cli"), Some(a.signature.trim().as_bytes()), &body);
    crate::tool::verdict(out, result).map_err(|e| format!("cannot write: {e}"))
}

/// The explanation of a code for `tpe codes worldline <CODE>`: kind, verdict, the platform's
/// meaning and the advice in French and English, and the customer's message.
///
/// ```
/// let text = tpe_cli::banks::worldline::explain_code("93");
/// assert!(text.contains("worldline 93: Declined") && text.contains("Paiement refusé"));
/// ```
pub fn explain_code(code: &str) -> String {
    let r = classify(code);
    let known = known_codes().contains(&r.code());
    let note = match verdict(r.code()) {
        Some(v) => Some(format!("checkout: {v:?}")),
        None if known => None,
        None => Some("code not in the table: never a verdict".to_owned()),
    };
    let mut s = r.heading("worldline", note.as_deref());
    for (lang, label) in [(Lang::Fr, "fr"), (Lang::En, "en")] {
        s.push_str(&format!(
            "  {label} bank:     {}\n  {label} manager:  {}\n  {label} customer: {}\n",
            r.bank_text(lang),
            r.manager_message(lang),
            r.customer_message(lang)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run_args(args: &[&str]) -> (Exit, String) {
        crate::tool::run_subcommand::<WorldlineCommand>(args, run)
    }

    #[test]
    fn sign_request_with_gcs_headers() {
        let (code, out) = run_args(&[
            "sign-request",
            "--key-id",
            "5e45c937b9db33ae",
            "--secret",
            "I42Zf4pVnRdroHfuHnRiJjJ2B6+22h0yQt/R3nZR8Xg=",
            "--method",
            "DELETE",
            "--content-type",
            "application/json",
            "--date",
            "Fri, 06 Jun 2014 13:39:43 GMT",
            "--header",
            "X-GCS-ServerMetaInfo: processed header value",
            "--header",
            "X-GCS-ClientMetaInfo: processed header value",
            "--header",
            "X-GCS-CustomerHeader: processed header value",
            "--path",
            "/v2/1/tokens/123456789",
        ]);
        assert_eq!(code, Exit::Success);
        assert_eq!(
            out,
            "GCS v1HMAC:5e45c937b9db33ae:TbiTwCCsGsyFFnfWt5Rreg0cGYJeTiofxjuZNSLUuGo=\n"
        );
        let (code, out) = run_args(&[
            "sign-request",
            "--key-id",
            "k",
            "--secret",
            "s",
            "--method",
            "GET",
            "--date",
            "d",
            "--header",
            "User-Agent: x",
            "--path",
            "/v2/1",
        ]);
        assert_eq!(code, Exit::Usage);
        assert!(out.contains("X-GCS"), "{out}");
    }

    #[test]
    fn verify_webhook_says_valid_or_why_not() {
        let p = std::env::temp_dir().join(format!("tpe-wl-cli-{}", std::process::id()));
        std::fs::write(&p, b"{\"a\":1}").unwrap();
        let sig = tpe_worldline::webhook_signature("SECRETVALUE", b"{\"a\":1}");
        let path = p.to_str().unwrap();
        let (code, out) = run_args(&[
            "verify-webhook",
            "--secret",
            "other",
            "--secret",
            "SECRETVALUE",
            "--signature",
            &sig,
            "--body-file",
            path,
        ]);
        assert_eq!((code, out.as_str()), (Exit::Success, "valid\n"));
        let (code, out) = run_args(&[
            "verify-webhook",
            "--secret",
            "other",
            "--signature",
            &sig,
            "--body-file",
            path,
        ]);
        assert_eq!(code, Exit::CheckFailed);
        assert!(
            out.starts_with("invalid: ") && !out.contains("SECRETVALUE"),
            "{out}"
        );
        let (code, _) = run_args(&[
            "verify-webhook",
            "--secret",
            "s",
            "--signature",
            &sig,
            "--body-file",
            "/nonexistent/x",
        ]);
        assert_eq!(code, Exit::Usage);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn codes_are_explained() {
        assert!(explain_code("9").contains("Paid"));
        assert!(explain_code("0").contains("never a verdict"));
    }
}
