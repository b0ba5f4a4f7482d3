//! The farm shop and the manager's pages: server-rendered HTML (minijinja), French wording.

mod decision;
mod guard;
mod instalments;
mod labels;
mod manager;
pub use guard::{check_password_hash, hash_password};
pub(crate) use instalments::Offer as InstalmentOffer;
pub(crate) use manager::far_future;
mod shop;
mod tasks;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use tpe_core::{Amount, Customer, PostalAddress};
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
    /// The token every form of this session carries (CSRF).
    csrf: String,
    /// Logged in to Gestion.
    manager: bool,
    /// When the session was last used, for evicting the least recently used one.
    seen: u64,
    /// « Payer en 3 fois » chosen on the order summary.
    in_instalments: bool,
    /// The last checkout started for the current order.
    checkout: Option<(String, tpe_core::PaymentReference)>,
    /// Orders found paid, newest last (at most [`MAX_PAID_ORDERS`]).
    paid: Vec<(String, tpe_core::PaymentReference)>,
    /// The id of the order form on screen, and the bank's page it led to once submitted: a
    /// second submission of the same form (a double click) gets the same page.
    form: (String, Option<tpe_core::Redirect>),
}

/// Paid orders remembered per session.
const MAX_PAID_ORDERS: usize = 10;

impl Session {
    fn new() -> Self {
        // The account starts without phone nor address: the first checkout shows the PSD2
        // message of the guide, as a real shop would.
        Self {
            customer: jeanne(false),
            cart: BTreeMap::new(),
            delivery: None,
            provider: DemoProvider::Paybox,
            order_id: new_order_id(),
            flash: None,
            csrf: random_hex(16),
            manager: false,
            seen: 0,
            in_instalments: false,
            checkout: None,
            paid: Vec::new(),
            form: (random_hex(8), None),
        }
    }
}

/// Jeanne Martin, the demo's customer: as her account starts, or `complete` with the phone
/// and address the guide has her type in "Mon compte" (PSD2).
pub(crate) fn jeanne(complete: bool) -> Customer {
    let address = |[line1, postcode, city, country]: [&str; 4]| PostalAddress {
        line1: line1.into(),
        line2: None,
        postcode: postcode.into(),
        city: city.into(),
        country: country.into(),
    };
    Customer {
        first_name: "Jeanne".into(),
        last_name: "Martin".into(),
        email: "jeanne.martin@example.fr".into(),
        phone: complete.then(|| "06 12 34 56 78".into()),
        address: complete.then(|| address(["12 chemin des Lilas", "69480", "Anse", "FR"])),
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

/// Most sessions kept in memory; past it the least recently used one goes.
const MAX_SESSIONS: usize = 10_000;
const COOKIE: &str = "tpe_demo";
/// Time budget of one request of the shop or Gestion, body included.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Largest form the shop and Gestion accept.
const MAX_FORM: usize = 16 * 1024;

/// The shop's shared state.
#[derive(Clone)]
pub(crate) struct Shop {
    engine: Engine,
    mail_dir: PathBuf,
    bank_url: String,
    env: Arc<Environment<'static>>,
    sessions: Arc<Mutex<Sessions>>,
    /// The manager's password (argon2 PHC string).
    password_hash: Arc<str>,
    /// Cookies only over TLS when the shop is served over https.
    secure: bool,
    /// « Payer en 3 fois »: from which total, with which banks.
    offer: Arc<instalments::Offer>,
    /// One turn per order form being submitted, so a double click waits for the first
    /// submission's page instead of starting a second checkout.
    forms: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// Sessions by id, with a use counter for least-recently-used eviction.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    clock: u64,
}

impl Sessions {
    fn touch(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn insert(&mut self, id: String, mut s: Session) {
        s.seen = self.touch();
        if !self.by_id.contains_key(&id) && self.by_id.len() >= MAX_SESSIONS {
            let oldest = self
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.seen)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_id.remove(&k);
            }
        }
        self.by_id.insert(id, s);
    }
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
    template!(env, "tasks.html")?;
    template!(env, "mails.html")?;
    template!(env, "mail.html")?;
    template!(env, "login.html")?;
    template!(env, "error.html")?;
    template!(env, "jobs.html")?;
    template!(env, "decision.html")?;
    Ok(env)
}

impl Shop {
    pub(crate) fn new(
        engine: Engine,
        mail_dir: PathBuf,
        bank_url: String,
        password_hash: &str,
        offer: instalments::Offer,
    ) -> Result<Self, minijinja::Error> {
        let secure = engine.settings().public_base_url.scheme() == "https";
        Ok(Self {
            engine,
            mail_dir,
            bank_url,
            env: Arc::new(environment()?),
            sessions: Arc::new(Mutex::new(Sessions::default())),
            password_hash: password_hash.into(),
            secure,
            offer: Arc::new(offer),
            forms: Arc::default(),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session named by the request's cookie, if it exists.
    fn existing_session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, v)| {
                *k == COOKIE && v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|(_, v)| v.to_owned())?;
        let mut sessions = self.sessions();
        let seen = sessions.touch();
        let s = sessions.by_id.get_mut(&id)?;
        s.seen = seen;
        Some((id, s.clone()))
    }

    /// The session of the request's cookie, or a new one (its cookie to set is returned).
    fn session(&self, headers: &HeaderMap) -> (String, Session, bool) {
        if let Some((id, s)) = self.existing_session(headers) {
            return (id, s, false);
        }
        let id = random_hex(16);
        let s = Session::new();
        self.sessions().insert(id.clone(), s.clone());
        (id, s, true)
    }

    /// The turn of an order form: submissions of one form run one after the other.
    fn form_turn(&self, form_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut forms = self
            .forms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Turns nobody holds or waits for are done.
        forms.retain(|_, turn| Arc::strong_count(turn) > 1);
        forms.entry(form_id.to_owned()).or_default().clone()
    }

    fn save(&self, id: &str, s: Session) {
        self.sessions().insert(id.to_owned(), s);
    }

    /// Moves the session to a new id with a new form token, logged in to Gestion or not: an
    /// id or a token seen before the login is worth nothing after it.
    fn rotate(&self, id: &str, manager: bool) -> (String, Session) {
        let mut sessions = self.sessions();
        let mut s = sessions.by_id.remove(id).unwrap_or_else(Session::new);
        s.csrf = random_hex(16);
        s.manager = manager;
        let new_id = random_hex(16);
        sessions.insert(new_id.clone(), s.clone());
        (new_id, s)
    }

    fn render(&self, name: &str, session: &Session, ctx: minijinja::Value) -> Response {
        let base = minijinja::context! {
            shop_name => crate::demo::SHOP_NAME,
            cart_count => session.cart.values().sum::<u32>(),
            flash => session.flash.clone(),
            csrf => session.csrf.clone(),
            manager => session.manager,
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

    /// A French error page in the shop's layout, with a link back.
    fn error_page(&self, status: StatusCode, heading: &str, message: &str, back: &str) -> Response {
        let mut resp = self.render(
            "error.html",
            &Session::new(),
            minijinja::context! { title => heading, heading => heading, message => message, back => back },
        );
        *resp.status_mut() = status;
        resp
    }

    /// Adds the session cookie to a response when the session is new: `HttpOnly`,
    /// `SameSite=Strict`, and `Secure` when the shop is served over https.
    fn with_cookie(&self, mut resp: Response, id: &str, new: bool) -> Response {
        let secure = if self.secure { "; Secure" } else { "" };
        if new
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}"
            ))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    /// The bank's origin, for the pages' form policy.
    fn bank_origin(&self) -> String {
        url::Url::parse(&self.bank_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }
}

/// `1 234,50 €`.
pub(crate) fn euros(amount: Amount) -> String {
    amount.for_reader(tpe_core::Lang::Fr)
}

/// A form a page posts. One the shop cannot read (a field missing, a number that is not one,
/// another content type) gets the French error page with a way back, not axum's raw English
/// text.
pub(crate) struct Form<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<Shop> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, shop: &Shop) -> Result<Self, Response> {
        let back = if req.uri().path().starts_with("/gestion") {
            "/gestion"
        } else {
            "/"
        };
        match axum::Form::<T>::from_request(req, shop).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => {
                tracing::debug!(%rejection, "unreadable form");
                Err(shop.error_page(
                    rejection.status(),
                    "Formulaire illisible",
                    "Ce formulaire n'a pas pu être lu : revenez à la page précédente et \
                     réessayez.",
                    back,
                ))
            }
        }
    }
}

/// What a page's address names: a payment reference, a task number.
pub(crate) trait Named: Sized {
    /// The French message when the address names nothing of the kind.
    const MISSING: &'static str;
    /// The value in the address, if it is one.
    fn read(segment: &str) -> Option<Self>;
}

impl Named for tpe_core::PaymentReference {
    const MISSING: &'static str = "Aucun paiement de cette référence.";
    fn read(segment: &str) -> Option<Self> {
        Self::parse(segment).ok()
    }
}

impl Named for i64 {
    const MISSING: &'static str = "Aucune tâche de ce numéro.";
    fn read(segment: &str) -> Option<Self> {
        segment.parse().ok()
    }
}

/// The address's last segment read as `T`; one that is not gets Gestion's French
/// "Introuvable" page rather than axum's raw text.
pub(crate) struct Found<T>(pub(crate) T);

impl<T: Named> axum::extract::FromRequestParts<Shop> for Found<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        shop: &Shop,
    ) -> Result<Self, Response> {
        let axum::extract::Path(segment) =
            axum::extract::Path::<String>::from_request_parts(parts, shop)
                .await
                .map_err(|_| manager::not_found(shop, T::MISSING))?;
        T::read(&segment)
            .map(Self)
            .ok_or_else(|| manager::not_found(shop, T::MISSING))
    }
}

/// Any other address: a French page in the shop's layout, with a link home.
async fn not_found(axum::extract::State(shop): axum::extract::State<Shop>) -> Response {
    shop.error_page(
        StatusCode::NOT_FOUND,
        "Page introuvable",
        "Cette page n'existe pas ou n'existe plus.",
        "/",
    )
}

/// The shop's and the manager's routes, behind the guard (login, CSRF, Origin) and the
/// security headers.
pub(crate) fn router(shop: Shop) -> Router {
    let mut router = Router::new()
        .route("/", get(shop::home))
        .route("/panier", post(shop::add_to_cart))
        .route("/panier/vider", post(shop::empty_cart))
        .route("/compte", get(shop::account).post(shop::save_account))
        .route("/commande", get(shop::summary).post(shop::checkout))
        .route(guard::LOGIN, get(guard::login_page).post(guard::login))
        .route("/gestion/deconnexion", post(guard::logout))
        .route("/gestion", get(manager::list))
        .route("/gestion/paiement", get(manager::find))
        .route("/gestion/paiement/{reference}", get(manager::detail))
        .route(
            "/gestion/paiement/{reference}/valider",
            post(manager::validate),
        )
        .route(
            "/gestion/paiement/{reference}/rembourser",
            post(decision::refund),
        )
        .route(
            "/gestion/paiement/{reference}/retablir",
            post(decision::reinstate),
        )
        .route("/gestion/versements", get(manager::records))
        .route("/gestion/versements.csv", get(manager::records_csv))
        .route("/gestion/mails", get(manager::mails))
        .route("/gestion/mails/{file}", get(manager::mail))
        .route("/gestion/jobs", post(manager::jobs))
        .route(tasks::PAGE, get(tasks::list))
        .route("/gestion/taches/{id}/reessayer", post(tasks::retry))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shop.clone(),
            guard::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        // A client that sends its form slowly is cut off (the listener bounds the headers).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    for layer in guard::headers(&shop.bank_origin()) {
        router = router.layer(layer);
    }
    router.with_state(shop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_session_table_drops_the_least_recently_used_only() {
        let mut sessions = Sessions::default();
        sessions.insert("active".into(), Session::new());
        for i in 0..MAX_SESSIONS - 1 {
            sessions.insert(format!("idle-{i}"), Session::new());
        }
        // The active visitor comes back; then a flood of new sessions arrives.
        let mut active = sessions.by_id["active"].clone();
        active.cart.insert("miel", 2);
        sessions.insert("active".into(), active);
        for i in 0..100 {
            sessions.insert(format!("flood-{i}"), Session::new());
        }
        assert_eq!(sessions.by_id.len(), MAX_SESSIONS);
        assert_eq!(sessions.by_id["active"].cart.get("miel"), Some(&2));
        assert!(!sessions.by_id.contains_key("idle-0"));
        assert!(
            sessions
                .by_id
                .contains_key(&format!("idle-{}", MAX_SESSIONS - 2))
        );
    }
}
