//! HS256 access tokens naming a session; algorithm and claims pinned on the way in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The audience every token is issued for and checked against.
pub const AUDIENCE: &str = "customer-accounts";
/// Clock skew tolerated between servers, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// What a token says. Every field is required: a token missing one does not decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Customer id.
    pub sub: String,
    /// Session id.
    pub sid: Uuid,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// Issuer: the public URL.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// A signed token and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its `exp`.
    pub expires_at: DateTime<Utc>,
}

/// How many verified tokens are remembered: a few hundred bytes each, so a few MiB at most.
const VERIFIED_CAPACITY: u64 = 16_384;

/// Signs and checks access tokens with one secret.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl: chrono::Duration,
    /// Tokens whose signature and claims were checked, by their exact text. A storefront sends
    /// the same token with every request, and checking its signature again proves nothing new;
    /// only expiry changes with time, and it is checked on every use. Only tokens that passed
    /// are kept, so a caller cannot fill this with forgeries.
    verified: moka::sync::Cache<String, Arc<Claims>>,
}

impl TokenIssuer {
    /// An issuer for `issuer` (the public URL) signing with `secret`, tokens living `ttl`.
    pub fn new(secret: &[u8], issuer: String, ttl: std::time::Duration) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer,
            ttl: chrono::Duration::from_std(ttl)?,
            // A token outlives its `ttl` by the leeway only; past that it would be refused anyway.
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(ttl + std::time::Duration::from_secs(LEEWAY_SECONDS))
                .build(),
        })
    }

    /// A token for `customer_id`'s session `session_id`, issued at `now`.
    pub fn issue(&self, customer_id: i64, session_id: Uuid, now: DateTime<Utc>) -> Result<IssuedToken> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: customer_id.to_string(),
            sid: session_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The claims of a well-formed, correctly signed, unexpired token for us; `None` otherwise.
    pub fn verify(&self, token: &str) -> Option<Arc<Claims>> {
        self.verify_at(token, Utc::now().timestamp())
    }

    /// [`Self::verify`] at unix time `now` for what is remembered (the signature check itself
    /// reads the clock).
    fn verify_at(&self, token: &str, now: i64) -> Option<Arc<Claims>> {
        if let Some(claims) = self.verified.get(token) {
            return (claims.exp >= now - LEEWAY_SECONDS as i64).then_some(claims);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        // A token from the future is forged or from a broken clock: refuse it.
        if claims.iat > now + LEEWAY_SECONDS as i64 {
            return None;
        }
        let claims = Arc::new(claims);
        self.verified.insert(token.to_owned(), claims.clone());
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn issuer() -> anyhow::Result<TokenIssuer> {
        TokenIssuer::new(
            b"test-secret-test-secret-test-secret",
            "http://accounts.test".into(),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn a_remembered_token_still_expires() -> anyhow::Result<()> {
        let tokens = issuer()?;
        let issued = tokens.issue(7, Uuid::new_v4(), Utc::now())?;
        let now = Utc::now().timestamp();
        assert_eq!(tokens.verify_at(&issued.token, now).map(|c| c.sub.clone()).as_deref(), Some("7"));
        let past_leeway = issued.expires_at.timestamp() + LEEWAY_SECONDS as i64 + 1;
        assert!(tokens.verify_at(&issued.token, past_leeway).is_none(), "expired, remembered or not");
        Ok(())
    }

    #[test]
    fn a_tampered_copy_of_a_remembered_token_is_refused() -> anyhow::Result<()> {
        let tokens = issuer()?;
        let issued = tokens.issue(7, Uuid::new_v4(), Utc::now())?;
        assert!(tokens.verify(&issued.token).is_some());
        // A character inside the signature: the last one carries bits the decoding may ignore.
        let at = issued.token.len() - 10;
        let flipped = if &issued.token[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &issued.token[..at], &issued.token[at + 1..]);
        assert!(tokens.verify(&tampered).is_none());
        let (header_and_claims, _) =
            issued.token.rsplit_once('.').ok_or_else(|| anyhow::anyhow!("a JWT has three parts"))?;
        assert!(tokens.verify(&format!("{header_and_claims}.")).is_none(), "no signature");
        Ok(())
    }
}
