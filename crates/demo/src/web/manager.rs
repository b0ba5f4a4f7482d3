//! The manager's side: checkouts by state, one checkout by reference, payment records
//! ("versements"), e-mails sent, manual validation, and the jobs run "as of" a date.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tpe_core::{CheckoutStatus, PaymentReference, Timestamp};

use super::{Shop, euros};

fn when(shop: &Shop, t: Timestamp) -> String {
    t.to_zoned_datetime(shop.engine.settings().time_zone.clone())
        .strftime("%d/%m/%Y %H:%M:%S")
        .to_string()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what} introuvable\n")).into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "base de données indisponible\n",
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    etat: Option<String>,
}

pub(super) async fn list(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let state = q
        .etat
        .as_deref()
        .and_then(CheckoutStatus::parse)
        .unwrap_or(CheckoutStatus::AwaitingPayment);
    let Ok(page) = shop.engine.checkouts_by_state(state, 500, None).await else {
        return unavailable();
    };
    let checkouts: Vec<_> = page
        .items
        .iter()
        .map(|c| {
            let mut note = Vec::new();
            if let Some(by) = &c.superseded_by {
                note.push(format!("remplacée par {by} (payée) : rien à faire"));
            }
            if c.amount_mismatch {
                note.push("montant différent annoncé par la banque".to_owned());
            }
            context! {
                reference => c.reference.as_str(),
                customer => c.customer_name.clone(),
                amount => euros(c.amount),
                provider => c.provider.as_str(),
                delivery => c.delivery_date.map(|d| d.strftime("%d/%m/%Y").to_string()),
                order => c.shop_order_id.clone(),
                note => note.join(" ; "),
            }
        })
        .collect();
    let states: Vec<_> = CheckoutStatus::ALL
        .iter()
        .map(|s| context! { id => s.as_str(), label => s.label_fr() })
        .collect();
    let tz = shop.engine.settings().time_zone.clone();
    let now_local = shop
        .engine
        .now()
        .to_zoned_datetime(tz)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let resp = shop.render(
        "manager.html",
        &s,
        context! {
            title => "Gestion",
            states => states,
            state => state.as_str(),
            state_label => state.label_fr(),
            checkouts => checkouts,
            now_local => now_local,
            rejected => shop.engine.rejected_notifications(),
            bank_url => shop.bank_url.clone(),
        },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct FindQuery {
    reference: String,
}

pub(super) async fn find(Query(q): Query<FindQuery>) -> Response {
    match PaymentReference::parse(q.reference.trim()) {
        Ok(r) => Redirect::to(&format!("/gestion/paiement/{r}")).into_response(),
        Err(_) => not_found("référence"),
    }
}

pub(super) async fn detail(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let Ok(reference) = PaymentReference::parse(&reference) else {
        return not_found("paiement");
    };
    let d = match shop.engine.checkout_detail(&reference).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found("paiement"),
        Err(_) => return unavailable(),
    };
    let c = &d.checkout;
    let transactions: Vec<_> = d
        .bank_transactions
        .iter()
        .map(|t| {
            context! {
                id => t.bank_transaction_id.clone(), outcome => format!("{:?}", t.outcome),
                code => t.reason_code.clone(), amount => euros(t.amount), at => when(&shop, t.received_at),
            }
        })
        .collect();
    let effects: Vec<_> = d
        .effects
        .iter()
        .map(|e| {
            context! {
                id => e.id, kind => e.effect.kind(), attempts => e.attempts,
                delivered => e.delivered_at.map(|t| when(&shop, t)), error => e.last_error.clone(),
            }
        })
        .collect();
    let audit: Vec<_> = d
        .audit
        .iter()
        .map(|a| {
            context! {
                at => when(&shop, a.at), event => a.event.clone(), from => a.status_before.label_fr(),
                to => a.status_after.label_fr(), author => a.author.clone(), note => a.detail.clone(),
            }
        })
        .collect();
    let resp = shop.render(
        "detail.html",
        &s,
        context! {
            title => format!("Paiement {reference}"),
            reference => reference.as_str(),
            state => c.status.label_fr(),
            awaiting => c.status == CheckoutStatus::AwaitingPayment,
            mismatch => c.amount_mismatch,
            superseded => c.superseded_by.as_ref().map(PaymentReference::as_str),
            customer => c.customer_name.clone(),
            email => c.customer_email.clone(),
            amount => euros(c.amount),
            provider => c.provider.as_str(),
            delivery => c.delivery_date.map(|d| d.strftime("%d/%m/%Y").to_string()),
            order => c.shop_order_id.clone(),
            validated_by => c.validated_by.as_ref().map(|v| v.as_str()),
            transactions => transactions,
            effects => effects,
            audit => audit,
        },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct ValidateForm {
    author: String,
    note: String,
}

pub(super) async fn validate(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Form(f): Form<ValidateForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let Ok(reference) = PaymentReference::parse(&reference) else {
        return not_found("paiement");
    };
    s.flash = Some(
        match shop
            .engine
            .validate_manually(&reference, &f.author, &f.note)
            .await
        {
            Ok(st) => format!(
                "Paiement {reference} validé manuellement : {}.",
                st.label_fr()
            ),
            Err(e) => format!("Validation impossible : {e}"),
        },
    );
    shop.save(&id, s);
    shop.with_cookie(
        Redirect::to(&format!("/gestion/paiement/{reference}")).into_response(),
        &id,
        new,
    )
}

pub(super) async fn records(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let (from, to) = (Timestamp::UNIX_EPOCH, far_future());
    let Ok(rows) = shop.engine.payment_records(from, to, 1000).await else {
        return unavailable();
    };
    let records: Vec<_> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.id, reference => r.reference.as_str(), amount => euros(r.amount),
                txn => r.bank_transaction_id.clone(), source => r.source.as_str(), at => when(&shop, r.recorded_at),
            }
        })
        .collect();
    let resp = shop.render(
        "records.html",
        &s,
        context! { title => "Versements", records => records },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

fn mail_value(m: &crate::eml::SentMail) -> minijinja::Value {
    context! { file => m.file.clone(), to => m.to.clone(), subject => m.subject.clone(), date => m.date.clone(), body => m.body.clone() }
}

/// An instant after every record of the demo.
pub(crate) fn far_future() -> Timestamp {
    Timestamp::from_second(7_258_118_400).unwrap_or(Timestamp::MAX) // 2200-01-01
}

pub(super) async fn mails(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let dir = shop.mail_dir.clone();
    let mut list = tokio::task::spawn_blocking(move || crate::eml::read_dir(&dir))
        .await
        .unwrap_or_default();
    list.reverse();
    let resp = shop.render("mails.html", &s, context! { title => "E-mails envoyés", mails => list.iter().map(mail_value).collect::<Vec<_>>() });
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

pub(super) async fn mail(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let (id, s, new) = shop.session(&headers);
    let dir = shop.mail_dir.clone();
    let Ok(Some(m)) = tokio::task::spawn_blocking(move || crate::eml::read_one(&dir, &file)).await
    else {
        return not_found("e-mail");
    };
    let resp = shop.render(
        "mail.html",
        &s,
        context! { title => m.subject.clone(), m => mail_value(&m) },
    );
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct JobForm {
    job: String,
    at: String,
}

/// Runs the retraction or the reconciliation "as of" the chosen local date and time.
pub(super) async fn jobs(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Form(f): Form<JobForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let tz = shop.engine.settings().time_zone.clone();
    let at =
        f.at.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned_datetime(tz).ok())
            .map(|z| z.timestamp());
    s.flash = Some(match (f.job.as_str(), at) {
        (_, None) => "Date invalide.".to_owned(),
        ("retraction", Some(now)) => match shop.engine.run_retraction(now).await {
            Ok(r) => format!(
                "Rétractation au {} : {} rétractée(s), {} trouvée(s) payée(s), {} reportée(s).",
                when(&shop, now),
                r.retracted,
                r.paid,
                r.postponed
            ),
            Err(e) => format!("Rétractation impossible : {e}"),
        },
        ("reconciliation", Some(now)) => match shop.engine.run_reconciliation(now).await {
            Ok(r) => format!(
                "Rapprochement au {} : {} interrogation(s), {} trouvée(s) payée(s), {} sans réponse.",
                when(&shop, now),
                r.queried,
                r.paid,
                r.unreachable
            ),
            Err(e) => format!("Rapprochement impossible : {e}"),
        },
        _ => "Tâche inconnue.".to_owned(),
    });
    shop.save(&id, s);
    shop.with_cookie(Redirect::to("/gestion").into_response(), &id, new)
}
