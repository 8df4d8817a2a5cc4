//! HS256 access tokens naming a session; algorithm and claims pinned on the way in.

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

/// Signs and checks access tokens with one secret.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl: chrono::Duration,
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
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        // A token from the future is forged or from a broken clock: refuse it.
        let issued_in_future = claims.iat > Utc::now().timestamp() + LEEWAY_SECONDS as i64;
        (!issued_in_future).then_some(claims)
    }
}
