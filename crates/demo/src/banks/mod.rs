//! The banks of the demo, one file each: how to build the provider against the mock bank and
//! how the tour's customer pays on the bank's page.
//!
//! A bank joins the demo with one file here implementing [`DemoBank`] and one line in the
//! `demo_banks!` list at the end of this file: the shop's bank choice, the tour (every story
//! on every bank), the test cards printed by `tpe demo` all follow.

use std::sync::Arc;

use tpe_core::{PaymentProvider, PaymentRequest, ProviderId, Redirect, Timestamp};
use tpe_mock_bank::RunningBank;
use url::Url;

use crate::error::DemoError;

/// Which test card the tour's customer types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    Accepted,
    Refused,
    PendingThenAccepted,
    PendingThenRefused,
    /// A mistyped number: the page is shown again.
    Mistyped,
}

/// One bank of the demo.
#[async_trait::async_trait]
pub(crate) trait DemoBank: Sync + 'static {
    /// The provider id registered in the engine.
    fn id(&self) -> ProviderId;

    /// The label shown to people.
    fn label(&self) -> &'static str;

    /// The provider aimed at the mock bank, with the mock's test merchant.
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError>;

    /// Tells the mock bank where notifications go, for banks that keep the endpoint in their
    /// own settings (a PSP's registered webhook). Banks that read it from the signed redirect
    /// do nothing.
    fn connect(&self, bank: &RunningBank, notify: &Url) -> Result<(), DemoError> {
        let _ = (bank, notify);
        Ok(())
    }

    /// The mock bank's test card for `card`.
    fn card(&self, card: Card) -> &'static str;

    /// The accepted and refused cards, as `tpe demo` prints them.
    fn test_cards(&self) -> String {
        format!(
            "{} {} (acceptée), {} (refusée)",
            self.label(),
            self.card(Card::Accepted),
            self.card(Card::Refused)
        )
    }

    /// The path of the card form in the bank page's HTML.
    fn card_form(&self, html: &str) -> Option<String>;

    /// The fields of the card form, for `number`.
    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)>;

    /// After a refusal, the HTTP status of the bank's own page when the bank keeps the customer
    /// there to show the decline; `None` when it sends the customer back to the shop.
    fn refusal_stays_on_bank_page(&self) -> Option<u16> {
        None
    }

    /// Why this bank cannot play `story` on the mock bank (an outcome it has no word for, an
    /// operation it lacks); `None` when it can. The tour reports such rows as not expressible.
    fn cannot_play(&self, story: crate::tour::Story) -> Option<&'static str> {
        let _ = story;
        None
    }

    /// The mock bank side that charges this bank's later instalments, for a bank that offers
    /// payment in instalments.
    fn instalments(&self) -> Option<tpe_mock_bank::Side> {
        None
    }

    /// A redirect for `request` made afresh, past the engine (the tour's tampered amount).
    async fn fresh_redirect(
        &self,
        bank: &RunningBank,
        http: &reqwest::Client,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Redirect, DemoError> {
        let _ = http;
        Ok(self.provider(bank)?.prepare(request, now).await?.redirect)
    }
}

/// The answer to a webhook registration: the mock bank took `notify`, or refused it.
pub(crate) fn registered(accepted: bool, notify: &Url) -> Result<(), DemoError> {
    if accepted {
        Ok(())
    } else {
        Err(DemoError::Tour(format!(
            "the mock bank refused the webhook endpoint {notify}"
        )))
    }
}

/// The text between `start` and `end`.
pub(crate) fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The address of the form on `html` that posts under `path` (`/paybox/page/`): a bank page's
/// card form.
pub(crate) fn form_action(html: &str, path: &str) -> Option<String> {
    between(html, &format!("action=\"{path}"), "\"").map(|id| format!("{path}{id}"))
}

/// Declares each bank module and the [`DemoProvider`] enum over them: one line per bank.
macro_rules! demo_banks {
    ($($(#[doc = $doc:literal])* $variant:ident => $module:ident::$bank:ident),* $(,)?) => {
        $(mod $module;)*

        /// The banks of the demo.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DemoProvider {
            $($(#[doc = $doc])* $variant,)*
        }

        impl DemoProvider {
            /// Every bank, in display order.
            pub const ALL: [Self; [$(stringify!($variant)),*].len()] = [$(Self::$variant),*];

            pub(crate) fn bank(self) -> &'static dyn DemoBank {
                match self {
                    $(Self::$variant => &$module::$bank,)*
                }
            }
        }
    };
}

demo_banks! {
    /// Paybox / Up2Pay e-Transactions.
    Paybox => paybox::Paybox,
    /// The Stripe-like PSP.
    StripeLike => stripe_like::StripeLike,
    /// Worldline Direct / CAWL.
    Worldline => worldline::Worldline,
    /// Monetico Paiement (CIC / Crédit Mutuel).
    Monetico => monetico::Monetico,
    /// Lyra: Systempay, PayZen, Scellius, Sogecommerce.
    Lyra => lyra::Lyra,
}

impl DemoProvider {
    /// The provider id registered in the engine.
    pub fn id(self) -> ProviderId {
        self.bank().id()
    }

    /// The label shown to people.
    pub fn label(self) -> &'static str {
        self.bank().label()
    }

    /// Parses [`DemoProvider::id`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id().as_str() == s)
    }
}
