//! The checks that need no network: the shop's URL, each bank's table built by the bank's own
//! schema, Paybox's `retour` and public keys, and every URL written in a bank's table.

use std::sync::Arc;

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use tpe_core::PaymentProvider;
use tpe_paybox::config::{Platform, PublicKeySource, RetourSpec};
use url::Url;

use super::Finding;
use crate::shop_config::{Bank, ShopConfig, notify_url};

/// The shop's public URL and, under it, each bank's notification URL.
pub(super) fn check_shop(config: &ShopConfig, public_url: Option<&str>) -> Vec<Finding> {
    let Some(base) = public_url else {
        return vec![Finding::error(
            "shop",
            "no public URL: the notification URLs cannot be checked",
            "set [shop] public_url = \"https://your-shop/\" or pass --url",
        )];
    };
    let mut findings = vec![check_url("shop public_url", base)];
    if findings[0].severity != super::Severity::Error && !base.ends_with('/') {
        findings.push(Finding::error(
            "shop public_url",
            format!("{base} does not end with /: the engine's routes would lose its last segment"),
            format!("write {base}/"),
        ));
    }
    for (bank, _) in &config.banks {
        if let Ok(url) = notify_url(base, &config.shop.route_prefix, *bank) {
            findings.push(Finding::ok(
                format!("{} notification URL", bank.table()),
                format!("{url} (give this URL to the bank when it asks for one)"),
            ));
        }
    }
    findings
}

/// Each bank's table: its URLs, Paybox's own rules, then the bank's schema and constructor.
/// Returns the banks that built, for the network probes.
pub(super) fn check_banks(
    config: &ShopConfig,
    findings: &mut Vec<Finding>,
) -> Vec<(Bank, Arc<dyn PaymentProvider>)> {
    let mut built = Vec::new();
    if config.banks.is_empty() {
        findings.push(Finding::error(
            "shop",
            "no bank is configured",
            "add a table per bank: [paybox], [lyra], [monetico], [worldline] or [stripe_like]",
        ));
    }
    for (bank, text) in &config.banks {
        let subject = format!("[{}]", bank.table());
        let table: toml::Table = toml::from_str(text).unwrap_or_default();
        for (key, url) in urls(&table, "") {
            findings.push(check_url(&format!("{subject} {key}"), &url));
        }
        if *bank == Bank::Paybox {
            paybox(&table, findings);
        }
        match bank.provider(text) {
            Ok(p) => {
                findings.push(Finding::ok(
                    &subject,
                    "configuration read, identifiers checked and keys decoded",
                ));
                built.push((*bank, p));
            }
            Err(e) => findings.push(Finding::error(
                &subject,
                e.to_string(),
                format!(
                    "correct {subject} as the message says (the keys of the bank's \
                     configuration are listed in its crate's documentation)"
                ),
            )),
        }
    }
    built
}

/// An absolute https URL; http only on this machine (a test), with a warning.
pub(super) fn check_url(subject: &str, text: &str) -> Finding {
    let url = match Url::parse(text) {
        // A password in a URL is a secret: never printed.
        Ok(mut u) if u.has_host() => {
            let _ = u.set_password(None);
            u
        }
        _ => {
            return Finding::error(
                subject,
                format!("{text:?} is not an absolute URL"),
                "write the whole URL: https://host/path",
            );
        }
    };
    match url.scheme() {
        "https" => Finding::ok(subject, format!("{url} is https")),
        "http" if is_local(&url) => Finding::warning(
            subject,
            format!("{url} is plain http: fine for a test on this machine only"),
            "use an https URL before going live",
        ),
        "http" => Finding::error(
            subject,
            format!("{url} is plain http: banks refuse it and anyone on the way can read it"),
            "serve it over https and write https://",
        ),
        other => Finding::error(
            subject,
            format!("{url} has scheme {other}"),
            "write an https:// URL",
        ),
    }
}

fn is_local(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Every string of `table` (nested tables and arrays included) that names a URL, with its key.
fn urls(table: &toml::Table, prefix: &str) -> Vec<(String, String)> {
    fn walk(key: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::String(s) if s.contains("://") || key.ends_with("_url") => {
                out.push((key.to_owned(), s.clone()));
            }
            toml::Value::Table(t) => out.extend(urls(t, key)),
            toml::Value::Array(a) => a.iter().for_each(|v| walk(key, v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        walk(&key, v, &mut out);
    }
    out
}

/// Paybox: `retour` (PBX_RETOUR) ends with the signature, and each public key parses and is
/// the key Paybox publishes.
fn paybox(table: &toml::Table, findings: &mut Vec<Finding>) {
    const SUBJECT: &str = "[paybox] retour";
    let mut rest = table.clone();
    match rest.remove("retour") {
        Some(toml::Value::String(r)) => match r.parse::<RetourSpec>() {
            Ok(spec) => findings.push(Finding::ok(
                SUBJECT,
                format!(
                    "PBX_RETOUR ends with the signature ({})",
                    spec.signature_name()
                ),
            )),
            Err(e) => findings.push(Finding::error(
                SUBJECT,
                format!("PBX_RETOUR {r:?} cannot be used: {e}"),
                format!(
                    "list at least M, R, T, S and E, and put the signature K last, e.g. {:?}",
                    RetourSpec::DEFAULT
                ),
            )),
        },
        Some(_) => findings.push(Finding::error(
            SUBJECT,
            "retour must be a string",
            format!("retour = {:?}", RetourSpec::DEFAULT),
        )),
        None => findings.push(Finding::ok(
            SUBJECT,
            "default PBX_RETOUR, ending with the signature K",
        )),
    }
    // The keys are checked even when `retour` is broken: read the table without it.
    let Ok(cfg) = toml::to_string(&rest).ok().map_or(Err(()), |t| {
        tpe_paybox::PayboxConfig::from_toml_str(&t).map_err(|_| ())
    }) else {
        return;
    };
    let custom = matches!(cfg.platform, Platform::Custom { .. });
    let Some(published) = rsa_key(tpe_paybox::sign::PAYBOX_PUBLIC_KEY_PEM.as_bytes()) else {
        return;
    };
    for source in &cfg.public_keys {
        let (name, bytes) = match source {
            PublicKeySource::Embedded => {
                findings.push(Finding::ok(
                    "[paybox] public_keys",
                    "the key Paybox publishes (embedded)",
                ));
                continue;
            }
            PublicKeySource::File(path) => (
                format!("file {}", path.display()),
                std::fs::read(path).map_err(|e| e.to_string()),
            ),
            PublicKeySource::Pem(pem) => ("inline PEM".to_owned(), Ok(pem.clone().into_bytes())),
            _ => continue,
        };
        let subject = format!("[paybox] public key ({name})");
        let key = match bytes {
            Ok(b) => rsa_key(&b),
            Err(e) => {
                findings.push(Finding::error(
                    &subject,
                    format!("cannot be read: {e}"),
                    "give the path of the PEM file Paybox publishes, or \"embedded\"",
                ));
                continue;
            }
        };
        findings.push(match key {
            None => Finding::error(
                &subject,
                "is not an RSA public key (PEM PUBLIC KEY / RSA PUBLIC KEY, or DER)",
                "use \"embedded\": the key Paybox publishes ships with tpe",
            ),
            Some(k) if k == published => Finding::ok(&subject, "the key Paybox publishes"),
            Some(_) if custom => Finding::warning(
                &subject,
                "is not the key Paybox publishes: right only for a test bank at a custom platform",
                "use \"embedded\" with a Paybox or e-Transactions platform",
            ),
            Some(_) => Finding::error(
                &subject,
                "is not the key Paybox publishes: every notification of this platform will be \
                 refused as forged",
                "use public_keys = [\"embedded\"] (the key of the Paybox documentation)",
            ),
        });
    }
}

/// An RSA public key from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`) or DER bytes.
fn rsa_key(bytes: &[u8]) -> Option<rsa::PublicKey> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        let text = text.trim();
        return rsa::PublicKey::from_public_key_pem(text)
            .ok()
            .or_else(|| rsa::PublicKey::from_pkcs1_pem(text).ok());
    }
    rsa::PublicKey::from_public_key_der(bytes)
        .ok()
        .or_else(|| rsa::PublicKey::from_pkcs1_der(bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Severity;

    #[test]
    fn urls_are_https_and_absolute() {
        let sev = |u: &str| check_url("x", u).severity;
        assert_eq!(sev("https://shop.example.fr/"), Severity::Ok);
        assert_eq!(sev("http://127.0.0.1:8080/"), Severity::Warning);
        assert_eq!(sev("http://localhost/"), Severity::Warning);
        assert_eq!(sev("http://shop.example.fr/"), Severity::Error);
        assert_eq!(sev("/tpe/notify/paybox"), Severity::Error);
        assert_eq!(sev("ftp://shop.example.fr/"), Severity::Error);
        let shown = check_url("x", "https://user:s3cr3t@psp.example/").message;
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn urls_are_found_in_nested_tables_and_arrays() {
        let t: toml::Table = toml::from_str(
            "a = 'https://x/'\nb = 'not one'\nlist = ['http://y/']\n[platform]\npage_url = 'z'",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut found = urls(&t, "");
        found.sort();
        assert_eq!(
            found,
            [
                ("a".to_owned(), "https://x/".to_owned()),
                ("list".to_owned(), "http://y/".to_owned()),
                ("platform.page_url".to_owned(), "z".to_owned()),
            ]
        );
    }

    #[test]
    fn the_published_key_parses() {
        assert!(rsa_key(tpe_paybox::sign::PAYBOX_PUBLIC_KEY_PEM.as_bytes()).is_some());
        assert!(rsa_key(b"garbage").is_none());
    }
}
