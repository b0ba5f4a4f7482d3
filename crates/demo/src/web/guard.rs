//! What stands between the web and the pages that change state: the manager's login, a CSRF
//! token and an Origin check on every form, security headers on every page, and no caching of
//! the pages that show personal data.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use tower_http::set_header::SetResponseHeaderLayer;

use super::{MAX_FORM, Shop};
use crate::error::DemoError;

/// The manager's login page.
pub(super) const LOGIN: &str = "/gestion/connexion";

/// The argon2id hash (PHC string) of `password`, for `--manager-password-hash`.
///
/// # Errors
/// [`DemoError::Tour`] when the system has no randomness for the salt.
pub fn hash_password(password: &str) -> Result<String, DemoError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| DemoError::Tour(format!("password salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| DemoError::Tour(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DemoError::Tour(format!("password hash: {e}")))
}

/// Checks a PHC string as [`hash_password`] makes it.
///
/// # Errors
/// [`DemoError::Tour`] naming what is wrong with the hash.
pub fn check_password_hash(hash: &str) -> Result<(), DemoError> {
    argon2::PasswordHash::new(hash)
        .map(|_| ())
        .map_err(|e| DemoError::Tour(format!("manager password hash: {e}")))
}

/// Whether `password` matches the argon2 `hash` (constant time inside argon2).
pub(super) fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2::PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Whether a request comes from the shop's own pages: its `Origin` (or, without one,
/// `Sec-Fetch-Site`) names the host it was sent to. Clients that send neither (scripts, old
/// browsers) still need the form's CSRF token.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return authority.is_some() && authority == host;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    }
}

fn is_gestion(path: &str) -> bool {
    path == "/gestion" || path.starts_with("/gestion/")
}

/// The guard in front of every page of the shop and of Gestion.
pub(super) async fn guard(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let gestion = is_gestion(&path);
    let session = shop.existing_session(req.headers());
    let manager = session.as_ref().is_some_and(|(_, s)| s.manager);
    if gestion && path != LOGIN && !manager {
        return if req.method() == Method::GET {
            no_store(Redirect::to(LOGIN).into_response())
        } else {
            tracing::warn!(target: "tpe::security", %path, "Gestion form without a manager login refused");
            shop.error_page(
                StatusCode::FORBIDDEN,
                "Connexion requise",
                "Cette action demande d'être connecté à la gestion.",
                LOGIN,
            )
        };
    }
    let req = if req.method() == Method::POST {
        if !same_origin(req.headers()) {
            tracing::warn!(target: "tpe::security", %path, "cross-origin form refused");
            return shop.error_page(
                StatusCode::FORBIDDEN,
                "Formulaire refusé",
                "Ce formulaire ne vient pas de la boutique.",
                "/",
            );
        }
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return shop.error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Formulaire trop long",
                "Le formulaire envoyé est trop long.",
                "/",
            );
        };
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned());
        let valid = match (&token, &session) {
            (Some(t), Some((_, s))) => bool::from(t.as_bytes().ct_eq(s.csrf.as_bytes())),
            _ => false,
        };
        if !valid {
            tracing::warn!(target: "tpe::security", %path, "form without a valid CSRF token refused");
            return shop.error_page(
                StatusCode::FORBIDDEN,
                "Formulaire expiré",
                "Ce formulaire a expiré : rechargez la page et recommencez.",
                if gestion { "/gestion" } else { "/" },
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let resp = next.run(req).await;
    if gestion { no_store(resp) } else { resp }
}

/// Pages with personal data are kept by no cache, the browser's included.
pub(super) fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The security headers of every page: a content security policy allowing forms to the shop
/// and to the bank only, no framing, no MIME sniffing, no referrer to other sites.
pub(super) fn headers(bank_origin: &str) -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let csp = format!(
        "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; img-src 'self' data:; form-action 'self' {bank_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"));
    let set =
        |name: HeaderName, value: HeaderValue| SetResponseHeaderLayer::if_not_present(name, value);
    vec![
        set(header::CONTENT_SECURITY_POLICY, csp),
        set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        set(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        set(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// The policy of the page that submits itself to the bank: its one inline handler runs, its
/// form goes to the bank only.
pub(super) fn redirect_policy(resp: &mut Response, bank_origin: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action {bank_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// The login form.
pub(super) async fn login_page(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, s, new) = shop.session(&headers);
    let resp = shop.render(
        "login.html",
        &s,
        context! { title => "Connexion à la gestion", error => None::<String> },
    );
    shop.save(&id, s);
    no_store(shop.with_cookie(resp, &id, new))
}

#[derive(serde::Deserialize)]
pub(super) struct LoginForm {
    password: String,
}

/// Checks the password; on success the session gets a new id and a new token (no fixation).
pub(super) async fn login(
    State(shop): State<Shop>,
    headers: HeaderMap,
    super::Form(f): super::Form<LoginForm>,
) -> Response {
    let (id, s, _) = shop.session(&headers);
    let hash = shop.password_hash.clone();
    let password = f.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    if !ok {
        tracing::warn!(target: "tpe::security", "Gestion login refused");
        let mut resp = shop.render(
            "login.html",
            &s,
            context! { title => "Connexion à la gestion", error => "Mot de passe incorrect." },
        );
        *resp.status_mut() = StatusCode::UNAUTHORIZED;
        return no_store(resp);
    }
    tracing::info!("Gestion login");
    let (new_id, _) = shop.rotate(&id, true);
    no_store(shop.with_cookie(Redirect::to("/gestion").into_response(), &new_id, true))
}

/// Ends the manager's login.
pub(super) async fn logout(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, _, _) = shop.session(&headers);
    let (new_id, _) = shop.rotate(&id, false);
    shop.with_cookie(Redirect::to("/").into_response(), &new_id, true)
}
