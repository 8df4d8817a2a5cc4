//! What happened to an account, told to the rest of the shop: the events a write declares to its
//! [`Work`](super::Work), stored in the same transaction with one delivery job per subscribed
//! endpoint, and delivered (signed) by the work queue. A write that rolls back declares nothing;
//! one that commits loses nothing.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait as _},
};
use serde_json::{Value, json};

use crate::{
    entity::{customer, webhook_endpoint, webhook_event},
    error::{Error, Result},
};

/// The kind of the job that delivers one event to one endpoint.
pub const DELIVERY: &str = "webhook";

/// Something that happened to a customer's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An account was registered (on any door).
    CustomerCreated {
        /// Its address.
        email: String,
        /// Its first name.
        first_name: String,
        /// Its last name.
        last_name: String,
    },
    /// A customer's own details changed; names the fields, never their values.
    CustomerUpdated {
        /// The GraphQL names of the fields that changed (`firstName`, `password` …).
        changed_fields: Vec<&'static str>,
    },
    /// The account's address was proven.
    CustomerEmailVerified {
        /// The address.
        email: String,
    },
    /// The account moved to another address (unverified until proven).
    CustomerEmailChanged {
        /// The address before.
        previous_email: String,
        /// The address now.
        email: String,
    },
    /// The shop suspended the account.
    CustomerSuspended,
    /// The shop let a suspended account in again.
    CustomerReactivated,
    /// The account was deleted; nothing personal remains to tell.
    CustomerDeleted,
    /// A guest order joined the account.
    GuestOrderLinked {
        /// The shop's order numbers.
        references: Vec<String>,
    },
    /// An address was saved to the address book.
    AddressCreated {
        /// Its id.
        address_id: i64,
    },
    /// An address of the book changed.
    AddressUpdated {
        /// Its id.
        address_id: i64,
    },
    /// An address left the book.
    AddressDeleted {
        /// Its id.
        address_id: i64,
    },
}

/// Every event type, as subscriptions name them.
pub const TYPES: [&str; 11] = [
    "customer.created",
    "customer.updated",
    "customer.email_verified",
    "customer.email_changed",
    "customer.suspended",
    "customer.reactivated",
    "customer.deleted",
    "guest_order.linked",
    "address.created",
    "address.updated",
    "address.deleted",
];

impl Event {
    /// The event's type (`customer.created` …), one of [`TYPES`].
    pub fn kind(&self) -> &'static str {
        match self {
            Event::CustomerCreated { .. } => "customer.created",
            Event::CustomerUpdated { .. } => "customer.updated",
            Event::CustomerEmailVerified { .. } => "customer.email_verified",
            Event::CustomerEmailChanged { .. } => "customer.email_changed",
            Event::CustomerSuspended => "customer.suspended",
            Event::CustomerReactivated => "customer.reactivated",
            Event::CustomerDeleted => "customer.deleted",
            Event::GuestOrderLinked { .. } => "guest_order.linked",
            Event::AddressCreated { .. } => "address.created",
            Event::AddressUpdated { .. } => "address.updated",
            Event::AddressDeleted { .. } => "address.deleted",
        }
    }

    /// What the event says beyond who and when.
    fn data(&self) -> Value {
        match self {
            Event::CustomerCreated { email, first_name, last_name } => {
                json!({ "email": email, "firstName": first_name, "lastName": last_name })
            }
            Event::CustomerUpdated { changed_fields } => json!({ "changedFields": changed_fields }),
            Event::CustomerEmailVerified { email } => json!({ "email": email }),
            Event::CustomerEmailChanged { previous_email, email } => {
                json!({ "previousEmail": previous_email, "email": email })
            }
            Event::CustomerSuspended | Event::CustomerReactivated | Event::CustomerDeleted => json!({}),
            Event::GuestOrderLinked { references } => json!({ "references": references }),
            Event::AddressCreated { address_id }
            | Event::AddressUpdated { address_id }
            | Event::AddressDeleted { address_id } => json!({ "addressId": address_id.to_string() }),
        }
    }
}

/// An event as a write declared it: whose account, in which shop.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The shop.
    pub project_id: i32,
    /// The account.
    pub customer_id: i64,
    /// What happened.
    pub event: Event,
}

/// Whether an endpoint subscribed to `kind` (`*` subscribes to every type).
pub fn subscribes(event_types: &str, kind: &str) -> bool {
    event_types.split(',').map(str::trim).any(|t| t == "*" || t == kind)
}

/// Stores `declared` in `txn`: each event that an enabled endpoint of its shop wants, with the
/// customer's next sequence number and a fresh id, and one delivery job per such endpoint. An
/// event nobody subscribed to is not kept. Whether any delivery was queued.
pub async fn record(txn: &DatabaseTransaction, declared: &[Declared], now: DateTime<Utc>) -> Result<bool> {
    let mut queued = false;
    let mut endpoints: Vec<(i32, Vec<webhook_endpoint::Model>)> = Vec::new();
    for Declared { project_id, customer_id, event } in declared {
        if !endpoints.iter().any(|(project, _)| project == project_id) {
            let enabled = webhook_endpoint::Entity::find()
                .filter(webhook_endpoint::Column::ProjectId.eq(*project_id))
                .filter(webhook_endpoint::Column::Enabled.eq(true))
                .all(txn)
                .await?;
            endpoints.push((*project_id, enabled));
        }
        let wanting: Vec<i32> = endpoints
            .iter()
            .filter(|(project, _)| project == project_id)
            .flat_map(|(_, enabled)| enabled.iter())
            .filter(|endpoint| subscribes(&endpoint.event_types, event.kind()))
            .map(|endpoint| endpoint.id)
            .collect();
        if wanting.is_empty() {
            continue;
        }
        customer::Entity::update_many()
            .col_expr(customer::Column::EventSequence, Expr::col(customer::Column::EventSequence).add(1))
            .filter(customer::Column::Id.eq(*customer_id))
            .exec(txn)
            .await?;
        let sequence =
            customer::Entity::find_by_id(*customer_id).one(txn).await?.map(|c| c.event_sequence).ok_or_else(
                || Error::internal(anyhow::anyhow!("an event of a customer that does not exist")),
            )?;
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let occurred_at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let payload = json!({
            "id": id,
            "type": event.kind(),
            "occurredAt": occurred_at,
            "projectId": project_id,
            "customerId": customer_id.to_string(),
            "sequence": sequence,
            "data": event.data(),
        });
        webhook_event::ActiveModel {
            id: Set(id.clone()),
            project_id: Set(*project_id),
            customer_id: Set(Some(*customer_id)),
            kind: Set(event.kind().to_owned()),
            sequence: Set(sequence),
            payload: Set(payload.to_string()),
            occurred_at: Set(now),
        }
        .insert(txn)
        .await?;
        for endpoint_id in wanting {
            enqueue_delivery(txn, &id, endpoint_id, now).await?;
            queued = true;
        }
    }
    Ok(queued)
}

/// Queues one delivery of event `event_id` to `endpoint_id`, in the endpoint's own lane.
pub async fn enqueue_delivery<C: ConnectionTrait>(
    conn: &C,
    event_id: &str,
    endpoint_id: i32,
    now: DateTime<Utc>,
) -> Result<i64> {
    let lane = format!("{DELIVERY}:{endpoint_id}");
    // No customer on the job: deleting the account must not take its last events with it.
    crate::queue::enqueue(
        conn,
        DELIVERY,
        &lane,
        None,
        &json!({ "event": event_id, "endpoint": endpoint_id }),
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_listed_type() {
        let events = [
            Event::CustomerCreated {
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
            },
            Event::CustomerUpdated { changed_fields: Vec::new() },
            Event::CustomerEmailVerified { email: String::new() },
            Event::CustomerEmailChanged { previous_email: String::new(), email: String::new() },
            Event::CustomerSuspended,
            Event::CustomerReactivated,
            Event::CustomerDeleted,
            Event::GuestOrderLinked { references: Vec::new() },
            Event::AddressCreated { address_id: 1 },
            Event::AddressUpdated { address_id: 1 },
            Event::AddressDeleted { address_id: 1 },
        ];
        let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
        assert_eq!(kinds, TYPES);
    }

    #[test]
    fn a_subscription_to_everything_or_to_the_type_matches() {
        assert!(subscribes("*", "customer.created"));
        assert!(subscribes("customer.created, address.deleted", "address.deleted"));
        assert!(!subscribes("customer.created", "customer.updated"));
    }
}
