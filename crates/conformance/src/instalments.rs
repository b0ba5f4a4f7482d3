//! The story of a payment in three instalments against a bank side: the first paid on the
//! page, the second refused and the third accepted when the bank charges them, every
//! notification verified by the provider and read as its instalment.

use std::time::Duration;

use tpe_core::{
    OutcomeKind, PaymentProvider, PaymentRequest, Timestamp, Verified, VerifiedNotification,
};
use tpe_mock_bank::InstalmentError;

use crate::bank::{BankSide, Captured};
use crate::receiver::{NOTIFY_PATH, Receiver};

/// How long a notification may take to arrive.
const WAIT: Duration = Duration::from_secs(5);

/// The notifications of the story, in order: instalment 1 accepted, 2 refused, 3 accepted.
#[derive(Debug)]
pub struct Story {
    /// The reference the bank knows the payment by.
    pub reference: String,
    /// The verified notifications, one per instalment.
    pub notifications: Vec<VerifiedNotification>,
}

/// Runs the story: prepares `request` (a schedule of three; its return URLs the
/// receiver's), pays the first on `bank`'s page,
/// then has the bank charge instalment 2 refused and 3 accepted through `charge` (its
/// control API), verifying each notification `receiver` gets with `provider`. Checks that
/// each is its instalment, of its amount, with its verdict, a bank transaction of its own,
/// and that the bank charges an instalment once; an error says which step failed.
///
/// # Errors
/// A message naming the step that failed.
pub async fn three_instalments(
    provider: &dyn PaymentProvider,
    bank: &dyn BankSide,
    receiver: &Receiver,
    request: &PaymentRequest,
    now: Timestamp,
    charge: impl Fn(&str, u8, bool) -> Result<(), InstalmentError>,
) -> Result<Story, String> {
    let schedule = request
        .schedule
        .as_ref()
        .filter(|s| s.count() == 3)
        .ok_or("the request has no schedule of three")?;
    bank.listen(&receiver.notify_url()).await?;
    // The browser comes back to the receiver, like the notifications.
    let mut request = request.clone();
    request.urls = receiver.urls();
    let prepared = provider
        .prepare(&request, now)
        .await
        .map_err(|e| format!("prepare: {e}"))?;
    let page = bank
        .open(&prepared.redirect)
        .await
        .map_err(|e| format!("the page: {e:?}"))?;
    bank.complete(&page, OutcomeKind::Accepted)
        .await
        .map_err(|e| format!("paying the first: {e:?}"))?;
    let mut notifications = Vec::new();
    for (number, accepted) in [(1u8, true), (2, false), (3, true)] {
        if number > 1 {
            charge(&page.reference, number, accepted)
                .map_err(|e| format!("charging instalment {number}: {e}"))?;
        }
        let captured = nth_notification(receiver, usize::from(number)).await?;
        let n = match provider.verify(&captured.to_raw().map_err(|e| e.to_string())?, now) {
            Ok(Verified::Payment(n)) => n,
            other => return Err(format!("instalment {number}: {other:?}")),
        };
        let expected = schedule.get(number).map(|i| i.amount);
        let kind = if accepted {
            OutcomeKind::Accepted
        } else {
            OutcomeKind::Refused
        };
        if n.instalment != Some(number) || Some(n.amount) != expected || n.outcome.kind() != kind {
            return Err(format!(
                "instalment {number}: read as {:?} of {} ({:?}), expected {expected:?} ({kind:?})",
                n.instalment, n.amount, n.outcome
            ));
        }
        notifications.push(n);
    }
    let mut ids: Vec<&str> = notifications
        .iter()
        .map(|n| n.bank_transaction_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != 3 {
        return Err("the instalments are not three bank transactions".to_owned());
    }
    if charge(&page.reference, 3, true) != Err(InstalmentError::AlreadyCharged) {
        return Err("instalment 3 was charged twice".to_owned());
    }
    Ok(Story {
        reference: page.reference,
        notifications,
    })
}

/// The `n`-th notification (1 is the first) the receiver got.
async fn nth_notification(receiver: &Receiver, n: usize) -> Result<Captured, String> {
    let mut seen = 0;
    receiver
        .wait_for(WAIT, |c| {
            if c.path != NOTIFY_PATH {
                return None;
            }
            seen += 1;
            (seen == n).then(|| c.clone())
        })
        .await
        .ok_or_else(|| format!("no notification {n}"))
}
