//! The banks the mock plays, one folder each.
//!
//! A bank is a folder with its own router, state, pages and notifications, and a unit struct
//! implementing the crate's `Bank` trait (`side`, `state`, `router`, `templates`). It
//! joins the mock with one line in the `register!` list at the end of `src/banks/mod.rs`: that
//! line declares the module and adds the bank to the list from which the router, the shared
//! state and the page templates are built.

use std::any::Any;

use crate::config::MockBankConfig;
use crate::instalments::Charge;
use crate::journal::Side;
use crate::state::BankState;
use crate::{Error, InstalmentError};

/// One bank played by the mock. Its name is its module's (`paybox`): the folder, and the prefix
/// of its templates (`paybox/payment.html`).
pub(crate) trait Bank: Sync {
    /// The journal side of the requests the bank's routes serve.
    fn side(&self) -> Side;

    /// Builds the bank's own state (sessions, ledger, keys) when the mock starts, so a bad key is
    /// an error at startup. Handlers reach it with [`BankState::bank`].
    ///
    /// # Errors
    /// A configuration or key error.
    fn state(&self, config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error>;

    /// The bank's routes, its control routes under `/_mock/` included.
    fn router(&self) -> axum::Router<BankState>;

    /// The bank's page templates: file name and source (`include_str!`).
    fn templates(&self) -> &'static [(&'static str, &'static str)];

    /// How the bank runs later instalments, for a bank that offers payment in instalments.
    fn instalments(&self) -> Option<Instalments> {
        None
    }
}

/// What a bank that offers payment in instalments does with the later ones.
#[derive(Clone, Copy)]
pub(crate) struct Instalments {
    /// The later instalments of its paid payments in instalments not yet charged.
    pub(crate) uncharged: fn(&BankState) -> Vec<crate::instalments::Due>,
    /// Charges a later instalment now, accepted or refused, and notifies the shop.
    pub(crate) charge: fn(&BankState, Charge<'_>) -> Result<(), InstalmentError>,
}

/// Declares each bank module and lists its [`Bank`] in [`ALL`]: one line per bank.
macro_rules! register {
    ($($module:ident => $bank:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every bank the mock plays, by name, in registration order.
        pub(crate) const ALL: &[(&str, &dyn Bank)] = &[$((stringify!($module), &$module::$bank)),*];
    };
}

register! {
    lyra => Lyra,
    paybox => Paybox,
    stripe_like => StripeLike,
    worldline => Worldline,
    monetico => Monetico,
}
