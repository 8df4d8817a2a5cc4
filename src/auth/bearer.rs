//! Who is calling: the bearer credential an HTTP request carries.

use axum::http::HeaderMap;
use axum_extra::headers::{Authorization, HeaderMapExt as _, authorization::Bearer};

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let token = headers.typed_get::<Authorization<Bearer>>()?.token().trim().to_owned();
    (!token.is_empty()).then_some(token)
}
