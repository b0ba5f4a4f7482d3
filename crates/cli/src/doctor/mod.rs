//! `tpe doctor`: checks a shop's configuration file and what the bank will meet, and says for
//! each finding what to change.
//!
//! - Each configured bank's table is read and built by the bank's own schema (key formats,
//!   identifiers); Paybox's `retour` must end with the signature and its public keys must parse
//!   and be the key Paybox publishes;
//! - every URL is absolute and https (http only for a local test, with a warning);
//! - the shop's notification URL of each bank gets an unsigned probe, which must get the
//!   engine's signature refusal exactly as the bank's own verifier would answer it: proof that
//!   the route is mounted, reachable and verifying;
//! - the clock is compared with the `Date` of the answers; an https server's certificate is
//!   read for its validity and expiry.
//!
//! Every network call is bounded by `--timeout`; offline, the probe says "unreachable".
//! Exit codes: 0 nothing wrong (warnings allowed), 1 an error found, 2 usage error or an
//! unreadable configuration file.

mod config;
mod network;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::shop_config::ShopConfig;

/// Arguments of `tpe doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// The shop's configuration file: `[shop]`, and one table per bank (see the docs).
    #[arg(long)]
    pub config: PathBuf,
    /// The shop's public base URL (wins over `[shop] public_url`).
    #[arg(long)]
    pub url: Option<String>,
    /// The longest wait of each network call, in seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Check the configuration only: no network call.
    #[arg(long)]
    pub offline: bool,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// As it should be.
    Ok,
    /// Works, but should change (an http URL on the local machine, a certificate expiring).
    Warning,
    /// Payments or notifications will fail until it changes.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What it is about: `shop`, a bank's table, a URL.
    pub subject: String,
    /// What was found.
    pub message: String,
    /// What to change (empty when nothing needs to).
    pub fix: String,
}

impl Finding {
    fn new(severity: Severity, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            subject: subject.into(),
            message: message.into(),
            fix: String::new(),
        }
    }

    /// As it should be.
    pub(crate) fn ok(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Ok, subject, message)
    }

    /// A warning saying what to change.
    pub(crate) fn warning(
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, subject, message).with_fix(fix)
    }

    /// An error saying what to change.
    pub(crate) fn error(
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, subject, message).with_fix(fix)
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.severity, self.subject, self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n    change: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Everything the doctor found, in the order checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The findings of `severity`.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// 0 when nothing is wrong (warnings allowed), 1 when an error was found.
    pub fn exit_code(&self) -> ExitCode {
        if self.of(Severity::Error).next().is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Checks the configuration file of `args` (and, unless `--offline`, what the bank meets).
///
/// # Errors
/// The configuration file cannot be read or is not a shop configuration (exit code 2).
pub async fn check(args: &DoctorArgs) -> Result<Report, crate::shop_config::ConfigError> {
    let config = ShopConfig::load(&args.config)?;
    let public_url = config.public_url(args.url.as_deref());
    let mut findings = config::check_shop(&config, public_url);
    let banks = config::check_banks(&config, &mut findings);
    if args.offline {
        findings.push(Finding::ok("network", "not checked (--offline)"));
    } else if let Some(base) = public_url {
        let timeout = Duration::from_secs(args.timeout.max(1));
        network::probe(&config, base, &banks, timeout, &mut findings).await;
    }
    Ok(Report { findings })
}

/// Runs `tpe doctor`: prints every finding to `out`, then a summary line.
pub async fn run(args: DoctorArgs, out: &mut dyn Write) -> ExitCode {
    let report = match check(&args).await {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "tpe doctor: {e}");
            return ExitCode::from(2);
        }
    };
    for finding in &report.findings {
        let _ = writeln!(out, "{finding}");
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s)",
        report.of(Severity::Error).count(),
        report.of(Severity::Warning).count()
    );
    report.exit_code()
}
