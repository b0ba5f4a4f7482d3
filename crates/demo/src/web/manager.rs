//! The manager's side: checkouts by state, one checkout by reference, payment records
//! ("versements"), e-mails sent, manual validation, and the jobs run "as of" a date.

use super::{Form, Found};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tpe_core::{CheckoutStatus, PaymentReference, Timestamp};

use super::{Shop, euros, labels};

pub(super) fn when(shop: &Shop, t: Timestamp) -> String {
    t.to_zoned_datetime(shop.engine.settings().time_zone.clone())
        .strftime("%d/%m/%Y %H:%M:%S")
        .to_string()
}

pub(super) fn not_found(shop: &Shop, message: &str) -> Response {
    shop.error_page(StatusCode::NOT_FOUND, "Introuvable", message, "/gestion")
}

pub(super) fn unavailable(shop: &Shop) -> Response {
    shop.error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Base de données indisponible",
        "La base de données ne répond pas : réessayez dans un instant.",
        "/gestion",
    )
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
        return unavailable(&shop);
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
                delivery => c.delivery_date.map_or_else(|| labels::NONE.into(), |d| d.strftime("%d/%m/%Y").to_string()),
                order => c.shop_order_id.clone().unwrap_or_else(|| labels::NONE.into()),
                note => note.join(" ; "),
            }
        })
        .collect();
    let mut states = Vec::new();
    for st in CheckoutStatus::ALL {
        let count = match shop.engine.checkouts_by_state(st, 500, None).await {
            Ok(p) if p.next.is_some() => "500+".to_owned(),
            Ok(p) => p.items.len().to_string(),
            Err(_) => return unavailable(&shop),
        };
        states.push(context! { id => st.as_str(), label => st.label_fr(), count => count });
    }
    let given_up = match shop.engine.given_up_effects(200).await {
        Ok(v) => v.len(),
        Err(_) => return unavailable(&shop),
    };
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
            given_up => given_up,
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

/// A payment reference or an order number, in any case: the checkout it names (the latest
/// one for an order paid in several tries).
pub(super) async fn find(State(shop): State<Shop>, Query(q): Query<FindQuery>) -> Response {
    let wanted = q.reference.trim().to_uppercase();
    if let Ok(r) = PaymentReference::parse(&wanted)
        && matches!(shop.engine.checkout(&r).await, Ok(Some(_)))
    {
        return Redirect::to(&format!("/gestion/paiement/{r}")).into_response();
    }
    let mut found: Option<(Timestamp, PaymentReference)> = None;
    for state in CheckoutStatus::ALL {
        let Ok(page) = shop.engine.checkouts_by_state(state, 500, None).await else {
            return unavailable(&shop);
        };
        for c in page.items {
            let matches = c
                .shop_order_id
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(&wanted));
            if matches && found.as_ref().is_none_or(|(at, _)| c.created_at > *at) {
                found = Some((c.created_at, c.reference));
            }
        }
    }
    match found {
        Some((_, r)) => Redirect::to(&format!("/gestion/paiement/{r}")).into_response(),
        None => not_found(&shop, "Aucun paiement ni aucune commande de ce numéro."),
    }
}

pub(super) async fn detail(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Found(reference): Found<PaymentReference>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let d = match shop.engine.checkout_detail(&reference).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&shop, "Aucun paiement de cette référence."),
        Err(_) => return unavailable(&shop),
    };
    let c = &d.checkout;
    let transactions: Vec<_> = d
        .bank_transactions
        .iter()
        .map(|t| {
            context! {
                id => t.bank_transaction_id.clone(), outcome => labels::outcome(t.outcome),
                code => t.reason_code.clone().unwrap_or_else(|| labels::NONE.into()),
                amount => euros(t.amount), at => when(&shop, t.received_at),
                instalment => t.instalment.map_or_else(|| labels::NONE.into(), |n| n.to_string()),
            }
        })
        .collect();
    let effects: Vec<_> = d
        .effects
        .iter()
        .map(|e| {
            context! {
                id => e.id, kind => labels::effect(e.effect.kind()), attempts => e.attempts,
                delivered => e.delivered_at.map_or_else(|| labels::NONE.into(), |t| when(&shop, t)),
                error => e.last_error.clone().unwrap_or_else(|| labels::NONE.into()),
            }
        })
        .collect();
    let audit: Vec<_> = d
        .audit
        .iter()
        .map(|a| {
            context! {
                at => when(&shop, a.at), event => labels::event(&a.event), from => a.status_before.label_fr(),
                to => a.status_after.label_fr(), author => labels::author(a.author.as_deref()),
                note => a.detail.clone().unwrap_or_else(|| labels::NONE.into()),
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
            after_retraction => c.status == CheckoutStatus::PaidAfterRetraction,
            paid_since_refund => (c.status == CheckoutStatus::Refunded)
                .then(|| d.to_refund_total()).flatten().map(euros),
            paid_before => d.order_paid_before.as_ref().map(PaymentReference::as_str),
            refunding => c.status == CheckoutStatus::Refunding,
            mismatch => c.amount_mismatch,
            superseded => c.superseded_by.as_ref().map(PaymentReference::as_str),
            customer => c.customer_name.clone(),
            email => c.customer_email.clone(),
            amount => euros(c.amount),
            provider => c.provider.as_str(),
            delivery => c.delivery_date.map_or_else(|| labels::NONE.into(), |d| d.strftime("%d/%m/%Y").to_string()),
            order => c.shop_order_id.clone().unwrap_or_else(|| labels::NONE.into()),
            validated_by => c.validated_by.as_ref().map(labels::source),
            transactions => transactions,
            schedule => super::instalments::states(&d),
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
    Found(reference): Found<PaymentReference>,
    Form(f): Form<ValidateForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
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
        return unavailable(&shop);
    };
    let records: Vec<_> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.id, reference => r.reference.as_str(), amount => euros(r.amount),
                txn => r.bank_transaction_id.clone().unwrap_or_else(|| labels::NONE.into()),
                source => labels::source(&r.source), at => when(&shop, r.recorded_at),
            }
        })
        .collect();
    let total = rows
        .iter()
        .try_fold(
            tpe_core::Amount::new(0, tpe_core::Currency::EUR).ok(),
            |sum, r| sum.map(|t| t.checked_add(r.amount).ok()),
        )
        .flatten()
        .map_or_else(|| labels::NONE.into(), euros);
    let resp = shop.render(
        "records.html",
        &s,
        context! { title => "Versements", records => records, count => rows.len(), total => total },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

fn mail_value(m: &crate::eml::SentMail) -> minijinja::Value {
    context! { file => m.file.clone(), to => m.to.clone(), subject => m.subject.clone(), date => m.date.clone(), body => m.body.clone() }
}

/// The payment records as a CSV file for a spreadsheet: `;`-separated, amounts in euros
/// with a decimal comma, dates in the shop's time zone.
pub(super) async fn records_csv(State(shop): State<Shop>) -> Response {
    let (from, to) = (Timestamp::UNIX_EPOCH, far_future());
    let Ok(rows) = shop.engine.payment_records(from, to, 1000).await else {
        return unavailable(&shop);
    };
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let header = [
        "Numéro",
        "Type",
        "Référence paiement en ligne",
        "Montant",
        "Devise",
        "Transaction bancaire",
        "Validé par",
        "Date",
    ];
    let mut written = out.write_record(header);
    for r in &rows {
        if written.is_err() {
            break;
        }
        written = out.write_record([
            r.id.to_string(),
            "Paiement en ligne".into(),
            r.reference.to_string(),
            r.amount.to_decimal_string(','),
            r.amount.currency().to_string(),
            r.bank_transaction_id.clone().unwrap_or_default(),
            labels::source(&r.source),
            when(&shop, r.recorded_at),
        ]);
    }
    match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"versements.csv\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        _ => unavailable(&shop),
    }
}

/// An instant after every record of the demo.
pub(crate) fn far_future() -> Timestamp {
    Timestamp::from_second(7_258_118_400).unwrap_or(Timestamp::MAX) // 2200-01-01
}

pub(super) async fn mails(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let dir = shop.mail_dir.clone();
    let list = tokio::task::spawn_blocking(move || crate::eml::read_dir(&dir))
        .await
        .unwrap_or_default();
    // Newest first, by the date each e-mail says, shown in the shop's time zone.
    let mut dated: Vec<_> = list
        .iter()
        .map(|m| {
            (
                jiff::fmt::rfc2822::parse(&m.date)
                    .ok()
                    .map(|z| z.timestamp()),
                m,
            )
        })
        .collect();
    dated.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.file.cmp(&a.1.file)));
    let mails: Vec<_> = dated
        .into_iter()
        .map(|(at, m)| {
            let date = at.map_or_else(|| m.date.clone(), |t| when(&shop, t));
            context! { date => date, ..mail_value(m) }
        })
        .collect();
    let resp = shop.render(
        "mails.html",
        &s,
        context! { title => "E-mails envoyés", mails => mails },
    );
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
        return not_found(&shop, "Aucun e-mail de ce nom.");
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
    /// `1` once the manager has seen the preview and confirmed.
    confirm: Option<String>,
}

/// What a job would do as of `now`, without doing it: the checkouts it would retract, or those
/// it would ask the bank about.
async fn preview(shop: &Shop, job: &str, now: Timestamp) -> Result<Vec<minijinja::Value>, ()> {
    let engine = &shop.engine;
    let items = match job {
        "retraction" => engine
            .store()
            .due_for_retraction(now, 500)
            .await
            .map_err(|_| ())?,
        _ => {
            let after = engine.delays().reconcile_after;
            let page = engine
                .checkouts_by_state(CheckoutStatus::AwaitingPayment, 500, None)
                .await
                .map_err(|_| ())?;
            page.items
                .into_iter()
                .filter(|c| c.created_at.saturating_add(after).is_ok_and(|t| t <= now))
                .collect()
        }
    };
    Ok(items
        .iter()
        .map(|c| {
            context! {
                reference => c.reference.as_str(),
                customer => c.customer_name.clone(),
                amount => euros(c.amount),
                order => c.shop_order_id.clone().unwrap_or_else(|| labels::NONE.into()),
                delivery => c.delivery_date.map_or_else(|| labels::NONE.into(), |d| d.strftime("%d/%m/%Y").to_string()),
            }
        })
        .collect())
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
    // First what the job would do, then only on confirmation.
    if let Some(now) = at
        && f.confirm.as_deref() != Some("1")
        && matches!(f.job.as_str(), "retraction" | "reconciliation")
    {
        let Ok(items) = preview(&shop, &f.job, now).await else {
            return unavailable(&shop);
        };
        let (title, verb) = if f.job == "retraction" {
            (
                "Aperçu de la rétractation",
                "seraient rétractées (après une dernière interrogation de la banque)",
            )
        } else {
            (
                "Aperçu du rapprochement bancaire",
                "seraient vérifiées auprès de la banque",
            )
        };
        let resp = shop.render(
            "jobs.html",
            &s,
            context! {
                title => title, verb => verb, job => f.job.clone(), at => f.at.clone(),
                when => when(&shop, now), items => items,
            },
        );
        return shop.with_cookie(resp, &id, new);
    }
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
