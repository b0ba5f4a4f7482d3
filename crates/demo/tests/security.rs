//! Gestion answers nothing without a login, every form needs its CSRF token and the shop's own
//! origin, every page carries the security headers, pages with personal data are not cached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Visitor, csrf, start};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION};

#[tokio::test]
async fn gestion_answers_nothing_without_a_login() {
    let demo = start("login").await;
    let mut v = Visitor::new(&demo);
    for path in [
        "/gestion",
        "/gestion/versements",
        "/gestion/mails",
        "/gestion/paiement/ABC",
    ] {
        let (resp, body) = v.get(path).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(resp.headers()[LOCATION], "/gestion/connexion", "{path}");
        assert!(body.is_empty(), "{path}: {body}");
    }
    // A form of Gestion without a login, even with the visitor's own token, does nothing.
    let (_, home) = v.get("/").await;
    let token = csrf(&home);
    let resp = v
        .post(
            "/gestion/jobs",
            &[
                ("csrf", &token),
                ("job", "retraction"),
                ("at", "2099-01-01T00:00"),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // A wrong password is refused; the right one opens Gestion under a new session id.
    let (page, html) = v.get("/gestion/connexion").await;
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let token = csrf(&html);
    let before = v.cookie.clone();
    let wrong = v
        .post(
            "/gestion/connexion",
            &[("csrf", &token), ("password", "devine")],
            None,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let password = demo.manager_password().unwrap().to_owned();
    let ok = v
        .post(
            "/gestion/connexion",
            &[("csrf", &token), ("password", &password)],
            None,
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_ne!(v.cookie, before, "the session id changes at login");
    let (resp, body) = v.get("/gestion").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
    assert!(body.contains("Déconnexion"), "{body}");
    // The token seen before the login is worth nothing after it.
    let stale = v
        .post(
            "/gestion/jobs",
            &[
                ("csrf", &token),
                ("job", "retraction"),
                ("at", "2099-01-01T00:00"),
            ],
            None,
        )
        .await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    demo.shutdown().await;
}

#[tokio::test]
async fn a_cross_origin_or_tokenless_form_changes_nothing() {
    let demo = start("csrf").await;
    let mut v = Visitor::new(&demo);
    let (_, home) = v.get("/").await;
    let token = csrf(&home);
    let cart = |html: &str| html.contains("Panier (0)");
    // From another site, with the visitor's cookie and even the right token: refused.
    let resp = v
        .post(
            "/panier",
            &[("csrf", &token), ("product", "miel"), ("qty", "1")],
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("Formulaire refusé") && body.contains("href=\"/\""),
        "{body}"
    );
    // Without the token: refused.
    let resp = v
        .post("/panier", &[("product", "miel"), ("qty", "1")], None)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (_, home) = v.get("/").await;
    assert!(cart(&home), "the cart changed");
    // From the shop itself, with the token: done.
    let origin = v.base.clone();
    let resp = v
        .post(
            "/panier",
            &[("csrf", &token), ("product", "miel"), ("qty", "1")],
            Some(&origin),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, home) = v.get("/").await;
    assert!(!cart(&home), "the cart did not change");
    demo.shutdown().await;
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let demo = start("headers").await;
    let mut v = Visitor::new(&demo);
    for path in [
        "/",
        "/compte",
        "/commande",
        "/gestion/connexion",
        "/nulle-part",
    ] {
        let (resp, _) = v.get(path).await;
        if path == "/nulle-part" {
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        }
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    demo.shutdown().await;
}
