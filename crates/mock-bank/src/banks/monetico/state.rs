//! The Monetico side's own state: the TPEs and their usable keys, the confirmation (CGI2) URL
//! registered for each TPE, the payment pages open.

use std::collections::HashMap;
use std::sync::Mutex;

use super::cgi2::{Verdict, send_cgi2};
use super::page::Card;
use crate::instalments::{Charge, InstalmentError, Plan, charge_later};
use crate::journal::{JournalEntry, Side};
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

impl MoneticoState {
    /// The first payment of page session `id` was accepted.
    pub(super) fn mark_paid(&self, id: &str) {
        self.with(|d| {
            if let Some(s) = d.sessions.get_mut(id) {
                s.paid = true;
            }
        });
    }

    /// Marks later instalment `number` of the paid payment in instalments `reference`
    /// charged; the session as it is then.
    fn charge(&self, reference: &str, number: u8) -> Result<MoneticoSession, InstalmentError> {
        self.with(|d| {
            charge_later(d.sessions.values_mut(), reference, number).map(|(s, _)| s.clone())
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
    /// The schedule of a payment in instalments (`nbrech`).
    pub(super) plan: Option<Plan>,
    /// Whether the first payment was accepted (later instalments follow only then).
    pub(super) paid: bool,
}

crate::instalments::scheduled!(MoneticoSession);

/// Charges later instalment `number` (2 to 4) of the payment in instalments `reference`
/// paid on the page, as Monetico does on its due date, and sends its signed return
/// (`paiement_pfN`, or `Annulation_pfN` with `motifrefus` `Refus` when not `accepted`),
/// with the instalment's `montantech`.
///
/// # Errors
/// [`InstalmentError`] when there is no such payment or instalment, or it was charged.
pub(super) fn charge_instalment(state: &BankState, charge: Charge<'_>) -> Result<(), InstalmentError> {
    let Charge { reference, number, accepted } = charge;
    let session = state.monetico().charge(reference, number)?;
    let verdict = if accepted {
        Verdict::Accepted { challenge: false }
    } else {
        Verdict::Refused("Refus".to_owned())
    };
    let detail = format!("instalment {number} {}", if accepted { "accepted" } else { "refused" });
    let page = "/_mock/monetico/instalments";
    state.record(JournalEntry::decision(Side::Monetico, page, reference, &detail, None));
    let reference = session.reference.clone();
    state.spawn_for(&reference, move |state, scenario| async move {
        let card = Card::default();
        send_cgi2(&state, &session, (verdict, number), &card, &scenario, true).await;
    });
    Ok(())
}
