//! Random bearer secrets (emailed tokens, opaque session tokens, API keys, the development JWT
//! key) and the digest they are stored as: the database never holds a usable secret.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::Rng as _;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS-seeded CSPRNG, URL-safe base64 without padding
/// (4 characters per 3 bytes).
pub fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// The stored form of a secret: SHA-256, hex. Secrets are random and long, so no salt or slow
/// hash is needed.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_hex_sha256_and_never_the_secret() {
        let stored = digest("token");
        assert_eq!(stored.len(), 64);
        assert_ne!(stored, "token");
        assert_eq!(stored, digest("token"));
    }

    #[test]
    fn random_secrets_have_the_asked_strength_and_differ() {
        assert_eq!(random(30).len(), 40);
        assert_eq!(random(32).len(), 43);
        assert_ne!(random(32), random(32));
    }
}
