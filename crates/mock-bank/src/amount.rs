//! Amounts as the banks' pages show them.

/// Minor-unit exponent of an ISO 4217 numeric currency (the ones a shop may send).
fn exponent(currency: &str) -> u32 {
    match currency {
        "392" | "952" | "953" => 0,
        "048" | "414" | "788" => 3,
        _ => 2,
    }
}

/// `4321`, `978` → `43,21 €` (French formatting, as the bank's page).
#[must_use]
pub fn format_amount(amount: u64, currency: &str) -> String {
    let exp = exponent(currency);
    let unit = 10u64.pow(exp);
    let symbol = match currency {
        "978" => "€",
        "840" => "$",
        "826" => "£",
        "756" => "CHF",
        "392" => "¥",
        other => other,
    };
    if exp == 0 {
        format!("{amount} {symbol}")
    } else {
        let width = usize::try_from(exp).unwrap_or(2);
        format!("{},{:0width$} {symbol}", amount / unit, amount % unit)
    }
}

/// The ISO 4217 numeric code of a lower-case alphabetic one, for the currencies the pages name.
pub(crate) fn numeric_currency(alpha: &str) -> Option<&'static str> {
    match alpha {
        "eur" => Some("978"),
        "usd" => Some("840"),
        "gbp" => Some("826"),
        "chf" => Some("756"),
        "jpy" => Some("392"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_on_the_page() {
        assert_eq!(format_amount(4321, "978"), "43,21 €");
        assert_eq!(format_amount(5, "392"), "5 ¥");
        assert_eq!(format_amount(1234, "048"), "1,234 048");
        assert_eq!(numeric_currency("eur"), Some("978"));
        assert_eq!(numeric_currency("sek"), None);
    }
}
