//! One story on one provider: its own demo, clock, browser and what it checked.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tpe_core::clock::ManualClock;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::{
    Amount, CheckoutStatus, Currency, PaymentReference, PaymentRequest, ReturnUrls, Timestamp,
};
use tpe_engine::StartedCheckout;

use super::browser::{self, Browser};
use super::{AMOUNT, Observed, customer, delivery, request, start_time};
use tpe_mock_bank::{EntryKind, MockBankConfig};

use crate::demo::{Demo, DemoOptions, DemoProvider, MANAGER_EMAIL};
use crate::error::DemoError;

/// One story on one provider, against its own demo.
pub(super) struct Play {
    pub(super) demo: Demo,
    pub(super) clock: ManualClock,
    pub(super) provider: DemoProvider,
    pub(super) browser: Browser,
    pub(super) references: Vec<PaymentReference>,
    pub(super) problems: Vec<String>,
}

impl Play {
    pub(super) async fn start(dir: &Path, provider: DemoProvider) -> Result<Self, DemoError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(DemoError::io(dir))?;
        }
        let clock = ManualClock::new(start_time());
        let mut bank = MockBankConfig::for_tests();
        // Long enough for the tour to see the checkout still awaiting payment after the
        // pending notification, even on a busy machine; the final verdict follows.
        bank.pending_delay = Duration::from_millis(1500);
        // Room for a busy machine: the bank waits for the shop's answer before the redirect.
        bank.retry.attempt_timeout = Duration::from_secs(10);
        bank.retry.max_total = Duration::from_secs(30);
        let options = DemoOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_path_buf(),
            clock: Arc::new(clock.clone()),
            bank,
            background: false,
            timings: tpe_engine::Timings::default(),
            manager_password_hash: None,
            bank_listen: None,
            instalments_minimum: crate::demo::DEFAULT_INSTALMENTS_MINIMUM,
        };
        Ok(Self {
            demo: Demo::start(options).await?,
            clock,
            provider,
            browser: Browser::new(),
            references: Vec::new(),
            problems: Vec::new(),
        })
    }

    pub(super) fn now(&self) -> Timestamp {
        tpe_core::Clock::now(&self.clock)
    }

    pub(super) async fn checkout(
        &mut self,
        order: Option<&str>,
    ) -> Result<StartedCheckout, DemoError> {
        let started = self
            .demo
            .engine()
            .start_checkout(&self.provider.id(), request(order)?)
            .await;
        self.started(started)
    }

    /// A checkout of the tour's amount in three monthly instalments from today.
    pub(super) async fn checkout_in_three(&mut self) -> Result<StartedCheckout, DemoError> {
        let request = request(None)?;
        let today = tpe_core::instalments::french_day(self.now());
        let schedule = Schedule::split(request.amount, 3, today, Interval::Months(1))
            .map_err(|e| DemoError::Tour(format!("schedule: {e}")))?;
        let started = self
            .demo
            .engine()
            .start_checkout_in_instalments(&self.provider.id(), request, schedule)
            .await;
        self.started(started)
    }

    fn started(
        &mut self,
        started: Result<StartedCheckout, tpe_engine::CheckoutError>,
    ) -> Result<StartedCheckout, DemoError> {
        let started = started.map_err(|e| DemoError::Tour(format!("start the checkout: {e}")))?;
        self.references.push(started.reference.clone());
        Ok(started)
    }

    pub(super) fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.problems.push(what.into());
        }
    }

    /// Waits until the bank has delivered `n` notifications of `reference` that the shop
    /// acknowledged (2xx).
    pub(super) async fn delivered(&mut self, reference: &PaymentReference, n: usize) {
        // The bank's journal names the payment by the bank reference.
        let r = self.bank_reference(reference).await;
        let (_, ok) = self
            .demo
            .bank()
            .wait_for_journal(Duration::from_secs(20), |j| {
                j.iter()
                    .filter(|e| {
                        e.kind == EntryKind::Notification
                            && e.reference.as_deref() == Some(r.as_str())
                            && e.status.is_some_and(|s| (200..300).contains(&s))
                    })
                    .count()
                    >= n
            })
            .await;
        self.check(
            ok,
            format!("the bank did not deliver {n} notification(s) of {reference}"),
        );
    }

    /// The customer's page says `text`, at once or after the reloads the "pas encore validé"
    /// page makes by itself (a busy machine may bring the customer back before the bank's
    /// notification is processed).
    pub(super) async fn landing_says(&mut self, landing: &browser::Landing, text: &str) {
        let mut html = landing.html.clone();
        for _ in 0..50 {
            if html.contains(text) || !html.contains("Paiement pas encore validé") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            html = self.browser.reload(landing).await.unwrap_or_default();
        }
        let ok = html.contains(text);
        self.check(ok, format!("the customer's page does not say {text:?}"));
    }

    /// Sets the clock to the start of the day after delivery (Paris) plus `offset`, and runs
    /// the retraction sweep.
    pub(super) async fn retract_at(
        &mut self,
        offset: jiff::SignedDuration,
    ) -> Result<(), DemoError> {
        let tz = self.demo.engine().settings().time_zone.clone();
        let day_after = delivery()
            .tomorrow()
            .and_then(|d| d.to_zoned_datetime(tz))
            .map_err(|e| DemoError::Tour(e.to_string()))?
            .timestamp();
        self.clock
            .set(day_after.checked_add(offset).unwrap_or(day_after));
        self.demo
            .engine()
            .run_retraction(self.now())
            .await
            .map_err(|e| DemoError::Tour(format!("retraction: {e}")))?;
        Ok(())
    }

    /// The reference the bank knows the checkout by (its scripts and journal use it): the
    /// shop's own for most banks, a shorter one for banks such as Monetico.
    pub(super) async fn bank_reference(&self, r: &PaymentReference) -> String {
        self.stored(r).await.map_or_else(
            || r.as_str().to_owned(),
            |c| c.bank_reference.as_str().to_owned(),
        )
    }

    pub(super) async fn status(&self, r: &PaymentReference) -> Option<CheckoutStatus> {
        self.stored(r).await.map(|c| c.status)
    }

    /// The checkout `r` as stored, if it is.
    async fn stored(&self, r: &PaymentReference) -> Option<tpe_store::CheckoutRecord> {
        self.demo.engine().checkout(r).await.ok().flatten()
    }

    /// Delivers the effects, twice: the second pass must find nothing left.
    pub(super) async fn relay(&mut self) -> Result<(), DemoError> {
        let e = self.demo.engine();
        e.run_relay_once(self.now())
            .await
            .map_err(|e| DemoError::Tour(format!("relay: {e}")))?;
        let again = e
            .run_relay_once(self.now())
            .await
            .map_err(|e| DemoError::Tour(format!("relay: {e}")))?;
        self.check(
            again.delivered == 0 && again.failed == 0,
            "a second relay pass delivered effects again",
        );
        Ok(())
    }

    pub(super) async fn observe(&self) -> Result<Observed, DemoError> {
        let e = self.demo.engine();
        let mut checkouts = Vec::new();
        for r in &self.references {
            let c = e
                .checkout(r)
                .await
                .map_err(|e| DemoError::Tour(e.to_string()))?
                .ok_or_else(|| DemoError::Tour(format!("checkout {r} is gone")))?;
            checkouts.push((c.status, c.amount_mismatch, c.superseded_by.is_some()));
        }
        let records = e
            .payment_records(Timestamp::UNIX_EPOCH, crate::web::far_future(), 1000)
            .await
            .map_err(|e| DemoError::Tour(e.to_string()))?;
        let mails = crate::eml::read_dir(&crate::demo::mail_dir(self.demo.data_dir()));
        let count = |who: &str| {
            u32::try_from(mails.iter().filter(|m| m.to.contains(who)).count()).unwrap_or(u32::MAX)
        };
        Ok(Observed {
            checkouts,
            records: u32::try_from(records.len()).unwrap_or(u32::MAX),
            customer_mails: count(&customer().email),
            manager_mails: count(MANAGER_EMAIL),
        })
    }
}

/// A second, tampered bank page for `reference`: the same reference asking the bank for
/// another amount (a front end or a form altered on the way), signed with the shop's own
/// credentials so that the bank accepts it and confirms the other amount authentically.
pub(super) async fn tampered_page(
    play: &Play,
    started: &StartedCheckout,
) -> Result<tpe_core::Redirect, DemoError> {
    let settings = play.demo.engine().settings();
    let r = &started.reference;
    let url = |kind: &str| {
        settings
            .return_url(r, kind)
            .map_err(|e| DemoError::Tour(e.to_string()))
    };
    let urls = ReturnUrls {
        accepted: url("accepted")?,
        refused: url("refused")?,
        cancelled: url("cancelled")?,
        pending: url("pending")?,
        notify: settings
            .notify_url(&play.provider.id())
            .map_err(|e| DemoError::Tour(e.to_string()))?,
    };
    let customer = customer()
        .validate_for_payment()
        .map_err(|e| DemoError::Tour(e.to_string()))?;
    let other =
        Amount::new(AMOUNT / 10, Currency::EUR).map_err(|e| DemoError::Tour(e.to_string()))?;
    let bank_reference = tpe_core::BankReference::parse(&play.bank_reference(r).await)
        .map_err(|e| DemoError::Tour(e.to_string()))?;
    let req = PaymentRequest::new(
        r.clone(),
        other,
        customer,
        "altéré",
        1,
        urls,
        tpe_core::Lang::Fr,
    )
    .with_bank_reference(bank_reference);
    play.provider
        .bank()
        .fresh_redirect(crate::banks::Fresh {
            bank: play.demo.bank(),
            http: play.browser.http(),
            request: &req,
            now: play.now(),
        })
        .await
}
