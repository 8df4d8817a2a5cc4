//! Load benchmark: starts the real service binary on a fresh database, drives it over HTTP on
//! 127.0.0.1 with a fixed number of busy connections, records every latency in an HDR histogram,
//! and prints figures as ratios to this machine's own limits (argon2's cost, the HTTP ceiling).
//!
//! `cargo bench --bench load [-- --duration 15 --postgres --smoke]`; figures also go to
//! `target/bench/results.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use bytes::Bytes;
use clap::Parser;
use customer_accounts::auth::password::{M_COST_KIB, P_COST, T_COST};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;

const PASSWORD: &str = "bench-password-123";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(about = "Measure the customer-accounts service over real HTTP")]
struct Args {
    /// Seconds per phase.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Run on a fresh PostgreSQL database instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// PostgreSQL server to create the database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// A second or so per phase and few customers: proves the harness works, measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Customers seeded (their tokens rotate in the `me` phase).
    #[arg(long, default_value_t = 100)]
    customers: usize,
    /// Requests per second of `me` while logins flood the hasher.
    #[arg(long, default_value_t = 100)]
    flood_me_rate: u64,
    // `cargo bench` passes `--bench`; accept and ignore it.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One HTTP request to send, built anew for each iteration.
struct Call {
    method: Method,
    path: &'static str,
    body: Option<String>,
    token: Option<String>,
}

type MakeCall = Arc<dyn Fn(u64) -> Call + Send + Sync>;
/// Whether an answer counts as a success.
type Check = Arc<dyn Fn(StatusCode, &[u8]) -> bool + Send + Sync>;

/// Latencies (µs) and counts of one phase.
struct Outcome {
    ok: u64,
    failed: u64,
    /// The first failing answer, to explain a non-zero `failed`.
    first_failure: Option<String>,
    latency: Histogram<u64>,
    elapsed: Duration,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

fn graphql(query: &str, variables: Value) -> Option<String> {
    Some(json!({ "query": query, "variables": variables }).to_string())
}

fn graphql_ok(field: &'static str) -> impl Fn(StatusCode, &[u8]) -> bool {
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
async fn drive(
    addr: SocketAddr,
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

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn send(sender: &mut Sender, call: Call) -> anyhow::Result<(StatusCode, Bytes)> {
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

/// The service process, on its own temporary folder and database.
struct Service {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(database_url: Option<String>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let database_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()));
        let child = Command::new(env!("CARGO_BIN_EXE_customer-accounts"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_ENV", "production")
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0123")
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", dir.path())
            .env("MAIL_DIR", dir.path().join("mail"))
            .env("LISTEN_ADDR", addr.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            // Limits that protect production would measure themselves here; switch them off.
            .env("RATE_LIMIT_PER_MINUTE", "0")
            .env("GRAPHQL_RATE_LIMIT_PER_MINUTE", "0")
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .env("LOGIN_FAILURES_PER_EMAIL", "0")
            .env("MAIL_RESEND_COOLDOWN_SECONDS", "0")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the service binary")?;
        let service = Self { child, addr, _dir: dir };
        for _ in 0..300 {
            if let Ok(mut sender) = connect(addr).await
                && let Ok((StatusCode::OK, _)) = send(&mut sender, get("/ready")).await
            {
                return Ok(service);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the service did not become ready on {addr}")
    }

    /// Resident memory now, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(path: &'static str) -> Call {
    Call { method: Method::GET, path, body: None, token: None }
}

/// The median time of one single-threaded argon2id hash with the service's parameters.
fn hash_ms(samples: usize) -> f64 {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap(),
    );
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            argon.hash_password(PASSWORD.as_bytes()).unwrap();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

async fn seed(addr: SocketAddr, customers: usize, run: &str) -> Vec<(String, String)> {
    let query = "mutation($input: RegisterInput!) { register(input: $input) { token errors { code } } }";
    let mut seeded = Vec::new();
    for chunk in (0..customers).collect::<Vec<_>>().chunks(8) {
        let calls = chunk.iter().map(|i| {
            let email = format!("seed-{run}-{i}@example.com");
            async move {
                let mut sender = connect(addr).await.unwrap();
                let input = json!({ "input": { "email": email, "firstName": "Bench", "lastName": "Seed",
                    "password": PASSWORD, "passwordConfirmation": PASSWORD } });
                let call =
                    Call { method: Method::POST, path: "/graphql", body: graphql(query, input), token: None };
                let (_, body) = send(&mut sender, call).await.unwrap();
                let answer: Value = serde_json::from_slice(&body).unwrap();
                let token = answer["data"]["register"]["token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("seeding {email} failed: {answer}"))
                    .to_owned();
                (email, token)
            }
        });
        seeded.extend(futures::future::join_all(calls).await);
    }
    seeded
}

fn login_call(customers: Arc<Vec<(String, String)>>) -> MakeCall {
    Arc::new(move |i| {
        let (email, _) = &customers[i as usize % customers.len()];
        let query =
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code } } }";
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql(query, json!({ "e": email, "p": PASSWORD })),
            token: None,
        }
    })
}

fn me_call(customers: Arc<Vec<(String, String)>>) -> MakeCall {
    Arc::new(move |i| {
        let (_, token) = &customers[i as usize % customers.len()];
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql("{ me { id email firstName } }", json!({})),
            token: Some(token.clone()),
        }
    })
}

fn me_ok(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["data"]["me"]["id"].is_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.duration = 1;
        args.customers = args.customers.min(8);
    }
    let phase = Duration::from_secs(args.duration);
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let mut results = Map::new();
    let mut put = |key: &str, value: Value| {
        results.insert(key.to_owned(), value);
    };

    let hash = hash_ms(if args.smoke { 3 } else { 21 });
    let ceiling = cores as f64 / (hash / 1000.0);
    eprintln!("argon2id hash: {hash:.1} ms; login ceiling {ceiling:.0}/s on {cores} cores");

    let postgres_db = format!("ca_bench_{}", std::process::id());
    let database_url = if args.postgres {
        let admin = Database::connect(&args.postgres_url).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE \"{postgres_db}\"")).await?;
        let mut url = url::Url::parse(&args.postgres_url)?;
        url.set_path(&postgres_db);
        Some(url.to_string())
    } else {
        None
    };
    let service = Service::start(database_url).await?;
    let addr = service.addr;
    eprintln!("service on {addr}; seeding {} customers", args.customers);
    let customers = Arc::new(seed(addr, args.customers, "a").await);

    eprintln!("phase: health");
    let health =
        drive(addr, 64, phase, None, Arc::new(|_| get("/health")), Arc::new(|s, _| s == StatusCode::OK))
            .await;
    eprintln!("phase: me");
    let me = drive(addr, 64, phase, None, me_call(customers.clone()), Arc::new(me_ok)).await;
    eprintln!("phase: REST GET /api/customer/get");
    let rest_customers = customers.clone();
    let rest_get = drive(
        addr,
        64,
        phase,
        None,
        Arc::new(move |i| {
            let (_, token) = &rest_customers[i as usize % rest_customers.len()];
            Call { method: Method::GET, path: "/api/customer/get", body: None, token: Some(token.clone()) }
        }),
        Arc::new(|status, body| {
            status == StatusCode::OK
                && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["data"]["id"].is_number())
        }),
    )
    .await;
    eprintln!("phase: me at {} req/s, idle", args.flood_me_rate);
    let me_paced =
        drive(addr, 8, phase, Some(args.flood_me_rate), me_call(customers.clone()), Arc::new(me_ok)).await;

    let mut logins = Vec::new();
    for concurrency in [2, 16, 256] {
        eprintln!("phase: login c={concurrency}");
        let outcome = drive(
            addr,
            concurrency,
            phase,
            None,
            login_call(customers.clone()),
            Arc::new(graphql_ok("login")),
        )
        .await;
        logins.push((concurrency, outcome));
    }

    eprintln!("phase: me during a login flood");
    let idle_rss = service.rss_mib();
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, peak, pid) = (sampling.clone(), peak.clone(), service.child.id());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kib) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let flood = tokio::spawn(drive(
        addr,
        256,
        phase,
        None,
        login_call(customers.clone()),
        Arc::new(graphql_ok("login")),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let me_flood =
        drive(addr, 8, phase, Some(args.flood_me_rate), me_call(customers.clone()), Arc::new(me_ok)).await;
    let flood = flood.await?;
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    let peak_rss = peak.load(Ordering::Relaxed) as f64 / 1024.0;

    eprintln!("phase: register");
    let register_query =
        "mutation($input: RegisterInput!) { register(input: $input) { token errors { code } } }";
    let register = drive(
        addr,
        16,
        phase,
        None,
        Arc::new(move |i| {
            let input = json!({ "input": { "email": format!("fresh-{i}@example.com"), "firstName": "Fresh", "lastName": "Bench",
                "password": PASSWORD, "passwordConfirmation": PASSWORD } });
            Call { method: Method::POST, path: "/graphql", body: graphql(register_query, input), token: None }
        }),
        Arc::new(graphql_ok("register")),
    )
    .await;
    eprintln!("phase: updateProfile");
    let update_customers = customers.clone();
    let update = drive(
        addr,
        16,
        phase,
        None,
        Arc::new(move |i| {
            let (_, token) = &update_customers[i as usize % update_customers.len()];
            let query = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { customer { id } errors { code } } }";
            let input = json!({ "input": { "firstName": format!("Name{i}") } });
            Call { method: Method::POST, path: "/graphql", body: graphql(query, input), token: Some(token.clone()) }
        }),
        Arc::new(graphql_ok("updateProfile")),
    )
    .await;
    drop(service);
    if args.postgres {
        let admin = Database::connect(&args.postgres_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{postgres_db}\" WITH (FORCE)")).await?;
    }

    let (_, login_256) = &logins[2];
    let hash_concurrency = cores;
    put("database", json!(if args.postgres { "postgres" } else { "sqlite" }));
    put("cores", json!(cores));
    put("phase_seconds", json!(args.duration));
    put("smoke", json!(args.smoke));
    put("hash_ms", json!(round(hash)));
    put("login_ceiling_per_s", json!(round(ceiling)));
    put("health_rps", json!(round(health.per_second())));
    put("me_rps", json!(round(me.per_second())));
    put("me_p50_ms", json!(round(me.ms(0.5))));
    put("me_p99_ms", json!(round(me.ms(0.99))));
    put("me_failures", json!(me.failed));
    put("rest_get_rps", json!(round(rest_get.per_second())));
    put("rest_get_p99_ms", json!(round(rest_get.ms(0.99))));
    put("rest_get_failures", json!(rest_get.failed));
    put("me_paced_rate_per_s", json!(args.flood_me_rate));
    put("me_paced_p99_ms", json!(round(me_paced.ms(0.99))));
    for (concurrency, outcome) in &logins {
        put(&format!("login_ok_per_s_c{concurrency}"), json!(round(outcome.per_second())));
        put(&format!("login_p99_ms_c{concurrency}"), json!(round(outcome.ms(0.99))));
        put(&format!("login_failures_c{concurrency}"), json!(outcome.failed));
    }
    put("login_ok_per_s", json!(round(login_256.per_second())));
    put("login_p99_ms", json!(round(login_256.ms(0.99))));
    put("login_failures", json!(logins.iter().map(|(_, o)| o.failed).sum::<u64>() + flood.failed));
    put("me_p99_during_login_flood_ms", json!(round(me_flood.ms(0.99))));
    put("me_failures_during_login_flood", json!(me_flood.failed));
    put("login_ok_per_s_during_flood", json!(round(flood.per_second())));
    put("register_per_s", json!(round(register.per_second())));
    put("register_failures", json!(register.failed));
    put("update_profile_per_s", json!(round(update.per_second())));
    put("update_profile_failures", json!(update.failed));
    put("idle_rss_mib", json!(round(idle_rss)));
    put("peak_rss_mib", json!(round(peak_rss)));
    put("hash_concurrency", json!(hash_concurrency));
    put("ratio_login_to_ceiling", json!(ratio(login_256.per_second() / ceiling)));
    put("ratio_me_to_health", json!(ratio(me.per_second() / health.per_second())));
    put("ratio_rest_get_to_me", json!(ratio(rest_get.per_second() / me.per_second())));
    put("ratio_me_p99_flood_to_idle", json!(ratio(me_flood.ms(0.99) / me.ms(0.99))));
    put("ratio_me_p99_flood_to_paced_idle", json!(ratio(me_flood.ms(0.99) / me_paced.ms(0.99))));
    put("ratio_register_to_login", json!(ratio(register.per_second() / login_256.per_second())));
    put("rss_budget_mib", json!(round(idle_rss + hash_concurrency as f64 * 20.0 + 50.0)));

    let phases = [
        ("health", &health),
        ("me", &me),
        ("rest get", &rest_get),
        ("me paced", &me_paced),
        ("login flood", &flood),
    ];
    let phases = phases.into_iter().chain([
        ("me during flood", &me_flood),
        ("register", &register),
        ("updateProfile", &update),
    ]);
    for (name, outcome) in phases.chain(logins.iter().map(|(_, o)| ("login", o))) {
        if let Some(failure) = &outcome.first_failure {
            eprintln!(
                "{name}: {} failed; first: {}",
                outcome.failed,
                failure.chars().take(300).collect::<String>()
            );
        }
    }
    print_table(&results);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("results.json");
    std::fs::write(&file, serde_json::to_string_pretty(&Value::Object(results))? + "\n")?;
    println!("\nwritten to {}", file.display());
    Ok(())
}

/// Two decimals for figures; ratios go through [`ratio`].
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Three decimals: a ratio near its target must not round across it.
fn ratio(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn print_table(results: &Map<String, Value>) {
    println!("\n{:<36} {:>12}", "figure", "value");
    println!("{}", "-".repeat(49));
    for (key, value) in results {
        println!("{key:<36} {:>12}", value.to_string().trim_matches('"'));
    }
}
