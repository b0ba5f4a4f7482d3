//! `tpe-engine`: the service a shop links.
//!
//! It turns the parts of tpe — providers ([`tpe_core::PaymentProvider`]), a store
//! ([`tpe_store::PaymentStore`]: SQLite or PostgreSQL), a [`Mailer`] — into the payment
//! lifecycle a shop needs:
//!
//! - [`Engine::start_checkout`] checks the customer's data (PSD2), asks the provider for the
//!   redirect, stores the checkout with its bank reference and the provider's data in one
//!   transaction and returns the redirect ([`redirect_page`] renders it);
//!   [`Engine::validate_manually`], [`Engine::reinstate`] and [`Engine::request_refund`] for a
//!   manager (a refund goes to the bank through the relay, once); read views;
//! - [`Engine::handle_notification`] (and the route of [`Engine::router`], bounded by each
//!   provider's limits) verifies the bank's notification, finds its checkout through the unique
//!   bank reference, applies it through a group committer (every notification queued meanwhile
//!   in one transaction, a savepoint each, one commit) and answers in the provider's own words
//!   only after that commit — also for forged input, an unknown checkout, a handshake, or a
//!   store outage (so the bank retries); an authentic notification naming no checkout is
//!   quarantined with its bytes, and [`Engine::replay_quarantined`] feeds it again once fixed;
//! - [`Engine::run_relay_once`] delivers the effects written by the transitions (e-mails from
//!   editable templates, payment records to a [`PaymentRecordHook`]), each effectively once;
//! - [`Engine::run_retraction`] and [`Engine::run_reconciliation`] are the jobs;
//!   [`Engine::spawn_background`] runs them all.
//!
//! ```
//! # async fn demo(registry: tpe_core::Registry) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tpe_engine::{Engine, FileMailer, ShopSettings};
//! use tpe_store::{SqliteOptions, SqliteStore};
//! let settings = ShopSettings::new("Ferme des Lilas", "https://shop.example.fr/".parse()?,
//!     "gestion@shop.example.fr", "boutique@shop.example.fr")?;
//! let store = Arc::new(SqliteStore::open("payments.db", SqliteOptions::default()).await?);
//! let engine = Engine::builder(registry, store,
//!     Arc::new(FileMailer::new("outbox")?), settings).build()?;
//! let app: axum::Router = engine.router();
//! let jobs = engine.spawn_background(std::time::Duration::from_secs(1),
//!     std::time::Duration::from_secs(60));
//! # let _ = app; jobs.shutdown().await;
//! # Ok(()) }
//! ```

mod background;
mod committer;
mod engine;
mod error;
mod hook;
mod jobs;
mod mailer;
mod notify;
mod redirect_page;
mod refund;
mod relay;
mod replay;
mod routes;
mod settings;
mod templates;

pub use background::Background;
pub use committer::CommitStats;
pub use engine::{CheckoutRequest, Engine, EngineBuilder, StartedCheckout, Timings};
pub use error::{BuildError, CheckoutError, DeliveryError, EngineError};
pub use hook::{HookError, NoHook, PaymentRecordHook, PaymentRecordView};
pub use jobs::{ReconciliationReport, RetractionReport};
pub use mailer::{Email, FileMailer, MailError, Mailer, MemoryMailer, SmtpMailer};
pub use notify::{NotificationOutcome, NotificationResponse};
pub use redirect_page::redirect_page;
pub use relay::{RelayReport, effect_kind_text, message_id};
pub use replay::ReplayError;
pub use routes::{MAX_BODY, REQUEST_TIMEOUT};
pub use settings::{SettingsError, ShopSettings};
pub use templates::{Rendered, TemplateError, TemplateName, Templates};
/// The store the engine runs on, re-exported so a shop needs no direct dependency on it.
pub use tpe_store;
pub use tpe_store::{PaymentStore, StoreError};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
