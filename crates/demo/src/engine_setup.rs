//! The one place the demo builds its [`Engine`] from a tpe-store [`PaymentStore`].

use std::sync::Arc;

use tpe_core::{Clock, Registry};
use tpe_engine::{BuildError, Engine, FileMailer, ShopSettings, Timings};
use tpe_store::PaymentStore;

/// Builds the engine over `store` (SQLite here; any `PaymentStore` would do).
pub(crate) fn build_engine(
    registry: Registry,
    store: Arc<dyn PaymentStore>,
    mailer: Arc<FileMailer>,
    settings: ShopSettings,
    clock: Arc<dyn Clock>,
    timings: Timings,
) -> Result<Engine, BuildError> {
    Engine::builder(registry, store, mailer, settings)
        .clock(clock)
        .timings(timings)
        .build()
}
