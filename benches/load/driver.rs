//! The load driver: busy (or paced) HTTP/1.1 connections, each answer checked and its latency
//! recorded in an HDR histogram.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP request to send, built anew for each iteration.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) body: Option<String>,
    pub(crate) token: Option<String>,
}

pub(crate) type MakeCall = Arc<dyn Fn(u64) -> Call + Send + Sync>;
/// Whether an answer counts as a success.
pub(crate) type Check = Arc<dyn Fn(StatusCode, &[u8]) -> bool + Send + Sync>;

/// Latencies (µs) and counts of one phase.
pub(crate) struct Outcome {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    /// The first failing answer, to explain a non-zero `failed`.
    pub(crate) first_failure: Option<String>,
    pub(crate) latency: Histogram<u64>,
    pub(crate) elapsed: Duration,
}

impl Outcome {
    pub(crate) fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

pub(crate) fn graphql(query: &str, variables: Value) -> Option<String> {
    Some(json!({ "query": query, "variables": variables }).to_string())
}

pub(crate) fn graphql_ok(field: &'static str) -> impl Fn(StatusCode, &[u8]) -> bool {
    move |status, body| {
        status == StatusCode::OK
            && serde_json::from_slice::<Value>(body).is_ok_and(|v| {
                v.get("errors").is_none()
                    && v["data"][field].is_object()
                    && v["data"][field].get("errors").is_none_or(|e| e.as_array().is_some_and(Vec::is_empty))
            })
    }
}

/// Keeps `connections` HTTP/1.1 connections busy until `duration` passes; with `pace`, each
/// connection waits for its next slot so the whole sends `pace` requests a second.
pub(crate) async fn drive(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    pace: Option<u64>,
    make: MakeCall,
    check: Check,
) -> Outcome {
    drive_round_robin(&[addr], connections, duration, pace, make, check).await
}

/// [`drive`] across several replicas: connection `i` goes to `targets[i % n]`, as a layer-4
/// load balancer spreads keep-alive connections.
pub(crate) async fn drive_round_robin(
    targets: &[SocketAddr],
    connections: usize,
    duration: Duration,
    pace: Option<u64>,
    make: MakeCall,
    check: Check,
) -> Outcome {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let interval = pace.map(|rate| Duration::from_secs_f64(connections as f64 / rate.max(1) as f64));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (make, check, counter) = (make.clone(), check.clone(), counter.clone());
        let addr = targets[worker % targets.len()];
        workers.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new(3).unwrap();
            let (mut ok, mut failed) = (0, 0);
            let mut first_failure = None;
            let mut sender = None;
            let mut next = Instant::now()
                + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / connections as f64));
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                if sender.is_none() {
                    sender = connect(addr).await.ok();
                }
                let Some(open) = sender.as_mut() else {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let call = make(counter.fetch_add(1, Ordering::Relaxed));
                let sent = Instant::now();
                match tokio::time::timeout(REQUEST_TIMEOUT, send(open, call)).await {
                    Ok(Ok((status, body))) if check(status, &body) => ok += 1,
                    Ok(Ok((status, body))) => {
                        failed += 1;
                        first_failure
                            .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                    }
                    Ok(Err(err)) => {
                        failed += 1;
                        first_failure.get_or_insert_with(|| format!("transport: {err}"));
                        sender = None;
                    }
                    Err(_) => {
                        failed += 1;
                        first_failure.get_or_insert_with(|| "timed out".to_owned());
                        sender = None;
                    }
                }
                latency.record(sent.elapsed().as_micros() as u64).ok();
            }
            (ok, failed, latency, first_failure)
        }));
    }
    let mut outcome = Outcome {
        ok: 0,
        failed: 0,
        first_failure: None,
        latency: Histogram::new(3).unwrap(),
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let (ok, failed, latency, first_failure) = worker.await.unwrap();
        outcome.ok += ok;
        outcome.failed += failed;
        outcome.first_failure = outcome.first_failure.or(first_failure);
        outcome.latency.add(latency).unwrap();
    }
    outcome.elapsed = started.elapsed();
    outcome
}

pub(crate) type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

pub(crate) async fn send(sender: &mut Sender, call: Call) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let mut request = Request::builder()
        .method(call.method)
        .uri(call.path)
        .header(header::HOST, "127.0.0.1")
        .header(header::ACCEPT, "application/json");
    if call.body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(token) = call.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(call.body.unwrap_or_default())))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

pub(crate) fn get(path: &'static str) -> Call {
    Call { method: Method::GET, path, body: None, token: None }
}
