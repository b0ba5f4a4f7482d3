//! "Tâches abandonnées": what the effects relay gave up (an e-mail to a malformed address, the
//! accounts refusing a payment record, the last allowed attempt), each with its last error and
//! a "Réessayer" button that puts it back once the manager fixed the cause.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tpe_engine::{EngineError, StoreError, effect_kind_text};

use super::manager::{unavailable, when};
use super::{Form, Found, Shop};

/// Where the page lives.
pub(super) const PAGE: &str = "/gestion/taches";

pub(super) async fn list(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let Ok(items) = shop.engine.given_up_effects(200).await else {
        return unavailable(&shop);
    };
    let lang = tpe_core::Lang::Fr;
    let tasks: Vec<_> = items
        .iter()
        .map(|e| {
            context! {
                id => e.id,
                reference => e.reference.as_str(),
                what => effect_kind_text(e.effect.kind(), lang),
                attempts => e.attempts,
                error => e.last_error.clone().unwrap_or_default(),
                at => e.given_up_at.map(|t| when(&shop, t)).unwrap_or_default(),
            }
        })
        .collect();
    let resp = shop.render(
        "tasks.html",
        &s,
        context! {
            title => "Tâches abandonnées", tasks => tasks,
            attempts_max => tpe_engine::tpe_store::DEFAULT_OUTBOX_ATTEMPTS,
        },
    );
    s.flash = None;
    shop.save(&id, s);
    shop.with_cookie(resp, &id, new)
}

#[derive(serde::Deserialize)]
pub(super) struct RetryForm {
    #[serde(default)]
    author: String,
}

/// Puts the task back and runs the relay at once, so the page the manager comes back to says
/// whether it went through this time.
pub(super) async fn retry(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Found(effect_id): Found<i64>,
    Form(f): Form<RetryForm>,
) -> Response {
    let (id, mut s, new) = shop.session(&headers);
    let engine = &shop.engine;
    s.flash = Some(
        match engine.retry_given_up(effect_id, f.author.trim()).await {
            Ok(true) => {
                if let Err(e) = engine.run_relay_once(engine.now()).await {
                    tracing::warn!(effect_id, error = %e, "relay pass after a retry failed");
                }
                match engine.given_up_effects(200).await {
                    Ok(left) => match left.iter().find(|e| e.id == effect_id) {
                        Some(e) => format!(
                            "La tâche n° {effect_id} a de nouveau échoué : {}",
                            e.last_error.as_deref().unwrap_or("erreur inconnue")
                        ),
                        None => format!(
                            "Tâche n° {effect_id} remise en route : faite, ou retentée automatiquement si le serveur ne répond pas encore."
                        ),
                    },
                    Err(_) => format!("Tâche n° {effect_id} remise en route."),
                }
            }
            Ok(false) => format!("La tâche n° {effect_id} n'est plus abandonnée : rien à faire."),
            Err(EngineError::InvalidInput { .. }) => {
                "Indiquez votre nom (auteur) : il est gardé dans le journal.".to_owned()
            }
            Err(EngineError::Store(StoreError::EffectNotFound { .. })) => {
                format!("Aucune tâche n° {effect_id}.")
            }
            Err(_) => "La base de données ne répond pas, réessayez dans un instant.".to_owned(),
        },
    );
    shop.save(&id, s);
    shop.with_cookie(Redirect::to(PAGE).into_response(), &id, new)
}
