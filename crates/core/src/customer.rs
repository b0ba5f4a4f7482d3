//! Customers and the PSD2 (DSP2) data check made before any redirect to a bank.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A country of ISO 3166-1, with its alpha-2, alpha-3 and numeric codes (backed by `celes`).
///
/// ```
/// use tpe_core::Country;
/// let fr = Country::from_code("fr")?;
/// assert_eq!((fr.alpha2(), fr.alpha3(), fr.numeric()), ("FR", "FRA", 250));
/// assert_eq!(Country::from_code("250")?, fr);
/// # Ok::<(), tpe_core::customer::UnknownCountry>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country {
    alpha2: &'static str,
    alpha3: &'static str,
    numeric: u16,
    name: &'static str,
}

impl Country {
    /// Looks a country up by alpha-2 (`FR`), alpha-3 (`FRA`) or numeric (`250`) code,
    /// case-insensitively.
    ///
    /// # Errors
    /// [`UnknownCountry`] when no ISO 3166-1 country has that code.
    pub fn from_code(code: &str) -> Result<Self, UnknownCountry> {
        let code = code.trim();
        let found = match code.len() {
            2 => celes::Country::from_alpha2(code).ok(),
            3 if code.bytes().all(|b| b.is_ascii_digit()) => celes::Country::from_code(code).ok(),
            3 => celes::Country::from_alpha3(code).ok(),
            _ => None,
        };
        found
            .and_then(|c| {
                Some(Self {
                    alpha2: c.alpha2,
                    alpha3: c.alpha3,
                    numeric: u16::try_from(c.value).ok()?,
                    name: c.long_name,
                })
            })
            .ok_or_else(|| UnknownCountry(code.chars().take(8).collect()))
    }

    /// Two-letter code (`FR`).
    pub fn alpha2(self) -> &'static str {
        self.alpha2
    }

    /// Three-letter code (`FRA`).
    pub fn alpha3(self) -> &'static str {
        self.alpha3
    }

    /// Numeric code (`250`); banks want it zero-padded to three digits.
    pub fn numeric(self) -> u16 {
        self.numeric
    }

    /// English name.
    pub fn name(self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2)
    }
}

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha2)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_code(&s).map_err(serde::de::Error::custom)
    }
}

/// A country code that is not in ISO 3166-1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country code {0:?}")]
pub struct UnknownCountry(String);

/// A phone number normalized to E.164 (`+33612345678`), parsed with libphonenumber's metadata.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    e164: String,
    calling_code: u16,
    national: String,
}

impl Phone {
    /// Parses a phone number as a customer typed it. National forms (`06 12 34 56 78`) are read
    /// in the `default_country`; international ones (`+44 20 7946 0958`, `0044…`) anywhere.
    ///
    /// # Errors
    /// [`PhoneError`] when the text is not a valid number.
    ///
    /// ```
    /// use tpe_core::{Country, Phone};
    /// let fr = Country::from_code("FR").unwrap();
    /// let p = Phone::parse("06 12 34 56 78", fr).unwrap();
    /// assert_eq!(p.e164(), "+33612345678");
    /// assert_eq!((p.calling_code(), p.national()), (33, "612345678"));
    /// ```
    pub fn parse(input: &str, default_country: Country) -> Result<Self, PhoneError> {
        let input = input.trim();
        if input.len() > 32 {
            return Err(PhoneError::TooLong);
        }
        if input
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +-.()/".contains(c)))
        {
            return Err(PhoneError::Invalid);
        }
        let id = default_country
            .alpha2
            .parse::<phonenumber::country::Id>()
            .ok();
        let number = phonenumber::parse(id, input).map_err(|_| PhoneError::Invalid)?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        let calling_code = number.code().value();
        let national = e164
            .strip_prefix(&format!("+{calling_code}"))
            .ok_or(PhoneError::Invalid)?
            .to_owned();
        Ok(Self {
            e164,
            calling_code,
            national,
        })
    }

    /// E.164 form, `+` and digits.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Country calling code (33 for France).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// National significant number, digits only, without trunk prefix (`612345678`).
    pub fn national(&self) -> &str {
        &self.national
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// Not a valid number for its country.
    #[error("not a valid phone number")]
    Invalid,
    /// Longer than any phone number.
    #[error("phone number is too long")]
    TooLong,
}

/// A postal address as the shop holds it (unchecked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// First line (street and number).
    pub line1: String,
    /// Optional second line.
    #[serde(default)]
    pub line2: Option<String>,
    /// Postcode.
    pub postcode: String,
    /// City.
    pub city: String,
    /// Country code: alpha-2, alpha-3 or numeric.
    pub country: String,
}

/// A customer as the shop holds them; any field may be missing or wrong until
/// [`Customer::validate_for_payment`] says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
    /// Phone number, national or international form.
    #[serde(default)]
    pub phone: Option<String>,
    /// Postal (billing) address.
    #[serde(default)]
    pub address: Option<PostalAddress>,
}

/// A field of the customer's data required before a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CustomerField {
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// Address line 1.
    AddressLine1,
    /// Address line 2.
    AddressLine2,
    /// Postcode.
    Postcode,
    /// City.
    City,
    /// Country.
    Country,
}

impl CustomerField {
    /// The field's label in French, as the shop's account page shows it.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::FirstName => "prénom",
            Self::LastName => "nom",
            Self::Email => "adresse e-mail",
            Self::Phone => "téléphone",
            Self::AddressLine1 => "adresse",
            Self::AddressLine2 => "complément d'adresse",
            Self::Postcode => "code postal",
            Self::City => "ville",
            Self::Country => "pays",
        }
    }

    /// The field's label in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::FirstName => "first name",
            Self::LastName => "last name",
            Self::Email => "e-mail address",
            Self::Phone => "phone number",
            Self::AddressLine1 => "address",
            Self::AddressLine2 => "address line 2",
            Self::Postcode => "postcode",
            Self::City => "city",
            Self::Country => "country",
        }
    }
}

impl fmt::Display for CustomerField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_en())
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum FieldProblem {
    /// The field is empty or absent.
    Missing(CustomerField),
    /// The field is present but unusable.
    Invalid {
        /// The field.
        field: CustomerField,
        /// Why, in English, without echoing the value.
        reason: &'static str,
    },
}

impl FieldProblem {
    /// The field concerned.
    pub fn field(&self) -> CustomerField {
        match self {
            Self::Missing(f) | Self::Invalid { field: f, .. } => *f,
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(field) => write!(f, "{field} is missing"),
            Self::Invalid { field, reason } => write!(f, "{field} is invalid: {reason}"),
        }
    }
}

/// The customer's data is not complete enough for a payment (PSD2): every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("customer data incomplete for a payment: {}", list(.problems))]
pub struct IncompleteCustomer {
    /// Every missing or malformed field, in form order.
    pub problems: Vec<FieldProblem>,
}

impl IncompleteCustomer {
    /// The fields concerned.
    pub fn fields(&self) -> Vec<CustomerField> {
        self.problems.iter().map(FieldProblem::field).collect()
    }

    /// A sentence for the customer in French: "Complétez votre compte : téléphone, adresse."
    pub fn message_fr(&self) -> String {
        let names: Vec<_> = self.problems.iter().map(|p| p.field().label_fr()).collect();
        format!(
            "Pour payer en ligne, complétez votre compte client : {}.",
            names.join(", ")
        )
    }
}

fn list(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A customer whose data passed the PSD2 check: every required field present and well formed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedCustomer {
    /// First name, trimmed.
    pub first_name: String,
    /// Last name, trimmed.
    pub last_name: String,
    /// E-mail address, trimmed.
    pub email: String,
    /// Phone number in E.164.
    pub phone: Phone,
    /// Address.
    pub address: ValidatedAddress,
}

/// A checked postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedAddress {
    /// First line.
    pub line1: String,
    /// Second line, if any (never empty).
    pub line2: Option<String>,
    /// Postcode.
    pub postcode: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: Country,
}

impl Customer {
    /// Checks the data PSD2 requires before a redirect to a bank and returns it normalized,
    /// or every problem at once.
    ///
    /// # Errors
    /// [`IncompleteCustomer`] listing each missing or malformed field.
    ///
    /// ```
    /// use tpe_core::{Customer, CustomerField};
    /// let c = Customer { first_name: "Jeanne".into(), last_name: "Martin".into(),
    ///     email: "jeanne@example.fr".into(), ..Default::default() };
    /// let err = c.validate_for_payment().unwrap_err();
    /// assert_eq!(err.fields(), [CustomerField::Phone, CustomerField::AddressLine1,
    ///     CustomerField::Postcode, CustomerField::City, CustomerField::Country]);
    /// ```
    pub fn validate_for_payment(&self) -> Result<ValidatedCustomer, IncompleteCustomer> {
        let mut problems = Vec::new();
        let first_name = text(
            &self.first_name,
            CustomerField::FirstName,
            100,
            &mut problems,
        );
        let last_name = text(&self.last_name, CustomerField::LastName, 100, &mut problems);
        let email = check_email(&self.email, &mut problems);
        let empty = PostalAddress::default();
        let addr = self.address.as_ref().unwrap_or(&empty);
        let line1 = text(&addr.line1, CustomerField::AddressLine1, 200, &mut problems);
        let line2 = match addr.line2.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(l) => text(l, CustomerField::AddressLine2, 200, &mut problems),
        };
        let postcode = text(&addr.postcode, CustomerField::Postcode, 16, &mut problems);
        let city = text(&addr.city, CustomerField::City, 100, &mut problems);
        let country = if addr.country.trim().is_empty() {
            None
        } else {
            Country::from_code(&addr.country)
                .map_err(|_| {
                    problems.push(FieldProblem::Invalid {
                        field: CustomerField::Country,
                        reason: "not an ISO 3166 country code",
                    })
                })
                .ok()
        };
        if let (Some(pc), Some(c)) = (&postcode, country)
            && !postcode_fits(pc, c)
        {
            problems.push(FieldProblem::Invalid {
                field: CustomerField::Postcode,
                reason: "not a postcode of the country",
            });
        }
        // The phone is read in the address's country, or France when the country is unknown.
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(FieldProblem::Missing(CustomerField::Phone));
                None
            }
            Some(p) => {
                let region = country.or_else(|| Country::from_code("FR").ok());
                region.and_then(|r| {
                    Phone::parse(p, r)
                        .map_err(|e| {
                            problems.push(FieldProblem::Invalid {
                                field: CustomerField::Phone,
                                reason: match e {
                                    PhoneError::TooLong => "too long",
                                    _ => "not a valid phone number",
                                },
                            })
                        })
                        .ok()
                })
            }
        };
        if addr.country.trim().is_empty() {
            problems.push(FieldProblem::Missing(CustomerField::Country));
        }
        problems.sort_by_key(FieldProblem::field);
        match (
            first_name, last_name, email, phone, line1, postcode, city, country,
        ) {
            (
                Some(first_name),
                Some(last_name),
                Some(email),
                Some(phone),
                Some(line1),
                Some(postcode),
                Some(city),
                Some(country),
            ) if problems.is_empty() => Ok(ValidatedCustomer {
                first_name,
                last_name,
                email,
                phone,
                address: ValidatedAddress {
                    line1,
                    line2,
                    postcode,
                    city,
                    country,
                },
            }),
            _ => Err(IncompleteCustomer { problems }),
        }
    }
}

/// Whether `postcode` has the shape of `country`'s postcodes: digits of the right count where
/// the country's postal service fixes it (a bank refuses "abc" as a French postcode), letters,
/// digits, spaces and dashes elsewhere.
fn postcode_fits(postcode: &str, country: Country) -> bool {
    let digits = |n: usize| postcode.len() == n && postcode.bytes().all(|b| b.is_ascii_digit());
    match country.alpha2() {
        "FR" | "MC" | "DE" | "ES" | "IT" | "FI" | "GP" | "MQ" | "GF" | "RE" | "YT" | "PM"
        | "BL" | "MF" => digits(5),
        "BE" | "CH" | "LU" | "AT" | "DK" | "NO" | "HU" | "LI" => digits(4),
        "PT" => {
            let b = postcode.as_bytes();
            digits(4)
                || (b.len() == 8
                    && b[4] == b'-'
                    && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit))
        }
        _ => postcode
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-'),
    }
}

fn text(
    value: &str,
    field: CustomerField,
    max_chars: usize,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        problems.push(FieldProblem::Missing(field));
        return None;
    }
    if v.chars().count() > max_chars {
        problems.push(FieldProblem::Invalid {
            field,
            reason: "too long",
        });
        return None;
    }
    if v.chars().any(char::is_control) {
        problems.push(FieldProblem::Invalid {
            field,
            reason: "contains control characters",
        });
        return None;
    }
    Some(v.to_owned())
}

fn check_email(value: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    let v = text(value, CustomerField::Email, 254, problems)?;
    // Banks want a plain address: no display name, no comments.
    let ok = v
        .parse::<email_address::EmailAddress>()
        .is_ok_and(|e| e.email() == v)
        && v.split('@').nth(1).is_some_and(|d| d.contains('.'));
    if ok {
        Some(v)
    } else {
        problems.push(FieldProblem::Invalid {
            field: CustomerField::Email,
            reason: "not an e-mail address",
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Customer {
        Customer {
            first_name: " Jeanne ".into(),
            last_name: "Martin".into(),
            email: "jeanne.martin@example.fr".into(),
            phone: Some("06 12 34 56 78".into()),
            address: Some(PostalAddress {
                line1: "12 rue des Lilas".into(),
                line2: Some("  ".into()),
                postcode: "69001".into(),
                city: "Lyon".into(),
                country: "FR".into(),
            }),
        }
    }

    #[test]
    fn complete_customer_is_normalized() {
        let v = complete().validate_for_payment().unwrap();
        assert_eq!(v.first_name, "Jeanne");
        assert_eq!(v.phone.e164(), "+33612345678");
        assert_eq!(v.address.line2, None);
        assert_eq!(v.address.country.numeric(), 250);
    }

    #[test]
    fn postcodes_are_checked_per_country() {
        let with = |postcode: &str, country: &str| {
            let mut c = complete();
            c.phone = Some("+33 6 12 34 56 78".into());
            if let Some(a) = c.address.as_mut() {
                a.postcode = postcode.into();
                a.country = country.into();
            }
            c.validate_for_payment()
        };
        for (pc, country) in [
            ("69001", "FR"),
            ("1000", "BE"),
            ("1204", "CH"),
            ("1000-001", "PT"),
            ("SW1A 1AA", "GB"),
            ("10115", "DE"),
        ] {
            assert!(with(pc, country).is_ok(), "{pc} {country}");
        }
        for (pc, country) in [
            ("abc", "FR"),
            ("6900", "FR"),
            ("690011", "FR"),
            ("10000", "BE"),
            ("1_0", "GB"),
        ] {
            let e = with(pc, country).unwrap_err();
            assert_eq!(e.fields(), vec![CustomerField::Postcode], "{pc} {country}");
        }
    }

    #[test]
    fn phone_forms() {
        let fr = Country::from_code("FR").unwrap();
        for (input, e164) in [
            ("06 12 34 56 78", "+33612345678"),
            ("06.12.34.56.78", "+33612345678"),
            ("0612345678", "+33612345678"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("0033612345678", "+33612345678"),
            ("+33 (0)6 12 34 56 78", "+33612345678"),
            ("01 23 45 67 89", "+33123456789"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 415 555 2671", "+14155552671"),
        ] {
            assert_eq!(Phone::parse(input, fr).unwrap().e164(), e164, "{input}");
        }
        let be = Country::from_code("BE").unwrap();
        assert_eq!(
            Phone::parse("0470 12 34 56", be).unwrap().e164(),
            "+32470123456"
        );
        for bad in [
            "12",
            "06 12 34",
            "abc",
            "+33 6 12 34 56 78 90 12",
            "06-12-34-56-7x",
        ] {
            assert!(Phone::parse(bad, fr).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse(&"1".repeat(40), fr), Err(PhoneError::TooLong));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Customer::default().validate_for_payment().unwrap_err();
        use CustomerField as F;
        assert_eq!(
            err.fields(),
            [
                F::FirstName,
                F::LastName,
                F::Email,
                F::Phone,
                F::AddressLine1,
                F::Postcode,
                F::City,
                F::Country
            ]
        );
        assert!(
            err.problems
                .iter()
                .all(|p| matches!(p, FieldProblem::Missing(_)))
        );
        assert!(err.message_fr().contains("téléphone"));

        let mut c = complete();
        c.email = "not-an-email".into();
        c.phone = Some("12".into());
        c.address.as_mut().unwrap().country = "XX".into();
        c.last_name = "a\u{7}b".into();
        let err = c.validate_for_payment().unwrap_err();
        assert_eq!(err.fields(), [F::LastName, F::Email, F::Phone, F::Country]);
        assert!(
            err.problems
                .iter()
                .all(|p| matches!(p, FieldProblem::Invalid { .. }))
        );
    }

    #[test]
    fn missing_phone_only() {
        let mut c = complete();
        c.phone = None;
        let err = c.validate_for_payment().unwrap_err();
        assert_eq!(err.problems, [FieldProblem::Missing(CustomerField::Phone)]);
    }

    #[test]
    fn overlong_fields_are_refused() {
        let mut c = complete();
        c.first_name = "x".repeat(101);
        c.email = format!("{}@example.fr", "a".repeat(300));
        let err = c.validate_for_payment().unwrap_err();
        assert_eq!(
            err.fields(),
            [CustomerField::FirstName, CustomerField::Email]
        );
    }

    #[test]
    fn countries() {
        let be = Country::from_code("056").unwrap();
        assert_eq!((be.alpha2(), be.alpha3()), ("BE", "BEL"));
        assert_eq!(Country::from_code("and").unwrap().numeric(), 20);
        assert!(Country::from_code("XX").is_err());
        assert!(Country::from_code("France!").is_err());
    }
}
