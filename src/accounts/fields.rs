//! A customer's attributes, declared once: for each, its column, what values it takes, its names
//! on GraphQL and on both legacy APIs, how a person reads it, its key in the data export, and
//! what deleting the account leaves of it. Validation, storage, the doors' readers and shapes,
//! the OpenAPI document, the export and the erasure all read [`Attribute::spec`]; adding an
//! attribute is a variant, a declaration, a column, and its GraphQL fields.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait as _, ModelTrait as _};

use super::{Gender, validate::Checks};
use crate::{
    entity::customer,
    error::{Code, Field, FieldError},
};

/// What a customer account keeps about its customer besides the email and the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Phone number.
    Phone,
    /// Gender.
    Gender,
    /// Date of birth.
    DateOfBirth,
    /// `private` or `business` (the webshop's).
    AccountType,
    /// Company (the webshop's).
    Company,
    /// Tax (VAT) number (the webshop's).
    TaxNumber,
    /// Consent to cart reminder emails (the webshop's).
    CartReminderConsent,
}

/// What values an attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text a person types: trimmed, at most 191 characters, no control or invisible characters.
    /// A required one cannot be cleared, and every door but the webshop's asks for it at
    /// registration.
    Text {
        /// Whether it must be there.
        required: bool,
    },
    /// `male`, `female` or `other`, in any letter case.
    Gender,
    /// `YYYY-MM-DD`, in the past, not before 1900.
    DateOfBirth,
    /// One of a few words, in any letter case; stored lower case.
    Choice(&'static [&'static str]),
    /// Yes or no: a JSON boolean, or `1`/`0`/`true`/`false`.
    Flag,
}

/// The declaration of one attribute.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Which attribute.
    pub attribute: Attribute,
    /// Where it is stored.
    pub column: customer::Column,
    /// What values it takes.
    pub kind: Kind,
    /// Its name in GraphQL inputs and field errors (`firstName`).
    pub graphql: &'static str,
    /// Its snake_case name: on the Bagisto paths (where [`Spec::bagisto`] says they take it),
    /// in field errors of the legacy APIs, and in the data export.
    pub snake: &'static str,
    /// Whether Bagisto's paths read it and show it in their customer.
    pub bagisto: bool,
    /// Its name on the webshop register path, if that path takes it.
    pub webshop: Option<&'static str>,
    /// As a person reads it, lower case ("first name").
    pub label: &'static str,
}

impl Attribute {
    /// Every attribute, in the order a request's mistakes are reported.
    pub const ALL: [Attribute; 9] = [
        Attribute::FirstName,
        Attribute::LastName,
        Attribute::Phone,
        Attribute::Gender,
        Attribute::DateOfBirth,
        Attribute::AccountType,
        Attribute::Company,
        Attribute::TaxNumber,
        Attribute::CartReminderConsent,
    ];

    /// The attribute's declaration.
    pub fn spec(self) -> Spec {
        use customer::Column as C;
        let (column, kind, graphql, snake, bagisto, webshop, label) = match self {
            Attribute::FirstName => (
                C::FirstName,
                Kind::Text { required: true },
                "firstName",
                "first_name",
                true,
                Some("firstname"),
                "first name",
            ),
            Attribute::LastName => (
                C::LastName,
                Kind::Text { required: true },
                "lastName",
                "last_name",
                true,
                Some("lastname"),
                "last name",
            ),
            Attribute::Phone => {
                (C::Phone, Kind::Text { required: false }, "phone", "phone", true, Some("phone"), "phone")
            }
            Attribute::Gender => (C::Gender, Kind::Gender, "gender", "gender", true, None, "gender"),
            Attribute::DateOfBirth => (
                C::DateOfBirth,
                Kind::DateOfBirth,
                "dateOfBirth",
                "date_of_birth",
                true,
                None,
                "date of birth",
            ),
            Attribute::AccountType => (
                C::AccountType,
                Kind::Choice(&["private", "business"]),
                "accountType",
                "account_type",
                false,
                Some("account_type"),
                "account type",
            ),
            Attribute::Company => (
                C::Company,
                Kind::Text { required: false },
                "company",
                "company",
                false,
                Some("company"),
                "company",
            ),
            Attribute::TaxNumber => (
                C::TaxNumber,
                Kind::Text { required: false },
                "taxNumber",
                "tax_number",
                false,
                Some("tax_number"),
                "tax number",
            ),
            Attribute::CartReminderConsent => (
                C::CartReminderConsent,
                Kind::Flag,
                "cartReminderConsent",
                "cart_reminder_consent",
                false,
                Some("cart_reminder_consent"),
                "cart reminder consent",
            ),
        };
        Spec { attribute: self, column, kind, graphql, snake, bagisto, webshop, label }
    }

    /// The attributes Bagisto's paths read and show.
    pub fn bagisto() -> impl Iterator<Item = Spec> {
        Self::ALL.into_iter().map(Attribute::spec).filter(|spec| spec.bagisto)
    }

    /// The attributes the webshop register path reads, with their names there.
    pub fn webshop() -> impl Iterator<Item = (Spec, &'static str)> {
        Self::ALL.into_iter().map(Attribute::spec).filter_map(|spec| Some((spec, spec.webshop?)))
    }
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text (also a [`Kind::Choice`] word, lower case).
    Text(String),
    /// A gender.
    Gender(Gender),
    /// A date.
    Date(NaiveDate),
    /// Yes or no.
    Flag(bool),
}

/// An attribute as a door received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// Sent as null: clear it (refused for a required one).
    Clear,
    /// Sent as text (or a number): judged by its kind; blank means [`Raw::Clear`].
    Text(String),
    /// Sent as a boolean.
    Flag(bool),
    /// Sent, but of no type it could be (an object, a list).
    Malformed,
}

/// The attributes a request gives; an attribute not in it is left as it is.
pub type Entered = BTreeMap<Attribute, Raw>;

/// Judged attributes: `None` clears one.
pub type Values = BTreeMap<Attribute, Option<Value>>;

/// The attributes a customer has, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes(BTreeMap<Attribute, Value>);

impl Attributes {
    /// The stored attributes of `row`.
    pub fn of(row: &customer::Model) -> Self {
        let mut attributes = BTreeMap::new();
        for attribute in Attribute::ALL {
            let spec = attribute.spec();
            if let Some(value) = read(spec.kind, row.get(spec.column)) {
                attributes.insert(attribute, value);
            }
        }
        Self(attributes)
    }

    /// `attribute`'s value, if it has one.
    pub fn get(&self, attribute: Attribute) -> Option<&Value> {
        self.0.get(&attribute)
    }

    /// `attribute`'s text, if it has text.
    pub fn text(&self, attribute: Attribute) -> Option<&str> {
        match self.get(attribute) {
            Some(Value::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// The gender, if given.
    pub fn gender(&self) -> Option<Gender> {
        match self.get(Attribute::Gender) {
            Some(Value::Gender(gender)) => Some(*gender),
            _ => None,
        }
    }

    /// `attribute`'s date, if it has one.
    pub fn date(&self, attribute: Attribute) -> Option<NaiveDate> {
        match self.get(attribute) {
            Some(Value::Date(date)) => Some(*date),
            _ => None,
        }
    }

    /// `attribute`'s yes or no, if given.
    pub fn flag(&self, attribute: Attribute) -> Option<bool> {
        match self.get(attribute) {
            Some(Value::Flag(flag)) => Some(*flag),
            _ => None,
        }
    }

    /// Every attribute with a value, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (Attribute, &Value)> {
        self.0.iter().map(|(attribute, value)| (*attribute, value))
    }
}

/// A stored column's value as `kind`'s value; `None` for null (or an empty required text).
fn read(kind: Kind, stored: sea_orm::Value) -> Option<Value> {
    use sea_orm::Value as V;
    match (kind, stored) {
        (Kind::Gender, V::String(Some(text))) => Gender::parse(&text).map(Value::Gender),
        (Kind::DateOfBirth, V::ChronoDate(Some(date))) => Some(Value::Date(date)),
        (Kind::Flag, V::Bool(Some(flag))) => Some(Value::Flag(flag)),
        (Kind::Text { .. } | Kind::Choice(_), V::String(Some(text))) if !text.is_empty() => {
            Some(Value::Text(text))
        }
        _ => None,
    }
}

/// `value` (or null) as `spec`'s column stores it; a required text column holds "" for none.
fn stored(spec: Spec, value: Option<&Value>) -> sea_orm::Value {
    use sea_orm::Value as V;
    match (spec.kind, value) {
        (_, Some(Value::Text(text))) => V::String(Some(text.clone())),
        (_, Some(Value::Gender(gender))) => V::String(Some(gender.as_str().to_owned())),
        (_, Some(Value::Date(date))) => V::ChronoDate(Some(*date)),
        (_, Some(Value::Flag(flag))) => V::Bool(Some(*flag)),
        (Kind::Text { required: true }, None) => V::String(Some(String::new())),
        (Kind::Text { .. } | Kind::Gender | Kind::Choice(_), None) => V::String(None),
        (Kind::DateOfBirth, None) => V::ChronoDate(None),
        (Kind::Flag, None) => V::Bool(None),
    }
}

/// Writes `values` into `row`.
pub fn apply(row: &mut customer::ActiveModel, values: &Values) {
    for (attribute, value) in values {
        let spec = attribute.spec();
        row.set(spec.column, stored(spec, value.as_ref()));
    }
}

/// The GraphQL names of the attributes `values` would change in `row` (what a
/// `customer.updated` event names), in declaration order.
pub fn changed(row: &customer::Model, values: &Values) -> Vec<&'static str> {
    let before = Attributes::of(row);
    values
        .iter()
        .filter(|(attribute, value)| before.get(**attribute) != value.as_ref())
        .map(|(attribute, _)| attribute.spec().graphql)
        .collect()
}

/// Erases every attribute of `row`: what deleting an account leaves of them.
pub fn erase(row: &mut customer::ActiveModel) {
    let none: Values = Attribute::ALL.into_iter().map(|attribute| (attribute, None)).collect();
    apply(row, &none);
}

/// What the attributes are judged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new account: the required attributes must be there, unless `names_optional` (the
    /// webshop document makes names optional).
    Registration {
        /// Whether required text may be left out or blank.
        names_optional: bool,
    },
    /// A change: only the attributes given change, and a required one cannot be cleared.
    Change,
}

/// Judges `attributes` of `entered` for `purpose` into `checks` (every mistake at once); the
/// values of those that passed.
pub fn judge(
    checks: &mut Checks,
    entered: &Entered,
    attributes: &[Attribute],
    purpose: Purpose,
    today: NaiveDate,
) -> Values {
    let mut values = Values::new();
    for &attribute in attributes {
        let mut spec = attribute.spec();
        if purpose == (Purpose::Registration { names_optional: true })
            && spec.kind == (Kind::Text { required: true })
        {
            spec.kind = Kind::Text { required: false };
        }
        let raw = match entered.get(&attribute) {
            // A required attribute sent as null in a change is left as it is: it cannot be cleared.
            Some(Raw::Clear)
                if purpose == Purpose::Change && spec.kind == (Kind::Text { required: true }) =>
            {
                continue;
            }
            Some(raw) => raw.clone(),
            None if matches!(purpose, Purpose::Registration { .. })
                && spec.kind == (Kind::Text { required: true }) =>
            {
                Raw::Clear
            }
            None => continue,
        };
        if let Some(value) = judge_one(checks, spec, raw, today) {
            values.insert(attribute, value);
        }
    }
    values
}

/// One attribute: `Some(value)` (`None` to clear) when it passes, `None` when refused.
fn judge_one(checks: &mut Checks, spec: Spec, raw: Raw, today: NaiveDate) -> Option<Option<Value>> {
    let field = Field::Customer(spec.attribute);
    let invalid = |checks: &mut Checks| checks.refuse_none(FieldError::new(field, Code::Invalid));
    let text = match raw {
        Raw::Malformed => return invalid(checks),
        Raw::Flag(flag) if spec.kind == Kind::Flag => return Some(Some(Value::Flag(flag))),
        Raw::Flag(flag) => Some(flag.to_string()),
        Raw::Text(text) => Some(text),
        Raw::Clear => None,
    };
    let text = text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match (spec.kind, text) {
        (Kind::Text { required: true }, text) => {
            checks.text(field, text.unwrap_or_default()).map(|t| Some(Value::Text(t)))
        }
        (Kind::Text { required: false }, text) => {
            checks.optional_text(field, text).map(|t| t.map(Value::Text))
        }
        (_, None) => Some(None),
        (Kind::Gender, Some(text)) => match Gender::parse(text) {
            Some(gender) => Some(Some(Value::Gender(gender))),
            None => invalid(checks),
        },
        (Kind::DateOfBirth, Some(text)) => {
            let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
            match super::parse_date(text) {
                Some(date) if date < today && date >= earliest => Some(Some(Value::Date(date))),
                _ => invalid(checks),
            }
        }
        (Kind::Choice(words), Some(text)) => {
            let word = text.to_ascii_lowercase();
            if words.contains(&word.as_str()) { Some(Some(Value::Text(word))) } else { invalid(checks) }
        }
        (Kind::Flag, Some(text)) => match text {
            "1" | "true" => Some(Some(Value::Flag(true))),
            "0" | "false" => Some(Some(Value::Flag(false))),
            _ => invalid(checks),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_has_distinct_names_on_every_door() {
        let mut seen = std::collections::HashSet::new();
        for attribute in Attribute::ALL {
            let spec = attribute.spec();
            assert_eq!(spec.attribute, attribute);
            for name in [spec.graphql, spec.snake, spec.label] {
                assert!(!name.is_empty(), "{attribute:?}");
            }
            assert!(seen.insert(spec.graphql), "{attribute:?} shares its GraphQL name");
        }
    }

    #[test]
    fn a_stored_value_reads_back_as_it_was_written() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or(NaiveDate::MIN);
        let mut checks = Checks::default();
        let entered: Entered = [
            (Attribute::FirstName, Raw::Text(" Jane ".into())),
            (Attribute::Gender, Raw::Text("FEMALE".into())),
            (Attribute::DateOfBirth, Raw::Text("1990-04-01".into())),
            (Attribute::AccountType, Raw::Text("Business".into())),
            (Attribute::CartReminderConsent, Raw::Text("1".into())),
        ]
        .into_iter()
        .collect();
        let values = judge(&mut checks, &entered, &Attribute::ALL, Purpose::Change, today);
        assert!(checks.finish().is_ok());
        for (attribute, value) in &values {
            let spec = attribute.spec();
            assert_eq!(read(spec.kind, stored(spec, value.as_ref())), value.clone(), "{attribute:?}");
        }
        assert_eq!(values[&Attribute::AccountType], Some(Value::Text("business".into())));
        assert_eq!(values[&Attribute::CartReminderConsent], Some(Value::Flag(true)));
    }

    #[test]
    fn a_registration_reports_missing_names_and_every_malformed_attribute() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or(NaiveDate::MIN);
        let mut checks = Checks::default();
        let entered: Entered =
            [(Attribute::Gender, Raw::Text("x".into())), (Attribute::Company, Raw::Malformed)]
                .into_iter()
                .collect();
        judge(&mut checks, &entered, &Attribute::ALL, Purpose::Registration { names_optional: false }, today);
        let Err(crate::error::Error::Invalid(errors)) = checks.finish() else { panic!("refused") };
        let fields: Vec<_> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            fields,
            [
                (Some(Field::Customer(Attribute::FirstName)), Code::Required),
                (Some(Field::Customer(Attribute::LastName)), Code::Required),
                (Some(Field::Customer(Attribute::Gender)), Code::Invalid),
                (Some(Field::Customer(Attribute::Company)), Code::Invalid),
            ]
        );
    }
}
