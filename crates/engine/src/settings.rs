//! The shop's settings the engine needs.

use std::path::PathBuf;

use tpe_core::Lang;
use url::Url;

/// What the engine needs to know about the shop.
///
/// ```
/// use tpe_engine::ShopSettings;
/// let s = ShopSettings::new(
///     "Ferme des Lilas",
///     "https://shop.example.fr/".parse()?,
///     "gestion@shop.example.fr",
///     "boutique@shop.example.fr",
/// )?;
/// assert_eq!(s.time_zone.iana_name(), Some("Europe/Paris"));
/// assert_eq!(s.notify_url(&tpe_core::ProviderId::parse("paybox")?)?.as_str(),
///     "https://shop.example.fr/tpe/notify/paybox");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShopSettings {
    /// The shop's name, shown in e-mails and pages.
    pub shop_name: String,
    /// The shop's time zone (retraction happens at the start of a day there).
    pub time_zone: jiff::tz::TimeZone,
    /// The manager's e-mail ("adresse mail de gestion"): refusals and alerts go there.
    pub manager_email: String,
    /// Sender address of every e-mail.
    pub sender_email: String,
    /// Language of the manager's e-mails and of pages when the customer's is unknown.
    pub language: Lang,
    /// A folder whose files override the default e-mail templates, if any.
    pub templates_dir: Option<PathBuf>,
    /// The public base URL of the shop (where [`crate::Engine::router`] is mounted), used to
    /// build the bank's return and notification URLs. Must end with `/`.
    pub public_base_url: Url,
    /// Path prefix of the engine's routes under the base URL (default `tpe`).
    pub route_prefix: String,
    /// Where the "back to your order" link of a refused payment leads (default: the base URL).
    pub order_summary_url: Option<Url>,
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The base URL cannot carry paths.
    #[error("public base URL {0} cannot be used as a base (it must be http(s) and end with /)")]
    BaseUrl(String),
    /// An e-mail address is malformed.
    #[error("{which} e-mail address is not valid")]
    Email {
        /// Which setting.
        which: &'static str,
    },
    /// The time zone is unknown.
    #[error("unknown time zone {0}")]
    TimeZone(String),
    /// A URL could not be built.
    #[error("cannot build the {what} URL: {reason}")]
    Url {
        /// Which URL.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl ShopSettings {
    /// Settings with the defaults: Europe/Paris, French, default templates, routes under `tpe/`.
    ///
    /// # Errors
    /// [`SettingsError`] for an unusable URL or e-mail address.
    pub fn new(
        shop_name: impl Into<String>,
        public_base_url: Url,
        manager_email: impl Into<String>,
        sender_email: impl Into<String>,
    ) -> Result<Self, SettingsError> {
        let manager_email = manager_email.into();
        let sender_email = sender_email.into();
        check_email(&manager_email, "manager")?;
        check_email(&sender_email, "sender")?;
        if public_base_url.cannot_be_a_base()
            || !matches!(public_base_url.scheme(), "http" | "https")
            || !public_base_url.path().ends_with('/')
        {
            return Err(SettingsError::BaseUrl(public_base_url.to_string()));
        }
        let time_zone = jiff::tz::TimeZone::get("Europe/Paris")
            .map_err(|_| SettingsError::TimeZone("Europe/Paris".into()))?;
        Ok(Self {
            shop_name: shop_name.into(),
            time_zone,
            manager_email,
            sender_email,
            language: Lang::Fr,
            templates_dir: None,
            public_base_url,
            route_prefix: "tpe".into(),
            order_summary_url: None,
        })
    }

    /// Sets the time zone by IANA name.
    ///
    /// # Errors
    /// [`SettingsError::TimeZone`] for an unknown name.
    pub fn with_time_zone(mut self, name: &str) -> Result<Self, SettingsError> {
        self.time_zone =
            jiff::tz::TimeZone::get(name).map_err(|_| SettingsError::TimeZone(name.into()))?;
        Ok(self)
    }

    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, lang: Lang) -> Self {
        self.language = lang;
        self
    }

    /// Sets the folder of template overrides.
    #[must_use]
    pub fn with_templates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.templates_dir = Some(dir.into());
        self
    }

    /// Sets the order summary URL.
    #[must_use]
    pub fn with_order_summary_url(mut self, url: Url) -> Self {
        self.order_summary_url = Some(url);
        self
    }

    fn url(&self, what: &'static str, path: &str) -> Result<Url, SettingsError> {
        self.public_base_url
            .join(&format!("{}/{path}", self.route_prefix))
            .map_err(|e| SettingsError::Url {
                what,
                reason: e.to_string(),
            })
    }

    /// Where the bank sends its server-to-server notifications for `provider`.
    ///
    /// # Errors
    /// [`SettingsError::Url`] when the URL cannot be built.
    pub fn notify_url(&self, provider: &tpe_core::ProviderId) -> Result<Url, SettingsError> {
        self.url("notification", &format!("notify/{provider}"))
    }

    /// Where the customer's browser comes back for `reference`.
    ///
    /// # Errors
    /// [`SettingsError::Url`] when the URL cannot be built.
    pub fn return_url(
        &self,
        reference: &tpe_core::PaymentReference,
        kind: &str,
    ) -> Result<Url, SettingsError> {
        self.url("return", &format!("return/{reference}?r={kind}"))
    }
}

fn check_email(s: &str, which: &'static str) -> Result<(), SettingsError> {
    s.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|_| SettingsError::Email { which })
}
