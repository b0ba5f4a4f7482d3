//! Configuration: merchants, Stripe-like accounts, retry policy, delays and limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;
use crate::secret::Secret;

/// The public HMAC key of the Paybox pre-production test merchants (`0123456789ABCDEF` × 8).
pub const PAYBOX_TEST_HMAC_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

/// The legacy Paybox Direct password (`CLE`) of the public test merchants.
pub const PAYBOX_TEST_CLE: &str = "1999888I";

/// The Stripe-like test account known by default: its secret API key.
pub const DEFAULT_STRIPE_SECRET_KEY: &str = "sk_test_tpe_mock_bank";
/// The Stripe-like test account known by default: its webhook signing secret.
pub const DEFAULT_STRIPE_WEBHOOK_SECRET: &str = "whsec_tpe_mock_bank";

/// The Worldline Direct test merchant known by default: its PSPID.
pub const DEFAULT_WORLDLINE_MERCHANT_ID: &str = "TpeMockPSPID";
/// The Worldline Direct test merchant: its API key id.
pub const DEFAULT_WORLDLINE_API_KEY_ID: &str = "tpe-mock-api-key";
/// The Worldline Direct test merchant: its API secret.
pub const DEFAULT_WORLDLINE_API_SECRET: &str = "tpe-mock-worldline-api-secret";
/// The Worldline Direct test merchant: its webhook key id.
pub const DEFAULT_WORLDLINE_WEBHOOK_KEY_ID: &str = "tpe-mock-webhook-key";
/// The Worldline Direct test merchant: its webhook secret.
pub const DEFAULT_WORLDLINE_WEBHOOK_SECRET: &str = "tpe-mock-worldline-webhook-secret";

/// The Worldline Direct SDKs' test merchant known by default: the merchant id of their
/// request-signing test (`/v2/1/tokens/2`, spec G.12 `direct_minimal_get_v2`).
pub const WORLDLINE_SDK_TEST_MERCHANT_ID: &str = "1";
/// The SDKs' test merchant: the API key id of that test.
pub const WORLDLINE_SDK_TEST_API_KEY_ID: &str = "EC36A74A98D21";
/// The SDKs' test merchant: the API secret of that test.
pub const WORLDLINE_SDK_TEST_API_SECRET: &str = "6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1";
/// The SDKs' test merchant: the webhook key id of the SDKs' webhook test (spec G.12).
pub const WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID: &str = "dummy-key-id";
/// The SDKs' test merchant: the webhook secret of the SDKs' webhook test (spec G.12).
pub const WORLDLINE_SDK_TEST_WEBHOOK_SECRET: &str = "hello+world";

/// A Worldline Direct / CAWL merchant: its PSPID, API key and webhook key.
#[derive(Clone, Debug)]
pub struct WorldlineMerchant {
    /// The PSPID, `{merchantId}` in the API paths.
    pub merchant_id: String,
    /// The API key id (`GCS v1HMAC:<id>:…`).
    pub api_key_id: String,
    /// The API secret, used as UTF-8 text.
    pub api_secret: Secret,
    /// The webhook key id (`X-GCS-KeyId`).
    pub webhook_key_id: String,
    /// The webhook secret, used as UTF-8 text.
    pub webhook_secret: Secret,
}

impl WorldlineMerchant {
    /// The merchant of the official SDKs' tests (merchant `1`, API key `EC36A74A98D21`).
    #[must_use]
    pub fn sdk_test() -> Self {
        Self {
            merchant_id: WORLDLINE_SDK_TEST_MERCHANT_ID.into(),
            api_key_id: WORLDLINE_SDK_TEST_API_KEY_ID.into(),
            api_secret: Secret::new(WORLDLINE_SDK_TEST_API_SECRET),
            webhook_key_id: WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID.into(),
            webhook_secret: Secret::new(WORLDLINE_SDK_TEST_WEBHOOK_SECRET),
        }
    }
}

impl Default for WorldlineMerchant {
    fn default() -> Self {
        Self {
            merchant_id: DEFAULT_WORLDLINE_MERCHANT_ID.into(),
            api_key_id: DEFAULT_WORLDLINE_API_KEY_ID.into(),
            api_secret: Secret::new(DEFAULT_WORLDLINE_API_SECRET),
            webhook_key_id: DEFAULT_WORLDLINE_WEBHOOK_KEY_ID.into(),
            webhook_secret: Secret::new(DEFAULT_WORLDLINE_WEBHOOK_SECRET),
        }
    }
}

/// A Paybox merchant (site / rang / identifiant) and the keys the bank knows for it.
#[derive(Clone, Debug)]
pub struct PayboxMerchant {
    /// `PBX_SITE`, 7 digits.
    pub site: String,
    /// `PBX_RANG`; compared numerically, so `32`, `032` and `0032` are the same rang.
    pub rang: String,
    /// `PBX_IDENTIFIANT`.
    pub identifiant: String,
    /// The 128-hex-character HMAC key of the back-office (hex case does not matter).
    pub hmac_key_hex: Secret,
    /// The legacy Paybox Direct password (`CLE`), if Direct calls may use it instead of an HMAC.
    pub direct_cle: Option<Secret>,
    /// Returned values are ISO-8859-1 bytes (`é` = `%E9`), as the official modules decode them,
    /// instead of UTF-8 (`%C3%A9`); which one a merchant gets is a platform setting.
    pub latin1: bool,
}

impl PayboxMerchant {
    /// The public test merchant without 3-D Secure (site 1999888, rang 32, identifiant 107904482).
    #[must_use]
    pub fn public_test() -> Self {
        Self {
            site: "1999888".into(),
            rang: "32".into(),
            identifiant: "107904482".into(),
            hmac_key_hex: Secret::new(PAYBOX_TEST_HMAC_KEY),
            direct_cle: Some(Secret::new(PAYBOX_TEST_CLE)),
            latin1: false,
        }
    }

    /// The public 3-D Secure test merchant (site 1999888, rang 43, identifiant 107975626).
    #[must_use]
    pub fn public_test_3ds() -> Self {
        Self {
            site: "1999888".into(),
            rang: "43".into(),
            identifiant: "107975626".into(),
            hmac_key_hex: Secret::new(PAYBOX_TEST_HMAC_KEY),
            direct_cle: Some(Secret::new(PAYBOX_TEST_CLE)),
            latin1: false,
        }
    }
}

/// How the Paybox side shapes the answers whose details the spec leaves unsure (spec §4).
///
/// The defaults follow what the spec VERIFIED from real answers; the flags switch the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayboxShapes {
    /// A customer cancellation is also notified to `PBX_REPONDRE_A` (not only the browser
    /// return). Not documented; off by default.
    pub cancel_ipn: bool,
    /// A refused payment carries an empty authorization number (`A=`) instead of none at all
    /// (the real refusal of spec §4.5 has no `A`). Off by default.
    pub refusal_empty_authorization: bool,
    /// A 3-D Secure failure (`00189`) has a transaction number `S`, as an issuer refusal does;
    /// else `S=0` (no authorization was asked). Not documented; on by default.
    pub three_ds_failure_transaction: bool,
    /// Browser returns are signed over the whole query, the shop's own URL parameters first
    /// included, as the platform does; else over the `PBX_RETOUR` variables only. Notifications
    /// are always signed over the variables only (spec §4.3).
    pub return_signs_merchant_params: bool,
}

impl Default for PayboxShapes {
    fn default() -> Self {
        Self {
            cancel_ipn: false,
            refusal_empty_authorization: false,
            three_ds_failure_transaction: true,
            return_signs_merchant_params: true,
        }
    }
}

/// The Lyra documentation's illustrative shop id (spec B.8), known by default.
pub const LYRA_TEST_SITE_ID: &str = "12345678";
/// The Lyra documentation's illustrative TEST key (spec B.8).
pub const LYRA_TEST_KEY: &str = "1122334455667788";
/// The PRODUCTION key of the mock's default Lyra shop (made up).
pub const LYRA_PRODUCTION_KEY: &str = "8877665544332211";
/// The REST API password of the mock's default Lyra shop (made up; not a form key).
pub const LYRA_REST_PASSWORD: &str = "testpassword_TPEMOCKBANK";

/// A Lyra shop (Systempay, PayZen, Scellius, Sogecommerce) and the keys the platform knows.
#[derive(Clone, Debug)]
pub struct LyraShop {
    /// `vads_site_id`, 8 digits.
    pub site_id: String,
    /// The TEST key.
    pub test_key: Secret,
    /// The PRODUCTION key.
    pub production_key: Secret,
    /// The back office's algorithm: legacy SHA-1 instead of HMAC-SHA-256.
    pub sha1: bool,
    /// The REST API password (Basic auth, IPN `kr-hash`).
    pub rest_password: Secret,
    /// Notifies in the REST V4 format (`kr-answer` signed with the REST password), as a shop
    /// paying through the REST API is, instead of the `vads_*` form.
    pub rest_ipn: bool,
}

impl Default for LyraShop {
    fn default() -> Self {
        Self {
            site_id: LYRA_TEST_SITE_ID.into(),
            test_key: Secret::new(LYRA_TEST_KEY),
            production_key: Secret::new(LYRA_PRODUCTION_KEY),
            sha1: false,
            rest_password: Secret::new(LYRA_REST_PASSWORD),
            rest_ipn: false,
        }
    }
}

/// The Monetico test TPE known by default.
pub const MONETICO_TEST_TPE: &str = "1234567";
/// The société code of the default Monetico TPE.
pub const MONETICO_TEST_SOCIETE: &str = "monsite";
/// The security key of the default Monetico TPE: the example-format key of the CM-CIC v3.0
/// documentation (spec C.7).
pub const MONETICO_TEST_KEY: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

/// The TPE of the official Monetico kit's configuration (spec C.7): a placeholder many plugins
/// ship, known by default so that a kit-based shop works against the mock unchanged.
pub const MONETICO_KIT_TPE: &str = "0000001";
/// The security key of the kit's configuration (spec C.7, C.8 `kit_placeholder_key_transform`).
pub const MONETICO_KIT_KEY: &str = "12345678901234567890123456789012345678P0";

/// A Monetico terminal (TPE): its société code, its 40-character key and the confirmation
/// (CGI2) URL Monetico registered for it.
#[derive(Clone, Debug)]
pub struct MoneticoTpe {
    /// `TPE`, 7 characters.
    pub tpe: String,
    /// `societe`.
    pub societe: String,
    /// The 40-character security key.
    pub key: Secret,
    /// The confirmation URL; the mock never posts returns anywhere else.
    pub cgi2_url: Option<String>,
}

impl MoneticoTpe {
    /// The kit's placeholder TPE `0000001` with the kit's key, société `monsite`.
    #[must_use]
    pub fn kit() -> Self {
        Self {
            tpe: MONETICO_KIT_TPE.into(),
            societe: MONETICO_TEST_SOCIETE.into(),
            key: Secret::new(MONETICO_KIT_KEY),
            cgi2_url: None,
        }
    }
}

impl Default for MoneticoTpe {
    fn default() -> Self {
        Self {
            tpe: MONETICO_TEST_TPE.into(),
            societe: MONETICO_TEST_SOCIETE.into(),
            key: Secret::new(MONETICO_TEST_KEY),
            cgi2_url: None,
        }
    }
}

/// A Stripe-like account: its secret API key, webhook endpoint and signing secret.
#[derive(Clone, Debug)]
pub struct StripeAccount {
    /// The bearer key (`sk_test_…`) that authenticates API calls.
    pub secret_key: Secret,
    /// The registered webhook endpoint; the mock never posts events anywhere else.
    pub webhook_url: Option<String>,
    /// The endpoint signing secret (`whsec_…`), used as is (not base64-decoded).
    pub webhook_secret: Secret,
}

impl Default for StripeAccount {
    fn default() -> Self {
        Self {
            secret_key: Secret::new(DEFAULT_STRIPE_SECRET_KEY),
            webhook_url: None,
            webhook_secret: Secret::new(DEFAULT_STRIPE_WEBHOOK_SECRET),
        }
    }
}

/// How notifications are retried when the shop does not acknowledge them.
///
/// Every loop is bounded twice: by `max_attempts` and by `max_total` wall time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
    /// No attempt starts after this much time since the first one.
    pub max_total: Duration,
    /// Timeout of one HTTP call to the shop.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Compressed version of a bank's schedule: a person watching the demo sees retries
        // within a minute; tests shorten it further.
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            max_total: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Lyra's schedule (spec B.7: the call, then up to 4 retries at fixed quarter hours),
    /// compressed so that a person sees it: a fixed 15 seconds stands for the quarter hour.
    #[must_use]
    pub fn lyra() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(15),
            max_backoff: Duration::from_secs(15),
            max_total: Duration::from_secs(90),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// The source of "now" for the mock (timestamps in notifications and the journal).
///
/// Injectable so that tests can pin the time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Self {
        // The workspace reads the clock through injected clocks only; this is the mock's one
        // injection point, independent of tpe-core by design.
        #[expect(clippy::disallowed_methods, reason = "the mock's single clock source")]
        fn now() -> jiff::Timestamp {
            jiff::Timestamp::now()
        }
        Self(Arc::new(now))
    }

    /// A clock that always returns `at`.
    #[must_use]
    pub fn fixed(at: jiff::Timestamp) -> Self {
        Self(Arc::new(move || at))
    }

    /// A clock from any function.
    pub fn from_fn(f: impl Fn() -> jiff::Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> jiff::Timestamp {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// Everything the mock bank needs to start.
#[derive(Clone, Debug)]
pub struct MockBankConfig {
    /// Paybox merchants the bank knows (HMAC keys).
    pub paybox_merchants: Vec<PayboxMerchant>,
    /// Stripe-like accounts the bank knows.
    pub stripe_accounts: Vec<StripeAccount>,
    /// Worldline Direct / CAWL merchants the bank knows.
    pub worldline_merchants: Vec<WorldlineMerchant>,
    /// The HTTP status of a Worldline API request refused for its signature (the platform's
    /// is not documented: 401 by default, 403 is the other plausible one).
    pub worldline_auth_failure_status: u16,
    /// Lyra shops the platform knows.
    pub lyra_shops: Vec<LyraShop>,
    /// Lyra IPN retries: the first call and 4 more at quarter hours (spec B.7).
    pub lyra_retry: RetryPolicy,
    /// Monetico terminals the bank knows.
    pub monetico_tpes: Vec<MoneticoTpe>,
    /// Notification retries.
    pub retry: RetryPolicy,
    /// How long a pending payment (`99999`, delayed Stripe-like payment) waits before its final result.
    pub pending_delay: Duration,
    /// How long an API call scripted with [`crate::ApiFault::Timeout`] hangs before answering 504.
    pub api_hang: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Timeout of any request served by the mock.
    pub request_timeout: Duration,
    /// Whether the Paybox page refuses a request without `PBX_SHOPPINGCART` / `PBX_BILLING`
    /// ("Erreur PAYBOX 4 — variable manquante", as reported for production since 3DSv2).
    pub require_3ds_xml: bool,
    /// The base URL the hosted pages are reachable at; `None` = taken from the `Host` header.
    pub public_base_url: Option<String>,
    /// The shape of Paybox answers where the spec is unsure.
    pub paybox_shapes: PayboxShapes,
    /// The PKCS#8 PEM private key signing Paybox notifications; `None` = the shipped test key.
    pub paybox_signing_key_pem: Option<String>,
    /// The clock.
    pub clock: Clock,
    /// The compressed calendar of later instalments: this much real time stands for a day,
    /// and the bank charges each due instalment by itself (`None`, the default: only on
    /// command, `/_mock/<bank>/instalments`).
    pub instalment_day: Option<Duration>,
}

impl Default for MockBankConfig {
    fn default() -> Self {
        Self {
            paybox_merchants: vec![
                PayboxMerchant::public_test(),
                PayboxMerchant::public_test_3ds(),
            ],
            stripe_accounts: vec![StripeAccount::default()],
            worldline_merchants: vec![WorldlineMerchant::default(), WorldlineMerchant::sdk_test()],
            worldline_auth_failure_status: 401,
            lyra_shops: vec![LyraShop::default()],
            lyra_retry: RetryPolicy::lyra(),
            monetico_tpes: vec![MoneticoTpe::default(), MoneticoTpe::kit()],
            retry: RetryPolicy::default(),
            pending_delay: Duration::from_secs(10),
            api_hang: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(60),
            require_3ds_xml: true,
            public_base_url: None,
            paybox_shapes: PayboxShapes::default(),
            paybox_signing_key_pem: None,
            clock: Clock::system(),
            instalment_day: None,
        }
    }
}

impl MockBankConfig {
    /// A configuration for tests: default merchants and accounts, retries and delays in milliseconds.
    #[must_use]
    pub fn for_tests() -> Self {
        Self {
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(100),
                max_total: Duration::from_secs(5),
                attempt_timeout: Duration::from_secs(2),
            },
            // Lyra's schedule compressed: 5 calls, a fixed "quarter hour" of 20 ms between.
            lyra_retry: RetryPolicy {
                max_attempts: 5,
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(20),
                max_total: Duration::from_secs(5),
                attempt_timeout: Duration::from_secs(2),
            },
            pending_delay: Duration::from_millis(100),
            api_hang: Duration::from_millis(1500),
            ..Self::default()
        }
    }

    /// Reads a TOML file (see the crate README for its shape) over the defaults.
    ///
    /// # Errors
    /// [`Error::ConfigRead`], [`Error::ConfigParse`] or [`Error::Config`].
    pub fn from_toml_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(message) => Error::ConfigParse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses a TOML document over the defaults.
    ///
    /// # Errors
    /// [`Error::Config`] when the document is not valid.
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        let file: FileConfig =
            toml::from_str(text).map_err(|e| Error::Config(e.message().to_owned()))?;
        let mut config = Self::default();
        if !file.keep_default_merchants.unwrap_or(true) {
            config.paybox_merchants.clear();
            config.stripe_accounts.clear();
            config.monetico_tpes.clear();
            config.worldline_merchants.clear();
            config.lyra_shops.clear();
        }
        for m in file.worldline_merchant {
            config.worldline_merchants.push(WorldlineMerchant {
                merchant_id: m.merchant_id,
                api_key_id: m.api_key_id,
                api_secret: m.api_secret,
                webhook_key_id: m.webhook_key_id,
                webhook_secret: m.webhook_secret,
            });
        }
        if let Some(s) = file.worldline_auth_failure_status {
            config.worldline_auth_failure_status = s;
        }
        for m in file.paybox_merchant {
            config.paybox_merchants.push(PayboxMerchant {
                site: m.site,
                rang: m.rang,
                identifiant: m.identifiant,
                hmac_key_hex: m.hmac_key,
                direct_cle: m.cle,
                latin1: match m.encoding.as_deref() {
                    None | Some("utf-8") => false,
                    Some("iso-8859-1") => true,
                    Some(other) => {
                        return Err(Error::Config(format!(
                            "paybox_merchant encoding {other:?}: utf-8 or iso-8859-1"
                        )));
                    }
                },
            });
        }
        for a in file.stripe_account {
            config.stripe_accounts.push(StripeAccount {
                secret_key: a.secret_key,
                webhook_url: a.webhook_url,
                webhook_secret: a.webhook_secret,
            });
        }
        for t in file.monetico_tpe {
            config.monetico_tpes.push(MoneticoTpe {
                tpe: t.tpe,
                societe: t.societe,
                key: t.key,
                cgi2_url: t.cgi2_url,
            });
        }
        for shop in file.lyra_shop {
            let sha1 = match shop.algorithm.as_deref() {
                None | Some("hmac-sha256") => false,
                Some("sha1") => true,
                Some(other) => {
                    return Err(Error::Config(format!(
                        "lyra_shop algorithm {other:?}: hmac-sha256 or sha1"
                    )));
                }
            };
            let rest_ipn = match shop.ipn.as_deref() {
                None | Some("vads") => false,
                Some("rest") => true,
                Some(other) => {
                    return Err(Error::Config(format!(
                        "lyra_shop ipn {other:?}: vads or rest"
                    )));
                }
            };
            config.lyra_shops.push(LyraShop {
                site_id: shop.site_id,
                test_key: shop.test_key,
                production_key: shop.production_key,
                sha1,
                rest_password: shop.rest_password,
                rest_ipn,
            });
        }
        if let Some(r) = file.retry {
            let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
            let d = &config.retry;
            config.retry = RetryPolicy {
                max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
                initial_backoff: ms(r.initial_backoff_ms, d.initial_backoff),
                max_backoff: ms(r.max_backoff_ms, d.max_backoff),
                max_total: ms(r.max_total_ms, d.max_total),
                attempt_timeout: ms(r.attempt_timeout_ms, d.attempt_timeout),
            };
        }
        if let Some(ms) = file.instalment_day_ms {
            config.instalment_day = Some(Duration::from_millis(ms));
        }
        if let Some(ms) = file.pending_delay_ms {
            config.pending_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = file.api_hang_ms {
            config.api_hang = Duration::from_millis(ms);
        }
        if let Some(b) = file.max_body_bytes {
            config.max_body_bytes = b;
        }
        if let Some(v) = file.require_3ds_xml {
            config.require_3ds_xml = v;
        }
        if let Some(p) = file.paybox {
            let d = &mut config.paybox_shapes;
            d.cancel_ipn = p.cancel_ipn.unwrap_or(d.cancel_ipn);
            d.refusal_empty_authorization = p
                .refusal_empty_authorization
                .unwrap_or(d.refusal_empty_authorization);
            d.three_ds_failure_transaction = p
                .three_ds_failure_transaction
                .unwrap_or(d.three_ds_failure_transaction);
            d.return_signs_merchant_params = p
                .return_signs_merchant_params
                .unwrap_or(d.return_signs_merchant_params);
        }
        config.public_base_url = file.public_base_url;
        config.validate()?;
        Ok(config)
    }

    /// Checks bounds and key formats, so that a bad key is a startup error.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value (never the secret itself).
    pub fn validate(&self) -> Result<(), Error> {
        if self.retry.max_attempts == 0 || self.retry.max_attempts > 100 {
            return Err(Error::Config(
                "retry.max_attempts must be within 1..=100".into(),
            ));
        }
        if self
            .instalment_day
            .is_some_and(|d| d < Duration::from_millis(10))
        {
            return Err(Error::Config(
                "instalment_day_ms must be at least 10".into(),
            ));
        }
        if self.max_body_bytes < 1024 || self.max_body_bytes > 16 * 1024 * 1024 {
            return Err(Error::Config(
                "max_body_bytes must be within 1 KiB..=16 MiB".into(),
            ));
        }
        for m in &self.paybox_merchants {
            let k = m.hmac_key_hex.expose();
            if k.is_empty() || k.len() > 256 || hex::decode(k).is_err() {
                return Err(Error::Config(format!(
                    "the HMAC key of Paybox merchant {}/{}/{} is not hexadecimal",
                    m.site, m.rang, m.identifiant
                )));
            }
        }
        if !(400..=499).contains(&self.worldline_auth_failure_status) {
            return Err(Error::Config(
                "worldline_auth_failure_status must be a 4xx status".into(),
            ));
        }
        for a in &self.stripe_accounts {
            if let Some(url) = &a.webhook_url {
                crate::notify::check_callback_url(url)
                    .map_err(|e| Error::Config(format!("webhook_url: {e}")))?;
            }
        }
        for t in &self.monetico_tpes {
            if crate::banks::monetico::mac::usable_key(t.key.expose()).is_none() {
                return Err(Error::Config(format!(
                    "the key of Monetico TPE {} is not 40 hexadecimal characters",
                    t.tpe
                )));
            }
            if let Some(url) = &t.cgi2_url {
                crate::notify::check_callback_url(url)
                    .map_err(|e| Error::Config(format!("cgi2_url: {e}")))?;
            }
        }
        for shop in &self.lyra_shops {
            if shop.site_id.len() != 8 || !shop.site_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Config(format!(
                    "Lyra site_id {:?} is not 8 digits",
                    shop.site_id
                )));
            }
            for (name, key) in [
                ("test_key", &shop.test_key),
                ("production_key", &shop.production_key),
                ("rest_password", &shop.rest_password),
            ] {
                let k = key.expose();
                if k.is_empty() || k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(Error::Config(format!(
                        "the {name} of Lyra shop {} must be printable ASCII without spaces",
                        shop.site_id
                    )));
                }
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    keep_default_merchants: Option<bool>,
    #[serde(default)]
    paybox_merchant: Vec<FileMerchant>,
    #[serde(default)]
    stripe_account: Vec<FileAccount>,
    #[serde(default)]
    worldline_merchant: Vec<FileWorldline>,
    worldline_auth_failure_status: Option<u16>,
    #[serde(default)]
    monetico_tpe: Vec<FileTpe>,
    #[serde(default)]
    lyra_shop: Vec<FileLyraShop>,
    retry: Option<FileRetry>,
    pending_delay_ms: Option<u64>,
    instalment_day_ms: Option<u64>,
    api_hang_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    require_3ds_xml: Option<bool>,
    paybox: Option<FilePayboxShapes>,
    public_base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMerchant {
    site: String,
    rang: String,
    identifiant: String,
    hmac_key: Secret,
    cle: Option<Secret>,
    /// `utf-8` (default) or `iso-8859-1`: the bytes of returned values.
    encoding: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePayboxShapes {
    cancel_ipn: Option<bool>,
    refusal_empty_authorization: Option<bool>,
    three_ds_failure_transaction: Option<bool>,
    return_signs_merchant_params: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAccount {
    secret_key: Secret,
    webhook_url: Option<String>,
    webhook_secret: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWorldline {
    merchant_id: String,
    api_key_id: String,
    api_secret: Secret,
    webhook_key_id: String,
    webhook_secret: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTpe {
    tpe: String,
    societe: String,
    key: Secret,
    cgi2_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLyraShop {
    site_id: String,
    test_key: Secret,
    production_key: Secret,
    /// `hmac-sha256` (default) or `sha1`.
    algorithm: Option<String>,
    rest_password: Secret,
    /// `vads` (default) or `rest`: the format of the shop's IPNs.
    ipn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetry {
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    max_total_ms: Option<u64>,
    attempt_timeout_ms: Option<u64>,
}
