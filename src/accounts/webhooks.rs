//! A shop's webhook endpoints, and the record of what was delivered to them: what the `webhook`
//! commands (and later the staff API) call. Delivery itself is [`crate::webhooks`].

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{
    Work,
    events::{DELIVERY, TYPES},
    project_exists,
};
use crate::{
    entity::{job, webhook_endpoint, webhook_event},
    error::{Error, Result},
    state::AppState,
};

/// How long the secret before a rotation keeps signing (both sign meanwhile), so receivers can
/// switch over without losing a delivery.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// The longest endpoint URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// The most deliveries one listing shows, newest first.
pub const MAX_LISTED: u64 = 1000;

/// A new endpoint, and its signing secret (shown this once).
pub struct NewEndpoint {
    /// The stored endpoint.
    pub endpoint: webhook_endpoint::Model,
    /// `whsec_…`.
    pub secret: String,
}

/// A fresh signing secret: `whsec_` and 24 random bytes in standard base64, the form the
/// Standard Webhooks libraries take.
fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// `url` as an endpoint may have it: absolute http(s), no credentials, no fragment, and https
/// in production unless private networks are allowed. Where it resolves is checked at delivery.
fn check_url(state: &AppState, url: &str) -> Result<String> {
    let bad = |reason: &str| Error::BadRequest(format!("url: {reason}"));
    if url.chars().count() > MAX_URL_CHARS {
        return Err(bad(&format!("may be at most {MAX_URL_CHARS} characters")));
    }
    let parsed = url::Url::parse(url).map_err(|err| bad(&err.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(bad("must be an http:// or https:// URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("may not carry credentials: receivers check the signature instead"));
    }
    if parsed.fragment().is_some() {
        return Err(bad("may not have a fragment"));
    }
    let guarded = state.settings.is_production() && !state.settings.webhooks.allow_private_networks;
    if guarded && parsed.scheme() != "https" {
        return Err(bad("must use https in production"));
    }
    Ok(parsed.to_string())
}

/// `wanted` as stored: every listed type known, or `*` for all.
fn check_types(wanted: &[String]) -> Result<String> {
    if wanted.is_empty() || wanted.iter().any(|t| t == "*") {
        return Ok("*".to_owned());
    }
    let mut types: Vec<&str> = Vec::new();
    for kind in wanted.iter().map(|t| t.trim()) {
        let Some(known) = TYPES.iter().find(|t| **t == kind) else {
            return Err(Error::BadRequest(format!(
                "events: `{kind}` is not an event type; the types are {}",
                TYPES.join(", ")
            )));
        };
        if !types.contains(known) {
            types.push(known);
        }
    }
    Ok(types.join(","))
}

/// Creates an endpoint of `project_id` at `url` for the `events` types (all when empty).
pub async fn create_endpoint(
    state: &AppState,
    project_id: i32,
    url: &str,
    events: &[String],
) -> Result<NewEndpoint> {
    let url = check_url(state, url)?;
    let event_types = check_types(events)?;
    let work = Work::begin(state).await?;
    if !project_exists(work.db(), project_id).await? {
        return Err(Error::BadRequest(format!("project: {project_id} does not exist")));
    }
    let secret = new_secret();
    let now = Utc::now();
    let endpoint = webhook_endpoint::ActiveModel {
        project_id: Set(project_id),
        url: Set(url),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        event_types: Set(event_types),
        enabled: Set(true),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(work.db())
    .await?;
    work.finish().await?;
    tracing::info!(endpoint_id = endpoint.id, project_id, "webhook endpoint created");
    Ok(NewEndpoint { endpoint, secret })
}

/// The endpoints, of one project or of all, in the order they were made.
pub async fn endpoints(state: &AppState, project_id: Option<i32>) -> Result<Vec<webhook_endpoint::Model>> {
    let mut query = webhook_endpoint::Entity::find().order_by_asc(webhook_endpoint::Column::Id);
    if let Some(project_id) = project_id {
        query = query.filter(webhook_endpoint::Column::ProjectId.eq(project_id));
    }
    Ok(query.all(&state.db).await?)
}

async fn endpoint_row<C: ConnectionTrait>(conn: &C, id: i32) -> Result<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| Error::BadRequest(format!("endpoint: no webhook endpoint {id}")))
}

/// Stops deliveries to endpoint `id` (those waiting are given up when their turn comes), saying
/// why; an error if there is no such endpoint.
pub async fn disable(state: &AppState, id: i32, reason: &str) -> Result<()> {
    let work = Work::begin(state).await?;
    let mut row = endpoint_row(work.db(), id).await?.into_active_model();
    row.enabled = Set(false);
    row.disabled_reason = Set(Some(reason.to_owned()));
    row.updated_at = Set(Utc::now());
    row.update(work.db()).await?;
    work.finish().await
}

/// Lets endpoint `id` receive events again (from the next one on; `webhook redeliver` sends what
/// it missed).
pub async fn enable(state: &AppState, id: i32) -> Result<()> {
    let work = Work::begin(state).await?;
    let mut row = endpoint_row(work.db(), id).await?.into_active_model();
    row.enabled = Set(true);
    row.disabled_reason = Set(None);
    row.updated_at = Set(Utc::now());
    row.update(work.db()).await?;
    work.finish().await
}

/// Gives endpoint `id` a new secret, returned (shown this once); the old one keeps signing
/// beside it for [`ROTATION_OVERLAP`].
pub async fn rotate_secret(state: &AppState, id: i32) -> Result<String> {
    let work = Work::begin(state).await?;
    let current = endpoint_row(work.db(), id).await?;
    let secret = new_secret();
    let now = Utc::now();
    let mut row = current.clone().into_active_model();
    row.previous_secret = Set(Some(current.secret));
    row.previous_secret_until = Set(Some(now + ROTATION_OVERLAP));
    row.secret = Set(secret.clone());
    row.updated_at = Set(now);
    row.update(work.db()).await?;
    work.finish().await?;
    tracing::info!(endpoint_id = id, "webhook secret rotated");
    Ok(secret)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet delivered; will be tried (again).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up on.
    Failed,
}

impl DeliveryStatus {
    /// As the command line prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One event's delivery to one endpoint, however many attempts it took.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Its id (`webhook redeliver` takes it).
    pub id: i64,
    /// The endpoint.
    pub endpoint_id: i32,
    /// The event's id: the `webhook-id` of every attempt.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i32,
    /// The last failure (status and the start of the answer, or the connection error).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

fn lane(endpoint_id: i32) -> String {
    format!("{DELIVERY}:{endpoint_id}")
}

/// The latest deliveries (at most [`MAX_LISTED`]), newest first: only failed ones if `failed`,
/// only to `endpoint_id` if given.
pub async fn deliveries(state: &AppState, failed: bool, endpoint_id: Option<i32>) -> Result<Vec<Delivery>> {
    let mut query = job::Entity::find().filter(job::Column::Kind.eq(DELIVERY));
    if failed {
        query = query.filter(job::Column::FailedAt.is_not_null());
    }
    if let Some(endpoint_id) = endpoint_id {
        query = query.filter(job::Column::Lane.eq(lane(endpoint_id)));
    }
    let jobs = query.order_by_desc(job::Column::Id).limit(MAX_LISTED).all(&state.db).await?;
    let event_ids: Vec<String> = jobs.iter().filter_map(|job| target(job).map(|(event, _)| event)).collect();
    let types: std::collections::HashMap<String, String> = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(event_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|event| (event.id, event.kind))
        .collect();
    Ok(jobs
        .into_iter()
        .filter_map(|job| {
            let (event_id, endpoint_id) = target(&job)?;
            let status = if job.done_at.is_some() {
                DeliveryStatus::Delivered
            } else if job.failed_at.is_some() {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Pending
            };
            Some(Delivery {
                id: job.id,
                endpoint_id,
                event_type: types.get(&event_id).cloned().unwrap_or_else(|| "(pruned)".to_owned()),
                event_id,
                status,
                attempts: job.attempts,
                last_error: job.last_error,
                created_at: job.created_at,
            })
        })
        .collect())
}

/// The event and endpoint a delivery job names.
fn target(job: &job::Model) -> Option<(String, i32)> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
    let event = payload["event"].as_str()?.to_owned();
    let endpoint = i32::try_from(payload["endpoint"].as_i64()?).ok()?;
    Some((event, endpoint))
}

/// Queues delivery `delivery_id`'s event to its endpoint again, as a new delivery with the same
/// `webhook-id`; the new delivery's id. The endpoint must be enabled.
pub async fn redeliver(state: &AppState, delivery_id: i64) -> Result<i64> {
    let mut work = Work::begin(state).await?;
    let row = job::Entity::find_by_id(delivery_id)
        .filter(job::Column::Kind.eq(DELIVERY))
        .one(work.db())
        .await?
        .ok_or_else(|| Error::BadRequest(format!("delivery: no webhook delivery {delivery_id}")))?;
    let (event_id, endpoint_id) = target(&row).ok_or_else(|| {
        Error::internal(anyhow::anyhow!("delivery {delivery_id} names no event or endpoint"))
    })?;
    if webhook_event::Entity::find_by_id(&event_id).one(work.db()).await?.is_none() {
        return Err(Error::BadRequest(format!("delivery: its event {event_id} is no longer kept")));
    }
    let endpoint = endpoint_row(work.db(), endpoint_id).await?;
    if !endpoint.enabled {
        return Err(Error::BadRequest(format!(
            "endpoint: {endpoint_id} is disabled; `webhook enable {endpoint_id}` first"
        )));
    }
    let id = work.deliver(&event_id, endpoint_id).await?;
    work.finish().await?;
    Ok(id)
}

/// Forgets events older than `older_than` (their deliveries were settled long before): what
/// `webhook redeliver` can still send. How many.
pub async fn prune_events(state: &AppState, older_than: DateTime<Utc>) -> Result<u64> {
    let work = Work::begin(state).await?;
    let gone = webhook_event::Entity::delete_many()
        .filter(webhook_event::Column::OccurredAt.lt(older_than))
        .exec(work.db())
        .await?
        .rows_affected;
    work.finish().await?;
    Ok(gone)
}
