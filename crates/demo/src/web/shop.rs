//! The customer's side: products, cart, account (PSD2 fields), order summary, checkout.

use super::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tpe_core::instalments::ScheduleError;
use tpe_core::{Amount, CheckoutStatus, Currency, HttpMethod, PostalAddress};
use tpe_engine::{CheckoutError, CheckoutRequest};

use super::{MAX_PAID_ORDERS, PRODUCTS, Session, Shop, euros, instalments, new_order_id};
use crate::demo::DemoProvider;

/// Longest text accepted in a form field of the shop.
const MAX_FIELD: usize = 200;

fn clip(s: &str) -> String {
    s.trim().chars().take(MAX_FIELD).collect()
}

/// Closes the current order once its checkout is paid: the cart is emptied, the order number
/// is never used again, and the order is listed as paid. `true` when it was closed now.
async fn close_if_paid(shop: &Shop, s: &mut Session) -> bool {
    let Some((order, reference)) = s.checkout.clone() else {
        return false;
    };
    if order != s.order_id {
        return false;
    }
    let paid = matches!(
        shop.engine.checkout(&reference).await,
        Ok(Some(c)) if matches!(c.status, CheckoutStatus::Valid | CheckoutStatus::PaidAfterRetraction)
    );
    if paid {
        s.paid.push((order.clone(), reference));
        if s.paid.len() > MAX_PAID_ORDERS {
            s.paid.remove(0);
        }
        s.cart.clear();
        s.checkout = None;
        s.order_id = new_order_id();
        s.in_instalments = false;
        s.form = (super::random_hex(8), None);
        s.flash = Some(format!("Commande {order} payée : merci !"));
    }
    paid
}

pub(super) async fn home(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    close_if_paid(&shop, &mut s).await;
    let products: Vec<_> = PRODUCTS
        .iter()
        .map(|p| {
            let price = Amount::new(p.cents, Currency::EUR)
                .map(euros)
                .unwrap_or_default();
            context! { id => p.id, name => p.name, price => price }
        })
        .collect();
    let resp = shop.render(
        "home.html",
        &s,
        context! { title => "Produits", products => products },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct AddForm {
    product: String,
    qty: Option<u32>,
}

pub(super) async fn add_to_cart(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    if let Some(p) = PRODUCTS.iter().find(|p| p.id == f.product) {
        let qty = f.qty.unwrap_or(1).clamp(1, 20);
        let line = s.cart.entry(p.id).or_insert(0);
        *line = (*line + qty).min(99);
        s.flash = Some(format!("{} ajouté au panier.", p.name));
    }
    shop.save(&id, s);
    shop.with_cookie(Redirect::to("/").into_response(), &id, new)
}

pub(super) async fn empty_cart(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    s.cart.clear();
    s.order_id = new_order_id();
    shop.save(&id, s);
    shop.with_cookie(Redirect::to("/").into_response(), &id, new)
}

/// The countries the account form offers, French names.
const COUNTRIES: [(&str, &str); 12] = [
    ("FR", "France"),
    ("BE", "Belgique"),
    ("CH", "Suisse"),
    ("LU", "Luxembourg"),
    ("MC", "Monaco"),
    ("DE", "Allemagne"),
    ("ES", "Espagne"),
    ("IT", "Italie"),
    ("NL", "Pays-Bas"),
    ("PT", "Portugal"),
    ("GB", "Royaume-Uni"),
    ("RE", "La Réunion"),
];

/// The account form with `customer`'s values and, per field, what is wrong.
fn render_account(
    shop: &Shop,
    s: &Session,
    customer: &tpe_core::Customer,
    errors: &std::collections::BTreeMap<&'static str, &'static str>,
) -> Response {
    let a = customer.address.clone().unwrap_or_default();
    let countries: Vec<_> = COUNTRIES
        .iter()
        .map(|&(code, name)| context! { code => code, name => name })
        .collect();
    shop.render(
        "account.html",
        s,
        context! { title => "Mon compte", c => context! {
            first_name => customer.first_name.clone(), last_name => customer.last_name.clone(),
            email => customer.email.clone(), phone => customer.phone.clone(),
        }, a => context! { line1 => a.line1, postcode => a.postcode, city => a.city, country => a.country },
        countries => countries, errors => errors },
    )
}

pub(super) async fn account(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let resp = render_account(&shop, &s, &s.customer, &Default::default());
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

/// What is wrong with a field, in French, next to it. Missing fields are not errors here:
/// the account may be completed later, and the order summary asks for them (PSD2).
fn field_errors(
    customer: &tpe_core::Customer,
) -> std::collections::BTreeMap<&'static str, &'static str> {
    use tpe_core::{CustomerField as F, FieldProblem};
    let Err(e) = customer.validate_for_payment() else {
        return Default::default();
    };
    e.problems
        .iter()
        .filter_map(|p| match p {
            FieldProblem::Invalid { field, .. } => Some(*field),
            _ => None,
        })
        .map(|field| match field {
            F::FirstName => ("first_name", "Prénom trop long ou invalide."),
            F::LastName => ("last_name", "Nom trop long ou invalide."),
            F::Email => ("email", "Adresse e-mail invalide."),
            F::Phone => ("phone", "Numéro de téléphone invalide pour ce pays."),
            F::AddressLine1 | F::AddressLine2 => ("line1", "Adresse trop longue ou invalide."),
            F::Postcode => ("postcode", "Code postal invalide pour ce pays."),
            F::City => ("city", "Ville trop longue ou invalide."),
            _ => ("country", "Choisissez un pays dans la liste."),
        })
        .collect()
}

#[derive(serde::Deserialize)]
pub(super) struct AccountForm {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    line1: String,
    postcode: String,
    city: String,
    country: String,
}

pub(super) async fn save_account(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Form(f): Form<AccountForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let phone = clip(&f.phone);
    let address = PostalAddress {
        line1: clip(&f.line1),
        line2: None,
        postcode: clip(&f.postcode),
        city: clip(&f.city),
        country: clip(&f.country),
    };
    let empty = address.line1.is_empty()
        && address.postcode.is_empty()
        && address.city.is_empty()
        && address.country.is_empty();
    let mut customer = s.customer.clone();
    customer.first_name = clip(&f.first_name);
    customer.last_name = clip(&f.last_name);
    customer.email = clip(&f.email);
    customer.phone = (!phone.is_empty()).then_some(phone);
    customer.address = (!empty).then_some(address);
    // A wrong value is shown next to its field and nothing is saved.
    let errors = field_errors(&customer);
    if !errors.is_empty() {
        let mut resp = render_account(&shop, &s, &customer, &errors);
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return shop.with_cookie(resp, &id, new);
    }
    s.customer = customer;
    s.flash = Some("Compte enregistré.".into());
    let back = if s.cart.is_empty() {
        "/compte"
    } else {
        "/commande"
    };
    shop.save(&id, s);
    shop.with_cookie(Redirect::to(back).into_response(), &id, new)
}

/// The cart's lines and total.
fn cart_lines(s: &Session) -> (Vec<minijinja::Value>, Option<Amount>, u32) {
    let mut total = Amount::new(0, Currency::EUR).ok();
    let mut count = 0u32;
    let mut lines = Vec::new();
    for (pid, qty) in &s.cart {
        let Some(p) = PRODUCTS.iter().find(|p| p.id == *pid) else {
            continue;
        };
        let line = Amount::new(p.cents, Currency::EUR)
            .and_then(|a| a.checked_mul(*qty))
            .ok();
        total = match (total, line) {
            (Some(t), Some(l)) => t.checked_add(l).ok(),
            _ => None,
        };
        count = count.saturating_add(*qty);
        lines.push(context! { name => p.name, qty => qty, total => line.map(euros) });
    }
    (lines, total, count)
}

fn default_delivery(shop: &Shop) -> jiff::civil::Date {
    let tz = &shop.engine.settings().time_zone;
    let today = shop.engine.now().to_zoned_datetime(tz.clone()).date();
    today
        .checked_add(jiff::Span::new().days(3))
        .unwrap_or(today)
}

/// The shop's day, in its time zone.
fn today(shop: &Shop) -> jiff::civil::Date {
    shop.engine
        .now()
        .to_zoned_datetime(shop.engine.settings().time_zone.clone())
        .date()
}

async fn render_summary(
    shop: &Shop,
    s: &Session,
    error: Option<String>,
    account_link: bool,
) -> Response {
    let (lines, total, _) = cart_lines(s);
    let providers: Vec<_> = DemoProvider::ALL
        .iter()
        .map(|p| context! { id => p.id().as_str(), label => p.label() })
        .collect();
    let delivery = s.delivery.unwrap_or_else(|| default_delivery(shop));
    // « Payer en 3 fois », its schedule shown before paying.
    let in_three = total
        .filter(|t| shop.offer.covers(*t))
        .and_then(|t| instalments::schedule(t, today(shop)))
        .map(|schedule| {
            context! {
                count => instalments::COUNT,
                rows => instalments::rows(&schedule),
                banks => shop.offer.bank_names(),
                chosen => s.in_instalments,
            }
        });
    let paid = instalments::paid_orders(shop, &s.paid).await;
    shop.render(
        "summary.html",
        s,
        context! {
            title => "Récapitulatif de commande",
            lines => lines,
            total => total.map(euros),
            order_id => s.order_id.clone(),
            delivery => delivery.to_string(),
            providers => providers,
            provider => s.provider.id().as_str(),
            in_three => in_three,
            error => error,
            account_link => account_link,
            form_id => s.form.0.clone(),
            paid => paid,
        },
    )
}

pub(super) async fn summary(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    close_if_paid(&shop, &mut s).await;
    // Each display of the form is a new submission; its double click is not.
    if s.form.1.is_some() {
        s.form = (super::random_hex(8), None);
    }
    let resp = render_summary(&shop, &s, None, false).await;
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct CheckoutForm {
    form_id: Option<String>,
    delivery: Option<String>,
    provider: Option<String>,
    mode: Option<String>,
    /// `3` for « Payer en 3 fois », `1` (or absent) for at once.
    versements: Option<String>,
}

/// "Valider ma commande" with "Paiement en ligne": the engine checks the account (PSD2),
/// creates the checkout and gives the bank's redirect.
pub(super) async fn checkout(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Form(f): Form<CheckoutForm>,
) -> Response {
    let turn = f.form_id.as_deref().map(|form_id| shop.form_turn(form_id));
    let _turn = match &turn {
        Some(t) => Some(t.lock().await),
        None => None,
    };
    let (id, mut s, new) = shop.session(&headers);
    if close_if_paid(&shop, &mut s).await {
        shop.save(&id, s.clone());
        let page = render_summary(
            &shop,
            &s,
            Some("Cette commande est déjà payée : rien n'a été débité une deuxième fois.".into()),
            false,
        )
        .await;
        return shop.with_cookie(page, &id, new);
    }
    // The same form sent twice (a double click): the bank's page of the first submission.
    if let (Some(form_id), (current, Some(redirect))) = (&f.form_id, &s.form)
        && form_id == current
    {
        let resp = redirect_response(&shop, &s, redirect.clone());
        return shop.with_cookie(resp, &id, new);
    }
    if let Some(p) = f.provider.as_deref().and_then(DemoProvider::parse) {
        s.provider = p;
    }
    if let Some(d) = f
        .delivery
        .as_deref()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    {
        s.delivery = Some(d);
    }
    // The form on screen decides: without the offer (a basket under the minimum) it sends no
    // choice, and the order is paid at once whatever an earlier order chose.
    s.in_instalments = f.versements.as_deref() == Some("3");
    let (_, total, count) = cart_lines(&s);
    let fail = |s: Session, msg: String, link: bool| {
        let shop = &shop;
        let id = &id;
        async move {
            shop.save(id, s.clone());
            let page = render_summary(shop, &s, Some(msg), link).await;
            shop.with_cookie(page, id, new)
        }
    };
    if f.mode.as_deref().is_some_and(|m| m != "online") {
        return fail(s, "Seul le paiement en ligne est proposé.".into(), false).await;
    }
    let Some(amount) = total.filter(|t| !t.is_zero()) else {
        return fail(s, "Votre panier est vide.".into(), false).await;
    };
    let today = today(&shop);
    if s.delivery.is_some_and(|d| d < today) {
        s.delivery = None;
        let msg = "La date de livraison est passée : choisissez aujourd'hui ou un jour à venir.";
        return fail(s, msg.into(), false).await;
    }
    let schedule = if s.in_instalments {
        if let Some(msg) = shop.offer.refusal(amount, s.provider) {
            return fail(s, msg, false).await;
        }
        let Some(schedule) = instalments::schedule(amount, today) else {
            let msg = instalments::refused_fr(&ScheduleError::Unsupported, s.provider);
            return fail(s, msg, false).await;
        };
        Some(schedule)
    } else {
        None
    };
    let request = CheckoutRequest {
        customer: s.customer.clone(),
        amount,
        description: format!("{} — commande {}", crate::demo::SHOP_NAME, s.order_id),
        item_count: count,
        delivery: s.delivery.unwrap_or_else(|| default_delivery(&shop)),
        shop_order_id: Some(s.order_id.clone()),
        language: None,
    };
    shop.save(&id, s.clone());
    let provider = s.provider.id();
    let started = match schedule {
        Some(schedule) => {
            shop.engine
                .start_checkout_in_instalments(&provider, request, schedule)
                .await
        }
        None => shop.engine.start_checkout(&provider, request).await,
    };
    match started {
        Ok(started) => {
            tracing::info!(reference = %started.reference, "redirecting to the bank");
            s.checkout = Some((s.order_id.clone(), started.reference));
            if f.form_id.as_deref() == Some(s.form.0.as_str()) {
                s.form.1 = Some(started.redirect.clone());
            }
            shop.save(&id, s.clone());
            let resp = redirect_response(&shop, &s, started.redirect);
            shop.with_cookie(resp, &id, new)
        }
        Err(CheckoutError::IncompleteCustomer(e)) => fail(s, e.message_fr(), true).await,
        Err(CheckoutError::Schedule(e)) => {
            let msg = instalments::refused_fr(&e, s.provider);
            fail(s, msg, false).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "checkout failed");
            let msg = format!("Le paiement n'a pas pu être préparé : {e}");
            fail(s, msg, false).await
        }
    }
}

/// The bank's page: the self-submitting signed form, or a plain redirect.
fn redirect_response(shop: &Shop, s: &Session, r: tpe_core::Redirect) -> Response {
    match r.method {
        HttpMethod::Post => {
            let mut page = shop.render(
                "redirect.html",
                s,
                context! { action => r.action.as_str(), fields => r.fields },
            );
            super::guard::redirect_policy(&mut page, &r.action.origin().ascii_serialization());
            page
        }
        _ => Redirect::to(r.location().as_str()).into_response(),
    }
}
