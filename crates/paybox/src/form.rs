//! `PaymentRequest` → the ordered `PBX_*` fields of the hosted page (spec §2, §6, §9).
//! Pure: no crypto, no I/O. `PBX_HMAC` is appended by the caller over exactly these fields.
//!
//! 3-D Secure data (`PBX_SHOPPINGCART`, `PBX_BILLING`) is written with quick-xml on one line.
//! Text goes through [`bank_text`]: transliterated to ASCII with `deunicode`, reduced to letters,
//! digits, spaces and `-` (nothing that would need an XML entity), spaces collapsed, then cut
//! to the bank's length. A value that is empty afterwards is refused with
//! `ProviderError::InvalidRequest` naming the element.

use std::fmt::Write as _;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use tpe_core::{Currency, Lang, PaymentRequest, Timestamp, ValidatedCustomer};

use crate::config::{Authentication, Capture, IpnMethod, PageLanguage, PageSource, PayboxConfig};
use crate::error::{Error, Result};

/// Largest `PBX_TOTAL`: 10 digits.
pub(crate) const MAX_TOTAL: u64 = 9_999_999_999;
/// `FirstName` / `LastName` length.
pub(crate) const NAME_LEN: usize = 22;
/// `Address1` / `Address2` / `City` length.
pub(crate) const ADDRESS_LEN: usize = 50;
/// `ZipCode` length.
pub(crate) const ZIP_LEN: usize = 16;
/// Largest `totalQuantity`.
pub(crate) const MAX_QUANTITY: u32 = 99;

/// The form settings taken from the configuration (already validated).
#[derive(Debug, Clone)]
pub(crate) struct FormSettings {
    site: String,
    rang: String,
    identifiant: String,
    hash: &'static str,
    retour: String,
    ipn_method: IpnMethod,
    authentication: Authentication,
    low_value_exemption_max: Option<u64>,
    language: Option<PageLanguage>,
    source: Option<PageSource>,
    capture: Capture,
    currency: Currency,
}

impl FormSettings {
    pub(crate) fn new(cfg: &PayboxConfig) -> Self {
        Self {
            site: cfg.site.clone(),
            rang: cfg.rang.clone(),
            identifiant: cfg.identifiant.clone(),
            hash: cfg.hash.as_str(),
            retour: cfg.retour.as_str().to_owned(),
            ipn_method: cfg.ipn_method,
            authentication: cfg.authentication,
            low_value_exemption_max: cfg.low_value_exemption_max,
            language: cfg.language,
            source: cfg.source,
            capture: cfg.capture,
            currency: cfg.currency,
        }
    }
}

/// The ordered fields, without `PBX_HMAC`.
pub(crate) fn fields(
    s: &FormSettings,
    req: &PaymentRequest,
    now: Timestamp,
) -> Result<Vec<(String, String)>> {
    let amount = req.amount;
    if amount.currency() != s.currency {
        return Err(Error::invalid(
            "PBX_DEVISE",
            format!(
                "this contract is configured for {}, the request is in {}",
                s.currency,
                amount.currency()
            ),
        ));
    }
    if amount.is_zero() || amount.minor() > MAX_TOTAL {
        return Err(Error::invalid(
            "PBX_TOTAL",
            "the amount must be between 1 and 9999999999 minor units",
        ));
    }
    let billing = billing_xml(&req.customer)?;
    let mut f: Vec<(String, String)> = Vec::with_capacity(24);
    let mut push = |k: &str, v: String| f.push((k.to_owned(), v));
    push("PBX_SITE", s.site.clone());
    push("PBX_RANG", s.rang.clone());
    push("PBX_IDENTIFIANT", s.identifiant.clone());
    push("PBX_TOTAL", format!("{:03}", amount.minor()));
    push("PBX_DEVISE", format!("{:03}", amount.currency().numeric()));
    push("PBX_CMD", req.reference.as_str().to_owned());
    push("PBX_PORTEUR", req.customer.email.clone());
    push("PBX_RETOUR", s.retour.clone());
    push("PBX_HASH", s.hash.to_owned());
    push("PBX_TIME", pbx_time(now));
    push("PBX_EFFECTUE", req.urls.accepted.as_str().to_owned());
    push("PBX_REFUSE", req.urls.refused.as_str().to_owned());
    push("PBX_ANNULE", req.urls.cancelled.as_str().to_owned());
    push("PBX_ATTENTE", req.urls.pending.as_str().to_owned());
    push("PBX_REPONDRE_A", req.urls.notify.as_str().to_owned());
    if s.ipn_method == IpnMethod::Post {
        push("PBX_RUF1", "POST".to_owned());
    }
    push("PBX_SHOPPINGCART", shopping_cart_xml(req.item_count));
    push("PBX_BILLING", billing);
    let auth = match s.low_value_exemption_max {
        Some(max) if amount.minor() <= max => Authentication::NoChallenge,
        _ => s.authentication,
    };
    if let Some(v) = auth.wire() {
        push("PBX_SOUHAITAUTHENT", v.to_owned());
    }
    if let Some(src) = s.source {
        push("PBX_SOURCE", src.wire().to_owned());
    }
    let lang = s.language.unwrap_or(match req.language {
        Lang::En => PageLanguage::English,
        _ => PageLanguage::French,
    });
    push("PBX_LANGUE", lang.wire().to_owned());
    match s.capture {
        Capture::Manual => push("PBX_AUTOSEULE", "O".to_owned()),
        Capture::Deferred { days } => push("PBX_DIFF", format!("{days:02}")),
        _ => {}
    }
    Ok(f)
}

/// `PBX_TIME`: ISO 8601 in UTC with an explicit offset, `2025-01-15T09:30:00+00:00`.
pub(crate) fn pbx_time(now: Timestamp) -> String {
    let t = jiff::tz::Offset::UTC.to_datetime(now);
    let mut s = String::with_capacity(25);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    s
}

/// `<?xml version="1.0" encoding="utf-8"?><shoppingcart><total><totalQuantity>N</totalQuantity></total></shoppingcart>`,
/// N clamped to 1..=99 as the official modules do.
pub(crate) fn shopping_cart_xml(item_count: u32) -> String {
    let n = item_count.clamp(1, MAX_QUANTITY).to_string();
    let mut w = Writer::new(Vec::with_capacity(128));
    // Writing to a Vec cannot fail; the io results are ignored on purpose.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
    let _ = w.create_element("shoppingcart").write_inner_content(|w| {
        w.create_element("total").write_inner_content(|w| {
            w.create_element("totalQuantity")
                .write_text_content(BytesText::new(&n))?;
            Ok(())
        })?;
        Ok(())
    });
    // Only ASCII was written.
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// `PBX_BILLING` for a customer (spec §6.2).
pub(crate) fn billing_xml(c: &ValidatedCustomer) -> Result<String> {
    let first = bank_text(&c.first_name, NAME_LEN, "PBX_BILLING FirstName")?;
    let last = bank_text(&c.last_name, NAME_LEN, "PBX_BILLING LastName")?;
    let a = &c.address;
    let line1 = bank_text(&a.line1, ADDRESS_LEN, "PBX_BILLING Address1")?;
    // An optional second line that sanitizes to nothing is simply left out.
    let line2 = a
        .line2
        .as_deref()
        .and_then(|l| bank_text(l, ADDRESS_LEN, "PBX_BILLING Address2").ok());
    let zip = clean(&a.postcode);
    if zip.is_empty() || zip.len() > ZIP_LEN {
        return Err(Error::invalid(
            "PBX_BILLING ZipCode",
            format!("a postcode must have 1 to {ZIP_LEN} letters, digits, spaces or '-'"),
        ));
    }
    let city = bank_text(&a.city, ADDRESS_LEN, "PBX_BILLING City")?;
    let country = format!("{:03}", a.country.numeric());
    let calling = c.phone.calling_code();
    if calling == 0 || calling > 999 {
        return Err(Error::invalid(
            "PBX_BILLING CountryCodeMobilePhone",
            "the country calling code must have 1 to 3 digits",
        ));
    }
    let phone_cc = format!("+{calling}");
    let phone = mobile_phone(calling, c.phone.national());

    let mut w = Writer::new(Vec::with_capacity(512));
    let el = |w: &mut Writer<Vec<u8>>, name: &str, text: &str| -> std::io::Result<()> {
        w.create_element(name)
            .write_text_content(BytesText::new(text))?;
        Ok(())
    };
    let written = w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .and_then(|()| {
            w.create_element("Billing").write_inner_content(|w| {
                w.create_element("Address").write_inner_content(|w| {
                    el(w, "FirstName", &first)?;
                    el(w, "LastName", &last)?;
                    el(w, "Address1", &line1)?;
                    if let Some(l2) = &line2 {
                        el(w, "Address2", l2)?;
                    }
                    el(w, "ZipCode", &zip)?;
                    el(w, "City", &city)?;
                    el(w, "CountryCode", &country)?;
                    el(w, "CountryCodeMobilePhone", &phone_cc)?;
                    el(w, "MobilePhone", &phone)?;
                    Ok(())
                })?;
                Ok(())
            })
        });
    written.map_err(|_| Error::invalid("PBX_BILLING", "could not be written"))?;
    String::from_utf8(w.into_inner())
        .map_err(|_| Error::invalid("PBX_BILLING", "could not be written"))
}

/// `MobilePhone`: national digits. French numbers (`+33`) get their trunk `0` back (10 digits,
/// as the official modules send them); others are sent as their national significant number.
fn mobile_phone(calling_code: u16, national: &str) -> String {
    let digits = national.chars().filter(char::is_ascii_digit);
    if calling_code == 33 {
        std::iter::once('0').chain(digits).collect()
    } else {
        digits.collect()
    }
}

/// Transliterates `input` to the bank's charset, collapses spaces and cuts it to `max`
/// characters (at a word boundary when one is near).
///
/// # Errors
/// `InvalidRequest` naming `field` when nothing remains.
pub(crate) fn bank_text(input: &str, max: usize, field: &'static str) -> Result<String> {
    let mut s = clean(input);
    if s.len() > max {
        // All ASCII now: byte index = char index.
        let cut = s[..=max]
            .rfind([' ', '-'])
            .filter(|&i| i >= max / 2)
            .unwrap_or(max);
        s.truncate(cut);
        s.truncate(s.trim_end_matches([' ', '-']).len());
    }
    if s.is_empty() {
        return Err(Error::invalid(
            field,
            "nothing is left after transliteration to letters, digits, spaces and '-'",
        ));
    }
    Ok(s)
}

/// ASCII letters, digits, single spaces and `-`; everything else transliterated or dropped.
fn clean(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut space = true; // drops leading spaces
    let mut put = |c: char, out: &mut String| {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            space = false;
        } else if c == '-' {
            // Runs of dashes (an em dash transliterates to `--`) become one.
            if !out.ends_with('-') {
                out.push(c);
            }
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    };
    for c in input.chars() {
        if c.is_ascii() {
            put(c, &mut out);
        } else if let Some(t) = deunicode::deunicode_char(c) {
            for tc in t.chars() {
                put(tc, &mut out);
            }
        } else {
            put(' ', &mut out);
        }
    }
    let end = out.trim_end_matches(' ').len();
    out.truncate(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_transliterated_and_bounded() {
        let cases = [
            ("Éloïse", "Eloise"),
            ("  Jean   Pierre  ", "Jean Pierre"),
            ("O'Brien", "O Brien"),
            ("Ærøskøbing & <Søn>", "AEroskobing Son"),
            ("Łódź", "Lodz"),
            ("Jean-François", "Jean-Francois"),
            ("Straße 5", "Strasse 5"),
        ];
        for (input, want) in cases {
            assert_eq!(bank_text(input, 50, "f").unwrap(), want, "{input}");
        }
        let long = bank_text(
            "Maximilian Alexander Friedrich von Hohenzollern",
            NAME_LEN,
            "f",
        )
        .unwrap();
        assert!(long.len() <= NAME_LEN, "{long}");
        assert_eq!(long, "Maximilian Alexander");
        let word = bank_text(&"A".repeat(40), NAME_LEN, "f").unwrap();
        assert_eq!(word.len(), NAME_LEN);
        for empty in ["", "!!!", "  ", "@#$%"] {
            let e = bank_text(empty, 22, "PBX_BILLING FirstName").unwrap_err();
            assert!(e.to_string().contains("PBX_BILLING FirstName"), "{e}");
        }
    }

    #[test]
    fn shopping_cart_is_clamped() {
        assert_eq!(
            shopping_cart_xml(2),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><shoppingcart><total><totalQuantity>2</totalQuantity></total></shoppingcart>"
        );
        assert!(shopping_cart_xml(0).contains(">1<"));
        assert!(shopping_cart_xml(500).contains(">99<"));
    }

    #[test]
    fn pbx_time_is_iso8601_utc() {
        let t: Timestamp = "2025-01-15T09:30:00Z".parse().unwrap();
        assert_eq!(pbx_time(t), "2025-01-15T09:30:00+00:00");
    }

    #[test]
    fn phones() {
        assert_eq!(mobile_phone(33, "612345678"), "0612345678");
        assert_eq!(mobile_phone(44, "7911123456"), "7911123456");
    }
}
