//! `tpe-engine`: the service a shop links.
//!
//! It turns the parts of tpe — providers ([`tpe_core::PaymentProvider`]), a store
//! ([`EngineStore`]), a [`Mailer`] — into the payment lifecycle a shop needs:
//!
//! - [`Engine::start_checkout`] checks the customer's data (PSD2), creates the checkout and
//!   returns the bank's redirect; [`Engine::validate_manually`] for a manager; read views;
//! - [`Engine::handle_notification`] (and the route of [`Engine::router`]) verifies the bank's
//!   notification on its raw bytes, applies it in one transaction and answers the bank's exact
//!   acknowledgement only after the commit — 4xx for forged input, 503 when the store is down;
//! - [`Engine::run_relay_once`] delivers the effects written by the transitions (e-mails from
//!   editable templates, payment records to a [`PaymentRecordHook`]), each effectively once;
//! - [`Engine::run_retraction`] and [`Engine::run_reconciliation`] are the jobs;
//!   [`Engine::spawn_background`] runs them all.
//!
//! ```
//! # async fn demo(registry: tpe_core::Registry) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tpe_engine::{Engine, FileMailer, MemoryStore, ShopSettings};
//! let settings = ShopSettings::new("Ferme des Lilas", "https://shop.example.fr/".parse()?,
//!     "gestion@shop.example.fr", "boutique@shop.example.fr")?;
//! let engine = Engine::builder(registry, Arc::new(MemoryStore::new()),
//!     Arc::new(FileMailer::new("outbox")?), settings).build()?;
//! let app: axum::Router = engine.router();
//! let jobs = engine.spawn_background(std::time::Duration::from_secs(1),
//!     std::time::Duration::from_secs(60));
//! # let _ = app; jobs.shutdown().await;
//! # Ok(()) }
//! ```

mod background;
mod engine;
mod error;
mod hook;
mod jobs;
mod mailer;
mod memory;
mod notify;
mod relay;
mod routes;
mod settings;
mod store;
mod templates;
mod tpe_store;

pub use background::Background;
pub use engine::{CheckoutRequest, Engine, EngineBuilder, StartedCheckout, Timings};
pub use error::{BuildError, CheckoutError, EngineError};
pub use hook::{HookError, NoHook, PaymentRecordHook, PaymentRecordView};
pub use jobs::{ReconciliationReport, RetractionReport};
pub use mailer::{Email, FileMailer, MailError, Mailer, MemoryMailer, SmtpMailer};
pub use memory::MemoryStore;
pub use notify::{NotificationOutcome, NotificationResponse};
pub use relay::{RelayReport, message_id};
pub use routes::{MAX_BODY, REQUEST_TIMEOUT};
pub use settings::{SettingsError, ShopSettings};
pub use store::{
    Applied, AuditEntry, BankTransaction, CheckoutDetail, CheckoutInfo, CheckoutRecord,
    EngineStore, NewCheckout, OutboxEntry, OutboxItem, Page, PaymentRecord, QuarantineEntry,
    StoreError,
};
pub use templates::{Rendered, TemplateError, TemplateName, Templates};
pub use tpe_store::TpeStore;
