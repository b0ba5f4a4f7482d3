//! `GET /_mock/merchants`: the merchants, shops, terminals and accounts each bank side knows,
//! with their public test secrets and never any other secret.

use serde::Serialize;

use crate::config::{self, MockBankConfig};
use crate::secret::Secret;

/// The secrets that are public test values: the specs' published test credentials and the
/// mock's own made-up defaults (all listed in the README). Any other configured secret may be a
/// real merchant's and is never shown.
const PUBLIC_TEST_SECRETS: &[&str] = &[
    config::PAYBOX_TEST_HMAC_KEY,
    config::PAYBOX_TEST_CLE,
    config::LYRA_TEST_KEY,
    config::LYRA_REST_PASSWORD,
    config::MONETICO_TEST_KEY,
    config::MONETICO_KIT_KEY,
    config::DEFAULT_WORLDLINE_API_SECRET,
    config::DEFAULT_WORLDLINE_WEBHOOK_SECRET,
    config::WORLDLINE_SDK_TEST_API_SECRET,
    config::WORLDLINE_SDK_TEST_WEBHOOK_SECRET,
    config::DEFAULT_STRIPE_SECRET_KEY,
    config::DEFAULT_STRIPE_WEBHOOK_SECRET,
];

/// One secret of an entry: its value when it is a public test value, else only whether one is
/// set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedSecret {
    /// The name of the secret (`hmac_key`, `test_key`, `api_secret`…).
    pub name: &'static str,
    /// Whether the value is a public test value (then it is in `value`).
    pub public_test: bool,
    /// The value, only when it is a public test value.
    pub value: Option<String>,
}

impl ListedSecret {
    fn new(name: &'static str, secret: &Secret) -> Self {
        let public_test = PUBLIC_TEST_SECRETS.iter().any(|p| secret.matches(p));
        Self {
            name,
            public_test,
            value: public_test.then(|| secret.expose().to_owned()),
        }
    }
}

/// One merchant (shop, TPE, account) of a bank side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedMerchant {
    /// The identifiers the shop sends (`site`/`rang`/`identifiant`, `vads_site_id`, `TPE`…).
    pub ids: serde_json::Map<String, serde_json::Value>,
    /// The secrets, shown only when public test values.
    pub secrets: Vec<ListedSecret>,
    /// The name of the secret that signs in test mode (`hmac_key`, `test_key`, `key`,
    /// `api_secret`, `secret_key`).
    pub test_secret: &'static str,
}

/// What every bank side knows, as `GET /_mock/merchants` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MerchantListing {
    /// Paybox merchants.
    pub paybox: Vec<ListedMerchant>,
    /// Lyra shops.
    pub lyra: Vec<ListedMerchant>,
    /// Monetico TPEs.
    pub monetico: Vec<ListedMerchant>,
    /// Worldline Direct / CAWL merchants.
    pub worldline: Vec<ListedMerchant>,
    /// Stripe-like accounts.
    pub stripe_like: Vec<ListedMerchant>,
}

fn ids<const N: usize>(pairs: [(&str, &str); N]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect()
}

impl MerchantListing {
    /// The listing of a configuration.
    #[must_use]
    pub fn of(config: &MockBankConfig) -> Self {
        let paybox = config
            .paybox_merchants
            .iter()
            .map(|m| ListedMerchant {
                ids: ids([
                    ("site", &m.site),
                    ("rang", &m.rang),
                    ("identifiant", &m.identifiant),
                ]),
                secrets: std::iter::once(ListedSecret::new("hmac_key", &m.hmac_key_hex))
                    .chain(m.direct_cle.iter().map(|c| ListedSecret::new("cle", c)))
                    .collect(),
                test_secret: "hmac_key",
            })
            .collect();
        let lyra = config
            .lyra_shops
            .iter()
            .map(|s| ListedMerchant {
                ids: ids([
                    ("site_id", s.site_id.as_str()),
                    ("algorithm", if s.sha1 { "sha1" } else { "hmac-sha256" }),
                    ("ctx_mode", "TEST"),
                ]),
                secrets: vec![
                    ListedSecret::new("test_key", &s.test_key),
                    ListedSecret::new("production_key", &s.production_key),
                    ListedSecret::new("rest_password", &s.rest_password),
                ],
                test_secret: "test_key",
            })
            .collect();
        let monetico = config
            .monetico_tpes
            .iter()
            .map(|t| ListedMerchant {
                ids: ids([("tpe", t.tpe.as_str()), ("societe", &t.societe)]),
                secrets: vec![ListedSecret::new("key", &t.key)],
                test_secret: "key",
            })
            .collect();
        let worldline = config
            .worldline_merchants
            .iter()
            .map(|m| ListedMerchant {
                ids: ids([
                    ("merchant_id", m.merchant_id.as_str()),
                    ("api_key_id", &m.api_key_id),
                    ("webhook_key_id", &m.webhook_key_id),
                ]),
                secrets: vec![
                    ListedSecret::new("api_secret", &m.api_secret),
                    ListedSecret::new("webhook_secret", &m.webhook_secret),
                ],
                test_secret: "api_secret",
            })
            .collect();
        let stripe_like = config
            .stripe_accounts
            .iter()
            .map(|a| ListedMerchant {
                ids: serde_json::Map::new(),
                secrets: vec![
                    ListedSecret::new("secret_key", &a.secret_key),
                    ListedSecret::new("webhook_secret", &a.webhook_secret),
                ],
                test_secret: "secret_key",
            })
            .collect();
        Self {
            paybox,
            lyra,
            monetico,
            worldline,
            stripe_like,
        }
    }
}
