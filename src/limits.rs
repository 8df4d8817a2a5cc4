//! Rate limits per client IP (governor): every REST request, every `/graphql` request, and credential operations
//! (login, register, forgot/reset password) on REST and GraphQL alike, counted per operation.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

use axum::{
    body::Body,
    http::{HeaderValue, Request},
    middleware::Next,
    response::Response,
};

use crate::{
    config::Settings,
    error::{Error, Result},
};

/// Where a request comes from, and the one argon2 run it may spend: credential operations are
/// limited per client IP and per request.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The client's IP (the socket's, or `X-Forwarded-For` behind a trusted proxy).
    pub ip: std::net::IpAddr,
    /// The client's `User-Agent`, printable characters only, at most 255 of them.
    pub user_agent: Option<std::sync::Arc<str>>,
    hash_spent: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Origin {
    /// A new request from `ip`, its argon2 run unspent.
    pub fn new(ip: std::net::IpAddr) -> Self {
        Self { ip, user_agent: None, hash_spent: Default::default() }
    }

    /// The same request, naming the client software it says it is (shown in the session list).
    pub fn with_user_agent(mut self, raw: Option<&str>) -> Self {
        self.user_agent = raw
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(255).collect::<String>())
            .map(|ua| ua.trim().to_owned())
            .filter(|ua| !ua.is_empty())
            .map(std::sync::Arc::from);
        self
    }

    /// Claims the request's argon2 run; `false` when it was already claimed.
    pub(crate) fn spend_hash(&self) -> bool {
        !self.hash_spent.swap(true, std::sync::atomic::Ordering::AcqRel)
    }
}

type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// One limit: so many per window, per IP.
struct Limit {
    limiter: Keyed,
    per_window: u32,
    /// The `limit` label of `rate_limit_refusals_total`.
    name: &'static str,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Limits are switched off.
    Unlimited,
    /// Allowed; `remaining` more fit in the window.
    Allowed {
        /// Requests per window.
        limit: u32,
        /// Requests left now.
        remaining: u32,
    },
    /// Refused until `retry_after` has passed.
    Refused {
        /// Requests per window.
        limit: u32,
        /// How long until one more is allowed.
        retry_after: Duration,
    },
}

impl Limit {
    fn new(name: &'static str, per_window: u32, window: Duration) -> Option<Self> {
        let burst = NonZeroU32::new(per_window)?;
        let quota = Quota::with_period(window / per_window)?.allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_window,
            name,
        })
    }

    fn check(&self, ip: IpAddr, clock: &DefaultClock) -> Verdict {
        match self.limiter.check_key(&ip) {
            Ok(state) => {
                Verdict::Allowed { limit: self.per_window, remaining: state.remaining_burst_capacity() }
            }
            Err(not_until) => {
                metrics::counter!("rate_limit_refusals_total", "limit" => self.name).increment(1);
                Verdict::Refused {
                    limit: self.per_window,
                    retry_after: not_until.wait_time_from(clock.now()),
                }
            }
        }
    }
}

/// The service's rate limiters.
pub struct Limits {
    requests: Option<Limit>,
    graphql: Option<Limit>,
    credentials: Option<Limit>,
    clock: DefaultClock,
}

impl Limits {
    /// Limiters as configured; a limit of 0 switches that one off.
    pub fn new(settings: &Settings) -> Self {
        let window = Duration::from_secs(settings.rate_limit_window_seconds);
        Self {
            requests: Limit::new("rest", settings.rate_limit_per_minute, window),
            graphql: Limit::new("graphql", settings.graphql_rate_limit_per_minute, window),
            credentials: Limit::new("credentials", settings.auth_rate_limit_per_minute, window),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one REST request from `ip`.
    pub fn request(&self, ip: IpAddr) -> Verdict {
        self.requests.as_ref().map_or(Verdict::Unlimited, |limit| limit.check(ip, &self.clock))
    }

    /// Counts one `/graphql` request from `ip`.
    pub fn graphql_request(&self, ip: IpAddr) -> Verdict {
        self.graphql.as_ref().map_or(Verdict::Unlimited, |limit| limit.check(ip, &self.clock))
    }

    /// Counts one credential operation from `ip`; `RateLimited` when over the limit.
    pub fn credential(&self, ip: IpAddr) -> Result<()> {
        match self.credentials.as_ref().map(|limit| limit.check(ip, &self.clock)) {
            Some(Verdict::Refused { retry_after, .. }) => Err(Error::RateLimited(retry_after)),
            _ => Ok(()),
        }
    }

    /// Forgets IPs whose windows are full again, so memory does not grow with every address seen.
    pub fn forget_idle(&self) {
        for limit in [&self.requests, &self.graphql, &self.credentials].into_iter().flatten() {
            limit.limiter.retain_recent();
        }
    }
}

/// Runs `request` if `count` admits its client IP, with `X-RateLimit-Limit` and
/// `X-RateLimit-Remaining` on the answer; otherwise answers `refuse(retry_after)`.
pub async fn limited(
    request: Request<Body>,
    next: Next,
    count: impl FnOnce(IpAddr) -> Verdict,
    refuse: impl FnOnce(Duration) -> Response,
) -> Response {
    let Some(origin) = request.extensions().get::<Origin>() else { return next.run(request).await };
    let (mut response, limit, remaining) = match count(origin.ip) {
        Verdict::Unlimited => return next.run(request).await,
        Verdict::Allowed { limit, remaining } => (next.run(request).await, limit, remaining),
        Verdict::Refused { limit, retry_after } => (refuse(retry_after), limit, 0),
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}
