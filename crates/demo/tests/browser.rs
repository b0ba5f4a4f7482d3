//! The demo in headless Chromium: a paid order and a refused one, seen by the customer and by
//! the manager, and an order paid after its retraction refunded from Gestion. Skipped loudly
//! without Chromium, unless `REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::browser::{
    Step, browser_present, click, err, fill, reference_of, run, temp_dir, wait_text,
};
use fantoccini::{Client, Locator};
use tpe_demo::{Demo, DemoOptions};

/// The customer fills a cart, hits the PSD2 message, completes the account and pays with
/// `card` on the chosen bank's page.
async fn order_and_pay(
    c: &Client,
    shop: &str,
    provider: &str,
    card: &str,
    complete_account: bool,
) -> Step {
    order_to_bank(c, shop, provider, complete_account).await?;
    type_card(c, provider, card).await
}

/// The customer fills a cart (completing the account on the way if asked) and orders: the
/// chosen bank's page is on screen.
async fn order_to_bank(c: &Client, shop: &str, provider: &str, complete_account: bool) -> Step {
    c.goto(shop).await.map_err(err("home"))?;
    click(c, "#add-legumes").await?;
    wait_text(c, "ajouté au panier").await?;
    click(c, "#add-miel").await?;
    wait_text(c, "Miel de lavande 500 g ajouté").await?;
    click(c, "#go-order").await?;
    wait_text(c, "Paiement en ligne").await?;
    if complete_account {
        click(c, "#validate-order").await?;
        wait_text(c, "complétez votre compte client").await?;
        click(c, "#complete-account").await?;
        wait_text(c, "Mon compte").await?;
        fill(c, "#phone", "06 12 34 56 78").await?;
        fill(c, "#line1", "12 chemin des Lilas").await?;
        // A postcode that is not French is refused next to its field, nothing saved.
        fill(c, "#postcode", "abc").await?;
        fill(c, "#city", "Anse").await?;
        click(c, "#country option[value='FR']").await?;
        click(c, "#save-account").await?;
        wait_text(c, "Code postal invalide pour ce pays").await?;
        fill(c, "#postcode", "69480").await?;
        click(c, "#save-account").await?;
        wait_text(c, "Valider ma commande").await?;
    }
    c.find(Locator::Css(&format!(
        "#provider option[value='{provider}']"
    )))
    .await
    .map_err(err("provider"))?
    .click()
    .await
    .map_err(err("provider"))?;
    click(c, "#validate-order").await?;
    // The bank's page (reached by the auto-submitted form or the redirect).
    let number = if provider == "paybox" {
        "numero"
    } else {
        "card"
    };
    wait_text(c, &format!("name=\"{number}\""))
        .await
        .map(|_| ())
}

/// Types `card` on the bank's page on screen and pays.
async fn type_card(c: &Client, provider: &str, card: &str) -> Step {
    let (number, exp, cvv) = if provider == "paybox" {
        ("numero", "expiry", "cvv")
    } else {
        ("card", "exp", "cvc")
    };
    fill(c, &format!("input[name='{number}']"), card).await?;
    fill(c, &format!("input[name='{exp}']"), "12/30").await?;
    fill(c, &format!("input[name='{cvv}']"), "123").await?;
    click(c, "button[value='pay']").await
}

async fn scenario(c: &Client, demo: &Demo) -> Step {
    let shop = demo.shop_url().as_str().to_owned();
    let manager = demo.manager_url().to_string();

    // Paid with the accepted test card.
    order_and_pay(c, &shop, "paybox", "1111222233334444", true).await?;
    let page = wait_text(c, "Paiement validé").await?;
    let paid = reference_of(&page)?;
    // Gestion asks for the manager's password first, then shows the page asked for.
    c.goto(&format!("{manager}?etat=valid"))
        .await
        .map_err(err("manager"))?;
    wait_text(c, "Connexion à la gestion").await?;
    fill(c, "input[name=password]", "pas le bon").await?;
    click(c, "form[action='/gestion/connexion'] button").await?;
    wait_text(c, "Mot de passe incorrect").await?;
    let password = demo.manager_password().ok_or("no password drawn")?;
    fill(c, "input[name=password]", password).await?;
    click(c, "form[action='/gestion/connexion'] button").await?;
    wait_text(c, "Déconnexion").await?;
    c.goto(&format!("{manager}?etat=valid"))
        .await
        .map_err(err("manager"))?;
    wait_text(c, &paid).await?;
    c.goto(&format!("{manager}/paiement/{paid}"))
        .await
        .map_err(err("detail"))?;
    let detail = wait_text(c, "id=\"state\">Valide<").await?;
    if !detail.contains("Accepté") {
        return Err("the checkout shows no accepted bank transaction".into());
    }
    c.goto(&format!("{manager}/versements"))
        .await
        .map_err(err("records"))?;
    wait_text(c, &paid).await?;

    // Refused with the insufficient-funds test card: refusal page, manager e-mail.
    order_and_pay(c, &shop, "paybox", "1111222233330151", false).await?;
    let page = wait_text(c, "Paiement refusé").await?;
    let refused = reference_of(&page)?;
    c.goto(&format!("{manager}?etat=awaiting_payment"))
        .await
        .map_err(err("manager"))?;
    wait_text(c, &refused).await?;
    // The background relay sends the e-mail within a second or two.
    let mut found = false;
    for _ in 0..50 {
        c.goto(&format!("{manager}/mails"))
            .await
            .map_err(err("mails"))?;
        let src = c.source().await.map_err(err("mails"))?;
        if src.contains(tpe_demo::MANAGER_EMAIL) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !found {
        return Err("no e-mail to the manager listed".into());
    }
    let link = c
        .find(Locator::XPath(&format!(
            "//table[@id='mails']//tr[td[contains(., '{}')]]//a",
            tpe_demo::MANAGER_EMAIL
        )))
        .await
        .map_err(err("manager e-mail link"))?;
    link.click().await.map_err(err("manager e-mail link"))?;
    let body = wait_text(c, "mail-body").await?;
    if !(body.contains(&refused) && body.contains("00151")) {
        return Err(format!(
            "the manager's e-mail does not name {refused} and 00151"
        ));
    }
    let refunded = refund_after_retraction(c, demo, &shop, &manager).await?;
    // Every page of Gestion fits a 1280-pixel-wide window: no sideways scrolling.
    for page in [
        format!("{manager}/paiement/{refunded}"),
        format!("{manager}?etat=awaiting_payment"),
        format!("{manager}/paiement/{paid}"),
        format!("{manager}/paiement/{refused}"),
        format!("{manager}/versements"),
        format!("{manager}/mails"),
    ] {
        c.goto(&page).await.map_err(err("gestion page"))?;
        fits(c, &page).await?;
    }
    Ok(())
}

/// The page on screen fits a 1280-pixel-wide window: no sideways scrolling.
async fn fits(c: &Client, page: &str) -> Step {
    let measure = |script: &'static str| async move {
        c.execute(script, Vec::new())
            .await
            .map_err(err("page width"))
            .map(|v| v.as_u64().unwrap_or(u64::MAX))
    };
    let window = measure("return window.innerWidth").await?;
    let width = measure("return document.documentElement.scrollWidth").await?;
    if window != 1280 || width > window {
        return Err(format!(
            "{page} is {width} px wide in a window of {window} px (1280 expected)"
        ));
    }
    Ok(())
}

/// The customer leaves the bank's page open, the order is retracted, then the customer pays:
/// the manager refunds it from its page in Gestion, confirming first. Returns its reference.
async fn refund_after_retraction(
    c: &Client,
    demo: &Demo,
    shop: &str,
    manager: &str,
) -> Result<String, String> {
    use tpe_core::CheckoutStatus;
    order_to_bank(c, shop, "paybox", false).await?;
    // While the page is open, the day after delivery comes.
    let engine = demo.engine();
    engine
        .run_retraction(tpe_core::Timestamp::from_second(4_102_444_800).unwrap()) // 2100
        .await
        .map_err(|e| format!("retraction: {e}"))?;
    type_card(c, "paybox", "1111222233334444").await?;
    let mut found = None;
    for _ in 0..100 {
        let page = engine
            .checkouts_by_state(CheckoutStatus::PaidAfterRetraction, 10, None)
            .await
            .map_err(|e| format!("list: {e}"))?;
        if let Some(ck) = page.items.first() {
            found = Some(ck.reference.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reference = found.ok_or("no checkout paid after retraction")?;
    c.goto(&format!("{manager}/paiement/{reference}"))
        .await
        .map_err(err("detail"))?;
    wait_text(c, "id=\"state\">Payée après rétractation<").await?;
    fits(c, "the page with Rembourser and Rétablir").await?;
    fill(c, "#decide input[name=author]", "Lucie").await?;
    click(c, "#refund").await?;
    wait_text(c, "Confirmer le remboursement").await?;
    click(c, "#confirm-decision").await?;
    let page = wait_text(c, "Remboursement effectué").await?;
    if !(page.contains("id=\"state\">Remboursée<") && page.contains("Lucie")) {
        return Err("the refunded checkout does not show its state and its author".into());
    }
    Ok(reference)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_and_refuse_in_headless_chromium() {
    if !browser_present() {
        return;
    }
    let data = temp_dir("browser-data");
    let mut options = DemoOptions::interactive("127.0.0.1:0".parse().unwrap(), &data);
    // The manager's refusal e-mail is awaited below: a short wait for the next try.
    options.timings.refusal_email_delay = Duration::from_secs(1);
    let demo = std::sync::Arc::new(Demo::start(options).await.unwrap());
    let d = demo.clone();
    run("pay-and-refuse", |client| async move {
        let result = scenario(&client, &d).await;
        (client, result)
    })
    .await;
    if let Ok(demo) = std::sync::Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
}
