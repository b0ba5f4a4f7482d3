//! The Monetico side's own state: the TPEs and their usable keys, the confirmation (CGI2) URL
//! registered for each TPE, the payment pages open.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::state::{BankState, Store, page_store};

/// A TPE the bank knows: société code and usable key.
pub(super) struct Terminal {
    pub(super) societe: String,
    pub(super) key: [u8; 20],
}

/// The state the Monetico side keeps in the [`BankState`].
pub(crate) struct MoneticoState {
    pub(super) terminals: HashMap<String, Terminal>,
    data: Mutex<MoneticoData>,
}

/// Pages and confirmation URLs, behind one lock.
#[derive(Default)]
pub(crate) struct MoneticoData {
    pub(super) sessions: HashMap<String, MoneticoSession>,
    pub(super) cgi2_urls: HashMap<String, String>,
}

impl MoneticoState {
    pub(super) fn new(
        terminals: HashMap<String, Terminal>,
        cgi2_urls: HashMap<String, String>,
    ) -> Self {
        Self {
            terminals,
            data: Mutex::new(MoneticoData {
                sessions: HashMap::new(),
                cgi2_urls,
            }),
        }
    }

    /// Marks the page session `id` finished; `false` when it already was (or is unknown).
    pub(super) fn finish(&self, id: &str) -> bool {
        self.with(|d| match d.sessions.get_mut(id) {
            Some(s) if !s.finished => {
                s.finished = true;
                true
            }
            _ => false,
        })
    }
}

page_store!(MoneticoState { data: MoneticoData, sessions: MoneticoSession, order: created_order });

/// The Rust control API of the Monetico side.
impl BankState {
    pub(super) fn monetico(&self) -> &MoneticoState {
        self.bank::<MoneticoState>()
    }

    /// Registers the confirmation (CGI2) URL of a TPE, as Monetico does on the merchant's
    /// request; `false` for an unknown TPE or a URL that is not absolute http(s).
    pub fn set_monetico_cgi2_url(&self, tpe: &str, url: &str) -> bool {
        if crate::notify::check_callback_url(url).is_err()
            || !self.monetico().terminals.contains_key(tpe)
        {
            return false;
        }
        self.monetico().with(|d| {
            d.cgi2_urls.insert(tpe.to_owned(), url.to_owned());
        });
        true
    }
}

/// A payment page: one signed form.
#[derive(Clone, Debug)]
pub(crate) struct MoneticoSession {
    pub(super) id: String,
    pub(super) tpe: String,
    pub(super) reference: String,
    /// `montant` exactly as the shop sent it (the return echoes it).
    pub(super) montant: String,
    pub(super) amount: u64,
    /// ISO 4217 alphabetic code.
    pub(super) currency: String,
    pub(super) texte_libre: String,
    /// The test page answers `payetest`, the production page `paiement`.
    pub(super) test: bool,
    pub(super) url_ok: Option<String>,
    pub(super) url_err: Option<String>,
    pub(super) finished: bool,
    pub(super) created_order: u64,
}
