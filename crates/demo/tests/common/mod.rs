//! A visitor over HTTP with its session cookie, and a demo on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::net::SocketAddr;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use tpe_demo::{Demo, DemoOptions};

pub mod browser;

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }
}

pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

impl Visitor {
    pub fn new(demo: &Demo) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: demo.shop_url().as_str().trim_end_matches('/').to_owned(),
            cookie: None,
        }
    }

    fn keep_cookie(&mut self, resp: &reqwest::Response) {
        if let Some(c) = resp.headers().get(SET_COOKIE) {
            let c = c.to_str().unwrap();
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
    }

    pub async fn get(&mut self, path: &str) -> (Page, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.keep_cookie(&resp);
        let page = Page {
            status: resp.status(),
            headers: resp.headers().clone(),
        };
        (page, resp.text().await.unwrap())
    }

    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        let resp = req.send().await.unwrap();
        self.keep_cookie(&resp);
        resp
    }
}

impl Visitor {
    /// A POST with the visitor's cookie from a clone of its client, for concurrent requests.
    pub fn clone_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> impl std::future::Future<Output = reqwest::Response> + use<> {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        async move { req.send().await.unwrap() }
    }
}

/// The CSRF token of the page's forms.
pub fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    html[at..at + 32].to_owned()
}

pub async fn start(name: &str) -> Demo {
    let dir = std::env::temp_dir().join(format!("tpe-demo-security-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut options = DemoOptions::interactive(SocketAddr::from(([127, 0, 0, 1], 0)), &dir);
    options.background = false;
    Demo::start(options).await.unwrap()
}

/// The value of the hidden field `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// A visitor with a complete account and a jar of honey in the cart, on the order summary.
pub async fn ready_to_order(v: &mut Visitor) -> String {
    let (_, home) = v.get("/").await;
    let token = csrf(&home);
    let form = [
        ("csrf", token.as_str()),
        ("first_name", "Jeanne"),
        ("last_name", "Martin"),
        ("email", "jeanne.martin@example.fr"),
        ("phone", "06 12 34 56 78"),
        ("line1", "12 chemin des Lilas"),
        ("postcode", "69480"),
        ("city", "Anse"),
        ("country", "FR"),
    ];
    assert_eq!(
        v.post("/compte", &form, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let add = [("csrf", token.as_str()), ("product", "miel"), ("qty", "1")];
    assert_eq!(
        v.post("/panier", &add, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, summary) = v.get("/commande").await;
    summary
}

/// Logs `v` in to Gestion with the password the demo drew.
pub async fn log_in(v: &mut Visitor, demo: &Demo) {
    let (_, page) = v.get("/gestion/connexion").await;
    let token = csrf(&page);
    let password = demo.manager_password().unwrap().to_owned();
    let resp = v
        .post(
            "/gestion/connexion",
            &[("csrf", &token), ("password", &password)],
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// The auto-submitted form of a redirect page: its action and fields, unescaped.
pub fn bank_form(html: &str) -> (String, Vec<(String, String)>) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let value_after = |s: &str, key: &str| {
        let at = s.find(key)? + key.len();
        Some(unescape(&s[at..at + s[at..].find('"')?]))
    };
    let action = value_after(html, "action=\"").expect("a form");
    let fields = html
        .split("<input ")
        .skip(1)
        .filter_map(|tag| Some((value_after(tag, "name=\"")?, value_after(tag, "value=\"")?)))
        .collect();
    (action, fields)
}

/// Pays a Paybox redirect page (the shop's answer to an order) with the accepted test card,
/// as a browser: the form to the bank, then the card on the bank's page.
pub async fn pay_paybox(page: &str) {
    let http = reqwest::Client::new();
    let (action, fields) = bank_form(page);
    let bank_page = http
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = "action=\"/paybox/page/";
    let at = bank_page
        .find(key)
        .unwrap_or_else(|| panic!("no card form: {bank_page}"))
        + key.len();
    let id = &bank_page[at..at + bank_page[at..].find('"').unwrap()];
    let base = url::Url::parse(&action).unwrap();
    let form = base.join(&format!("/paybox/page/{id}")).unwrap();
    let card = tpe_mock_bank::paybox::cards::ACCEPTED;
    http.post(form)
        .form(&[
            ("numero", card),
            ("expiry", "12/99"),
            ("cvv", "123"),
            ("action", "pay"),
        ])
        .send()
        .await
        .unwrap();
}
