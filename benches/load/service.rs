//! The service under test: the real release binary on its own folder and database, and what
//! this machine's argon2 costs with the service's own parameters.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use customer_accounts::auth::password::{M_COST_KIB, P_COST, T_COST};
use hyper::StatusCode;

use crate::{
    PASSWORD,
    driver::{connect, get, send},
};

/// The binary `--binary` names, when it names one.
pub(crate) static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The service process, on its own temporary folder and database.
pub(crate) struct Service {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// The service's database, for seeding what no public call may create (verified addresses).
    pub(crate) database_url: String,
    /// Its environment, for its command line.
    environment: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

/// The binary measured: `--binary`'s, or the one built with the harness.
fn binary() -> &'static std::ffi::OsStr {
    BINARY.get().map_or(env!("CARGO_BIN_EXE_customer-accounts").as_ref(), |b| b.as_os_str())
}

impl Service {
    /// Starts the binary on `database_url` (a new SQLite file when `None`) with `env` on top of
    /// the benchmark's settings.
    pub(crate) async fn start(database_url: Option<String>, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let database_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()));
        let path = |p: &std::path::Path| p.display().to_string();
        let mut environment: Vec<(String, String)> = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("APP_ENV", "production".to_owned()),
            ("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0123".to_owned()),
            ("DATABASE_URL", database_url.clone()),
            ("DATA_DIR", path(dir.path())),
            ("MAIL_DIR", path(&dir.path().join("mail"))),
            ("LISTEN_ADDR", addr.to_string()),
            // Replicas behind one address: a token one issues, every other accepts.
            ("PUBLIC_URL", "http://accounts.bench".to_owned()),
            ("LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
            // Limits that protect production would measure themselves here; switch them off.
            ("RATE_LIMIT_PER_MINUTE", "0".to_owned()),
            ("GRAPHQL_RATE_LIMIT_PER_MINUTE", "0".to_owned()),
            ("AUTH_RATE_LIMIT_PER_MINUTE", "0".to_owned()),
            ("LOGIN_FAILURES_PER_EMAIL", "0".to_owned()),
            ("MAIL_RESEND_COOLDOWN_SECONDS", "0".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        for passed in ["HASH_CONCURRENCY", "HASH_NICE"] {
            if let Ok(value) = std::env::var(passed) {
                environment.push((passed.to_owned(), value));
            }
        }
        environment.extend(env.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
        let child = Command::new(binary())
            .env_clear()
            .envs(environment.iter().map(|(name, value)| (name, value)))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the service binary")?;
        let service = Self { child, addr, database_url, environment, _dir: dir };
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

    /// Runs the binary's command line (`webhook create …`) with the service's environment.
    pub(crate) fn cli(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        Ok(Command::new(binary())
            .env_clear()
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .args(args)
            .output()?)
    }

    /// Resident memory now, in MiB.
    pub(crate) fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Service {
    /// Stops the process; its folder and database stay until it is dropped.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One thread's argon2id with the service's parameters and one reused block buffer, as each of
/// the service's hashing threads has.
struct Hasher {
    argon: Argon2<'static>,
    memory: Vec<Block>,
}

impl Hasher {
    fn new() -> Self {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap();
        let memory = vec![Block::new(); params.block_count()];
        Self { argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params), memory }
    }

    fn hash(&mut self) {
        let mut output = [0u8; 32];
        self.argon
            .hash_password_into_with_memory(
                PASSWORD.as_bytes(),
                b"bench-salt-16byt",
                &mut output,
                &mut self.memory,
            )
            .unwrap();
    }
}

/// The fastest of `samples` single-threaded hashes, in milliseconds: what one hash costs this
/// machine when nothing else is in the way.
pub(crate) fn hash_ms(samples: usize) -> f64 {
    let mut hasher = Hasher::new();
    (0..samples)
        .map(|_| {
            let started = Instant::now();
            hasher.hash();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// Hashes per second of `threads` threads hashing at once for `duration`: what the cores achieve
/// together, sharing the memory bus (the ceiling assumes they share nothing).
pub(crate) fn parallel_hashes_per_s(threads: usize, duration: Duration) -> f64 {
    let started = Instant::now();
    let counts: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut hasher = Hasher::new();
                let mut hashes = 0u64;
                while started.elapsed() < duration {
                    hasher.hash();
                    hashes += 1;
                }
                hashes
            })
        })
        .collect();
    let total: u64 = counts.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// The hashing threads the service runs: `HASH_CONCURRENCY` (passed through to it) or the
/// service's own default, computed by the service's own code rather than assumed.
pub(crate) fn service_hash_concurrency() -> usize {
    let configured = std::env::var("HASH_CONCURRENCY").ok().and_then(|v| v.parse().ok());
    let mut settings = customer_accounts::config::Settings::default();
    settings.auth.hash_concurrency = configured;
    settings.hash_concurrency()
}

/// The hashing threads' nice value: `HASH_NICE` (passed through to the service) or its default.
pub(crate) fn service_hash_nice() -> u8 {
    std::env::var("HASH_NICE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(customer_accounts::config::Settings::default().auth.hash_nice)
}
