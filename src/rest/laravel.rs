//! Validation messages in the Laravel wording the legacy documents show, keyed by legacy field names.

use serde_json::{Map, Value, json};

use crate::{
    accounts::fields::Kind,
    error::{Code, Field, FieldError},
};

/// How a legacy API names the domain's fields.
pub type Naming = fn(Field) -> &'static str;

/// Bagisto's snake_case names.
pub fn bagisto_name(field: Field) -> &'static str {
    field.names().bagisto
}

/// The webshop API's names.
pub fn webshop_name(field: Field) -> &'static str {
    field.names().webshop
}

/// One error as Laravel words it: `(key, message)`. A confirmation mismatch is reported on the
/// password itself, as Laravel's `confirmed` rule does.
pub fn message(error: &FieldError, naming: Naming) -> (String, String) {
    let key = error.field.map_or("email", naming);
    let key = match (error.field, error.code) {
        (Some(Field::PasswordConfirmation | Field::NewPasswordConfirmation), Code::PasswordMismatch) => {
            naming(Field::Password)
        }
        _ => key,
    };
    let attribute = key.rsplit('.').next().unwrap_or(key).replace('_', " ");
    let limit = error.limit.unwrap_or_default();
    let text = match error.code {
        Code::Required => format!("The {attribute} field is required."),
        Code::Invalid if error.field == Some(Field::Email) => {
            format!("The {attribute} must be a valid email address.")
        }
        Code::Invalid if kind(error.field) == Some(Kind::DateOfBirth) => {
            format!("The {attribute} must be a date before today.")
        }
        Code::Invalid
            if matches!(kind(error.field), Some(Kind::Gender | Kind::Choice(_)))
                || matches!(error.field, Some(Field::ProjectId | Field::BillingCountry)) =>
        {
            format!("The selected {attribute} is invalid.")
        }
        Code::Invalid => format!("The {attribute} format is invalid."),
        Code::TooShort => format!("The {attribute} must be at least {limit} characters."),
        Code::TooLong => format!("The {attribute} must not be greater than {limit} characters."),
        Code::PasswordMismatch => format!("The {attribute} confirmation does not match."),
        Code::EmailTaken => format!("The {attribute} has already been taken."),
        Code::InvalidCredentials if error.field == Some(Field::CurrentPassword) => {
            "The current password is incorrect.".to_owned()
        }
        Code::InvalidCredentials => "Invalid Email or Password".to_owned(),
        Code::InvalidToken => "This password reset token is invalid.".to_owned(),
        Code::EmailNotVerified => "Please verify your email address before logging in.".to_owned(),
        Code::NotFound => format!("The selected {attribute} is invalid."),
        Code::TooWeak => {
            format!("The {attribute} is too easy to guess. {}", error.note.as_deref().unwrap_or_default())
                .trim_end()
                .to_owned()
        }
        Code::TooMany => format!("You may not have more than {limit} of these."),
        Code::Conflict => format!("The {attribute} has already been taken."),
    };
    (key.to_owned(), text)
}

/// The kind of a customer attribute's field, if the field is one.
fn kind(field: Option<Field>) -> Option<Kind> {
    match field {
        Some(Field::Customer(attribute)) => Some(attribute.spec().kind),
        _ => None,
    }
}

/// `{"message": first, "errors": {key: [messages]}}`, Laravel's 422 body.
pub fn errors_body(errors: &[FieldError], naming: Naming) -> Map<String, Value> {
    let mut by_key: Map<String, Value> = Map::new();
    let mut first = None;
    for error in errors {
        let (key, text) = message(error, naming);
        first.get_or_insert_with(|| text.clone());
        if let Value::Array(list) = by_key.entry(key).or_insert_with(|| json!([])) {
            list.push(Value::String(text));
        }
    }
    let mut body = Map::new();
    body.insert(
        "message".into(),
        Value::String(first.unwrap_or_else(|| "The given data was invalid.".into())),
    );
    body.insert("errors".into(), Value::Object(by_key));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::accounts::fields::Attribute;

    #[test]
    fn messages_follow_the_documented_laravel_wording() {
        let say = |field, code| message(&FieldError::new(field, code), bagisto_name).1;
        assert_eq!(
            say(Field::Customer(Attribute::FirstName), Code::Required),
            "The first name field is required."
        );
        assert_eq!(
            say(Field::PasswordConfirmation, Code::PasswordMismatch),
            "The password confirmation does not match."
        );
        assert_eq!(say(Field::Email, Code::EmailTaken), "The email has already been taken.");
        let short = FieldError::length(Field::Password, Code::TooShort, 8);
        assert_eq!(message(&short, bagisto_name).1, "The password must be at least 8 characters.");
    }

    #[test]
    fn every_field_has_a_name_in_both_apis_and_the_historic_ones_are_kept() {
        for field in crate::error::tests::every_field() {
            assert!(!bagisto_name(field).is_empty() && !webshop_name(field).is_empty(), "{field:?}");
        }
        let customer = |a| Field::Customer(a);
        for (field, bagisto, webshop) in [
            (customer(Attribute::FirstName), "first_name", "firstname"),
            (customer(Attribute::AccountType), "account_type", "account_type"),
            (customer(Attribute::DateOfBirth), "date_of_birth", "date_of_birth"),
            (Field::NewPassword, "password", "password"),
            (Field::BillingCountry, "default_billing.country", "default_billing.country"),
            (Field::PlacedAt, "placed_at", "placed_at"),
        ] {
            assert_eq!((bagisto_name(field), webshop_name(field)), (bagisto, webshop), "{field:?}");
        }
    }

    #[test]
    fn a_confirmation_mismatch_is_reported_under_password() {
        let error = FieldError::new(Field::PasswordConfirmation, Code::PasswordMismatch);
        assert_eq!(message(&error, bagisto_name).0, "password");
    }
}
