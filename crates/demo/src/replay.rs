//! The demo's engine over an existing data folder, without serving the shop: what `tpe
//! replay --data DIR` feeds quarantined notifications to. The demo's banks are aimed at a mock
//! bank started for the purpose, whose shipped test keys are the ones the demo's bank signed
//! with.

use std::path::Path;
use std::sync::Arc;

use tpe_engine::{Engine, FileMailer, ShopSettings, Timings};
use tpe_mock_bank::{MockBank, MockBankConfig, RunningBank};
use tpe_store::{SqliteOptions, SqliteStore};

use crate::demo::{DemoProvider, MANAGER_EMAIL, SENDER_EMAIL, SHOP_NAME};
use crate::engine_setup::{build_engine, instance_id};
use crate::error::DemoError;

/// The demo's SQLite file in its data folder.
pub const DATABASE_FILE: &str = "tpe-demo.sqlite";

/// The demo's engine over the store of `data_dir`, with every bank of the demo, and the mock
/// bank it needs (keep it while the engine is used). Nothing is served and nothing is sent:
/// effects stay in the outbox for the demo's next run.
///
/// ```no_run
/// # async fn f() -> Result<(), tpe_demo::DemoError> {
/// let (engine, _bank) = tpe_demo::replay::open_engine("./tpe-demo-data".as_ref()).await?;
/// let response = engine.replay_quarantined(1).await;
/// # let _ = response; Ok(()) }
/// ```
///
/// # Errors
/// [`DemoError`] when the folder has no demo database, or the bank, the store or the engine
/// cannot start.
pub async fn open_engine(data_dir: &Path) -> Result<(Engine, RunningBank), DemoError> {
    let db = data_dir.join(DATABASE_FILE);
    if !db.is_file() {
        return Err(DemoError::Io {
            path: db,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no demo database"),
        });
    }
    let bank = MockBank::spawn(MockBankConfig::default()).await?;
    let mut registry = tpe_core::Registry::new();
    for p in DemoProvider::ALL {
        registry.register(p.bank().provider(&bank)?)?;
    }
    let base = crate::demo::base_url("http://127.0.0.1/")?;
    let settings = ShopSettings::new(SHOP_NAME, base, MANAGER_EMAIL, SENDER_EMAIL)?;
    let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).await?);
    // The demo's own mail folder; replaying writes no mail (the relay is not run).
    let mailer = FileMailer::new(crate::demo::mail_dir(data_dir))
        .map_err(|e| DemoError::Tour(e.to_string()))?;
    let engine = build_engine(
        registry,
        store,
        Arc::new(mailer),
        settings,
        Arc::new(tpe_core::clock::SystemClock),
        Timings::default(),
        instance_id(data_dir)?,
    )?;
    Ok((engine, bank))
}
