//! The demo's errors: each says what failed and where.

use std::path::PathBuf;

/// Why the demo (or its tour) could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A folder or file of the data directory could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The shop's address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The mock bank could not start.
    #[error("the mock bank could not start: {0}")]
    Bank(#[from] tpe_mock_bank::Error),
    /// The SQLite store could not be opened.
    #[error("the store could not be opened: {0}")]
    Store(#[from] tpe_store::StoreError),
    /// A provider could not be configured.
    #[error("provider configuration: {0}")]
    Provider(#[from] tpe_core::ProviderError),
    /// A provider was registered twice.
    #[error("provider registry: {0}")]
    Registry(#[from] tpe_core::DuplicateProvider),
    /// The engine could not be built.
    #[error("the engine could not be built: {0}")]
    Engine(#[from] tpe_engine::BuildError),
    /// The shop settings are unusable.
    #[error("shop settings: {0}")]
    Settings(#[from] tpe_engine::SettingsError),
    /// A step of the tour failed in a way that stops the tour itself.
    #[error("tour step failed: {0}")]
    Tour(String),
}

impl DemoError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
