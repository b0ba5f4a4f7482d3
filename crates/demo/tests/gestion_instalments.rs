//! Gestion shows a payment in instalments: the schedule with each instalment's number,
//! amount, date and state (payée, à venir, refusée with the bank's reason), behind the login.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Visitor, log_in, start};
use jiff::civil::date;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::{
    Amount, BankOutcome, BankReference, Currency, PaymentReference, ProviderId, Reason, ReasonKind,
    Timestamp, VerifiedNotification,
};
use tpe_store::{EventInput, NewCheckout};

/// 90.00 € in three on Paybox, created in the demo's store as `reference`.
async fn in_three(demo: &tpe_demo::Demo, reference: &str) -> PaymentReference {
    let now = Timestamp::from_second(NOW).unwrap();
    let total = Amount::new(9000, Currency::EUR).unwrap();
    let schedule = Schedule::split(total, 3, date(2026, 3, 20), Interval::Months(1)).unwrap();
    let r = PaymentReference::parse(reference).unwrap();
    let new = NewCheckout::new(
        r.clone(),
        PAYBOX,
        total,
        "jeanne@example.fr",
        "Jeanne Martin",
        now,
        now,
    )
    .with_schedule(schedule);
    demo.engine().store().create_checkout(new).await.unwrap();
    r
}

/// Paybox's notification of instalment `n` (30.00 €) of `r`, bank transaction `txn`.
fn tell(r: &PaymentReference, txn: &str, outcome: BankOutcome, n: u8) -> EventInput {
    let third = Amount::new(3000, Currency::EUR).unwrap();
    let v = VerifiedNotification::new(PAYBOX, BankReference::of_reference(r), txn, outcome, third);
    EventInput::Notification(v.with_instalment(n))
}

const NOW: i64 = 1_774_000_000;
const PAYBOX: ProviderId = ProviderId::from_static("paybox");

#[tokio::test]
async fn the_order_page_shows_the_schedule_and_each_instalment_state() {
    let demo = start("instalments").await;
    let store = demo.engine().store().clone();
    let now = Timestamp::from_second(NOW).unwrap();
    let r = in_three(&demo, "SPLIT3").await;
    let accepted = BankOutcome::Accepted {
        authorization: None,
    };
    let refused = BankOutcome::Refused {
        reason: Reason::new(ReasonKind::InsufficientFunds, "51")
            .with_bank_text("Provision insuffisante", "Insufficient funds"),
    };
    for e in [tell(&r, "T1", accepted, 1), tell(&r, "T2", refused, 2)] {
        store.apply_event(&r, e, now).await.unwrap();
    }

    let mut v = Visitor::new(&demo);
    let path = format!("/gestion/paiement/{r}");
    let (_, login) = v.get(&path).await;
    assert!(!login.contains("id=\"schedule\""), "behind the login");
    log_in(&mut v, &demo).await;
    let (_, page) = v.get(&path).await;
    let table = page
        .split("<table id=\"schedule\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no schedule: {page}"));
    let table = table.replace("&#x2f;", "/");
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].contains("<td>1</td>") && rows[0].contains("30,00"),
        "{}",
        rows[0]
    );
    assert!(
        rows[0].contains("20/03/2026") && rows[0].contains("payée — versement n°"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("20/04/2026") && rows[1].contains("refusée — motif : "));
    assert!(rows[1].contains("Provision insuffisante") && rows[1].contains("51"));
    assert!(
        rows[2].contains("20/05/2026") && rows[2].contains("à venir"),
        "{}",
        rows[2]
    );
}

/// A payment in instalments refunded, then an instalment the bank still charged: the order
/// page offers to refund it, and the confirmation names that versement's amount, not the
/// order's.
#[tokio::test]
async fn a_versement_charged_after_the_refund_is_offered_for_refund() {
    let demo = start("instalments-refund").await;
    let store = demo.engine().store().clone();
    let now = Timestamp::from_second(NOW).unwrap();
    let r = in_three(&demo, "SPLIT4").await;
    let paid = |txn: &str, n: u8| {
        let accepted = BankOutcome::Accepted {
            authorization: None,
        };
        tell(&r, txn, accepted, n)
    };
    let refunded = EventInput::RefundSucceeded {
        refund_id: "RF1".into(),
        bank_transaction_id: Some("T1".into()),
    };
    let request = EventInput::RequestRefund {
        author: "Lucie".into(),
        note: String::new(),
    };
    for e in [
        EventInput::Retract,
        paid("T1", 1),
        request,
        refunded,
        paid("T2", 2),
    ] {
        store.apply_event(&r, e, now).await.unwrap();
    }

    let mut v = Visitor::new(&demo);
    log_in(&mut v, &demo).await;
    let path = format!("/gestion/paiement/{r}");
    let (_, page) = v.get(&path).await;
    assert!(
        page.contains("Remboursée")
            && page.contains("Échéance prélevée après le remboursement")
            && page.contains("La banque a prélevé 30,00 €")
            && page.contains(">Rembourser</button>"),
        "{page}"
    );
    let token = common::csrf(&page);
    let ask = [("csrf", token.as_str()), ("author", "Lucie"), ("note", "")];
    let confirm = v.post(&format!("{path}/rembourser"), &ask, None).await;
    let confirm = confirm.text().await.unwrap();
    assert!(
        confirm.contains("Confirmer le remboursement") && confirm.contains("remboursera 30,00 €"),
        "{confirm}"
    );
}
