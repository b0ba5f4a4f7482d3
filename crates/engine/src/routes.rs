//! The axum routes a shop mounts: bank notifications, browser return pages and a JSON status
//! endpoint for polling.
//!
//! Under the settings' route prefix (default `tpe`):
//! - `GET|POST /tpe/notify/{provider}` — the bank's server-to-server notification, raw query and
//!   body passed byte for byte to the provider; only the methods and media type of the
//!   provider's [`NotificationChannel`](tpe_core::NotificationChannel) (`405` with `Allow`,
//!   `415` otherwise; HEAD is never processed), `413` past its bound, `400` for a broken
//!   transfer;
//! - `GET|POST /tpe/return/{reference}` — the customer's browser; shows the stored state, never
//!   changes it;
//! - `GET /tpe/status/{reference}` — JSON `{reference, status, ...}` for polling.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tpe_core::{
    CheckoutStatus, HttpMethod, Lang, NotificationLimits, OutcomeKind, PaymentReference,
    RawNotification,
};

use crate::engine::Engine;

/// Largest request body any route accepts: the largest provider limit (1 MiB, JSON
/// webhooks). Each notification is then held to its own provider's
/// [`NotificationLimits`](tpe_core::NotificationLimits).
pub const MAX_BODY: usize = RawNotification::MAX_BODY;

/// Time budget of one request, under every bank's own timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Engine {
    /// The routes, ready to merge into the shop's router or to serve alone.
    ///
    /// Serve with `into_make_service_with_connect_info::<SocketAddr>()` to have the peer
    /// address in the security log lines.
    pub fn router(&self) -> Router {
        let prefix = self.settings().route_prefix.trim_matches('/').to_owned();
        Router::new()
            .route(
                &format!("/{prefix}/notify/{{provider}}"),
                get(notify).post(notify),
            )
            .route(
                &format!("/{prefix}/return/{{reference}}"),
                get(browser_return).post(browser_return),
            )
            .route(&format!("/{prefix}/status/{{reference}}"), get(status))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(RequestBodyLimitLayer::new(MAX_BODY))
            // A request that runs out of time is retried by the bank: 503, never 3xx.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                REQUEST_TIMEOUT,
            ))
            // The query of a notification carries signatures: spans get the path only.
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    tracing::info_span!("tpe_http", method = %req.method(), path = %req.uri().path())
                }),
            )
            .with_state(self.clone())
    }
}

async fn notify(
    State(engine): State<Engine>,
    Path(provider): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let known = engine.provider(&provider);
    // An unknown provider is answered by the engine (404) whatever the method.
    let channel = known.as_ref().map(|p| p.profile().channel);
    let method = match parts.method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        // HEAD (and anything else) never reaches a verifier: headers only, nothing done.
        _ => return not_allowed(channel, &provider, &parts.method),
    };
    if channel.is_some_and(|c| !c.allows_method(method)) {
        return not_allowed(channel, &provider, &parts.method);
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    // Bounded by the provider's own limits (64 KiB forms, 1 MiB JSON webhooks); an unknown
    // provider by the smallest.
    let limits = known
        .as_ref()
        .map_or(NotificationLimits::FORM, |p| p.profile().limits);
    let body: Bytes = match axum::body::to_bytes(body, limits.max_body).await {
        Ok(b) => b,
        Err(e) => return unreadable_body(&e),
    };
    if let Some(channel) = channel
        && !body.is_empty()
    {
        let essence = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok());
        if !essence.is_some_and(|m| channel.allows_media_type(m.essence_str())) {
            tracing::warn!(target: "tpe::security", provider = %provider, "notification body of another media type");
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported media type\n",
            )
                .into_response();
        }
    }
    let query = Bytes::copy_from_slice(parts.uri.query().unwrap_or("").as_bytes());
    let raw = match RawNotification::within(limits, method, query, body, parts.headers, peer) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(target: "tpe::security", error = %e, "notification too large");
            return (StatusCode::PAYLOAD_TOO_LARGE, "too large\n").into_response();
        }
    };
    let r = engine.handle_notification(&provider, &raw).await;
    let mut resp = (
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        r.body,
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    resp
}

/// `405` with the methods the bank uses: a probe or a misrouted request changes nothing.
fn not_allowed(
    channel: Option<tpe_core::NotificationChannel>,
    provider: &str,
    method: &Method,
) -> Response {
    tracing::warn!(target: "tpe::security", provider = %provider, method = %method, "notification method refused");
    let methods = channel.map_or(&[HttpMethod::Get, HttpMethod::Post][..], |c| c.methods);
    let allow = methods
        .iter()
        .map(|m| match m {
            HttpMethod::Get => "GET",
            _ => "POST",
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut resp = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// A body that could not be read: `413` past the provider's bound, `400` when the transfer
/// itself is broken (a bad chunk size, a cut connection).
fn unreadable_body(e: &axum::Error) -> Response {
    let too_large =
        std::error::Error::source(e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
    if too_large {
        (StatusCode::PAYLOAD_TOO_LARGE, "too large\n").into_response()
    } else {
        tracing::warn!(target: "tpe::security", error = %e, "notification body unreadable");
        (StatusCode::BAD_REQUEST, "unreadable body\n").into_response()
    }
}

async fn status(State(engine): State<Engine>, Path(reference): Path<String>) -> Response {
    let Ok(reference) = PaymentReference::parse(&reference) else {
        return (StatusCode::NOT_FOUND, "unknown reference\n").into_response();
    };
    match engine.checkout(&reference).await {
        Ok(Some(c)) => axum::Json(serde_json::json!({
            "reference": reference.as_str(),
            "status": c.status.as_str(),
            "amount": c.amount.to_string(),
            "amount_mismatch": c.amount_mismatch,
            "superseded_by": c.superseded_by.as_ref().map(PaymentReference::as_str),
        }))
        .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "unknown reference\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable\n").into_response(),
    }
}

/// What the return page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageKind {
    Validated,
    NotYet,
    Refused,
    /// The browser came back by the bank's "cancel" link and the bank has said nothing:
    /// nothing was paid, and the state is unchanged.
    Cancelled,
    Retracted,
    PaidLate,
}

async fn browser_return(
    State(engine): State<Engine>,
    Path(reference): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    // Which of the bank's links brought the browser back (`?r=cancelled`): only the wording
    // of the page depends on it, the state never does.
    let said_cancelled = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "r" && v == "cancelled")
    });
    let Ok(reference) = PaymentReference::parse(&reference) else {
        return (StatusCode::NOT_FOUND, "unknown reference\n").into_response();
    };
    let detail = match engine.checkout_detail(&reference).await {
        Ok(Some(d)) => d,
        Ok(None) => return (StatusCode::NOT_FOUND, "unknown reference\n").into_response(),
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable\n").into_response();
        }
    };
    let kind = match detail.checkout.status {
        CheckoutStatus::Valid => PageKind::Validated,
        CheckoutStatus::Retracted => PageKind::Retracted,
        CheckoutStatus::PaidAfterRetraction => PageKind::PaidLate,
        // Awaiting: refused when the latest verdict of the bank was a refusal.
        _ => match detail.bank_transactions.last().map(|t| t.outcome) {
            Some(OutcomeKind::Refused | OutcomeKind::Cancelled) => PageKind::Refused,
            None if said_cancelled => PageKind::Cancelled,
            _ => PageKind::NotYet,
        },
    };
    let lang = detail
        .checkout
        .language
        .unwrap_or(engine.settings().language);
    let s = engine.settings();
    let back = s
        .order_summary_url
        .clone()
        .unwrap_or_else(|| s.public_base_url.clone());
    let html = return_page(
        kind,
        lang,
        &s.shop_name,
        reference.as_str(),
        back.as_str(),
        s.public_base_url.as_str(),
    );
    let mut resp = (StatusCode::OK, html).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page names a payment: no cache keeps it, no other site frames it.
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

fn return_page(
    kind: PageKind,
    lang: Lang,
    shop: &str,
    reference: &str,
    back: &str,
    home: &str,
) -> String {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        // A `.html` name turns HTML escaping on.
        env.add_template("return.html", include_str!("../templates/return.html"))
            .unwrap_or_else(|e| unreachable!("the embedded template parses: {e}"));
        env
    });
    let fr = lang == Lang::Fr;
    let (title, text) = match (kind, fr) {
        (PageKind::Validated, true) => (
            "Paiement validé",
            "Merci ! Votre paiement est validé et votre commande confirmée.",
        ),
        (PageKind::Validated, false) => (
            "Payment confirmed",
            "Thank you! Your payment is confirmed and your order validated.",
        ),
        (PageKind::NotYet, true) => (
            "Paiement pas encore validé",
            "Nous attendons la confirmation de la banque. Cette page se met à jour automatiquement.",
        ),
        (PageKind::NotYet, false) => (
            "Payment not confirmed yet",
            "We are waiting for the bank's confirmation. This page refreshes automatically.",
        ),
        (PageKind::Refused, true) => (
            "Paiement refusé",
            "La banque a refusé le paiement. Vous pouvez revenir à votre commande pour réessayer.",
        ),
        (PageKind::Refused, false) => (
            "Payment refused",
            "The bank refused the payment. You can go back to your order and try again.",
        ),
        (PageKind::Cancelled, true) => (
            "Paiement annulé",
            "Vous avez quitté la page de paiement : rien n'a été payé. Votre commande vous attend.",
        ),
        (PageKind::Cancelled, false) => (
            "Payment cancelled",
            "You left the payment page: nothing was paid. Your order is waiting for you.",
        ),
        (PageKind::Retracted, true) => (
            "Commande rétractée",
            "Cette commande n'a pas été payée à temps et a été rétractée.",
        ),
        (PageKind::Retracted, false) => (
            "Order retracted",
            "This order was not paid in time and has been retracted.",
        ),
        (PageKind::PaidLate, true) => (
            "Paiement reçu",
            "Votre paiement a été reçu après l'échéance : la boutique va vous contacter.",
        ),
        (PageKind::PaidLate, false) => (
            "Payment received",
            "Your payment arrived after the deadline: the shop will contact you.",
        ),
    };
    let tone = match kind {
        PageKind::Validated | PageKind::PaidLate => "ok",
        PageKind::Refused | PageKind::Retracted | PageKind::Cancelled => "ko",
        PageKind::NotYet => "",
    };
    // Every page leads somewhere: back to the order when it can still be paid, and home.
    let back = matches!(
        kind,
        PageKind::Refused | PageKind::Cancelled | PageKind::NotYet
    )
    .then_some(back);
    env.get_template("return.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                lang => if fr { "fr" } else { "en" },
                refresh => kind == PageKind::NotYet,
                title => title,
                text => text,
                tone => tone,
                shop => shop,
                reference => reference,
                ref_label => if fr { "Référence du paiement" } else { "Payment reference" },
                back => back,
                back_label => if fr { "Revenir à ma commande" } else { "Back to my order" },
                home => home,
                home_label => if fr { "Retour à la boutique" } else { "Back to the shop" },
            })
        })
        .unwrap_or_else(|e| unreachable!("the embedded template renders: {e}"))
}
