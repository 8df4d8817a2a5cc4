//! The address book on GraphQL: `Customer.addresses` and the mutations that change it.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    context::{payload, require_caller, state},
    types::{UserError, payload},
};
use crate::accounts;

/// Which default an address is made.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "accounts::AddressKind")]
pub enum AddressKind {
    /// Where invoices go.
    Billing,
    /// Where parcels go.
    Shipping,
}

/// A saved address of the caller's.
pub struct Address(pub accounts::SavedAddress);

#[Object]
impl Address {
    /// Address id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// First name.
    async fn first_name(&self) -> Option<&str> {
        self.0.fields.first_name.as_deref()
    }
    /// Last name.
    async fn last_name(&self) -> Option<&str> {
        self.0.fields.last_name.as_deref()
    }
    /// Company.
    async fn company(&self) -> Option<&str> {
        self.0.fields.company.as_deref()
    }
    /// Street.
    async fn street(&self) -> Option<&str> {
        self.0.fields.street.as_deref()
    }
    /// House number.
    async fn number(&self) -> Option<&str> {
        self.0.fields.number.as_deref()
    }
    /// Postcode.
    async fn postcode(&self) -> Option<&str> {
        self.0.fields.postcode.as_deref()
    }
    /// City.
    async fn city(&self) -> Option<&str> {
        self.0.fields.city.as_deref()
    }
    /// ISO 3166-1 alpha-2 country code, upper case.
    async fn country(&self) -> Option<&str> {
        self.0.fields.country.as_deref()
    }
    /// Phone.
    async fn phone(&self) -> Option<&str> {
        self.0.fields.phone.as_deref()
    }
    /// Whether this is the default billing address.
    async fn default_billing(&self) -> bool {
        self.0.defaults.billing
    }
    /// Whether this is the default shipping address.
    async fn default_shipping(&self) -> bool {
        self.0.defaults.shipping
    }
    /// When it was saved first.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An address to save. `firstName`, `lastName`, `street`, `postcode`, `city` and `country` are
/// required; each text at most 191 characters.
#[derive(InputObject)]
pub struct AddressInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// House number.
    pub number: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code (`NL`, `de`).
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

impl From<AddressInput> for accounts::Address {
    fn from(input: AddressInput) -> Self {
        Self {
            first_name: input.first_name,
            last_name: input.last_name,
            company: input.company,
            street: input.street,
            number: input.number,
            postcode: input.postcode,
            city: input.city,
            country: input.country,
            phone: input.phone,
        }
    }
}

/// Result of `createAddress`.
#[derive(SimpleObject, Default)]
pub struct CreateAddressPayload {
    /// The saved address.
    pub address: Option<Address>,
    /// Why it was not saved (a field, or `TOO_MANY`: 50 addresses already).
    pub errors: Vec<UserError>,
}

/// Result of `updateAddress`.
#[derive(SimpleObject, Default)]
pub struct UpdateAddressPayload {
    /// The address after the change.
    pub address: Option<Address>,
    /// Why it was not changed (a field, or `NOT_FOUND` on `id`).
    pub errors: Vec<UserError>,
}

/// Result of `deleteAddress`.
#[derive(SimpleObject, Default)]
pub struct DeleteAddressPayload {
    /// True once the address is gone.
    pub success: bool,
    /// Why nothing was deleted (`NOT_FOUND` on `id`).
    pub errors: Vec<UserError>,
}

/// Result of `setDefaultAddress`.
#[derive(SimpleObject, Default)]
pub struct SetDefaultAddressPayload {
    /// The new default address.
    pub address: Option<Address>,
    /// Why nothing changed (`NOT_FOUND` on `id`).
    pub errors: Vec<UserError>,
}

payload!(CreateAddressPayload, UpdateAddressPayload, DeleteAddressPayload, SetDefaultAddressPayload);

/// Address book mutations.
#[derive(Default)]
pub struct AddressMutation;

#[Object]
impl AddressMutation {
    /// Saves a new address (at most 50); the first one becomes both defaults.
    async fn create_address(
        &self,
        ctx: &Context<'_>,
        input: AddressInput,
    ) -> async_graphql::Result<CreateAddressPayload> {
        let caller = require_caller(ctx).await?;
        let result = accounts::create_address(state(ctx)?, &caller, input.into()).await;
        payload(result.map(|a| CreateAddressPayload { address: Some(Address(a)), errors: Vec::new() }))
    }

    /// Replaces the fields of one of your addresses; which defaults it is stays.
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AddressInput,
    ) -> async_graphql::Result<UpdateAddressPayload> {
        let caller = require_caller(ctx).await?;
        let result = accounts::update_address(state(ctx)?, &caller, &id, input.into()).await;
        payload(result.map(|a| UpdateAddressPayload { address: Some(Address(a)), errors: Vec::new() }))
    }

    /// Deletes one of your addresses; if it was a default, that default is unset.
    async fn delete_address(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DeleteAddressPayload> {
        let caller = require_caller(ctx).await?;
        let result = accounts::delete_address(state(ctx)?, &caller, &id).await;
        payload(result.map(|()| DeleteAddressPayload { success: true, errors: Vec::new() }))
    }

    /// Makes one of your addresses the default billing or shipping address.
    async fn set_default_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        kind: AddressKind,
    ) -> async_graphql::Result<SetDefaultAddressPayload> {
        let caller = require_caller(ctx).await?;
        let result = accounts::set_default_address(state(ctx)?, &caller, &id, kind.into()).await;
        payload(result.map(|a| SetDefaultAddressPayload { address: Some(Address(a)), errors: Vec::new() }))
    }
}
