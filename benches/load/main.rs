//! Load benchmark: starts the real service binary on a fresh database, drives it over HTTP on
//! 127.0.0.1 with a fixed number of busy connections, records every latency in an HDR histogram,
//! and prints figures as ratios to this machine's own limits (argon2's cost, the HTTP ceiling).
//!
//! `cargo bench --bench load [-- --duration 15 --postgres --smoke]`; figures also go to
//! `target/bench/results.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod driver;
mod phases;
mod report;
mod service;
mod webhooks;

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::Parser;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use phases::seed;
use report::print_table;
use service::{Service, hash_ms, parallel_hashes_per_s, service_hash_concurrency, service_hash_nice};

/// The password every seeded customer has.
const PASSWORD: &str = "bench-password-123";

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
    /// Redis for the SQLite run's revocation figure (two replicas need a channel between them).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Requests per second of `me` while logins flood the hasher.
    #[arg(long, default_value_t = 100)]
    flood_me_rate: u64,
    /// Measure this service binary instead of the one built with the harness (another commit's,
    /// another profile's), so two can be compared by the same harness.
    #[arg(long)]
    binary: Option<PathBuf>,
    // `cargo bench` passes `--bench`; accept and ignore it.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Two more replicas of the service on its database whose caches hear of each other's changes:
/// through PostgreSQL's NOTIFY, or on SQLite through Redis when `--redis-url` answers.
async fn revocation_pair(service: &Service, args: &Args) -> anyhow::Result<Option<(Service, Service)>> {
    let url = Some(service.database_url.clone());
    let bus: Vec<(&str, &str)> = if args.postgres {
        Vec::new()
    } else if tokio::net::TcpStream::connect(redis_addr(&args.redis_url)).await.is_ok() {
        vec![("REDIS_URL", args.redis_url.as_str()), ("REDIS_KEY_PREFIX", "ca-bench")]
    } else {
        eprintln!("no Redis at {}: revocation_visible_ms is not measured on SQLite", args.redis_url);
        return Ok(None);
    };
    Ok(Some((Service::start(url.clone(), &bus).await?, Service::start(url, &bus).await?)))
}

/// `host:port` of a `redis://host:port` URL.
fn redis_addr(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| format!("{}:{}", u.host_str().unwrap_or("127.0.0.1"), u.port().unwrap_or(6379)))
        .unwrap_or_else(|| "127.0.0.1:6379".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(binary) = args.binary.take() {
        eprintln!("measuring {}", binary.display());
        let _ = service::BINARY.set(binary);
    }
    if args.smoke {
        args.duration = 1;
        args.customers = args.customers.min(8);
    }
    let phase = Duration::from_secs(args.duration);
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let hash = hash_ms(if args.smoke { 3 } else { 40 });
    let ceiling = cores as f64 / (hash / 1000.0);
    let parallel = parallel_hashes_per_s(cores, Duration::from_secs(if args.smoke { 1 } else { 5 }));
    eprintln!(
        "argon2id hash: {hash:.1} ms; login ceiling {ceiling:.0}/s on {cores} cores; {parallel:.0}/s measured on all at once"
    );

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
    let mut service = Service::start(database_url, &[]).await?;
    let addr = service.addr;
    eprintln!("service on {addr}; seeding {} customers", args.customers);
    let customers = Arc::new(seed(addr, args.customers, "a").await);

    let uncached =
        Service::start(Some(service.database_url.clone()), &[("SESSION_CACHE_TTL_SECONDS", "0")]).await?;
    let revocation = revocation_pair(&service, &args).await?;
    let measured = phases::measure(
        &service,
        &uncached,
        revocation.as_ref(),
        customers.clone(),
        phase,
        args.flood_me_rate,
    )
    .await?;
    drop((uncached, revocation));
    let second = Service::start(Some(service.database_url.clone()), &[]).await?;
    let (me_2, login_2) = phases::two_replicas([service.addr, second.addr], &customers, phase).await;
    drop(second);
    // Its database (and folder) stay for a replica that may deliver to the harness's receiver on
    // 127.0.0.1, which production otherwise refuses.
    service.stop();
    let hooked = Service::start(
        Some(service.database_url.clone()),
        &[("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"), ("WEBHOOK_TIMEOUT_SECONDS", "30")],
    )
    .await?;
    let webhooks = webhooks::measure(&hooked, &customers, phase).await?;
    drop(hooked);
    drop(service);
    if args.postgres {
        let admin = Database::connect(&args.postgres_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{postgres_db}\" WITH (FORCE)")).await?;
    }

    let run = report::Run {
        postgres: args.postgres,
        cores,
        phase_seconds: args.duration,
        smoke: args.smoke,
        hash_ms: hash,
        ceiling,
        parallel_hashes_per_s: parallel,
        flood_me_rate: args.flood_me_rate,
        hash_concurrency: service_hash_concurrency(),
        hash_nice: service_hash_nice(),
    };
    let mut results = report::figures(&run, &measured);
    report::two_replicas(&mut results, &measured, &me_2, &login_2);
    if let Some(webhooks) = &webhooks {
        report::webhooks(&mut results, webhooks);
    }
    report::failures(&measured);
    print_table(&results);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("results.json");
    std::fs::write(&file, serde_json::to_string_pretty(&Value::Object(results))? + "\n")?;
    println!("\nwritten to {}", file.display());
    Ok(())
}
