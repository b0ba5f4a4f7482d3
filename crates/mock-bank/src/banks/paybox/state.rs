//! The Paybox side's own state: the signing key, the payment pages open, and the bank ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::signing::PayboxSigner;
use crate::instalments::{InstalmentError, Plan, charge_later};
use crate::state::{BankState, json_rows, push_capped, Store, page_store};

/// The state the Paybox side keeps in the [`BankState`].
pub(crate) struct PayboxState {
    pub(super) signer: PayboxSigner,
    data: Mutex<PayboxData>,
}

/// Pages and ledger, behind one lock.
#[derive(Default)]
pub(crate) struct PayboxData {
    pub(super) sessions: HashMap<String, PayboxSession>,
    pub(super) transactions: Vec<PayboxTransaction>,
}

impl PayboxState {
    pub(super) fn new(signer: PayboxSigner) -> Self {
        Self {
            signer,
            data: Mutex::new(PayboxData::default()),
        }
    }

    /// Whether the ledger holds an accepted payment of `reference` for this site and rang: the
    /// platform answers 00015 to any further attempt at it.
    pub(super) fn already_paid(&self, site: &str, rang: &str, reference: &str) -> bool {
        self.with(|d| {
            d.transactions.iter().any(|t| {
                t.site == site
                    && t.rang == rang
                    && t.reference == reference
                    && matches!(t.state, TxState::Authorized | TxState::Captured)
            })
        })
    }

    /// Writes a transaction to the ledger, forgetting the oldest past the crate's row bound.
    pub(super) fn record_transaction(&self, tx: PayboxTransaction) {
        self.with(|d| push_capped(&mut d.transactions, tx));
    }

    /// Marks later instalment `number` of the paid payment in instalments `reference`
    /// charged; the session as its notification sees it (that instalment and its amount).
    pub(super) fn charge(
        &self,
        reference: &str,
        number: u8,
    ) -> Result<PayboxSession, InstalmentError> {
        self.with(|d| {
            let (s, row) = charge_later(d.sessions.values_mut(), reference, number)?;
            let mut seen = s.clone();
            seen.amount = row.amount;
            seen.instalment = number;
            Ok(seen)
        })
    }
}

page_store!(PayboxState { data: PayboxData, sessions: PayboxSession, order: created_order });

/// The Rust control API of the Paybox side.
impl BankState {
    pub(super) fn paybox(&self) -> &PayboxState {
        self.bank::<PayboxState>()
    }

    /// The public key (SubjectPublicKeyInfo PEM) that verifies the mock's Paybox signatures.
    #[must_use]
    pub fn paybox_public_key_pem(&self) -> &str {
        self.paybox().signer.public_pem()
    }

    /// The Paybox transactions (bank ledger) so far, as JSON values.
    #[must_use]
    pub fn paybox_transactions(&self) -> Vec<serde_json::Value> {
        self.paybox().with(|d| json_rows(&d.transactions))
    }
}

/// A payment page session (one `PBX_*` form).
#[derive(Clone, Debug)]
pub(crate) struct PayboxSession {
    pub(super) id: String,
    pub(super) site: String,
    pub(super) rang: String,
    pub(super) reference: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) retour: Vec<(String, char)>,
    pub(super) ipn_post: bool,
    pub(super) effectue: Option<String>,
    pub(super) refuse: Option<String>,
    pub(super) annule: Option<String>,
    pub(super) attente: Option<String>,
    pub(super) repondre_a: Option<String>,
    pub(super) challenge_wanted: bool,
    pub(super) authorize_only: bool,
    pub(super) error_code_test: Option<String>,
    pub(super) attempts: u32,
    pub(super) finished: bool,
    pub(super) numappel: u64,
    /// The merchant's returned values are ISO-8859-1 bytes.
    pub(super) latin1: bool,
    pub(super) awaiting_challenge: Option<CardData>,
    pub(super) created_order: u64,
    /// Where the conclusion sent the browser, so a second click shows the same result.
    pub(super) returned: Option<Returned>,
    /// The schedule of a payment in instalments (`PBX_2MONTn`, `PBX_DATEn`).
    pub(super) plan: Option<Plan>,
    /// The instalment the session's notifications are about (1: the page's payment); `amount`
    /// is that instalment's.
    pub(super) instalment: u8,
    /// Whether the page's payment was accepted (later instalments follow only then).
    pub(super) paid: bool,
}

crate::instalments::scheduled!(PayboxSession);

/// The browser return of a concluded page: its target, signed payload and code.
#[derive(Clone, Debug)]
pub(super) struct Returned {
    pub(super) target: Option<String>,
    pub(super) payload: String,
    pub(super) code: String,
}

/// State of a bank transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum TxState {
    Authorized,
    Captured,
    Refunded,
    Cancelled,
    Refused,
    Pending,
}

impl TxState {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Authorized => "Autorisé",
            Self::Captured => "Capturé",
            Self::Refunded => "Remboursé",
            Self::Cancelled => "Annulé",
            Self::Refused => "Refusé",
            Self::Pending => "En attente",
        }
    }
}

/// One bank transaction (one try on the page, or one Direct operation).
#[derive(Clone, Debug, Serialize)]
pub(super) struct PayboxTransaction {
    pub(super) numtrans: u64,
    pub(super) numappel: u64,
    pub(super) site: String,
    pub(super) rang: String,
    pub(super) reference: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) code: String,
    pub(super) authorization: String,
    pub(super) state: TxState,
    pub(super) refunded: u64,
}

/// The card of one attempt, as much of it as the returns may show (`D`, `N`, `J`).
#[derive(Clone, Debug, Default)]
pub(super) struct CardData {
    pub(super) pan: String,
    pub(super) expiry_yymm: String,
}

