//! Rate limits per client IP: every REST request, every `/graphql` request, and credential operations
//! (login, register, forgot/reset password) on REST and GraphQL alike, counted per operation.
//!
//! Counted in this process's memory (governor), or, with `REDIS_URL`, in Redis by one atomic
//! GCRA script, so that every replica counts against the same limit. When Redis cannot be
//! reached, each limit fails as configured: open (counted in this process meanwhile) or closed
//! (refused).

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

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
    bus::Redis,
    config::{FailureMode, Settings},
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
    window: Duration,
    /// The `limit` label of `rate_limit_refusals_total`.
    name: &'static str,
    /// Whether requests pass (counted in memory) while the shared counters cannot be reached.
    fail_open: bool,
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
    fn new(name: &'static str, per_window: u32, window: Duration, fail_open: bool) -> Option<Self> {
        let burst = NonZeroU32::new(per_window)?;
        let quota = Quota::with_period(window / per_window)?.allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_window,
            window,
            name,
            fail_open,
        })
    }

    /// Counts one request from `ip`: in Redis when shared counters are configured and reachable,
    /// otherwise (or when failing open) in this process.
    async fn check(&self, ip: IpAddr, clock: &DefaultClock, shared: Option<&Shared>) -> Verdict {
        if let Some(shared) = shared {
            let verdict = shared.count(self, ip).await;
            if verdict.is_none() {
                // Every request decided without Redis, whether it failed just now or is left alone
                // while it is down.
                metrics::counter!("rate_limit_store_errors_total", "limit" => self.name).increment(1);
            }
            match verdict {
                Some(verdict) => return self.counted(verdict),
                None if !self.fail_open => {
                    return self.counted(Verdict::Refused {
                        limit: self.per_window,
                        retry_after: Shared::RETRY_AFTER_DOWN,
                    });
                }
                None => {}
            }
        }
        let verdict = match self.limiter.check_key(&ip) {
            Ok(state) => {
                Verdict::Allowed { limit: self.per_window, remaining: state.remaining_burst_capacity() }
            }
            Err(not_until) => Verdict::Refused {
                limit: self.per_window,
                retry_after: not_until.wait_time_from(clock.now()),
            },
        };
        self.counted(verdict)
    }

    fn counted(&self, verdict: Verdict) -> Verdict {
        if let Verdict::Refused { .. } = verdict {
            metrics::counter!("rate_limit_refusals_total", "limit" => self.name).increment(1);
        }
        verdict
    }
}

/// The counters every replica shares, in Redis.
struct Shared {
    redis: Redis,
    script: redis::Script,
    /// Until when Redis counts as unreachable (milliseconds since `epoch`): requests meanwhile
    /// do not wait for it again and again.
    down_until_ms: AtomicU64,
    epoch: Instant,
}

/// GCRA (the generic cell rate algorithm, as governor counts): the key holds the theoretical
/// arrival time in microseconds of Redis' own clock, so replicas whose clocks differ agree.
/// Answers `{allowed, remaining, retry_after_us}`.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local period = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local window = period * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + period
local allowed_at = next_tat - window
if allowed_at > now then
  return {0, 0, allowed_at - now}
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
return {1, math.floor((window - (next_tat - now)) / period), 0}
";

impl Shared {
    /// How long a refusal asks a client to wait while Redis cannot be reached (failing closed).
    const RETRY_AFTER_DOWN: Duration = Duration::from_secs(5);
    /// How long Redis is left alone after a failure before it is asked again.
    const BACKOFF: Duration = Duration::from_secs(1);

    fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: redis::Script::new(GCRA),
            down_until_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The verdict of the shared counter; `None` when Redis cannot answer now.
    async fn count(&self, limit: &Limit, ip: IpAddr) -> Option<Verdict> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        if now_ms < self.down_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let period_us = (limit.window.as_micros() / u128::from(limit.per_window)).max(1) as u64;
        let key = self.redis.key(&format!("rate:{}:{ip}", limit.name));
        let mut commands = self.redis.commands();
        let mut invocation = self.script.key(key);
        invocation.arg(period_us).arg(limit.per_window);
        let answer = tokio::time::timeout(
            crate::bus::REDIS_TIMEOUT,
            invocation.invoke_async::<(i64, i64, i64)>(&mut commands),
        )
        .await;
        match answer {
            Ok(Ok((1, remaining, _))) => Some(Verdict::Allowed {
                limit: limit.per_window,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            }),
            Ok(Ok((_, _, retry_us))) => Some(Verdict::Refused {
                limit: limit.per_window,
                retry_after: Duration::from_micros(u64::try_from(retry_us.max(0)).unwrap_or(0)),
            }),
            failed => {
                let error = match failed {
                    Ok(Err(err)) => err.to_string(),
                    _ => "timed out".to_owned(),
                };
                let previous =
                    self.down_until_ms.swap(now_ms + Self::BACKOFF.as_millis() as u64, Ordering::Relaxed);
                if previous <= now_ms {
                    tracing::warn!(
                        %error,
                        limit = limit.name,
                        fail_open = limit.fail_open,
                        "cannot reach Redis to count a rate limit"
                    );
                }
                None
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
    shared: Option<Shared>,
}

impl Limits {
    /// Limiters as configured, counted in `redis` when given; a limit of 0 switches that one off.
    pub fn new(settings: &Settings, redis: Option<&Redis>) -> Self {
        let window = Duration::from_secs(settings.limits.window_seconds);
        let reads_open = settings.limits.failure_mode == FailureMode::Open;
        let credentials_open = settings.limits.auth_failure_mode == FailureMode::Open;
        Self {
            requests: Limit::new("rest", settings.limits.rest_per_window, window, reads_open),
            graphql: Limit::new("graphql", settings.limits.graphql_per_window, window, reads_open),
            credentials: Limit::new(
                "credentials",
                settings.limits.credentials_per_window,
                window,
                credentials_open,
            ),
            clock: DefaultClock::default(),
            shared: redis.cloned().map(Shared::new),
        }
    }

    async fn check(&self, limit: Option<&Limit>, ip: IpAddr) -> Verdict {
        match limit {
            Some(limit) => limit.check(ip, &self.clock, self.shared.as_ref()).await,
            None => Verdict::Unlimited,
        }
    }

    /// Counts one REST request from `ip`.
    pub async fn request(&self, ip: IpAddr) -> Verdict {
        self.check(self.requests.as_ref(), ip).await
    }

    /// Counts one `/graphql` request from `ip`.
    pub async fn graphql_request(&self, ip: IpAddr) -> Verdict {
        self.check(self.graphql.as_ref(), ip).await
    }

    /// Counts one credential operation from `ip`; `RateLimited` when over the limit.
    pub async fn credential(&self, ip: IpAddr) -> Result<()> {
        match self.check(self.credentials.as_ref(), ip).await {
            Verdict::Refused { retry_after, .. } => Err(Error::RateLimited(retry_after)),
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
pub async fn limited<F: Future<Output = Verdict>>(
    request: Request<Body>,
    next: Next,
    count: impl FnOnce(IpAddr) -> F,
    refuse: impl FnOnce(Duration) -> Response,
) -> Response {
    let Some(origin) = request.extensions().get::<Origin>() else { return next.run(request).await };
    let (mut response, limit, remaining) = match count(origin.ip).await {
        Verdict::Unlimited => return next.run(request).await,
        Verdict::Allowed { limit, remaining } => (next.run(request).await, limit, remaining),
        Verdict::Refused { limit, retry_after } => (refuse(retry_after), limit, 0),
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}
