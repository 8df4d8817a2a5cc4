//! Delivering events to webhook endpoints, as a kind of queued work, the way the Standard Webhooks
//! specification (standardwebhooks.com) writes it down: a JSON POST carrying `webhook-id` (the
//! event's id, the same on every attempt), `webhook-timestamp` and `webhook-signature`, an
//! HMAC-SHA256 over `id.timestamp.body` with each secret that still signs (two during a rotation).
//!
//! - Any 2xx is done. 410 Gone disables the endpoint. Anything else, and no answer within
//!   `WEBHOOK_TIMEOUT_SECONDS`, is retried with the queue's backoff for `WEBHOOK_RETRY_FOR_SECONDS`;
//!   an endpoint that fails for that long is disabled, logged and counted.
//! - Each endpoint is a lane of its own: a slow or dead receiver delays only its own deliveries.
//! - No server-side request forgery: in production an endpoint must be `https` and may not
//!   reach loopback, private, link-local, shared or metadata addresses, checked on the addresses
//!   the connection actually uses (after DNS), unless `WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`.
//!   Redirects are not followed, and at most [`EXCERPT_BYTES`] of an answer are kept.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use hmac::{KeyInit as _, Mac as _};
use http_body_util::{BodyExt as _, Full};
use hyper::StatusCode;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, dns::Name},
    },
    rt::TokioExecutor,
};
use sea_orm::EntityTrait;

use crate::{
    accounts,
    entity::{webhook_endpoint, webhook_event},
    queue::{Job, Kind, Outcome, Policy},
    state::AppState,
};

/// How much of a receiver's answer is kept with a failed attempt.
pub const EXCERPT_BYTES: usize = 512;
/// How long a claim outlives the delivery timeout.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The `webhook-signature` header's value: `v1,<base64 HMAC>` for each secret, space-separated.
/// A secret is `whsec_` and base64; its decoded bytes are the key.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .filter_map(|secret| {
            let key = engine.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            Some(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why an address may not be reached from production: loopback, private, link-local (where the
/// clouds' metadata services answer), shared, unspecified, multicast, or documentation ranges.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A name that resolves only to addresses a webhook may not reach.
#[derive(Debug)]
struct Unreachable(String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves only to addresses a webhook may not reach", self.0)
    }
}

impl std::error::Error for Unreachable {}

/// The system resolver; when `guarded`, without the forbidden addresses, so a name that resolves
/// (now, or after a rebind) to one is refused on the very connection it would have made.
#[derive(Clone, Copy)]
struct Resolver {
    guarded: bool,
}

impl tower::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guarded = self.guarded;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !guarded {
                return Ok(found.into_iter());
            }
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|addr| !forbidden(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(Unreachable(name.as_str().to_owned())) as Self::Error);
            }
            Ok(allowed.into_iter())
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// Delivering events, the kind of queued work.
pub struct Delivery {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    policy: Policy,
    /// Whether endpoints are held to `https` and public addresses.
    guarded: bool,
}

impl Delivery {
    /// Delivery with the webhook settings; in production, guarded against private networks.
    /// HTTP/1.1 only, and no redirects: hyper's client follows none.
    pub fn new(settings: &crate::config::Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(settings.webhooks.timeout_seconds);
        let guarded = settings.is_production() && !settings.webhooks.allow_private_networks;
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut http = HttpConnector::new_with_resolver(Resolver { guarded });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            timeout,
            policy: Policy {
                lease: timeout + CLAIM_MARGIN,
                // The age decides: a receiver down for a weekend gets everything on Monday.
                max_attempts: 1,
                give_up_after: Duration::from_secs(settings.webhooks.retry_for_seconds),
                lane_limit: 1,
            },
            guarded,
        })
    }

    /// Why `url` may not be called, if it may not: not https in production, or an address
    /// written into it that a webhook may not reach. Names are checked when they are resolved.
    fn refused(&self, url: &url::Url) -> Option<String> {
        if !self.guarded {
            return None;
        }
        if url.scheme() != "https" {
            return Some("an endpoint must use https in production".to_owned());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return None,
        };
        forbidden(ip).then(|| format!("{ip} is an address a webhook may not reach"))
    }

    /// POSTs `body` to `url`, signed; the status and the start of the answer, within the timeout.
    async fn post(
        &self,
        url: &url::Url,
        id: &str,
        timestamp: i64,
        signature: String,
        body: Vec<u8>,
    ) -> Result<(StatusCode, String), Failure> {
        let request = hyper::Request::post(url.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("customer-accounts-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| Failure::Permanent(format!("the request cannot be built: {err}")))?;
        let answered = tokio::time::timeout(self.timeout, async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let text = if status.is_success() { String::new() } else { excerpt(response.into_body()).await };
            Ok::<_, hyper_util::client::legacy::Error>((status, text))
        })
        .await;
        match answered {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) if refused_by_resolver(&err) => Err(Failure::Refused(describe(&err))),
            Ok(Err(err)) => Err(Failure::Temporary(describe(&err))),
            Err(_) => Err(Failure::Temporary(format!("no answer within {} s", self.timeout.as_secs()))),
        }
    }

    async fn deliver(&self, state: &AppState, job: &Job) -> Outcome {
        let (Some(event_id), Some(endpoint_id)) = (
            job.payload["event"].as_str(),
            job.payload["endpoint"].as_i64().and_then(|id| i32::try_from(id).ok()),
        ) else {
            return Outcome::GiveUp("the job names no event or endpoint".to_owned());
        };
        let endpoint = match webhook_endpoint::Entity::find_by_id(endpoint_id).one(&state.db).await {
            Ok(Some(endpoint)) if endpoint.enabled => endpoint,
            Ok(_) => return Outcome::GiveUp("the endpoint is disabled or gone".to_owned()),
            Err(err) => return Outcome::Retry(err.to_string()),
        };
        let event = match webhook_event::Entity::find_by_id(event_id).one(&state.db).await {
            Ok(Some(event)) => event,
            Ok(None) => return Outcome::GiveUp("the event is gone (its account was deleted)".to_owned()),
            Err(err) => return Outcome::Retry(err.to_string()),
        };
        let url = match url::Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(err) => return Outcome::GiveUp(format!("the endpoint's URL does not parse: {err}")),
        };
        if let Some(reason) = self.refused(&url) {
            return refuse(endpoint_id, reason);
        }
        let now = chrono::Utc::now();
        let mut secrets = vec![endpoint.secret.as_str()];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
            && until > now
        {
            secrets.push(previous);
        }
        let timestamp = now.timestamp();
        let body = event.payload.into_bytes();
        let signature = signature(&secrets, &event.id, timestamp, &body);
        let failure = match self.post(&url, &event.id, timestamp, signature, body).await {
            Ok((status, _)) if status.is_success() => {
                metrics::counter!("webhook_deliveries_total", "outcome" => "delivered").increment(1);
                metrics::histogram!("webhook_delivery_age_seconds")
                    .record((chrono::Utc::now() - job.created_at).to_std().unwrap_or_default());
                return Outcome::Done;
            }
            Ok((StatusCode::GONE, _)) => {
                let reason = "the receiver answered 410 Gone".to_owned();
                disable(state, endpoint_id, &reason).await;
                metrics::counter!("webhook_deliveries_total", "outcome" => "gone").increment(1);
                return Outcome::GiveUp(reason);
            }
            Ok((status, text)) => format!("HTTP {}: {text}", status.as_u16()),
            Err(Failure::Refused(reason)) => return refuse(endpoint_id, reason),
            Err(Failure::Permanent(reason)) => return Outcome::GiveUp(reason),
            Err(Failure::Temporary(reason)) => reason,
        };
        let age = (now - job.created_at).to_std().unwrap_or_default();
        if age >= self.policy.give_up_after {
            let reason = format!("failing for the whole retry budget; last: {failure}");
            disable(state, endpoint_id, &reason).await;
            metrics::counter!("webhook_deliveries_total", "outcome" => "failed").increment(1);
            return Outcome::GiveUp(reason);
        }
        metrics::counter!("webhook_deliveries_total", "outcome" => "retried").increment(1);
        Outcome::Retry(failure)
    }
}

/// Why an attempt got no answer.
enum Failure {
    /// The endpoint may not be reached from here.
    Refused(String),
    /// No attempt can mend it.
    Permanent(String),
    /// Another attempt may: no connection, a timeout, a broken answer.
    Temporary(String),
}

/// Gives up on a delivery the guard refused, logged and counted.
fn refuse(endpoint_id: i32, reason: String) -> Outcome {
    tracing::warn!(endpoint_id, reason, "a webhook delivery was refused");
    metrics::counter!("webhook_deliveries_total", "outcome" => "refused").increment(1);
    Outcome::GiveUp(reason)
}

/// Whether the guarded resolver refused the endpoint's name somewhere in `err`'s causes.
fn refused_by_resolver(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.is::<Unreachable>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// What went wrong with a request, with its causes (the client's own text hides the telling one).
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// At most [`EXCERPT_BYTES`] of an answer's body, as text; the rest is never read.
async fn excerpt(mut body: hyper::body::Incoming) -> String {
    let mut kept = Vec::new();
    while kept.len() < EXCERPT_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(chunk) = frame.data_ref() {
                    kept.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - kept.len())]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

async fn disable(state: &AppState, endpoint_id: i32, reason: &str) {
    metrics::counter!("webhook_endpoints_disabled_total").increment(1);
    tracing::error!(endpoint_id, reason, "disabling a webhook endpoint");
    if let Err(err) = accounts::webhooks::disable(state, endpoint_id, reason).await {
        tracing::error!(error = ?err, endpoint_id, "could not disable a webhook endpoint");
    }
}

/// How long an event outlives its retry budget, for `webhook redeliver`.
pub const KEPT_AFTER_RETRIES: Duration = Duration::from_secs(7 * 24 * 3600);

/// Forgets events older than the retry budget and [`KEPT_AFTER_RETRIES`]: every delivery of
/// them has long been settled. Logged, never fatal.
pub async fn prune(state: &AppState) {
    let kept = Duration::from_secs(state.settings.webhooks.retry_for_seconds) + KEPT_AFTER_RETRIES;
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
    match accounts::webhooks::prune_events(state, cutoff).await {
        Ok(0) => {}
        Ok(gone) => tracing::info!(gone, "old webhook events forgotten"),
        Err(err) => tracing::warn!(error = ?err, "could not forget old webhook events"),
    }
}

impl Kind<AppState> for Delivery {
    fn name(&self) -> &'static str {
        accounts::events::DELIVERY
    }

    fn policy(&self) -> Policy {
        self.policy
    }

    fn run<'a>(&'a self, state: &'a AppState, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(self.deliver(state, job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_specifications_example() {
        // standard-webhooks' own test vector (spec.md, "Signature scheme").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signed = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = signature(&[secret, secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(two.split(' ').count(), 2, "a rotation signs with both");
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!forbidden(ip.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))), "{ip}");
        }
    }
}
