//! `tpe-demo`: the farm shop of `tpe demo` on the mock bank, and `tpe demo --tour`, which plays
//! every story of the payment lifecycle on both providers and checks each against what the
//! lifecycle says.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tpe_demo::DemoError> {
//! use tpe_demo::{Demo, DemoOptions};
//! let demo = Demo::start(DemoOptions::interactive("127.0.0.1:0".parse().unwrap(), "demo-data")).await?;
//! println!("shop: {}  manager: {}", demo.shop_url(), demo.manager_url());
//! demo.shutdown().await;
//! # Ok(()) }
//! ```

mod banks;
mod demo;
pub mod eml;
mod engine_setup;
mod error;
mod launch;
pub mod replay;
pub mod tour;
mod web;

pub use demo::{
    DEFAULT_INSTALMENTS_MINIMUM, Demo, DemoOptions, DemoProvider, MANAGER_EMAIL,
    PAYBOX_IDENTIFIANT, PAYBOX_RANG, PAYBOX_SITE, SENDER_EMAIL, SHOP_NAME, mail_dir,
};
pub use error::DemoError;
pub use launch::{RunOptions, run};
pub use web::{PRODUCTS, Product, check_password_hash, hash_password};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
