//! argon2id with OWASP parameters, on a bounded pool of low-priority threads.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHasher as _, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Memory cost in KiB (19 MiB), time cost and parallelism: OWASP's argon2id recommendation.
pub const M_COST_KIB: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;

/// A password as received, normalised to Unicode NFKC (NIST SP 800-63B §5.1.1.2): the same
/// password typed on another keyboard or platform (composed or decomposed accents, full-width
/// letters) is the same password, and is judged and hashed as such. Redacted in `Debug`,
/// zeroized on drop.
#[derive(Clone, Debug)]
pub struct Password {
    normalized: SecretString,
    /// The characters as received, when normalising changed them: a hash stored before
    /// passwords were normalised may have been made of this form.
    as_received: Option<SecretString>,
}

impl Password {
    /// Wraps a password received from a client.
    pub fn new(raw: impl Into<String>) -> Self {
        use unicode_normalization::UnicodeNormalization as _;
        let raw = zeroize::Zeroizing::new(raw.into());
        let normalized: String = raw.nfkc().collect();
        let as_received = (normalized != *raw).then(|| SecretString::from(raw.as_str()));
        Self { normalized: SecretString::from(normalized), as_received }
    }

    /// The normalised characters, for validation and hashing only.
    pub fn expose(&self) -> &str {
        self.normalized.expose_secret()
    }
}

impl From<String> for Password {
    fn from(raw: String) -> Self {
        Self::new(raw)
    }
}

/// Work for a hashing thread; it answers through a channel the caller awaits.
type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// One hashing thread's argon2 and its block buffer, reused by every hash the thread computes:
/// allocating 19 MiB per hash let the allocator's footprint grow with each login.
pub struct Engine {
    params: Params,
    memory: Vec<Block>,
}

impl Engine {
    fn new(params: Params) -> Self {
        let memory = vec![Block::new(); params.block_count()];
        Self { params, memory }
    }

    /// A PHC string for `password` with a fresh 128-bit salt.
    fn hash(&mut self, password: &[u8]) -> argon2::password_hash::Result<String> {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password_into_with_memory(password, &salt, &mut output, &mut self.memory)?;
        let hash = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)?,
            salt: Some(Salt::new(&salt)?),
            hash: Some(Output::new(&output)?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` produces `stored` (with the parameters `stored` names).
    fn verify(&mut self, password: &[u8], stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else { return false };
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
        let (Ok(params), Ok(algorithm)) =
            (Params::try_from(&hash), Algorithm::try_from(hash.algorithm.as_str()))
        else {
            return false;
        };
        let Ok(version) = hash.version.map_or(Ok(Version::V0x13), Version::try_from) else { return false };
        let mut output = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        let computed = if params.block_count() == self.memory.len() {
            argon.hash_password_into_with_memory(password, salt.as_ref(), &mut output, &mut self.memory)
        } else {
            // A hash made with other parameters (before a change of them) still verifies.
            argon.hash_password_into(password, salt.as_ref(), &mut output)
        };
        // Output's equality is constant-time.
        computed.is_ok() && Output::new(&output).is_ok_and(|output| &output == expected)
    }
}

/// Hashes and verifies passwords on a fixed pool of lower-priority threads.
///
/// The pool size bounds memory (each running hash holds 19 MiB, and each thread's allocator keeps
/// at most one such block) and CPU: the threads run at nice `HASH_NICE` (14 by default), so
/// request handling comes first in a login flood, yet logins keep a share under a read storm.
pub struct PasswordHasher {
    queue: mpsc::Sender<Job>,
    /// Verified against when the email is unknown, so that both cases cost one hash.
    decoy_hash: String,
}

impl PasswordHasher {
    /// Starts `concurrency` hashing threads at nice value `nice`.
    pub fn new(concurrency: usize, nice: u8) -> anyhow::Result<Self> {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let decoy_hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"decoy password for unknown accounts")
            .map_err(|e| anyhow::anyhow!("argon2 decoy hash: {e}"))?
            .to_string();
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..concurrency {
            let (params, jobs) = (params.clone(), Arc::clone(&jobs));
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(params, nice, &jobs))?;
        }
        Ok(Self { queue, decoy_hash })
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.clone();
        self.run(move |engine| {
            engine
                .hash(password.expose().as_bytes())
                .map_err(|e| Error::internal(anyhow::anyhow!("argon2 hash: {e}")))
        })
        .await
    }

    /// Whether `password` matches `stored`; with no stored hash, spends the same work and says no.
    ///
    /// A password that normalising changed is also tried as received, for hashes stored before
    /// passwords were normalised; that second run happens whether or not the account exists, so
    /// it tells nothing about which addresses have one.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool> {
        let password = password.clone();
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.decoy_hash).to_owned();
        self.run(move |engine| {
            let matches = engine.verify(password.expose().as_bytes(), &hash)
                || password
                    .as_received
                    .as_ref()
                    .is_some_and(|raw| engine.verify(raw.expose_secret().as_bytes(), &hash));
            Ok(matches && known)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let queued = std::time::Instant::now();
        metrics::gauge!("password_hash_queue_depth").increment(1.0);
        let job: Job = Box::new(move |engine| {
            metrics::gauge!("password_hash_queue_depth").decrement(1.0);
            metrics::histogram!("password_hash_wait_seconds").record(queued.elapsed());
            // A caller that gave up (timeout, closed connection) no longer needs the work.
            if !reply.is_closed() {
                let _ = reply.send(job(engine));
            }
        });
        self.queue.send(job).map_err(|_| Error::internal(anyhow::anyhow!("the hashing pool has stopped")))?;
        answer.await.map_err(|_| Error::internal(anyhow::anyhow!("a hashing job failed")))?
    }
}

/// A hashing thread: its nice value, then jobs until the hasher is dropped.
fn work(params: Params, nice: u8, jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut engine = Engine::new(params);
    // A nice value, not Linux's idle scheduling class: the idle class starves hashing outright
    // whenever anything else keeps the cores busy. Measured (README, Performance), nice 19 left
    // logins about a third of their solo rate under a read storm, and 10 or lower doubled `me`'s
    // p99 in a login flood; 14 is the compromise. On Linux the nice value is per thread.
    if let Err(err) = rustix::process::setpriority_process(None, i32::from(nice)) {
        tracing::warn!(error = %err, nice, "cannot set the hashing threads' nice value");
    }
    loop {
        let next = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // A panic drops the job's reply (its caller gets an internal error); the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut engine)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_owasp_parameters_and_verify() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 0)?;
        let password = Password::new("correct horse");
        let hash = hasher.hash(&password).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await?);
        assert!(!hasher.verify(&Password::new("wrong horse"), Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_made_elsewhere_with_other_parameters_still_verify() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 0)?;
        let older = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 3, 1, None).map_err(anyhow::Error::msg)?,
        )
        .hash_password(b"legacy password")
        .map_err(anyhow::Error::msg)?
        .to_string();
        assert!(hasher.verify(&Password::new("legacy password"), Some(&older)).await?);
        assert!(!hasher.verify(&Password::new("other password"), Some(&older)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_hashing_thread_runs_at_the_configured_nice_value() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 13)?;
        let nice =
            hasher.run(|_| rustix::process::getpriority_process(None).map_err(Error::internal)).await?;
        assert_eq!(nice, 13);
        let caller = rustix::process::getpriority_process(None)?;
        assert_ne!(caller, 13, "only the hashing threads are niced, not the whole process");
        Ok(())
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies_even_with_the_decoy_password() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 0)?;
        let decoy = Password::new("decoy password for unknown accounts");
        assert!(!hasher.verify(&decoy, None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_password_typed_composed_or_decomposed_or_full_width_is_one_password() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 0)?;
        let composed = Password::new("caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e");
        let decomposed = Password::new("cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e");
        assert_eq!(composed.expose(), decomposed.expose());
        let hash = hasher.hash(&composed).await?;
        assert!(hasher.verify(&decomposed, Some(&hash)).await?);
        assert_eq!(Password::new("\u{ff30}\u{ff41}\u{ff53}\u{ff53}").expose(), "Pass", "full-width letters");
        Ok(())
    }

    #[tokio::test]
    async fn a_hash_made_of_the_unnormalised_form_before_normalising_still_verifies() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, 0)?;
        let raw = "\u{ff30}\u{ff41}\u{ff53}\u{ff53} word";
        let mut engine =
            Engine::new(Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(anyhow::Error::msg)?);
        let legacy = engine.hash(raw.as_bytes()).map_err(anyhow::Error::msg)?;
        assert!(hasher.verify(&Password::new(raw), Some(&legacy)).await?);
        assert!(!hasher.verify(&Password::new("Pass word!"), Some(&legacy)).await?);
        Ok(())
    }

    #[test]
    fn password_debug_output_is_redacted() {
        let shown = format!("{:?}", Password::new("hunter22"));
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
