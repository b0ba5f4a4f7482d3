//! The farm shop and the manager's pages: server-rendered HTML (minijinja), French wording.

mod manager;
pub(crate) use manager::far_future;
mod shop;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use tpe_core::{Amount, Currency, Customer};
use tpe_engine::Engine;

use crate::demo::DemoProvider;

/// A product of the farm.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Product {
    /// Stable id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Unit price in cents of euro.
    pub cents: u64,
}

/// The farm's products.
pub const PRODUCTS: [Product; 5] = [
    Product {
        id: "legumes",
        name: "Panier de légumes de saison",
        cents: 1500,
    },
    Product {
        id: "oeufs",
        name: "Œufs fermiers (boîte de 6)",
        cents: 320,
    },
    Product {
        id: "chevre",
        name: "Fromage de chèvre frais",
        cents: 450,
    },
    Product {
        id: "miel",
        name: "Miel de lavande 500 g",
        cents: 980,
    },
    Product {
        id: "pommes",
        name: "Pommes (1 kg)",
        cents: 290,
    },
];

/// One visitor's session: account, cart, choices.
#[derive(Debug, Clone)]
struct Session {
    customer: Customer,
    cart: BTreeMap<&'static str, u32>,
    delivery: Option<jiff::civil::Date>,
    provider: DemoProvider,
    order_id: String,
    flash: Option<String>,
}

impl Session {
    fn new() -> Self {
        // The account starts without phone nor address: the first checkout shows the PSD2
        // message of the guide, as a real shop would.
        Self {
            customer: Customer {
                first_name: "Jeanne".into(),
                last_name: "Martin".into(),
                email: "jeanne.martin@example.fr".into(),
                phone: None,
                address: None,
            },
            cart: BTreeMap::new(),
            delivery: None,
            provider: DemoProvider::Paybox,
            order_id: new_order_id(),
            flash: None,
        }
    }
}

fn new_order_id() -> String {
    format!("CMD-{}", random_hex(4).to_ascii_uppercase())
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // Without OS randomness the ids are still unique per process by the counter below.
    if getrandom::fill(&mut b).is_err() {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        return format!(
            "{:016x}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Most sessions kept in memory (a demo, not a production shop).
const MAX_SESSIONS: usize = 10_000;
const COOKIE: &str = "tpe_demo";

/// The shop's shared state.
#[derive(Clone)]
pub(crate) struct Shop {
    engine: Engine,
    mail_dir: PathBuf,
    bank_url: String,
    env: Arc<Environment<'static>>,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

macro_rules! template {
    ($env:ident, $name:literal) => {
        $env.add_template($name, include_str!(concat!("../../templates/", $name)))
    };
}

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    template!(env, "base.html")?;
    template!(env, "home.html")?;
    template!(env, "account.html")?;
    template!(env, "summary.html")?;
    template!(env, "redirect.html")?;
    template!(env, "manager.html")?;
    template!(env, "detail.html")?;
    template!(env, "records.html")?;
    template!(env, "mails.html")?;
    template!(env, "mail.html")?;
    Ok(env)
}

impl Shop {
    pub(crate) fn new(
        engine: Engine,
        mail_dir: PathBuf,
        bank_url: String,
    ) -> Result<Self, minijinja::Error> {
        Ok(Self {
            engine,
            mail_dir,
            bank_url,
            env: Arc::new(environment()?),
            sessions: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The session of the request's cookie, or a new one (its cookie to set is returned).
    fn session(&self, headers: &HeaderMap) -> (String, Session, bool) {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, v)| {
                *k == COOKIE && v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|(_, v)| v.to_owned());
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(id) = id
            && let Some(s) = sessions.get(&id)
        {
            return (id, s.clone(), false);
        }
        if sessions.len() >= MAX_SESSIONS {
            sessions.clear();
        }
        let id = random_hex(16);
        let s = Session::new();
        sessions.insert(id.clone(), s.clone());
        (id, s, true)
    }

    fn save(&self, id: &str, s: Session) {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_owned(), s);
    }

    fn render(&self, name: &str, session: &Session, ctx: minijinja::Value) -> Response {
        let base = minijinja::context! {
            shop_name => crate::demo::SHOP_NAME,
            cart_count => session.cart.values().sum::<u32>(),
            flash => session.flash.clone(),
        };
        let ctx = minijinja::context! { ..ctx, ..base };
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "erreur de page\n").into_response()
            }
        }
    }
}

/// Adds the session cookie to a response when the session is new.
fn with_cookie(mut resp: Response, id: &str, new: bool) -> Response {
    if new
        && let Ok(v) =
            HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `12,50 €`.
pub(crate) fn euros(amount: Amount) -> String {
    if amount.currency() == Currency::EUR {
        format!("{} €", amount.to_decimal_string(','))
    } else {
        format!("{} {}", amount.to_decimal_string(','), amount.currency())
    }
}

/// The shop's and the manager's routes.
pub(crate) fn router(shop: Shop) -> Router {
    Router::new()
        .route("/", get(shop::home))
        .route("/panier", post(shop::add_to_cart))
        .route("/panier/vider", post(shop::empty_cart))
        .route("/compte", get(shop::account).post(shop::save_account))
        .route("/commande", get(shop::summary).post(shop::checkout))
        .route("/gestion", get(manager::list))
        .route("/gestion/paiement", get(manager::find))
        .route("/gestion/paiement/{reference}", get(manager::detail))
        .route(
            "/gestion/paiement/{reference}/valider",
            post(manager::validate),
        )
        .route("/gestion/versements", get(manager::records))
        .route("/gestion/mails", get(manager::mails))
        .route("/gestion/mails/{file}", get(manager::mail))
        .route("/gestion/jobs", post(manager::jobs))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(shop)
}
