//! Apollo's automatic persisted queries: a client sends a document's SHA-256 instead of the
//! document, and the document only when the service answers `PERSISTED_QUERY_NOT_FOUND`.
//!
//! Resolved here, before the nesting scan and the cost guard, rather than by async-graphql's
//! extension (which resolves inside execution, after our guard): every document, cached or not,
//! is held to the same bounds for the operation actually run.

use std::{num::NonZeroUsize, sync::Mutex};

use sha2::{Digest as _, Sha256};

/// Documents kept; the oldest unused goes first. A few thousand distinct operations cover any
/// storefront.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(2_048) {
    Some(capacity) => capacity,
    None => NonZeroUsize::MIN,
};

/// The largest document kept. Storefront operations are a few hundred bytes; without this bound a
/// client could fill the cache with 2 048 bodies of `MAX_BODY_BYTES` each (128 MiB). With it the
/// cache holds at most 16 MiB. A larger document still runs; it is just not kept.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;

/// Why a persisted-query request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The hash is unknown: the client should send the document with it.
    NotFound,
    /// The document sent does not have the hash sent with it.
    HashMismatch,
    /// `extensions.persistedQuery` is not `{ "version": 1, "sha256Hash": "<64 hex digits>" }`.
    Unsupported,
}

impl Miss {
    /// `extensions.code`, as Apollo Client expects it.
    pub fn code(self) -> &'static str {
        match self {
            Miss::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Miss::HashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Miss::Unsupported => "PERSISTED_QUERY_NOT_SUPPORTED",
        }
    }

    /// The message Apollo's servers send.
    pub fn message(self) -> &'static str {
        match self {
            Miss::NotFound => "PersistedQueryNotFound",
            Miss::HashMismatch => "provided sha does not match query",
            Miss::Unsupported => "Unsupported persisted query version or hash.",
        }
    }
}

/// The documents seen with a hash, by hash.
pub struct PersistedQueries(Mutex<lru::LruCache<String, String>>);

impl Default for PersistedQueries {
    fn default() -> Self {
        Self(Mutex::new(lru::LruCache::new(CAPACITY)))
    }
}

impl PersistedQueries {
    /// Fills in `request.query` from the cache when it carries only a hash; checks the hash
    /// of a document sent with one. Requests without `extensions.persistedQuery` pass as they are.
    /// Returns the hash to [`remember`](Self::remember) once the document passed the guard.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<Option<String>, Miss> {
        let Some(persisted) = request.extensions.get("persistedQuery") else { return Ok(None) };
        let persisted = persisted.clone().into_json().unwrap_or_default();
        let hash = match (persisted.get("version").and_then(|v| v.as_i64()), persisted.get("sha256Hash")) {
            (Some(1), Some(serde_json::Value::String(hash)))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hash.to_ascii_lowercase()
            }
            _ => return Err(Miss::Unsupported),
        };
        if request.query.trim().is_empty() {
            let cached = self.0.lock().map_err(|_| Miss::NotFound)?.get(&hash).cloned();
            request.query = cached.ok_or(Miss::NotFound)?;
            return Ok(None);
        }
        if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
            return Err(Miss::HashMismatch);
        }
        Ok(Some(hash))
    }

    /// Keeps `document` under `hash` for later requests, if it is at most [`MAX_DOCUMENT_BYTES`].
    pub fn remember(&self, hash: String, document: &str) {
        if document.len() > MAX_DOCUMENT_BYTES {
            return;
        }
        if let Ok(mut cache) = self.0.lock() {
            cache.put(hash, document.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, hash: &str) -> async_graphql::Request {
        let extensions = serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let mut request = async_graphql::Request::new(query);
        request.extensions = serde_json::from_value(extensions).unwrap_or_default();
        request
    }

    #[test]
    fn only_documents_up_to_the_size_bound_are_kept() {
        let cache = PersistedQueries::default();
        for document in
            ["{ __typename }".to_owned(), format!("{{ __typename }} #{}", "x".repeat(MAX_DOCUMENT_BYTES))]
        {
            let hash = hex::encode(Sha256::digest(document.as_bytes()));
            let Ok(Some(persist)) = cache.resolve(&mut request(&document, &hash)) else {
                panic!("hash accepted")
            };
            cache.remember(persist, &document);
            let kept = cache.resolve(&mut request("", &hash)).is_ok();
            assert_eq!(kept, document.len() <= MAX_DOCUMENT_BYTES, "{} bytes", document.len());
        }
    }
}
