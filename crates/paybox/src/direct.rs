//! Paybox Direct (`PPPS.php`, spec §7): status query (consultation, TYPE `00017`), refund
//! (`00014`), capture (`00002`) and cancel (`00005`), signed with the merchant HMAC (§7.4).
//!
//! # Transport
//! - `application/x-www-form-urlencoded` POST; the answer is `KEY=value&…` in ISO-8859-1,
//!   not reliably percent-encoded: split on `&` and the first `=`, bytes read as Latin-1.
//! - The answer must echo `SITE`, `RANG` and `NUMQUESTION` (compared as numbers).
//! - With a backup host, the primary's `load.html` is probed first (short timeout); a host that
//!   fails to answer, or answers `00001` / `00003`, is followed by the other one with the same
//!   `NUMQUESTION`, so the platform can refuse a duplicate.
//! - `NUMQUESTION` = seconds since midnight (Paris) × 20 000 + a per-process counter modulo
//!   20 000: unique per day for up to 20 000 requests per second, and within `1..2^31`.
//! - `DATEQ` is Paris local time `DDMMYYYYHHMMSS`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use jiff::tz::TimeZone;
use tpe_core::{Amount, ApiErrorKind, BankReference, Reason, ReasonKind, RemoteStatus, Timestamp};
use url::Url;

use crate::config::{Endpoints, PayboxConfig};
use crate::error::{Error, Result};
use crate::notify::TransactionId;
use crate::sign::HmacKey;

/// Largest answer read.
const MAX_RESPONSE: usize = 16 * 1024;
/// Protocol version sent.
pub const VERSION: &str = "00104";

/// A Paybox Direct operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `00002`: capture of an authorization.
    Capture,
    /// `00005`: cancel a transaction not yet settled.
    Cancel,
    /// `00014`: refund.
    Refund,
    /// `00017`: status (consultation).
    Status,
}

impl Operation {
    /// The `TYPE` value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Capture => "00002",
            Self::Cancel => "00005",
            Self::Refund => "00014",
            Self::Status => "00017",
        }
    }
}

/// A successful Paybox Direct answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectResponse {
    /// `CODEREPONSE` (`00000`).
    pub code: String,
    /// `COMMENTAIRE`, decoded from Latin-1.
    pub comment: String,
    /// `NUMAPPEL`.
    pub numappel: String,
    /// `NUMTRANS`.
    pub numtrans: String,
    /// `AUTORISATION`.
    pub authorization: String,
    /// `STATUS` (consultation only).
    pub status: Option<String>,
    /// `NUMQUESTION` sent.
    pub numquestion: u32,
}

impl DirectResponse {
    /// `<NUMAPPEL>:<NUMTRANS>` without zero padding, as notifications give it.
    pub fn transaction_id(&self) -> String {
        let strip = |s: &str| {
            let t = s.trim_start_matches('0');
            if t.is_empty() {
                "0".to_owned()
            } else {
                t.to_owned()
            }
        };
        format!("{}:{}", strip(&self.numappel), strip(&self.numtrans))
    }
}

/// The Paybox Direct client.
#[derive(Debug)]
pub(crate) struct DirectClient {
    http: reqwest::Client,
    primary: Url,
    backup: Option<Url>,
    probe_timeout: Duration,
    site: String,
    rang: String,
    identifiant: String,
    key: HmacKey,
    counter: AtomicU32,
    paris: TimeZone,
}

/// One request's identity.
pub(crate) struct Call<'a> {
    pub(crate) op: Operation,
    pub(crate) amount: Amount,
    pub(crate) reference: &'a BankReference,
    pub(crate) transaction: Option<TransactionId<'a>>,
}

impl DirectClient {
    pub(crate) fn new(cfg: &PayboxConfig, endpoints: &Endpoints, key: HmacKey) -> Result<Self> {
        let d = &cfg.direct;
        if !(1..=120).contains(&d.timeout_secs) || !(1..=30).contains(&d.probe_timeout_secs) {
            return Err(Error::config(
                "direct timeouts must be 1..=120 s (request) and 1..=30 s (probe)",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(d.probe_timeout().min(d.timeout()))
            .timeout(d.timeout())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("http client: {e}")))?;
        let rang = match &d.rang {
            Some(r) => r.clone(),
            None => format!("{:0>3}", cfg.rang),
        };
        if rang.is_empty() || rang.len() > 3 || !rang.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config("direct rang must be 1 to 3 digits"));
        }
        let paris = TimeZone::get("Europe/Paris")
            .map_err(|_| Error::config("time zone Europe/Paris unavailable"))?;
        Ok(Self {
            http,
            primary: endpoints.direct.clone(),
            backup: endpoints.direct_backup.clone(),
            probe_timeout: d.probe_timeout(),
            site: cfg.site.clone(),
            rang,
            identifiant: cfg.identifiant.clone(),
            key,
            counter: AtomicU32::new(0),
            paris,
        })
    }

    fn numquestion(&self, now: Timestamp) -> u32 {
        let t = self.paris.to_datetime(now);
        let secs = u32::try_from(
            i32::from(t.hour()) * 3600 + i32::from(t.minute()) * 60 + i32::from(t.second()),
        )
        .unwrap_or(0);
        let n = self.counter.fetch_add(1, Ordering::Relaxed) % 20_000;
        secs * 20_000 + n + 1
    }

    /// The signed fields of a call, in sent order (HMAC last).
    pub(crate) fn fields(
        &self,
        call: &Call<'_>,
        numquestion: u32,
        now: Timestamp,
    ) -> Vec<(&'static str, String)> {
        let t = self.paris.to_datetime(now);
        let dateq = format!(
            "{:02}{:02}{:04}{:02}{:02}{:02}",
            t.day(),
            t.month(),
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let mut f: Vec<(&'static str, String)> = vec![
            ("VERSION", VERSION.to_owned()),
            ("TYPE", call.op.code().to_owned()),
            ("SITE", self.site.clone()),
            ("RANG", self.rang.clone()),
            ("IDENTIFIANT", self.identifiant.clone()),
            ("NUMQUESTION", format!("{numquestion:010}")),
            ("MONTANT", format!("{:010}", call.amount.minor())),
            ("DEVISE", format!("{:03}", call.amount.currency().numeric())),
            ("REFERENCE", call.reference.as_str().to_owned()),
        ];
        if let Some(t) = call.transaction {
            f.push(("NUMAPPEL", format!("{:0>10}", t.numappel)));
            f.push(("NUMTRANS", format!("{:0>10}", t.numtrans)));
        }
        f.push(("DATEQ", dateq));
        f.push(("HASH", self.key.algorithm().as_str().to_owned()));
        let mac = self.key.sign_fields(&f);
        f.push(("HMAC", mac));
        f
    }

    /// Sends a call: primary (after the probe when there is a backup), then backup.
    pub(crate) async fn call(&self, call: &Call<'_>, now: Timestamp) -> Result<DirectResponse> {
        let numquestion = self.numquestion(now);
        let fields = self.fields(call, numquestion, now);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut hosts: Vec<&Url> = vec![&self.primary];
        if let Some(backup) = &self.backup {
            if self.probe(&self.primary).await {
                hosts.push(backup);
            } else {
                hosts.insert(0, backup);
            }
        }
        let mut last = None;
        for (i, url) in hosts.iter().enumerate() {
            let more = i + 1 < hosts.len();
            match self.post(url, &body, numquestion).await {
                Ok(r) if more && matches!(r.code.as_str(), "00001" | "00003") => {
                    last = Some(api_error(&r));
                }
                Ok(r) if r.code == "00000" => {
                    return Ok(DirectResponse {
                        code: r.code,
                        comment: r.comment,
                        numappel: r.numappel,
                        numtrans: r.numtrans,
                        authorization: r.authorization,
                        status: r.status,
                        numquestion,
                    });
                }
                Ok(r) => return Err(api_error(&r)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::malformed("paybox direct: no host configured")))
    }

    /// `GET /load.html`: usable when `#server_status` reads `OK`.
    pub(crate) async fn probe(&self, url: &Url) -> bool {
        let Ok(probe) = url.join("/load.html") else {
            return false;
        };
        let resp = self
            .http
            .get(probe)
            .timeout(self.probe_timeout)
            .send()
            .await;
        let Ok(resp) = resp else { return false };
        if !resp.status().is_success() {
            return false;
        }
        match read_bounded(resp).await {
            Ok(body) => server_status_ok(&String::from_utf8_lossy(&body)),
            Err(_) => false,
        }
    }

    async fn post(&self, url: &Url, body: &str, numquestion: u32) -> Result<Raw> {
        let host = url.host_str().unwrap_or("?").to_owned();
        let transport = |retryable: bool, source: tpe_core::BoxError| Error::Transport {
            host: host.clone(),
            retryable,
            source,
        };
        let resp = self
            .http
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| {
                let retryable = e.is_connect() || e.is_timeout() || e.is_request();
                transport(retryable, Box::new(e.without_url()))
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(transport(
                status.is_server_error() || status.as_u16() == 429,
                format!("http status {}", status.as_u16()).into(),
            ));
        }
        let bytes = read_bounded(resp).await.map_err(|e| transport(true, e))?;
        let raw = Raw::parse(&bytes)
            .ok_or_else(|| transport(true, "answer without CODEREPONSE".into()))?;
        raw.check_echo(&self.site, &self.rang, numquestion)
            .map_err(|what| transport(true, format!("answer does not echo {what}").into()))?;
        Ok(raw)
    }
}

async fn read_bounded(resp: reqwest::Response) -> Result<Vec<u8>, tpe_core::BoxError> {
    let declared = resp.content_length();
    let body = tpe_core::api::read_bounded(resp, declared, MAX_RESPONSE, |r| {
        Box::pin(async { r.chunk().await.map_err(reqwest::Error::without_url) })
    })
    .await?;
    Ok(body.into())
}

fn server_status_ok(html: &str) -> bool {
    let Some(i) = html.find("server_status") else {
        return false;
    };
    let rest = &html[i..];
    let Some(gt) = rest.find('>') else {
        return false;
    };
    let text = &rest[gt + 1..];
    let end = text.find('<').unwrap_or(text.len());
    text[..end].trim() == "OK"
}

/// A parsed answer.
#[derive(Debug, Default)]
struct Raw {
    code: String,
    comment: String,
    numappel: String,
    numtrans: String,
    authorization: String,
    status: Option<String>,
    site: Option<String>,
    rang: Option<String>,
    numquestion: Option<String>,
}

impl Raw {
    fn parse(bytes: &[u8]) -> Option<Self> {
        // ISO-8859-1: every byte is the code point of the same value.
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        let mut r = Self::default();
        let mut code = None;
        for pair in text.trim_end_matches(['\r', '\n']).split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = v.to_owned();
            match k.trim() {
                "CODEREPONSE" => code = Some(v.trim().to_owned()),
                "COMMENTAIRE" => r.comment = bounded(&v),
                "NUMAPPEL" => r.numappel = bounded(&v),
                "NUMTRANS" => r.numtrans = bounded(&v),
                "AUTORISATION" => r.authorization = bounded(&v),
                "STATUS" => r.status = Some(bounded(&v)),
                "SITE" => r.site = Some(v),
                "RANG" => r.rang = Some(v),
                "NUMQUESTION" => r.numquestion = Some(v),
                _ => {}
            }
        }
        r.code = code.filter(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_alphanumeric()))?;
        Some(r)
    }

    fn check_echo(&self, site: &str, rang: &str, numquestion: u32) -> Result<(), &'static str> {
        let same = |a: &str, b: &str| a.trim().trim_start_matches('0') == b.trim_start_matches('0');
        // An error answer may omit the echo; a success must carry it.
        let required = self.code == "00000";
        let check = |got: &Option<String>, want: &str, what: &'static str| match got {
            Some(g) if same(g, want) => Ok(()),
            None if !required => Ok(()),
            _ => Err(what),
        };
        check(&self.site, site, "SITE")?;
        check(&self.rang, rang, "RANG")?;
        check(&self.numquestion, &numquestion.to_string(), "NUMQUESTION")
    }
}

fn bounded(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Wording of Direct `CODEREPONSE` values (spec §7.6).
pub fn response_text(code: &str) -> &'static str {
    match code {
        "00000" => "operation successful",
        "00001" => "connection to the authorization centre failed",
        "00002" => "coherence error",
        "00003" => "paybox error",
        "00004" => "invalid card number or security code",
        "00005" => "invalid NUMQUESTION",
        "00006" => "access refused or wrong site/rank/key",
        "00007" => "invalid date",
        "00008" => "invalid expiry date",
        "00009" => "invalid operation type",
        "00010" => "unknown currency",
        "00011" => "invalid amount",
        "00012" => "invalid reference",
        "00013" => "protocol version no longer supported",
        "00014" => "incoherent frame",
        "00015" => "error accessing previously referenced data",
        "00016" => "subscriber already exists",
        "00017" => "subscriber does not exist",
        "00018" => "transaction not found",
        "00020" => "security code missing",
        "00021" => "card not authorized",
        "00022" => "limit reached",
        "00023" => "cardholder already seen today",
        "00024" => "country code filtered",
        "00039" => "duplicate request",
        "00040" => "3-D Secure enrolled card not authenticated",
        "00097" => "timeout",
        "00098" => "internal connection error",
        "00099" => "question/answer incoherence, retry later",
        c if c.starts_with("001") => "declined by the authorization centre",
        _ => "unknown code",
    }
}

fn api_error(r: &Raw) -> Error {
    let (kind, retryable) = match r.code.as_str() {
        "00001" | "00003" | "00097" | "00098" | "00099" => (ApiErrorKind::Server, true),
        "00006" => (ApiErrorKind::Authentication, false),
        "00004" | "00008" | "00020" | "00021" | "00022" | "00040" => (ApiErrorKind::Card, false),
        "00015" | "00039" => (ApiErrorKind::Idempotency, false),
        c if c.starts_with("001") => (ApiErrorKind::Refused, false),
        "00018" => (ApiErrorKind::Refused, false),
        _ => (ApiErrorKind::InvalidRequest, false),
    };
    let mut message = response_text(&r.code).to_owned();
    if !r.comment.is_empty() {
        message.push_str(" — ");
        message.push_str(&r.comment);
    }
    Error::Api {
        kind,
        code: r.code.clone(),
        message,
        retryable,
    }
}

/// Maps a consultation answer to a remote status.
pub(crate) fn remote_status(r: &DirectResponse, amount: Amount) -> Result<RemoteStatus> {
    let raw = r.status.as_deref().unwrap_or("");
    let norm = deunicode::deunicode(raw).to_ascii_lowercase();
    let id = r.transaction_id();
    Ok(match norm.trim() {
        "autorise" | "capture" | "remise" => RemoteStatus::Paid {
            bank_transaction_id: id,
            amount,
        },
        "rembourse" | "credit" => RemoteStatus::Refunded {
            bank_transaction_id: id,
        },
        "annule" => RemoteStatus::Cancelled,
        "refuse" | "rejet support" => RemoteStatus::Refused {
            reason: Reason::new(ReasonKind::Declined, bounded(raw)).with_bank_text(
                format!("Statut Paybox : {raw}"),
                format!("Paybox status: {raw}"),
            ),
        },
        _ => {
            return Err(Error::Api {
                kind: ApiErrorKind::Server,
                code: r.code.clone(),
                message: format!("unknown STATUS {:?}", bounded(raw)),
                retryable: true,
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_answer_is_parsed() {
        let mut body = b"NUMTRANS=0013989865&NUMAPPEL=0030378572&NUMQUESTION=0013989862&SITE=1999888&RANG=32&AUTORISATION=XXXXXX&CODEREPONSE=00000&COMMENTAIRE=Demande trait".to_vec();
        body.push(0xE9);
        body.extend_from_slice(b"e avec succ\xe8s&REFABONNE=&PORTEUR=");
        let r = Raw::parse(&body).unwrap();
        assert_eq!(r.code, "00000");
        assert_eq!(r.comment, "Demande traitée avec succès");
        assert!(r.check_echo("1999888", "032", 13_989_862).is_ok());
        assert_eq!(r.check_echo("1999888", "032", 1), Err("NUMQUESTION"));
        assert_eq!(r.check_echo("1999889", "032", 13_989_862), Err("SITE"));
        assert!(Raw::parse(b"garbage").is_none());
        assert!(Raw::parse(b"CODEREPONSE=0").is_none());
    }

    #[test]
    fn probe_page_reading() {
        assert!(server_status_ok(
            "<html><div id=\"server_status\" style=\"x\">OK</div></html>"
        ));
        assert!(!server_status_ok("<div id=\"server_status\">KO</div>"));
        assert!(!server_status_ok("OK"));
    }
}
