//! The defects a new user met in the demo, each played in headless Chromium and shown gone:
//! a past delivery date, the bank page's cancel button, a double click on "Payer", a paid
//! order left in the cart, the Stripe-like page in English, raw error pages, English words in
//! Gestion, and "as of" jobs that changed data without a preview. Skipped loudly without
//! Chromium, unless `REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::browser::{
    Step, browser_present, click, click_button, err, fill, reference_of, run, temp_dir,
    visible_text, wait_text,
};
use fantoccini::Client;
use tpe_demo::{Demo, DemoOptions};
use tpe_mock_bank::EntryKind;

/// How long a refusal waits before the manager is told (short, for the test).
const REFUSAL_WINDOW: Duration = Duration::from_secs(1);

/// Words of the code that once showed through the French pages.
const NOT_FRENCH: &[&str] = &[
    "None",
    "Accepted",
    "Refused",
    "record_payment",
    "notification_refused",
    "InsufficientFunds",
    "Failed to deserialize",
    "is invalid",
    "manual",
    // Amounts in euros and dates in Paris time, as everywhere else.
    "EUR",
    "UTC",
];

/// Fails when the page on screen shows one of [`NOT_FRENCH`] as a word.
async fn speaks_french(c: &Client, page: &str) -> Step {
    let text = visible_text(c).await?;
    let words: Vec<&str> = text
        .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .collect();
    match NOT_FRENCH
        .iter()
        .find(|w| words.contains(w) || (w.contains(' ') && text.contains(**w)))
    {
        Some(word) => Err(format!("{page} shows {word:?}: {text}")),
        None => Ok(()),
    }
}

/// A cart with one jar of honey, on the order summary.
async fn fill_cart(c: &Client, shop: &str) -> Step {
    c.goto(shop).await.map_err(err("home"))?;
    click(c, "#add-miel").await?;
    wait_text(c, "ajouté au panier").await?;
    click(c, "#go-order").await?;
    wait_text(c, "Récapitulatif de commande").await.map(drop)
}

/// Chooses `provider` and validates the order: the bank's page.
async fn validate(c: &Client, provider: &str, card_field: &str) -> Step {
    click(c, &format!("#provider option[value='{provider}']")).await?;
    click(c, "#validate-order").await?;
    wait_text(c, &format!("name=\"{card_field}\""))
        .await
        .map(drop)
}

/// Types `card` on the Paybox page on screen.
async fn fill_card(c: &Client, card: &str) -> Step {
    fill(c, "input[name='numero']", card).await?;
    fill(c, "input[name='expiry']", "12/30").await?;
    fill(c, "input[name='cvv']", "123").await
}

/// Types `card` on the Paybox page on screen and pays.
async fn pay(c: &Client, card: &str) -> Step {
    fill_card(c, card).await?;
    click(c, "button[value='pay']").await
}

async fn stories(c: &Client, demo: &Demo) -> Step {
    let shop = demo.shop_url().as_str().trim_end_matches('/').to_owned();

    // A French 404 in the shop's layout, with a way back.
    c.goto(&format!("{shop}/nexiste-pas"))
        .await
        .map_err(err("404"))?;
    wait_text(c, "Page introuvable").await?;
    click(c, "a[href='/']").await?;
    wait_text(c, "Ajouter au panier").await?;

    // The account first (the demo customer lacks an address), then the cart.
    c.goto(&format!("{shop}/compte"))
        .await
        .map_err(err("account"))?;
    fill(c, "#phone", "06 12 34 56 78").await?;
    fill(c, "#line1", "12 chemin des Lilas").await?;
    fill(c, "#postcode", "69480").await?;
    fill(c, "#city", "Anse").await?;
    click(c, "#country option[value='FR']").await?;
    click(c, "#save-account").await?;
    wait_text(c, "Mon compte").await?;
    fill_cart(c, &shop).await?;

    // A delivery date in the past is refused on the summary, nothing sent to the bank.
    c.execute(
        "document.querySelector(\"input[name=delivery]\").value = '2001-01-01'",
        Vec::new(),
    )
    .await
    .map_err(err("delivery date"))?;
    click(c, "#validate-order").await?;
    wait_text(c, "La date de livraison est passée").await?;

    // "Annuler" on the bank's page: "Paiement annulé", and a link back to the order.
    validate(c, "paybox", "numero").await?;
    click_button(c, "Annuler").await?;
    wait_text(c, "Paiement annulé").await?;
    click(c, "a.button").await?;
    wait_text(c, "Récapitulatif de commande").await?;
    wait_text(c, "Miel de lavande").await?;

    // A double click on "Payer" shows the payment, not the bank's "already paid" error.
    validate(c, "paybox", "numero").await?;
    fill_card(c, "1111222233334444").await?;
    c.execute(
        "const b = document.querySelector(\"button[value='pay']\"); b.click(); b.click();",
        Vec::new(),
    )
    .await
    .map_err(err("double click"))?;
    let page = wait_text(c, "Paiement validé").await?;
    if page.contains("00015") {
        return Err("the double click shows the bank's 00015 error".into());
    }
    speaks_french(c, "the return page").await?;

    // The paid order is closed: the cart is empty and the order listed as paid.
    c.goto(&format!("{shop}/commande"))
        .await
        .map_err(err("summary"))?;
    wait_text(c, "Votre panier est vide").await?;
    wait_text(c, "paid-orders").await?;

    // The same order's bank page in two tabs: paid in one, the other gets the platform's
    // 00015 "already paid", never a second payment.
    fill_cart(c, &shop).await?;
    let first = c.window().await.map_err(err("window"))?;
    let second = c.new_window(true).await.map_err(err("new tab"))?.handle;
    c.switch_to_window(second.clone())
        .await
        .map_err(err("new tab"))?;
    c.goto(&format!("{shop}/commande"))
        .await
        .map_err(err("summary"))?;
    wait_text(c, "validate-order").await?;
    c.switch_to_window(first.clone())
        .await
        .map_err(err("first tab"))?;
    validate(c, "paybox", "numero").await?;
    c.switch_to_window(second).await.map_err(err("new tab"))?;
    validate(c, "paybox", "numero").await?;
    pay(c, "1111222233334444").await?;
    let paid = reference_of(&wait_text(c, "Paiement validé").await?)?;
    c.close_window().await.map_err(err("close tab"))?;
    c.switch_to_window(first).await.map_err(err("first tab"))?;
    pay(c, "1111222233334444").await?;
    wait_text(c, "00015").await?;
    let accepted = demo
        .bank()
        .journal()
        .iter()
        .filter(|e| {
            matches!(e.kind, EntryKind::Decision)
                && e.reference.as_deref() == Some(paid.as_str())
                && e.detail == "00000"
        })
        .count();
    if accepted > 1 {
        return Err(format!("{paid} was paid {accepted} times"));
    }

    // A mistyped card, then the right one on the same page: paid, and no refusal e-mail to
    // the manager once the window has passed.
    fill_cart(c, &shop).await?;
    validate(c, "paybox", "numero").await?;
    fill_card(c, "1111222233334444").await?;
    fill(c, "input[name='cvv']", "12").await?;
    click(c, "button[value='pay']").await?;
    // The page again, with the bank's message (the first page had none).
    wait_text(c, "id=\"error\"").await?;
    pay(c, "1111222233334444").await?;
    wait_text(c, "Paiement validé").await?;
    tokio::time::sleep(REFUSAL_WINDOW * 3).await;
    let mails = std::fs::read_dir(tpe_demo::mail_dir(demo.data_dir()))
        .map_err(|e| format!("mail folder: {e}"))?
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|m| m.contains(tpe_demo::MANAGER_EMAIL))
        .count();
    if mails > 0 {
        return Err(format!("{mails} e-mail(s) to the manager for a paid order"));
    }

    // « Payer en 3 fois » from the minimum (two baskets, 30,00 €) on Paybox: the schedule on
    // the summary, the first instalment paid on the bank's page, the later ones charged by the
    // bank's compressed calendar and shown one by one on the customer's paid orders.
    c.goto(&shop).await.map_err(err("home"))?;
    click(c, "#add-legumes").await?;
    wait_text(c, "Panier (1)").await?;
    click(c, "#add-legumes").await?;
    wait_text(c, "Panier (2)").await?;
    c.goto(&format!("{shop}/commande"))
        .await
        .map_err(err("summary"))?;
    wait_text(c, "Échéancier du paiement en 3 fois").await?;
    click(c, "#in-three").await?;
    validate(c, "paybox", "numero").await?;
    pay(c, "1111222233334444").await?;
    wait_text(c, "Paiement validé").await?;
    speaks_french(c, "the return page of a payment in instalments").await?;
    let mut text = String::new();
    for _ in 0..40 {
        c.goto(&format!("{shop}/commande"))
            .await
            .map_err(err("summary"))?;
        text = visible_text(c).await?;
        if text.matches(": payée").count() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if text.matches(": payée").count() != 3 || !text.contains("en 3 fois") {
        return Err(format!("three instalments paid, not shown so: {text}"));
    }
    speaks_french(c, "the paid orders with their instalments").await?;

    // The Stripe-like page speaks French, and its way back cancels.
    fill_cart(c, &shop).await?;
    validate(c, "stripe-like", "card").await?;
    speaks_french(c, "the Stripe-like page").await?;
    wait_text(c, "Payer").await?;
    click_button(c, "Retour à la boutique").await?;
    wait_text(c, "Paiement annulé").await?;

    // A form the shop cannot read gets a French page in its layout, not a raw 422.
    c.goto(&shop).await.map_err(err("home"))?;
    c.execute(
        "const f = document.querySelector(\"form[action='/panier']\"); \
         f.querySelector(\"input[name=qty]\").type = 'text'; \
         f.querySelector(\"input[name=qty]\").value = 'beaucoup'; f.submit();",
        Vec::new(),
    )
    .await
    .map_err(err("bad form"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    speaks_french(c, "the bad form's page").await?;
    wait_text(c, "href=\"/\"").await?;

    // Gestion: French words only, and the "as of" jobs show what they would do first.
    let manager = demo.manager_url().to_string();
    c.goto(&manager).await.map_err(err("gestion"))?;
    wait_text(c, "Connexion à la gestion").await?;
    let password = demo.manager_password().ok_or("no password drawn")?;
    fill(c, "input[name=password]", password).await?;
    click(c, "form[action='/gestion/connexion'] button").await?;
    wait_text(c, "Déconnexion").await?;
    for page in [
        manager.clone(),
        format!("{manager}?etat=valid"),
        format!("{manager}?etat=awaiting_payment"),
        format!("{manager}/versements"),
        format!("{manager}/mails"),
    ] {
        c.goto(&page).await.map_err(err("gestion page"))?;
        speaks_french(c, &page).await?;
    }
    c.goto(&manager).await.map_err(err("gestion"))?;
    c.execute(
        "document.querySelector(\"input[name=at]\").value = '2099-01-01T12:00'",
        Vec::new(),
    )
    .await
    .map_err(err("job date"))?;
    click(c, "button[value='retraction']").await?;
    wait_text(c, "Rien n'a encore été fait").await?;
    wait_text(c, "confirm-job").await?;
    speaks_french(c, "the job preview").await?;
    // Leaving the preview changes nothing and leads back.
    click(c, "form[action='/gestion/jobs'] a[href='/gestion']").await?;
    wait_text(c, "Lancer la rétractation").await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_defects_once_met_are_gone_in_headless_chromium() {
    if !browser_present() {
        return;
    }
    let data = temp_dir("browser-stories");
    let mut options = DemoOptions::interactive("127.0.0.1:0".parse().unwrap(), &data);
    options.timings.refusal_email_delay = REFUSAL_WINDOW;
    // A day of the bank's calendar in 50 ms: a month between instalments in about 1.5 s.
    options.bank.instalment_day = Some(Duration::from_millis(50));
    let demo = Demo::start(options).await.unwrap();
    let demo = std::sync::Arc::new(demo);
    let d = demo.clone();
    run("stories", |client| async move {
        let result = stories(&client, &d).await;
        (client, result)
    })
    .await;
    if let Ok(demo) = std::sync::Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
}
