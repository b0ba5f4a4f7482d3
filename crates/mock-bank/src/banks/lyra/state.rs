//! The Lyra side's own state: the shops' keys, the payment pages open, the transactions and
//! the (site, day, trans id) keys already used.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde::Serialize;

use crate::instalments::Plan;
use crate::config::LyraShop;
use crate::state::{BankState, json_rows, push_capped, page_store};

/// The state the Lyra side keeps in the [`BankState`].
pub(crate) struct LyraState {
    pub(super) shops: Vec<LyraShop>,
    data: Mutex<LyraData>,
}

/// Pages, ledger and used keys, behind one lock.
#[derive(Default)]
pub(crate) struct LyraData {
    pub(super) sessions: HashMap<String, LyraSession>,
    pub(super) transactions: Vec<LyraTransaction>,
    /// `site|YYYYMMDD|trans id in lower case`: a trans id is unique per shop and UTC day,
    /// case ignored (spec B.4).
    pub(super) used: HashSet<String>,
}

impl LyraState {
    pub(super) fn new(shops: Vec<LyraShop>) -> Self {
        Self {
            shops,
            data: Mutex::new(LyraData::default()),
        }
    }

    /// [`Store::with`](crate::state::Store::with), callable without the trait in scope.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut LyraData) -> R) -> R {
        crate::state::Store::with(self, f)
    }

    pub(super) fn shop(&self, site_id: &str) -> Option<&LyraShop> {
        self.shops.iter().find(|s| s.site_id == site_id)
    }

    pub(super) fn record_transaction(&self, tx: LyraTransaction) {
        self.with(|d| push_capped(&mut d.transactions, tx));
    }
}

page_store!(LyraState { data: LyraData, sessions: LyraSession, order: created_order });

/// The Rust control API of the Lyra side.
impl BankState {
    pub(super) fn lyra(&self) -> &LyraState {
        self.bank::<LyraState>()
    }

    /// The Lyra transactions so far, as JSON values.
    #[must_use]
    pub fn lyra_transactions(&self) -> Vec<serde_json::Value> {
        self.lyra().with(|d| json_rows(&d.transactions))
    }
}

/// A payment page session (one `vads_*` form).
#[derive(Clone, Debug)]
pub(crate) struct LyraSession {
    pub(super) id: String,
    pub(super) site_id: String,
    pub(super) production: bool,
    /// `YYYYMMDD-transid`: the platform's key of the transaction (spec B.4).
    pub(super) reference: String,
    /// The request's `vads_*` fields, echoed in the IPN.
    pub(super) request: Vec<(String, String)>,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) url_check: Option<String>,
    pub(super) url_success: Option<String>,
    pub(super) url_refused: Option<String>,
    pub(super) url_cancel: Option<String>,
    pub(super) url_return: Option<String>,
    pub(super) return_mode: String,
    pub(super) attempts: u32,
    pub(super) finished: bool,
    pub(super) awaiting_challenge: Option<CardData>,
    pub(super) created_order: u64,
    /// The schedule of a payment in instalments (`vads_payment_config=MULTI_EXT`).
    pub(super) plan: Option<Plan>,
    /// The instalment (`vads_sequence_number`) the session's notifications are about.
    pub(super) sequence: u8,
    /// Whether the page's payment was accepted (later instalments follow only then).
    pub(super) paid: bool,
}

crate::instalments::scheduled!(LyraSession);

impl LyraSession {
    /// The amount of the transaction notified: the instalment's, or the whole payment's.
    pub(super) fn effective_amount(&self) -> u64 {
        self.plan
            .as_ref()
            .and_then(|p| p.row(self.sequence))
            .map_or(self.amount, |r| r.amount)
    }

    /// The value of a request field, or `""`.
    pub(super) fn field(&self, name: &str) -> &str {
        self.request
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// State of a transaction, as `vads_trans_status` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum TxStatus {
    Authorised,
    AuthorisedToValidate,
    Cancelled,
    Refused,
    UnderVerification,
    Abandoned,
}

impl TxStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Authorised => "AUTHORISED",
            Self::AuthorisedToValidate => "AUTHORISED_TO_VALIDATE",
            Self::Cancelled => "CANCELLED",
            Self::Refused => "REFUSED",
            Self::UnderVerification => "UNDER_VERIFICATION",
            Self::Abandoned => "ABANDONED",
        }
    }

    /// The REST API's word for the transaction (`status`, and the order's `orderStatus`).
    pub(super) fn rest_status(self) -> &'static str {
        match self {
            Self::Authorised => "PAID",
            Self::AuthorisedToValidate | Self::UnderVerification => "RUNNING",
            Self::Refused | Self::Abandoned | Self::Cancelled => "UNPAID",
        }
    }
}

/// A two-digit `vads_auth_result` as REST writes it, without its leading zero (`00` → `0`).
pub(super) fn rest_code(code: &str) -> &str {
    match code.strip_prefix('0') {
        Some(rest) if code.len() == 2 => rest,
        _ => code,
    }
}

/// One transaction of the platform.
#[derive(Clone, Debug, Serialize)]
pub(super) struct LyraTransaction {
    pub(super) uuid: String,
    pub(super) site_id: String,
    pub(super) reference: String,
    pub(super) order_id: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) status: TxStatus,
    pub(super) auth_result: String,
    pub(super) refunded: u64,
}

/// The card of one attempt, as much as the IPN may show.
#[derive(Clone, Debug, Default)]
pub(super) struct CardData {
    pub(super) pan: String,
    pub(super) month: String,
    pub(super) year: String,
}
