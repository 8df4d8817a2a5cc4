//! Webhook deliveries: how fast a backlog drains to a local receiver, and what `me` and logins
//! do meanwhile, beside the same two measured quiet in the same run.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Response, StatusCode, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::{
    driver::{Call, Outcome, drive, graphql, graphql_ok},
    phases::{login_call, me_call, me_ok},
    service::Service,
};

/// Endpoints the backlog is delivered to: each a lane of its own, as separate receivers are.
pub(crate) const ENDPOINTS: usize = 4;

/// What the webhook phase measured.
pub(crate) struct Webhooks {
    /// Deliveries (events × endpoints) waiting when the receiver opened.
    pub(crate) deliveries: u64,
    /// From the receiver opening to the last delivery.
    pub(crate) drain: Duration,
    /// `me` at c=8 and logins at c=16 together, no deliveries running.
    pub(crate) me_quiet: Outcome,
    pub(crate) login_quiet: Outcome,
    /// The same, from the moment the backlog starts draining.
    pub(crate) me_during: Outcome,
    pub(crate) login_during: Outcome,
}

/// A receiver that holds every delivery until opened, then answers 204 at once; it counts them.
struct Receiver {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    open: tokio::sync::watch::Sender<bool>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let (open, gate) = tokio::sync::watch::channel(false);
        let counter = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counter, gate) = (counter.clone(), gate.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (counter, mut gate) = (counter.clone(), gate.clone());
                        async move {
                            let _ = request.into_body().collect().await;
                            let _ = gate.wait_for(|open| *open).await;
                            counter.fetch_add(1, Ordering::Relaxed);
                            let mut answer = Response::new(Full::new(Bytes::new()));
                            *answer.status_mut() = StatusCode::NO_CONTENT;
                            Ok::<_, Infallible>(answer)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, received, open })
    }
}

/// Runs the phase on `service` (started with private networks allowed); `None` when its binary
/// has no webhooks (an older commit's, under `--binary`).
pub(crate) async fn measure(
    service: &Service,
    customers: &Arc<Vec<(String, String)>>,
    phase: Duration,
) -> anyhow::Result<Option<Webhooks>> {
    let together = || async {
        tokio::join!(
            drive(service.addr, 8, phase, None, me_call(customers.clone()), Arc::new(me_ok)),
            drive(
                service.addr,
                16,
                phase,
                None,
                login_call(customers.clone()),
                Arc::new(graphql_ok("login"))
            ),
        )
    };
    eprintln!("phase: me and logins, no webhooks");
    let (me_quiet, login_quiet) = together().await;

    let receiver = Receiver::start().await?;
    for _ in 0..ENDPOINTS {
        let url = format!("http://{}/hooks", receiver.addr);
        let created = service.cli(&["webhook", "create", "--url", &url])?;
        if !created.status.success() {
            eprintln!("this binary has no webhooks: the webhook phase is skipped");
            return Ok(None);
        }
    }
    eprintln!("phase: a backlog of profile changes, each an event for {ENDPOINTS} endpoints");
    let backlog = phase.min(Duration::from_secs(8));
    let changes = drive(
        service.addr,
        8,
        backlog,
        None,
        update_call(customers.clone()),
        Arc::new(graphql_ok("updateProfile")),
    )
    .await;
    let deliveries = changes.ok * ENDPOINTS as u64;

    eprintln!("phase: me and logins while {deliveries} deliveries drain");
    let opened = Instant::now();
    receiver.open.send_replace(true);
    let received = receiver.received.clone();
    let drained = tokio::spawn(async move {
        while received.load(Ordering::Relaxed) < deliveries {
            if opened.elapsed() > Duration::from_secs(600) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        opened.elapsed()
    });
    let (me_during, login_during) = together().await;
    let drain = drained.await?;
    let got = receiver.received.load(Ordering::Relaxed);
    anyhow::ensure!(got >= deliveries, "only {got} of {deliveries} deliveries arrived");
    Ok(Some(Webhooks { deliveries, drain, me_quiet, login_quiet, me_during, login_during }))
}

fn update_call(customers: Arc<Vec<(String, String)>>) -> crate::driver::MakeCall {
    Arc::new(move |i| {
        let (_, token) = &customers[i as usize % customers.len()];
        let query = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { customer { id } errors { code } } }";
        let input = json!({ "input": { "lastName": format!("Hooked{i}") } });
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql(query, input),
            token: Some(token.clone()),
        }
    })
}
