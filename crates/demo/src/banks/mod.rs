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

/// One bank of the demo (its id and label are in the `demo_banks!` list).
#[async_trait::async_trait]
pub(crate) trait DemoBank: Sync + 'static {
    /// The provider aimed at the mock bank, with the mock's test merchant.
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError>;

    /// Registers `notify` with the mock bank, for banks that keep the notification endpoint in
    /// their own settings (a PSP's webhook, Monetico's CGI2 URL): whether the bank took it.
    /// `None` for banks that read it from the signed redirect.
    fn register(&self, bank: &RunningBank, notify: &str) -> Option<bool> {
        let _ = (bank, notify);
        None
    }

    /// Tells the mock bank where notifications go ([`DemoBank::register`]).
    fn connect(&self, bank: &RunningBank, notify: &Url) -> Result<(), DemoError> {
        match self.register(bank, notify.as_str()) {
            Some(false) => Err(DemoError::Tour(format!(
                "the mock bank refused the notification endpoint {notify}"
            ))),
            _ => Ok(()),
        }
    }

    /// The mock bank's test card for `card`.
    fn card(&self, card: Card) -> &'static str;

    /// The fields of the card form, for `number`: those of the French banks' pages of the
    /// mock (number, expiry, CVV).
    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("numero", number),
            ("expiry", "12/99"),
            ("cvv", "123"),
            ("action", "pay"),
        ]
    }

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

    /// A redirect for `request` made afresh, past the engine (the tour's tampered amount):
    /// the provider's own, for banks whose redirect is a signed form and holds no session.
    async fn fresh_redirect(&self, fresh: Fresh<'_>) -> Result<Redirect, DemoError> {
        let page = self
            .provider(fresh.bank)?
            .prepare(fresh.request, fresh.now)
            .await?;
        Ok(page.redirect)
    }
}

/// What a fresh redirect is made with: the mock bank, an HTTP client for a PSP's API, the
/// request and the time.
#[derive(Clone, Copy)]
pub(crate) struct Fresh<'a> {
    pub(crate) bank: &'a RunningBank,
    pub(crate) http: &'a reqwest::Client,
    pub(crate) request: &'a PaymentRequest,
    pub(crate) now: Timestamp,
}

/// `DemoBank::card` from the mock bank's five test cards of a bank, in the order of [`Card`]:
/// accepted, refused, pending then accepted, pending then refused, mistyped.
macro_rules! test_cards {
    ($accepted:expr, $refused:expr, $pending_accepted:expr, $pending_refused:expr, $mistyped:expr) => {
        fn card(&self, card: $crate::banks::Card) -> &'static str {
            use $crate::banks::Card as C;
            match card {
                C::Accepted => $accepted,
                C::Refused => $refused,
                C::PendingThenAccepted => $pending_accepted,
                C::PendingThenRefused => $pending_refused,
                C::Mistyped => $mistyped,
            }
        }
    };
}
use test_cards;

/// The card fields of the PSPs' hosted pages of the mock (Stripe-like, Worldline), in English.
pub(crate) fn psp_card_fields(number: &str) -> [(&'static str, &str); 4] {
    [
        ("card", number),
        ("exp", "12/99"),
        ("cvc", "123"),
        ("action", "pay"),
    ]
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
    ($($(#[doc = $doc:literal])* $variant:ident => $module:ident::$bank:ident, $id:expr, $label:literal, $form:literal;)*) => {
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

            /// The provider id registered in the engine.
            pub fn id(self) -> ProviderId {
                match self {
                    $(Self::$variant => $id,)*
                }
            }

            /// The label shown to people.
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)*
                }
            }

            /// Where the mock bank page's card form posts, up to the page's id.
            fn card_form_path(self) -> &'static str {
                match self {
                    $(Self::$variant => $form,)*
                }
            }
        }
    };
}

demo_banks! {
    /// Paybox / Up2Pay e-Transactions.
    Paybox => paybox::Paybox, tpe_paybox::Paybox::ID, "Paybox", "/paybox/page/";
    /// The Stripe-like PSP.
    StripeLike => stripe_like::StripeLike, tpe_stripe_like::StripeLike::ID, "Stripe-like", "/c/pay/";
    /// Worldline Direct / CAWL.
    Worldline => worldline::Worldline, tpe_worldline::Worldline::ID, "Worldline", "/hostedcheckout/";
    /// Monetico Paiement (CIC / Crédit Mutuel).
    Monetico => monetico::Monetico, tpe_monetico::Monetico::ID, "Monetico", "/monetico/page/";
    /// Lyra: Systempay, PayZen, Scellius, Sogecommerce.
    Lyra => lyra::Lyra, tpe_lyra::Lyra::ID, "Lyra (Systempay)", "/lyra/page/";
}

impl DemoProvider {
    /// The path of the card form in this bank's page `html`.
    pub(crate) fn card_form(self, html: &str) -> Option<String> {
        form_action(html, self.card_form_path())
    }

    /// The accepted and refused cards, as `tpe demo` prints them.
    pub(crate) fn test_cards(self) -> String {
        let bank = self.bank();
        format!(
            "{} {} (acceptée), {} (refusée)",
            self.label(),
            bank.card(Card::Accepted),
            bank.card(Card::Refused)
        )
    }

    /// Parses [`DemoProvider::id`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id().as_str() == s)
    }
}
