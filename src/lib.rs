#![doc = include_str!("../README.md")]

/// Core types: money, customers, references, the provider trait, reasons, the lifecycle.
pub use tpe_core as core;
#[cfg(feature = "demo")]
/// The demo farm shop behind `tpe demo`.
#[doc(hidden)]
pub use tpe_demo as demo;
/// The service a shop links: checkout, notifications, e-mails, jobs.
pub use tpe_engine as engine;
/// Bounded serving of the engine's routes: header read timeout, connection limit, shutdown.
pub use tpe_http as http;
#[cfg(feature = "lyra")]
/// Lyra: Systempay, PayZen, Scellius, Sogecommerce.
pub use tpe_lyra as lyra;
#[cfg(feature = "mock-bank")]
/// The mock bank: the bank side of every protocol, for people and tests.
pub use tpe_mock_bank as mock_bank;
#[cfg(feature = "monetico")]
/// Monetico Paiement (CIC / Crédit Mutuel).
pub use tpe_monetico as monetico;
#[cfg(feature = "paybox")]
/// Paybox / Up2Pay e-Transactions.
pub use tpe_paybox as paybox;
/// The payment store: SQLite and PostgreSQL.
pub use tpe_store as store;
#[cfg(feature = "stripe-like")]
/// The Stripe-like PSP.
pub use tpe_stripe_like as stripe_like;
#[cfg(feature = "worldline")]
/// Worldline Direct / CAWL.
pub use tpe_worldline as worldline;
