//! Field rules shared by every operation: parsed once, collected so a client sees every mistake.

use super::Address;
use crate::{
    auth::Password,
    error::{Code, Error, Field, FieldError, Result},
};

/// The longest text any field takes (the legacy APIs' 191).
pub const MAX_TEXT: usize = 191;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD: usize = 128;

/// An email address: trimmed, syntax-checked, with its case-insensitive key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// As given, trimmed.
    pub address: String,
    /// Lower-cased: what uniqueness and login compare.
    pub normalized: String,
}

impl Email {
    /// The comparison key of `raw`, without validating it.
    pub fn normalize(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}

fn is_plain_address(address: &str) -> bool {
    use email_address::{EmailAddress, Options};
    let options = Options::default().without_display_text().without_domain_literal().with_required_tld();
    let Ok(parsed) = EmailAddress::parse_with_options(address, options) else { return false };
    parsed.email() == address
        && !parsed.local_part().starts_with('"')
        && address.parse::<lettre::Address>().is_ok()
}

/// Whether `value` holds a character that changes how text looks without being seen: bidi
/// controls (which reorder what follows: "Main St 12" can read as "21 tS niaM") and zero-width
/// or invisible characters (which make two different strings print alike on a packing slip).
/// The zero-width joiner and non-joiner shape scripts that need them (Persian, the Indic
/// scripts): between two letters of such a script they are kept.
fn has_invisible(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    let joins_script = |c: Option<&char>| c.is_some_and(|c| c.is_alphabetic() && u32::from(*c) >= 0x0590);
    chars.iter().enumerate().any(|(i, c)| match c {
        '\u{200C}' | '\u{200D}' => {
            !(i > 0 && joins_script(chars.get(i - 1)) && joins_script(chars.get(i + 1)))
        }
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}' => true,
        _ => false,
    })
}

/// Collects every field error of one request.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Records a refusal.
    pub fn refuse(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `Ok` when nothing was refused, else every refusal at once.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(self.0)) }
    }

    /// A required email address: a plain `local@domain.tld` the mailer can send to. Display
    /// names (`Name <a@b.example>`), quoted local parts and IP-literal domains are refused: each
    /// was accepted once and then either put client text in a To header or never delivered.
    pub fn email(&mut self, field: Field, raw: &str) -> Option<Email> {
        let address = self.text(field, raw)?;
        if !is_plain_address(&address) {
            self.refuse(FieldError::new(field, Code::Invalid));
            return None;
        }
        let normalized = self.normalized_email(field, &address)?;
        Some(Email { address, normalized })
    }

    /// The comparison key of an email given to log in: required, bounded, no control characters.
    /// Its syntax is not judged: an address no account can have simply does not match.
    pub fn login_email(&mut self, field: Field, raw: &str) -> Option<String> {
        let address = self.text(field, raw)?;
        self.normalized_email(field, &address)
    }

    /// Lower-casing can lengthen a string (`İ` becomes two characters): the stored key is
    /// bounded, not only what was typed.
    fn normalized_email(&mut self, field: Field, address: &str) -> Option<String> {
        let normalized = Email::normalize(address);
        if normalized.chars().count() > MAX_TEXT {
            self.refuse(FieldError::length(field, Code::TooLong, MAX_TEXT));
            return None;
        }
        Some(normalized)
    }

    /// Required text: trimmed, non-empty, at most [`MAX_TEXT`] characters, no control characters.
    pub fn text(&mut self, field: Field, raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            self.refuse(FieldError::new(field, Code::Required));
            return None;
        }
        self.bounded(field, trimmed)
    }

    /// Optional text: blank means "none"; otherwise as [`Checks::text`].
    pub fn optional_text(&mut self, field: Field, raw: Option<&str>) -> Option<Option<String>> {
        match raw.map(str::trim) {
            None | Some("") => Some(None),
            Some(value) => self.bounded(field, value).map(Some),
        }
    }

    fn bounded(&mut self, field: Field, value: &str) -> Option<String> {
        if value.chars().count() > MAX_TEXT {
            self.refuse(FieldError::length(field, Code::TooLong, MAX_TEXT));
            None
        } else if value.chars().any(char::is_control) || has_invisible(value) {
            self.refuse(FieldError::new(field, Code::Invalid));
            None
        } else {
            Some(value.to_owned())
        }
    }

    /// A new password and its confirmation: length in characters, and equal.
    pub fn new_password(
        &mut self,
        (field, password): (Field, Option<&Password>),
        (confirmation_field, confirmation): (Field, Option<&Password>),
        min_length: usize,
    ) {
        if !self.password(field, password, min_length) {
            return;
        }
        let Some(password) = password else { return };
        match confirmation {
            Some(c) if c.expose() == password.expose() => {}
            Some(c) if !c.expose().is_empty() => {
                self.refuse(FieldError::new(confirmation_field, Code::PasswordMismatch));
            }
            _ => self.refuse(FieldError::new(confirmation_field, Code::Required)),
        }
    }

    /// A new password's own rules (required, `min_length` to [`MAX_PASSWORD`] characters);
    /// `false` when it was not given at all.
    pub fn password(&mut self, field: Field, password: Option<&Password>, min_length: usize) -> bool {
        let Some(password) = password.filter(|p| !p.expose().is_empty()) else {
            self.refuse(FieldError::new(field, Code::Required));
            return false;
        };
        let length = password.expose().chars().count();
        if length < min_length {
            self.refuse(FieldError::length(field, Code::TooShort, min_length));
        } else if length > MAX_PASSWORD {
            self.refuse(FieldError::length(field, Code::TooLong, MAX_PASSWORD));
        }
        true
    }

    /// Records `error` and answers `None`, for a value that cannot be used.
    pub fn refuse_none<T>(&mut self, error: FieldError) -> Option<T> {
        self.refuse(error);
        None
    }

    /// The webshop register path's default billing address: every part optional.
    pub fn billing_address(&mut self, address: &Address) -> Option<Address> {
        self.address(address)
    }

    fn address(&mut self, address: &Address) -> Option<Address> {
        let first_name = self.optional_text(Field::BillingFirstName, address.first_name.as_deref());
        let last_name = self.optional_text(Field::BillingLastName, address.last_name.as_deref());
        let street = self.optional_text(Field::BillingStreet, address.street.as_deref());
        let number = self.optional_text(Field::BillingNumber, address.number.as_deref());
        let postcode = self.optional_text(Field::BillingPostcode, address.postcode.as_deref());
        let city = self.optional_text(Field::BillingCity, address.city.as_deref());
        let phone = self.optional_text(Field::BillingPhone, address.phone.as_deref());
        let country = self.country(Field::BillingCountry, address.country.as_deref());
        Some(Address {
            first_name: first_name?,
            last_name: last_name?,
            company: None,
            street: street?,
            number: number?,
            postcode: postcode?,
            city: city?,
            country: country?,
            phone: phone?,
        })
    }

    /// An address for the address book: the webshop billing address's rules, and what a parcel
    /// needs (names, street, postcode, city, country) required.
    pub fn book_address(&mut self, address: &Address) -> Option<Address> {
        let required = |checks: &mut Self, field, value: &Option<String>| {
            checks.text(field, value.as_deref().unwrap_or_default()).map(Some)
        };
        let first_name = required(self, Field::AddressFirstName, &address.first_name);
        let last_name = required(self, Field::AddressLastName, &address.last_name);
        let street = required(self, Field::Street, &address.street);
        let postcode = required(self, Field::Postcode, &address.postcode);
        let city = required(self, Field::City, &address.city);
        let company = self.optional_text(Field::AddressCompany, address.company.as_deref());
        let number = self.optional_text(Field::Number, address.number.as_deref());
        let phone = self.optional_text(Field::AddressPhone, address.phone.as_deref());
        let country = match self.country(Field::Country, address.country.as_deref()) {
            Some(None) => self.refuse_none(FieldError::new(Field::Country, Code::Required)),
            other => other,
        };
        Some(Address {
            first_name: first_name?,
            last_name: last_name?,
            company: company?,
            street: street?,
            number: number?,
            postcode: postcode?,
            city: city?,
            country: country?,
            phone: phone?,
        })
    }

    /// An ISO 3166-1 alpha-2 country code in any letter case, as upper case; blank means none.
    fn country(&mut self, field: Field, raw: Option<&str>) -> Option<Option<String>> {
        match raw.map(str::trim).filter(|c| !c.is_empty()) {
            None => Some(None),
            Some(code) => match isocountry::CountryCode::for_alpha2_caseless(code) {
                Ok(country) => Some(Some(country.alpha2().to_owned())),
                Err(_) => self.refuse_none(FieldError::new(field, Code::Invalid)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_compared_lower_case() {
        let mut checks = Checks::default();
        let Some(email) = checks.email(Field::Email, "  Jane@Example.COM ") else {
            panic!("a valid email was refused")
        };
        assert_eq!(email.address, "Jane@Example.COM");
        assert_eq!(email.normalized, "jane@example.com");
        assert!(checks.finish().is_ok());
    }

    #[test]
    fn only_plain_addresses_a_mailer_can_send_to_are_accepted() {
        for good in ["jane@example.com", "jane.doe+shop@mail.example.co.uk", "jörg@bücher.example"] {
            let mut checks = Checks::default();
            assert!(checks.email(Field::Email, good).is_some(), "{good}");
        }
        for bad in [
            "Security Team <victim@example.com>",
            "<victim@example.com>",
            "\"quoted local\"@example.com",
            "jane@[127.0.0.1]",
            "jane@localhost",
            "jane@example.com\u{0}",
            "not-an-email",
        ] {
            let mut checks = Checks::default();
            assert_eq!(checks.email(Field::Email, bad), None, "{bad}");
        }
    }

    #[test]
    fn the_length_limit_applies_to_the_lower_cased_key() {
        let dotted = format!("{}@example.com", "İ".repeat(90));
        let mut checks = Checks::default();
        assert_eq!(checks.login_email(Field::Email, &dotted), None);
        let Err(Error::Invalid(errors)) = checks.finish() else { panic!("expected a refusal") };
        assert_eq!(errors, vec![FieldError::length(Field::Email, Code::TooLong, MAX_TEXT)]);
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_refused_in_text() {
        for bad in [
            "Main St\u{202E}21",
            "Jane\u{200B}",
            "Ja\u{200D}ne",
            "\u{2066}Doe\u{2069}",
            "A\u{FEFF}B",
            "Jo\u{00AD}hn",
        ] {
            let mut checks = Checks::default();
            assert_eq!(checks.text(Field::Street, bad), None, "{bad:?}");
        }
        for good in ["Zoë O'Brien-Smith", "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}", "José"]
        {
            let mut checks = Checks::default();
            assert!(checks.text(Field::AddressFirstName, good).is_some(), "{good:?}");
        }
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        let mut checks = Checks::default();
        let pw = Password::new("ñññññññ"); // 7 characters, 14 bytes
        checks.new_password((Field::Password, Some(&pw)), (Field::PasswordConfirmation, Some(&pw)), 8);
        let Err(Error::Invalid(errors)) = checks.finish() else { panic!("expected a refusal") };
        assert_eq!(errors, vec![FieldError::length(Field::Password, Code::TooShort, 8)]);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let mut checks = Checks::default();
        checks.text(Field::AddressFirstName, " ");
        checks.email(Field::Email, "not-an-email");
        let Err(Error::Invalid(errors)) = checks.finish() else { panic!("expected a refusal") };
        assert_eq!(errors.len(), 2);
    }
}
