//! Each bank's tools: `tpe <bank> sign|verify…` and `tpe codes <bank> <CODE>`, built on the
//! provider crates' public API. Nothing here prints a secret.

#[cfg(feature = "lyra")]
pub mod lyra;
#[cfg(feature = "monetico")]
pub mod monetico;
#[cfg(feature = "paybox")]
pub mod paybox;
#[cfg(feature = "stripe-like")]
pub mod stripe_like;
#[cfg(feature = "worldline")]
pub mod worldline;

use std::io::Write;

use clap::{Subcommand, ValueEnum};

use crate::Exit;

/// Every bank of the command line, listed once: `tpe codes <bank> <code>` and
/// `tpe <bank> sign|verify`. A bank module brings a clap subcommand type, `run(&command, out)`
/// and `explain_code(code)`; adding the bank here is one line.
macro_rules! banks {
    ($($(#[doc = $doc:literal])* $feature:literal $variant:ident => $module:ident::$command:ident, codes: $codes:literal;)*) => {
        /// A bank's own tools.
        #[derive(Debug, Subcommand)]
        pub enum BankCommand {
            $($(#[doc = $doc])* #[cfg(feature = $feature)] #[command(subcommand)] $variant($module::$command),)*
        }

        impl BankCommand {
            /// Runs the tool, writing its output (and its usage errors) to `out`.
            pub fn run(&self, out: &mut dyn Write) -> Exit {
                // By value, so that the match is also valid when no bank is built in.
                match *self {
                    $(#[cfg(feature = $feature)] Self::$variant(ref cmd) => $module::run(cmd, out),)*
                }
            }
        }

        /// Banks whose codes `tpe codes` explains.
        #[derive(Debug, Clone, Copy, ValueEnum)]
        pub enum CodesProvider {
            $(#[doc = $codes] #[cfg(feature = $feature)] $variant,)*
        }

        impl CodesProvider {
            /// The code explained: normalized reason, the bank's wording, retry advice.
            pub fn explain(self, code: &str) -> String {
                match self {
                    $(#[cfg(feature = $feature)] Self::$variant => $module::explain_code(code),)*
                }
            }
        }
    };
}

banks! {
    /// Lyra tools (Systempay, PayZen, Scellius, Sogecommerce): sign a vads_ form, verify an IPN or a REST notification.
    "lyra" Lyra => lyra::LyraCommand, codes: "Lyra: Systempay, PayZen, Scellius, Sogecommerce (`vads_auth_result`, e.g. 51).";
    /// Paybox / Up2Pay e-Transactions tools: sign a form, verify a notification.
    "paybox" Paybox => paybox::PayboxCommand, codes: "Paybox / Up2Pay e-Transactions (`E` codes, e.g. 00151).";
    /// Stripe-like PSP tools: sign and verify webhook signatures.
    "stripe-like" StripeLike => stripe_like::StripeLikeCommand, codes: "Stripe-like decline codes (e.g. insufficient_funds).";
    /// Worldline Direct / CAWL tools: sign an API request, verify a webhook signature.
    "worldline" Worldline => worldline::WorldlineCommand, codes: "Worldline Direct / CAWL statusCode, status and errorCode (e.g. 93, REJECTED).";
    /// Monetico Paiement (CIC / Crédit Mutuel) tools: sign a form, verify a CGI2 return.
    "monetico" Monetico => monetico::MoneticoCommand, codes: "Monetico motifrefus, code-retour and status3ds (e.g. Interdit, Annulation).";
}
