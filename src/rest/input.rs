//! Legacy request bodies: JSON or form fields (legacy clients send both), plus the query string.

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde_json::{Map, Value};

/// The fields of a legacy request, whatever encoding they came in.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

/// Why a body could not be read.
#[derive(Debug)]
pub struct MalformedBody(pub String);

impl Fields {
    /// A field as text: strings as given, numbers and booleans spelled out, null and absent as `None`.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Whether the client sent `key` at all (even as null).
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A nested object (e.g. `default_billing`), or form fields written `key[sub]`.
    pub fn object(&self, key: &str) -> Option<Fields> {
        if let Some(Value::Object(map)) = self.0.get(key) {
            return Some(Fields(map.clone()));
        }
        let prefix = format!("{key}[");
        let nested: Map<String, Value> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)?.strip_suffix(']').map(|sub| (sub.to_owned(), v.clone()))
            })
            .collect();
        (!nested.is_empty()).then_some(Fields(nested))
    }

    /// The raw value, for fields whose type the domain checks.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    fn merge_query(&mut self, query: Option<&str>) {
        for (key, value) in form_urlencoded(query.unwrap_or_default()) {
            self.0.entry(key).or_insert(Value::String(value));
        }
    }
}

fn form_urlencoded(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = MalformedBody;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().map(str::to_owned);
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default();
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| MalformedBody(format!("The request body could not be read: {}", e.body_text())))?;
        let mut fields = if body.iter().all(u8::is_ascii_whitespace) {
            Fields::default()
        } else if content_type == "application/x-www-form-urlencoded" {
            let text = std::str::from_utf8(&body)
                .map_err(|_| MalformedBody("The form body is not UTF-8.".into()))?;
            Fields(form_urlencoded(text).into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        } else if crate::nesting::json_too_deep(&body, crate::nesting::MAX_NESTING) {
            let max = crate::nesting::MAX_NESTING;
            return Err(MalformedBody(format!("The request body nests values deeper than {max} levels.")));
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => Fields(map),
                Ok(_) => return Err(MalformedBody("The request body must be a JSON object.".into())),
                Err(e) => return Err(MalformedBody(format!("The request body is not valid JSON: {e}"))),
            }
        };
        fields.merge_query(query.as_deref());
        Ok(fields)
    }
}
