//! Parsed documents by their text: a storefront sends the same few operations over and over, and
//! parsing one again each time was a visible share of `me`'s cost. Only documents that passed the
//! cost guard are kept, so a refused document is parsed (and refused) every time.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;

/// Bytes of document text kept at most (a few thousand storefront operations); the oldest unused
/// go first. Parsed, a document takes several times its text, so this bounds the cache to a few
/// tens of MiB whatever clients send.
const CAPACITY_BYTES: u64 = 1024 * 1024;

/// Parsed documents, keyed by their text.
pub struct Documents(moka::sync::Cache<String, Arc<ExecutableDocument>>);

impl Default for Documents {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .build(),
        )
    }
}

impl Documents {
    /// The parsed form of `text`, if it was kept.
    pub fn get(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        self.0.get(text)
    }

    /// Keeps the parsed document of `request`, unless its text is larger than any storefront
    /// operation (then nothing is copied).
    pub fn keep(&self, request: &mut async_graphql::Request) {
        if request.query.len() > super::persisted::MAX_DOCUMENT_BYTES {
            return;
        }
        let text = request.query.clone();
        if let Ok(document) = request.parsed_query() {
            self.0.insert(text, Arc::new(document.clone()));
        }
    }
}
