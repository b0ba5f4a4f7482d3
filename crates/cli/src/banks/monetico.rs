//! The `tpe monetico …` and `tpe codes monetico …` tools, for people debugging a live
//! integration.
//!
//! The `tpe` binary wires [`MoneticoCommand`] as a clap subcommand and calls [`run`]; `tpe
//! codes monetico <CODE>` prints [`explain_code`]. Nothing here prints the key: `sign` prints
//! only the MAC, `verify` says why a MAC failed without echoing it.

use std::io::Write;

use secrecy::SecretString;
use tpe_core::form::{Form, FormLimits};
use tpe_core::{Lang, ProviderError};

use tpe_monetico::codes;
use tpe_monetico::sign::{Encoding, MAC_FIELD, MacKey};

/// `tpe monetico …`.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum MoneticoCommand {
    /// Print the MAC (lower-case hex) of NAME=VALUE fields: sorted by name, `MAC` left out.
    Sign {
        /// The 40-character security key.
        #[arg(long, value_name = "KEY40")]
        key: String,
        /// Fields; the value is everything after the first `=`.
        #[arg(required = true, value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
    /// Check the MAC of a CGI2 return (the form body exactly as received).
    Verify {
        /// The 40-character security key.
        #[arg(long, value_name = "KEY40")]
        key: String,
        /// The form body (or query string) exactly as received.
        #[arg(value_name = "RAW_FORM_BODY")]
        raw: String,
    },
}

use crate::Exit;

/// Runs a command, writing its output (including usage errors) to `out`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Tpe { #[command(subcommand)] cmd: tpe_cli::banks::monetico::MoneticoCommand }
/// let key = "0123456789ABCDEF0123456789ABCDEF01234567";
/// let t = Tpe::try_parse_from(["tpe", "sign", "--key", key, "TPE=1234567"]).unwrap();
/// let mut out = Vec::new();
/// assert_eq!(tpe_cli::banks::monetico::run(&t.cmd, &mut out), tpe_cli::Exit::Success);
/// assert_eq!(String::from_utf8(out).unwrap().trim().len(), 40);
/// ```
pub fn run(cmd: &MoneticoCommand, out: &mut dyn Write) -> Exit {
    let result = match cmd {
        MoneticoCommand::Sign { key, fields } => sign(key, fields, out),
        MoneticoCommand::Verify { key, raw } => verify(key, raw, out),
    };
    result.unwrap_or(Exit::Usage)
}

fn key_or_usage(key: &str, out: &mut dyn Write) -> std::io::Result<Option<MacKey>> {
    match MacKey::new(&SecretString::from(key.to_owned())) {
        Ok(k) => Ok(Some(k)),
        Err(e) => {
            writeln!(out, "error: {e}")?;
            Ok(None)
        }
    }
}

fn sign(key: &str, fields: &[String], out: &mut dyn Write) -> std::io::Result<Exit> {
    let Some(pairs) = crate::tool::field_pairs_or_usage(fields, out)? else {
        return Ok(Exit::Usage);
    };
    let Some(key) = key_or_usage(key, out)? else {
        return Ok(Exit::Usage);
    };
    writeln!(out, "{}", key.sign(pairs))?;
    Ok(Exit::Success)
}

fn verify(key: &str, raw: &str, out: &mut dyn Write) -> std::io::Result<Exit> {
    let Some(key) = key_or_usage(key, out)? else {
        return Ok(Exit::Usage);
    };
    let raw = raw.trim_end_matches(['\r', '\n']);
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let form = match Form::parse(raw.as_bytes(), FormLimits::NOTIFICATION) {
        Ok(f) => f,
        Err(e) => {
            writeln!(out, "invalid: the form does not decode: {e}")?;
            return Ok(Exit::CheckFailed);
        }
    };
    if let Some(name) = form.first_duplicate() {
        let name: String = name.chars().take(40).collect();
        writeln!(out, "invalid: field {name:?} is repeated")?;
        return Ok(Exit::CheckFailed);
    }
    let Some(mac) = form.last(MAC_FIELD) else {
        writeln!(out, "invalid: no MAC field")?;
        return Ok(Exit::CheckFailed);
    };
    let fields = form
        .fields()
        .iter()
        .map(|f| (f.name.as_ref(), f.value.as_ref()));
    match key.verify(fields, &mac.value) {
        Ok(Encoding::Latin1) => writeln!(out, "valid (over the ISO-8859-1 bytes)")?,
        Ok(_) => writeln!(out, "valid")?,
        Err(ProviderError::BadSignature { .. }) if mac.value.len() != 40 => {
            writeln!(out, "invalid: the MAC is not 40 hexadecimal digits")?;
            return Ok(Exit::CheckFailed);
        }
        Err(_) => {
            writeln!(
                out,
                "invalid: the MAC does not match the fields under this key"
            )?;
            return Ok(Exit::CheckFailed);
        }
    }
    Ok(Exit::Success)
}

/// `tpe codes monetico <CODE>`: a `motifrefus` with its normalized reason, or a `code-retour`
/// or `status3ds`, with the wording in French and English and the retry advice.
///
/// ```
/// let text = tpe_cli::banks::monetico::explain_code("Interdit");
/// assert!(text.contains("transaction_not_permitted") || text.contains("TransactionNotPermitted"));
/// assert!(tpe_cli::banks::monetico::explain_code("Annulation").contains("code-retour"));
/// ```
pub fn explain_code(code: &str) -> String {
    let code = code.trim();
    if let Some((table, w)) = codes::wording_of(code) {
        return format!(
            "monetico {table} {}\n  fr: {}\n  en: {}\n  advice: {} / {}\n",
            w.code,
            w.text_fr,
            w.text_en,
            w.advice.describe(Lang::En),
            w.advice.describe(Lang::Fr)
        );
    }
    codes::classify(code).explained("monetico motifrefus", "not in the Monetico tables")
}
