//! A minimal shop linking `tpe`: a product page, a checkout that sends the customer to the
//! bank's payment page, the engine's notification and return routes, and the order page the
//! return page links back to.
//!
//! `cargo run --example shop`, then open http://127.0.0.1:3000/ and pay with the card
//! 1111222233334444 (any future expiry, any CVV). The bank is the mock bank, started in the
//! same process; payments go to `shop-example.db` (SQLite) and e-mails to `shop-example-mails/`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, http::StatusCode};
use tpe::core::{Amount, Currency, Lang, PaymentReference};
use tpe::engine::{CheckoutRequest, Engine, FileMailer};
use tpe::paybox::Paybox;
use tpe::store::{SqliteOptions, SqliteStore};

use support::Error;

/// The shop's pages, and the engine's routes (`/tpe/notify/…`, `/tpe/return/…`).
fn app(engine: Engine) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/checkout", post(checkout))
        .route("/orders/{reference}", get(order))
        .with_state(engine.clone())
        .merge(engine.router())
}

async fn home() -> Html<&'static str> {
    Html(
        r#"<h1>Panier de légumes — 24,90 €</h1>
<form method="post" action="/checkout">
<input name="email" value="jeanne@example.fr"> <button>Payer</button>
</form>"#,
    )
}

/// The checkout form: in a real shop, the customer and the cart come from the session.
#[derive(serde::Deserialize)]
struct CheckoutForm {
    email: String,
}

/// Starts the checkout (PSD2 data checked first) and answers the page that sends the browser
/// to the bank with the signed form.
async fn checkout(State(engine): State<Engine>, Form(form): Form<CheckoutForm>) -> Response {
    let request = CheckoutRequest {
        customer: support::customer(&form.email),
        amount: Amount::new(2490, Currency::EUR).expect("a valid amount"),
        description: "Panier de légumes".into(),
        item_count: 1,
        delivery: delivery_day(&engine),
        shop_order_id: None,
        language: Some(Lang::Fr),
    };
    match engine.start_checkout(&Paybox::ID, request).await {
        Ok(started) => {
            Html(tpe::engine::redirect_page(&started.redirect, Lang::Fr)).into_response()
        }
        // The message says what is missing (a phone, an address…) or that the bank is down.
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}

/// Delivery in three days, in the shop's time zone.
fn delivery_day(engine: &Engine) -> jiff::civil::Date {
    let today = engine
        .now()
        .to_zoned_datetime(engine.settings().time_zone.clone())
        .date();
    today
        .checked_add(jiff::Span::new().days(3))
        .unwrap_or(today)
}

/// The order page: what the engine knows of the payment (only the bank's notification
/// validates it; the browser's return never does).
async fn order(State(engine): State<Engine>, Path(reference): Path<String>) -> Response {
    let Ok(reference) = PaymentReference::parse(&reference) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match engine.checkout(&reference).await {
        Ok(Some(checkout)) => format!("{reference}: {:?}\n", checkout.status).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bank = support::start_bank().await?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 3000))).await?;
    let base = format!("http://{}/", listener.local_addr()?);
    let store = Arc::new(SqliteStore::open("shop-example.db", SqliteOptions::default()).await?);
    let mailer = Arc::new(FileMailer::new("shop-example-mails")?);
    let engine = support::paybox_engine(&bank, store, mailer, &base)?;
    // The e-mail relay and the retraction and reconciliation jobs.
    let jobs = engine.spawn_background(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    println!("shop: {base}  (bank: {}; Ctrl-C to stop)", bank.base_url());
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tpe::http::serve(listener, app(engine), tpe::http::Limits::default(), stop).await?;
    jobs.shutdown().await;
    bank.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_customer_pays_and_the_order_is_validated() -> Result<(), Error> {
        let bank = support::start_bank().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/", listener.local_addr()?);
        let dir = tempfile::tempdir()?;
        let store =
            Arc::new(SqliteStore::open(dir.path().join("p.db"), SqliteOptions::default()).await?);
        let mailer = tpe::engine::MemoryMailer::new();
        let engine = support::paybox_engine(&bank, store, Arc::new(mailer.clone()), &base)?;
        let server = support::Server::spawn(listener, app(engine));

        let browser = reqwest::Client::new();
        assert!(
            browser
                .get(&base)
                .send()
                .await?
                .text()
                .await?
                .contains("/checkout")
        );
        let page = browser
            .post(format!("{base}checkout"))
            .form(&[("email", "jeanne@example.fr")])
            .send()
            .await?
            .text()
            .await?;
        let redirect = support::form_in(&page)?;
        let paid = support::pay_on_the_bank_page(&bank, &browser, &redirect).await?;
        // The bank notified the shop before sending the browser back to the return page.
        // The return page is the engine's: /tpe/return/{reference}.
        let reference = paid.url().path_segments().and_then(|mut s| s.next_back());
        let order = format!("{base}orders/{}", reference.ok_or("no reference")?);
        let returned = paid.text().await?;
        assert!(returned.contains("Paiement validé"), "{returned}");
        let order = browser.get(order).send().await?.text().await?;
        assert!(order.contains("Valid"), "{order}");
        server.stop().await?;
        bank.shutdown().await;
        Ok(())
    }
}
