//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong when configuring or starting the mock bank.
///
/// Request-level failures (a bad MAC, an unknown merchant, a refused card) are not errors of the
/// mock: they are answers in the bank's own format, recorded in the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    ConfigRead {
        /// The file that was asked for.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for the mock bank.
    #[error("invalid configuration file {path}: {message}")]
    ConfigParse {
        /// The file that was read.
        path: PathBuf,
        /// What the parser said (never contains key material: keys are not echoed).
        message: String,
    },
    /// A configuration value is out of range or malformed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The RSA signing key could not be loaded.
    #[error("invalid Paybox signing key: {0}")]
    SigningKey(String),
    /// The listening socket could not be bound or served.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The outgoing HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}
