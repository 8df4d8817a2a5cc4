//! argon2id with OWASP parameters, on a bounded pool of low-priority threads.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Memory cost in KiB (19 MiB), time cost and parallelism: OWASP's argon2id recommendation.
pub const M_COST_KIB: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;

/// A password as received: redacted in `Debug`, zeroized on drop.
#[derive(Clone, Debug)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password received from a client.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The characters, for validation and hashing only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Password {
    fn from(raw: String) -> Self {
        Self::new(raw)
    }
}

/// Work for a hashing thread; it answers through a channel the caller awaits.
type Job = Box<dyn FnOnce(&Argon2<'static>) + Send>;

/// Hashes and verifies passwords on a fixed pool of low-priority threads.
///
/// The pool size bounds memory (each running hash holds 19 MiB, and each thread's allocator keeps
/// at most one such block) and CPU: the threads run at the lowest priority, so a login flood takes
/// only the CPU that request handling leaves idle and cannot stall other requests.
pub struct PasswordHasher {
    queue: mpsc::Sender<Job>,
    concurrency: usize,
    /// Verified against when the email is unknown, so that both cases cost one hash.
    decoy_hash: String,
}

impl PasswordHasher {
    /// Starts `concurrency` hashing threads.
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_hash = argon
            .hash_password(b"decoy password for unknown accounts")
            .map_err(|e| anyhow::anyhow!("argon2 decoy hash: {e}"))?
            .to_string();
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..concurrency {
            let (argon, jobs) = (argon.clone(), Arc::clone(&jobs));
            std::thread::Builder::new().name(format!("argon2-{index}")).spawn(move || work(&argon, &jobs))?;
        }
        Ok(Self { queue, concurrency, decoy_hash })
    }

    /// How many hashes may run at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.clone();
        self.run(move |argon| {
            argon
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| Error::internal(anyhow::anyhow!("argon2 hash: {e}")))
        })
        .await
    }

    /// Whether `password` matches `stored`; with no stored hash, spends the same work and says no.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool> {
        let password = password.clone();
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.decoy_hash).to_owned();
        self.run(move |argon| {
            let matches = argon.verify_password(password.expose().as_bytes(), hash.as_str()).is_ok();
            Ok(known && matches)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Argon2<'static>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |argon| {
            // A caller that gave up (timeout, closed connection) no longer needs the work.
            if !reply.is_closed() {
                let _ = reply.send(job(argon));
            }
        });
        self.queue.send(job).map_err(|_| Error::internal(anyhow::anyhow!("the hashing pool has stopped")))?;
        answer.await.map_err(|_| Error::internal(anyhow::anyhow!("a hashing job failed")))?
    }
}

/// A hashing thread: lowest CPU priority, then jobs until the hasher is dropped.
fn work(argon: &Argon2<'static>, jobs: &Mutex<mpsc::Receiver<Job>>) {
    if let Err(err) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
        tracing::warn!(error = ?err, "cannot lower the hashing threads' priority");
    }
    loop {
        let next = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // A panic drops the job's reply (its caller gets an internal error); the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(argon)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(1).unwrap();
        let password = Password::new("correct horse");
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&Password::new("wrong horse"), Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies_even_with_the_decoy_password() {
        let hasher = PasswordHasher::new(1).unwrap();
        let decoy = Password::new("decoy password for unknown accounts");
        assert!(!hasher.verify(&decoy, None).await.unwrap());
    }

    #[test]
    fn password_debug_output_is_redacted() {
        let shown = format!("{:?}", Password::new("hunter22"));
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
