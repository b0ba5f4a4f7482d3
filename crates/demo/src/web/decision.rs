//! The manager's decisions on money that should not have come: "Rembourser" (a checkout paid
//! after its retraction, or the extra payment of an order paid twice) and "Rétablir la
//! commande" (keep the money paid after retraction and deliver). Each shows what it will do
//! first and acts only once confirmed; the author goes to the audit trail.

use super::{Form, Found, Named};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tpe_core::{CheckoutStatus, PaymentReference, TransitionError};
use tpe_engine::{EngineError, StoreError};

use super::{Shop, euros, labels};

/// Tenths of a second a refund's answer is awaited before the page says it is under way.
const REFUND_WAIT_STEPS: u32 = 30;

#[derive(serde::Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    author: String,
    #[serde(default)]
    note: String,
    /// `1` once the manager has seen what will be done and confirmed.
    confirm: Option<String>,
}

/// Which decision.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Refund,
    Reinstate,
}

impl Decision {
    fn action(self) -> &'static str {
        match self {
            Self::Refund => "rembourser",
            Self::Reinstate => "retablir",
        }
    }
}

pub(super) async fn refund(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Found(reference): Found<PaymentReference>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(shop, &headers, reference, f, Decision::Refund).await
}

pub(super) async fn reinstate(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Found(reference): Found<PaymentReference>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(shop, &headers, reference, f, Decision::Reinstate).await
}

async fn decide(
    shop: Shop,
    headers: &HeaderMap,
    reference: PaymentReference,
    f: DecisionForm,
    decision: Decision,
) -> Response {
    let (id, mut s, new) = shop.session(headers);
    let not_found = || super::manager::not_found(&shop, PaymentReference::MISSING);
    let back = format!("/gestion/paiement/{reference}");
    if f.author.trim().is_empty() {
        s.flash = Some("Indiquez votre nom (auteur) : il est gardé dans l'historique.".into());
    } else if f.confirm.as_deref() != Some("1") {
        // First what will be done, nothing until confirmed.
        let Ok(Some(d)) = shop.engine.checkout_detail(&reference).await else {
            return not_found();
        };
        // What the bank will be asked: every versement paid and not refunded, each on its own.
        let (total, count) = (d.to_refund_total(), d.to_refund().len());
        let c = d.checkout;
        let (title, what, button) = match decision {
            Decision::Refund => (
                "Confirmer le remboursement",
                format!(
                    "La banque ({}) remboursera {} au client sur la carte qui a payé{}. Le paiement passera à « Remboursée ».",
                    c.provider,
                    euros(total.unwrap_or(c.amount)),
                    match count {
                        0 | 1 => String::new(),
                        n => format!(", en {n} remboursements : un par échéance payée"),
                    }
                ),
                "Confirmer le remboursement",
            ),
            Decision::Reinstate => (
                "Confirmer le rétablissement de la commande",
                format!(
                    "Le paiement de {} est gardé et la commande sera livrée : il passera à « Valide » et le client recevra la confirmation de sa commande.",
                    euros(c.amount)
                ),
                "Confirmer le rétablissement",
            ),
        };
        let resp = shop.render(
            "decision.html",
            &s,
            context! {
                title => title, what => what, button => button, action => decision.action(),
                reference => reference.as_str(), customer => c.customer_name, amount => euros(c.amount),
                order => c.shop_order_id.unwrap_or_else(|| labels::NONE.into()),
                author => f.author.trim(), note => f.note,
            },
        );
        return shop.with_cookie(resp, &id, new);
    } else {
        s.flash = Some(act(&shop, &reference, &f, decision).await);
    }
    shop.save(&id, s);
    shop.with_cookie(Redirect::to(&back).into_response(), &id, new)
}

/// Does the decision and says, in French, how it went.
async fn act(shop: &Shop, reference: &PaymentReference, f: &DecisionForm, d: Decision) -> String {
    let engine = &shop.engine;
    let done = match d {
        Decision::Refund => engine.request_refund(reference, &f.author, &f.note).await,
        Decision::Reinstate => engine.reinstate(reference, &f.author, &f.note).await,
    };
    match (done, d) {
        (Ok(_), Decision::Reinstate) => {
            format!(
                "Commande rétablie : le paiement {reference} est valide, le client est prévenu."
            )
        }
        (Ok(_), Decision::Refund) => {
            // Ask the bank now rather than at the next pass of the relay, so the answer is on
            // the page the manager comes back to.
            if let Err(e) = engine.run_relay_once(engine.now()).await {
                tracing::warn!(%reference, error = %e, "relay pass after a refund request failed");
            }
            refund_outcome(shop, reference).await
        }
        (Err(e), _) => refused(&e, d),
    }
}

/// Where the refund stands once the bank was asked (by this request's relay pass, or by the
/// background relay if it took the row first: its answer is awaited a moment).
async fn refund_outcome(shop: &Shop, reference: &PaymentReference) -> String {
    let mut detail = None;
    for _ in 0..REFUND_WAIT_STEPS {
        detail = shop.engine.checkout_detail(reference).await.ok().flatten();
        if detail
            .as_ref()
            .is_none_or(|d| d.checkout.status != CheckoutStatus::Refunding)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Some(d) = detail else {
        return "Remboursement demandé.".into();
    };
    match d.checkout.status {
        CheckoutStatus::Refunded => {
            format!("Remboursement effectué : le paiement {reference} est remboursé au client.")
        }
        CheckoutStatus::Refunding => "Remboursement demandé : la banque ne répond pas encore, \
             il sera redemandé automatiquement."
            .into(),
        _ => format!(
            "La banque a refusé le remboursement : {}",
            d.audit
                .last()
                .and_then(|a| a.detail.clone())
                .unwrap_or_else(|| labels::NONE.into())
        ),
    }
}

/// Why a decision was not taken, in French.
fn refused(e: &EngineError, d: Decision) -> String {
    let what = match d {
        Decision::Refund => "Remboursement impossible",
        Decision::Reinstate => "Rétablissement impossible",
    };
    match e {
        EngineError::InvalidInput { field: "note", .. } => {
            format!("{what} : la note est trop longue (2000 caractères au plus).")
        }
        EngineError::InvalidInput { .. } => {
            format!("{what} : indiquez votre nom (auteur), sans retour à la ligne.")
        }
        EngineError::Store(StoreError::Transition(
            TransitionError::NotRefundable { status, .. }
            | TransitionError::NotReinstatable { status, .. },
        )) => match status {
            CheckoutStatus::Refunding => format!("{what} : un remboursement est déjà en cours."),
            CheckoutStatus::Refunded => format!("{what} : ce paiement est déjà remboursé."),
            s => format!(
                "{what} : le paiement est « {} » ; seul un paiement reçu après rétractation, ou le paiement en trop d'une commande payée deux fois, le permet.",
                s.label_fr()
            ),
        },
        EngineError::Store(StoreError::NotFound { .. }) => {
            format!("{what} : aucun paiement de cette référence.")
        }
        _ => format!("{what} : la base de données ne répond pas, réessayez dans un instant."),
    }
}
