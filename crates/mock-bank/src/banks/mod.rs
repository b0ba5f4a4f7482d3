//! The banks the mock plays, one folder each.
//!
//! A bank is a folder with its own router, state, pages and notifications, and a unit struct
//! implementing the crate's `Bank` trait (`side`, `state`, `router`, `templates`). It
//! joins the mock with one line in the `register!` list at the end of `src/banks/mod.rs`: that
//! line declares the module and adds the bank to the list from which the router, the shared
//! state and the page templates are built.

use std::any::Any;

use crate::config::MockBankConfig;
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

    /// The later instalments of paid payments in instalments not yet charged; none for a bank
    /// without instalments.
    fn uncharged_instalments(&self, state: &BankState) -> Vec<crate::instalments::Due> {
        let _ = state;
        Vec::new()
    }

    /// Charges later instalment `number` of the payment in instalments `reference` now, as the
    /// bank does on its due date, and notifies the shop.
    ///
    /// # Errors
    /// [`InstalmentError::NotOffered`] for a bank without instalments; the bank's own
    /// [`InstalmentError`] otherwise.
    fn charge_instalment(
        &self,
        state: &BankState,
        reference: &str,
        number: u8,
        accepted: bool,
    ) -> Result<(), InstalmentError> {
        let _ = (state, reference, number, accepted);
        Err(InstalmentError::NotOffered)
    }
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
