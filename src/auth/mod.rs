//! Credentials: argon2id hashing off the async runtime, JWTs, and the sessions they name.

pub mod bearer;
pub mod cache;
pub mod one_time;
pub mod password;
pub mod refresh;
pub mod secret;
pub mod session;
pub mod token;

pub use password::{Password, PasswordHasher};
pub use token::{IssuedToken, TokenIssuer};
