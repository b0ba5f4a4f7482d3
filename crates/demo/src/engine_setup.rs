//! The one place the demo builds its [`Engine`] from a tpe-store [`PaymentStore`].

use std::path::Path;
use std::sync::Arc;

use tpe_core::{Clock, Registry};
use tpe_engine::{BuildError, Engine, FileMailer, ShopSettings, Timings};
use tpe_store::PaymentStore;

use crate::DemoError;

/// Builds the engine over `store` (SQLite here; any `PaymentStore` would do), named
/// `instance`: the same at each start on one data folder, so a restart delivers at once what
/// the stopped run had claimed.
pub(crate) fn build_engine(
    registry: Registry,
    store: Arc<dyn PaymentStore>,
    mailer: Arc<FileMailer>,
    settings: ShopSettings,
    clock: Arc<dyn Clock>,
    timings: Timings,
    instance: String,
) -> Result<Engine, BuildError> {
    Engine::builder(registry, store, mailer, settings)
        .clock(clock)
        .timings(timings)
        .worker_id(instance)
        .build()
}

/// The instance name kept in `data_dir/instance-id`, drawn once.
pub(crate) fn instance_id(data_dir: &Path) -> Result<String, DemoError> {
    let path = data_dir.join("instance-id");
    let io = |source| DemoError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let id = format!("demo-{}", hex::encode(bytes));
    std::fs::write(&path, &id).map_err(io)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_id_is_drawn_once_per_data_folder() {
        let dir = std::env::temp_dir().join(format!("tpe-demo-instance-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let first = instance_id(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.starts_with("demo-") && first.len() == 21, "{first}");
        assert_eq!(instance_id(&dir).unwrap_or_else(|e| panic!("{e}")), first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
