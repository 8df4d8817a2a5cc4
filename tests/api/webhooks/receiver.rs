//! A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records every delivery
//! and answers as the test tells it (any status, or never), and that can go down (connections
//! refused, those open cut) and come back on the same port.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, with this body, at once.
    Status(u16, String),
    /// This status after holding the request this long (recorded on arrival).
    Slow(u16, Duration),
    /// Never: the request is held until the sender gives up.
    Hang,
}

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body, byte for byte.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The body as JSON.
    pub fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The event's type.
    pub fn kind(&self) -> String {
        self.event()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    answer: Option<Answer>,
}

/// A running (or stopped) receiver.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver answering 200 on a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared { received: Vec::new(), answer: None }));
        let mut receiver = Self { addr, shared, server: None };
        receiver.serve(listener);
        receiver
    }

    /// The URL to register as an endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// From now on, answer every delivery so.
    pub fn answer(&self, answer: Answer) {
        self.shared.lock().unwrap().answer = Some(answer);
    }

    /// Goes down: the port refuses connections, and open ones are cut.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Comes back on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let mut listener = None;
        for _ in 0..100 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(bound) => {
                    listener = Some(bound);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        self.serve(listener.expect("the receiver's port is free again"));
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let shared = self.shared.clone();
        self.server = Some(tokio::spawn(async move {
            // Connections live in this task's set: aborting the task cuts them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }

    /// Everything received so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Waits until `done` holds for what was received (at most `within`); what was received.
    pub async fn wait_until(&self, within: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver waited {within:?} in vain; it has {received:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for at least `count` deliveries.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        self.wait_until(Duration::from_secs(30), |received| received.len() >= count).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn handle(
    shared: Arc<Mutex<Shared>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header =
        |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let answer = {
        let mut shared = shared.lock().unwrap();
        shared.received.push(Received {
            id,
            timestamp,
            signature,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        shared.answer.clone().unwrap_or(Answer::Status(200, String::new()))
    };
    let (status, body) = match answer {
        Answer::Status(status, body) => (status, body),
        Answer::Slow(status, wait) => {
            tokio::time::sleep(wait).await;
            (status, String::new())
        }
        Answer::Hang => std::future::pending().await,
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    Ok(response)
}
