//! argon2id with OWASP parameters, run on the blocking pool behind a semaphore.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

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

/// Hashes and verifies passwords without blocking the async runtime or exhausting memory.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    concurrency: usize,
    /// Verified against when the email is unknown, so that both cases cost one hash.
    decoy_hash: String,
}

impl PasswordHasher {
    /// Builds a hasher allowing `concurrency` hashes at once (each holds 19 MiB while it runs).
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_hash = argon
            .hash_password(b"decoy password for unknown accounts")
            .map_err(|e| anyhow::anyhow!("argon2 decoy hash: {e}"))?
            .to_string();
        Ok(Self { argon, permits: Arc::new(Semaphore::new(concurrency)), concurrency, decoy_hash })
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
        work: impl FnOnce(&Argon2<'static>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(Error::internal)?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&argon);
            drop(permit);
            result
        })
        .await
        .map_err(Error::internal)?
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
