//! The Luhn check that both banks' pages apply to card numbers.

/// Whether `pan` is 12 to 19 digits with a valid Luhn check digit.
pub(crate) fn luhn_valid(pan: &str) -> bool {
    if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in pan.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_cards() {
        assert!(super::luhn_valid("4242424242424242"));
        assert!(!super::luhn_valid("4242424242424241"));
        assert!(!super::luhn_valid("4242"));
        assert!(!super::luhn_valid("42424242424242x2"));
    }
}
