//! The checks over the network, each bounded by the timeout: the unsigned probe of each
//! notification URL, the clock against the answers' `Date`, the certificate of an https server.

use std::sync::Arc;
use std::time::Duration;

use tpe_core::clock::SystemClock;
use tpe_core::{Clock, Handled, HttpMethod, PaymentProvider, RawNotification, Timestamp};

use super::Finding;
use crate::shop_config::{Bank, ShopConfig, notify_url};

/// Clock differences past this are refused by banks with signed timestamps (Stripe-like's
/// five minutes).
const CLOCK_ERROR: i64 = 300;
/// Clock differences past this deserve a look.
const CLOCK_WARNING: i64 = 30;
/// A certificate expiring sooner than this gets a warning.
const CERT_WARNING_DAYS: i64 = 14;

/// Probes every bank's notification URL under `base` and reports what the answers tell.
pub(super) async fn probe(
    config: &ShopConfig,
    base: &str,
    banks: &[(Bank, Arc<dyn PaymentProvider>)],
    timeout: Duration,
    findings: &mut Vec<Finding>,
) {
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            findings.push(Finding::error(
                "network",
                format!("no HTTP client: {e}"),
                "check the machine's TLS setup",
            ));
            return;
        }
    };
    let mut date = None;
    let mut certificate_checked = false;
    for (bank, provider) in banks {
        let Ok(url) = notify_url(base, &config.shop.route_prefix, *bank) else {
            continue;
        };
        let subject = format!("{} notification route", bank.table());
        let probe = Probe::for_provider(provider.as_ref());
        let expected = probe.expected(provider.as_ref());
        let sent = probe.send(&client, url.clone()).await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                // An expired or untrusted certificate fails the handshake: read it again
                // without verification, only to say what is wrong with it.
                let seen = match url.scheme() {
                    "https" => refused_certificate(&probe, url.clone(), timeout).await,
                    _ => None,
                };
                let Some(seen) = seen else {
                    findings.push(unreachable(&subject, &url, &e));
                    continue;
                };
                findings.push(Finding::error(
                    &subject,
                    format!(
                        "{url} answers, but its TLS certificate is refused: {}",
                        chain(&e)
                    ),
                    "banks verify the certificate as this check does: serve one from a public \
                     authority, valid now, for this host name, with its chain",
                ));
                if !certificate_checked {
                    certificate_checked = true;
                    findings.push(certificate_seen(Some(seen), url.host_str().unwrap_or("")));
                }
                continue;
            }
        };
        if date.is_none() {
            date = response
                .headers()
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        if !certificate_checked && url.scheme() == "https" {
            certificate_checked = true;
            let seen = peer_certificate(&response);
            findings.push(certificate_seen(seen, url.host_str().unwrap_or("")));
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        findings.push(judge(&subject, &url, status, &body, expected));
    }
    if let Some(date) = date {
        findings.push(clock(&date, SystemClock.now()));
    }
}

/// An unsigned notification in the bank's own method and media type.
struct Probe {
    method: HttpMethod,
    content_type: &'static str,
    payload: &'static str,
}

impl Probe {
    fn for_provider(p: &dyn PaymentProvider) -> Self {
        let channel = p.profile().channel;
        let content_type = channel
            .media_types
            .first()
            .copied()
            .unwrap_or("application/x-www-form-urlencoded");
        let method = if channel.allows_method(HttpMethod::Post) {
            HttpMethod::Post
        } else {
            HttpMethod::Get
        };
        let payload = if content_type.contains("json") {
            r#"{"tpe_doctor":"probe"}"#
        } else {
            "tpe_doctor=probe"
        };
        Self {
            method,
            content_type,
            payload,
        }
    }

    /// What the engine answers to this probe: the bank's own refusal, computed by its verifier.
    fn expected(&self, p: &dyn PaymentProvider) -> Option<(u16, String)> {
        let mut headers = http::HeaderMap::new();
        let (query, body) = match self.method {
            HttpMethod::Get => (self.payload, ""),
            _ => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(self.content_type),
                );
                ("", self.payload)
            }
        };
        let raw = RawNotification::new(self.method, query, body, headers, None).ok()?;
        let error = p.verify(&raw, SystemClock.now()).err()?;
        let ack = p.answer(&Handled::Rejected(&error));
        Some((ack.status, ack.body.into_owned()))
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        mut url: url::Url,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let request = match self.method {
            HttpMethod::Get => {
                url.set_query(Some(self.payload));
                client.get(url)
            }
            _ => client
                .post(url)
                .header(http::header::CONTENT_TYPE, self.content_type)
                .body(self.payload),
        };
        request.send().await
    }
}

/// What the probe's answer says about the route.
fn judge(
    subject: &str,
    url: &url::Url,
    status: u16,
    body: &str,
    expected: Option<(u16, String)>,
) -> Finding {
    match expected {
        Some((s, b)) if s == status && b == body => Finding::ok(
            subject,
            format!(
                "{url} refused an unsigned probe with the bank's answer (HTTP {status}): the route is reachable and verifies signatures"
            ),
        ),
        _ if status == 404 => Finding::error(
            subject,
            format!(
                "{url} answered 404: no notification route there, or this bank is not configured in the running engine"
            ),
            "mount engine.router() on the shop's server, and check [shop] public_url, route_prefix and the bank's table in the shop's own configuration",
        ),
        _ if status == 405 || status == 415 => Finding::error(
            subject,
            format!("{url} refused the bank's method or media type (HTTP {status})"),
            "let the bank's requests reach the engine's route unchanged (no proxy rule on the method or the body)",
        ),
        _ if (200..300).contains(&status) => Finding::error(
            subject,
            format!(
                "{url} accepted an unsigned notification (HTTP {status}): it is not the engine's verifying route"
            ),
            "let this path reach the engine's route (engine.router()), not another handler",
        ),
        _ if (300..400).contains(&status) => Finding::error(
            subject,
            format!("{url} redirects (HTTP {status}): banks do not follow redirects"),
            "give the final URL (https, with the right host and path) and disable redirects on that path",
        ),
        _ => Finding::error(
            subject,
            format!(
                "{url} answered HTTP {status}, not the bank's refusal of an unsigned notification"
            ),
            "check the shop's logs for this request; the engine answers forged input in the bank's own words",
        ),
    }
}

/// The local clock against a server's `Date`.
fn clock(date: &str, now: Timestamp) -> Finding {
    const SUBJECT: &str = "clock";
    let Ok(server) = jiff::fmt::rfc2822::parse(date).map(|z| z.timestamp()) else {
        return Finding::warning(
            SUBJECT,
            format!("the server's Date {date:?} cannot be read"),
            "compare the clocks by hand",
        );
    };
    let skew = now.duration_since(server).as_secs().abs();
    let message = format!("this machine and the shop's server differ by {skew} s");
    let fix = "synchronize the clocks (NTP): banks refuse signatures outside their tolerance";
    if skew > CLOCK_ERROR {
        Finding::error(SUBJECT, message, fix)
    } else if skew > CLOCK_WARNING {
        Finding::warning(SUBJECT, message, fix)
    } else {
        Finding::ok(SUBJECT, message)
    }
}

/// The route cannot be reached at all.
fn unreachable(subject: &str, url: &url::Url, e: &reqwest::Error) -> Finding {
    Finding::error(
        subject,
        format!("{url} is unreachable from here: {}", chain(e)),
        "the bank must reach this URL: check the address (--url), DNS, the firewall and that \
         the shop is running; offline, run the doctor again where the shop can be reached",
    )
}

/// The certificate the TLS handshake saw, if any.
fn peer_certificate(response: &reqwest::Response) -> Option<Vec<u8>> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
}

/// The certificate of a server whose handshake failed verification, read by a probe that does
/// not verify it; `None` when the server cannot be reached that way either. Nothing but the
/// certificate is taken from that answer.
async fn refused_certificate(probe: &Probe, url: url::Url, timeout: Duration) -> Option<Vec<u8>> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .tls_danger_accept_invalid_certs(true)
        .build()
        .ok()?;
    let response = probe.send(&client, url).await.ok()?;
    peer_certificate(&response)
}

/// The server certificate's validity, as the TLS handshake saw it.
fn certificate_seen(der: Option<Vec<u8>>, host: &str) -> Finding {
    let subject = format!("TLS certificate of {host}");
    let Some(der) = der else {
        return Finding::warning(&subject, "not seen", "check it with the browser");
    };
    certificate_der(&subject, &der, SystemClock.now().as_second())
}

/// A DER certificate's validity judged at `now` (Unix seconds).
fn certificate_der(subject: &str, der: &[u8], now: i64) -> Finding {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Finding::warning(subject, "cannot be read", "check it with the browser");
    };
    let validity = cert.validity();
    expiry(
        subject,
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
        now,
    )
}

/// A certificate valid from `not_before` to `not_after` (Unix seconds), judged at `now`.
fn expiry(subject: &str, not_before: i64, not_after: i64, now: i64) -> Finding {
    let until =
        Timestamp::from_second(not_after).map_or_else(|_| not_after.to_string(), |t| t.to_string());
    let renew = "renew the certificate (or its automatic renewal) before it expires";
    if now < not_before || now > not_after {
        Finding::error(
            subject,
            format!("not valid now (valid until {until})"),
            renew,
        )
    } else if not_after - now < CERT_WARNING_DAYS * 86_400 {
        Finding::warning(subject, format!("expires soon: {until}"), renew)
    } else {
        Finding::ok(subject, format!("valid until {until}"))
    }
}

/// An error with its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Severity;

    #[test]
    fn clock_skew_is_judged_against_the_banks_tolerance() {
        let now = Timestamp::from_second(1_764_000_000).unwrap_or_else(|e| panic!("{e}"));
        let date = |s: i64| {
            let t =
                jiff::Timestamp::from_second(now.as_second() + s).unwrap_or_else(|e| panic!("{e}"));
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&t)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(clock(&date(2), now).severity, Severity::Ok);
        assert_eq!(clock(&date(-60), now).severity, Severity::Warning);
        assert_eq!(clock(&date(600), now).severity, Severity::Error);
        assert_eq!(
            clock("Sun, 29 Nov 2026 21:11:07 GMT", now).severity,
            Severity::Error
        );
        assert_eq!(clock("yesterday", now).severity, Severity::Warning);
    }

    #[test]
    fn a_certificate_is_read_for_its_dates() {
        // Self-signed for shop.test, valid from 2020-01-01 to 2021-01-01 (made with
        // `openssl ca -selfsign -startdate 20200101000000Z -enddate 20210101000000Z`).
        let der = include_bytes!("testdata/shop-test-2020.der");
        let at = |date: &str| {
            date.parse::<Timestamp>()
                .unwrap_or_else(|e| panic!("{e}"))
                .as_second()
        };
        let judged = |now| certificate_der("c", der, now);
        assert_eq!(judged(at("2020-06-01T00:00:00Z")).severity, Severity::Ok);
        let soon = judged(at("2020-12-25T00:00:00Z"));
        assert_eq!(soon.severity, Severity::Warning);
        assert!(soon.message.contains("2021-01-01T00:00:00Z"), "{soon:?}");
        assert_eq!(judged(at("2026-11-29T00:00:00Z")).severity, Severity::Error);
        assert_eq!(judged(at("2019-06-01T00:00:00Z")).severity, Severity::Error);
        assert_eq!(
            certificate_der("c", b"not a certificate", 0).severity,
            Severity::Warning
        );
    }

    #[test]
    fn certificate_expiry() {
        let day = 86_400;
        assert_eq!(expiry("c", 0, 100 * day, 50 * day).severity, Severity::Ok);
        assert_eq!(
            expiry("c", 0, 100 * day, 95 * day).severity,
            Severity::Warning
        );
        assert_eq!(
            expiry("c", 0, 100 * day, 101 * day).severity,
            Severity::Error
        );
        assert_eq!(
            expiry("c", 10 * day, 100 * day, day).severity,
            Severity::Error
        );
    }
}
