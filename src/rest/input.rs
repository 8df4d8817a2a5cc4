//! Legacy request bodies: JSON or form fields (legacy clients send both), plus the query string.

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde_json::{Map, Value};

use crate::accounts::fields::{Attribute, Entered, Raw};

/// The fields of a legacy request, whatever encoding they came in.
#[derive(Debug, Default)]
pub struct Fields {
    values: Map<String, Value>,
    /// Every key a handler asked for: what the tests hold the OpenAPI document to.
    #[cfg(test)]
    pub(super) asked: Asked,
}

/// The keys asked of a request's fields (and of its nested objects, as `outer.inner`).
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(super) struct Asked {
    keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    prefix: String,
}

#[cfg(test)]
impl Asked {
    /// The keys asked so far.
    pub(super) fn keys(&self) -> std::collections::BTreeSet<String> {
        self.keys.lock().map(|keys| keys.clone()).unwrap_or_default()
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub struct MalformedBody(pub String);

impl Fields {
    fn new(values: Map<String, Value>) -> Self {
        Self {
            values,
            #[cfg(test)]
            asked: Asked::default(),
        }
    }

    /// Fields holding `values`, recording what is asked of them in `asked`.
    #[cfg(test)]
    pub(super) fn asked(values: Map<String, Value>, asked: Asked) -> Self {
        Self { values, asked }
    }

    /// The value of `key`, if sent (every read goes through here).
    fn get(&self, key: &str) -> Option<&Value> {
        #[cfg(test)]
        if let Ok(mut keys) = self.asked.keys.lock() {
            keys.insert(format!("{}{key}", self.asked.prefix));
        }
        self.values.get(key)
    }

    /// A field as text: strings as given, numbers and booleans spelled out, null and absent as `None`.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A nested object (e.g. `default_billing`), or form fields written `key[sub]`.
    pub fn object(&self, key: &str) -> Option<Fields> {
        let nested = if let Some(Value::Object(map)) = self.get(key) {
            map.clone()
        } else {
            let prefix = format!("{key}[");
            self.values
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&prefix)?.strip_suffix(']').map(|sub| (sub.to_owned(), v.clone()))
                })
                .collect()
        };
        #[cfg(test)]
        let asked = Asked { keys: self.asked.keys.clone(), prefix: format!("{}{key}.", self.asked.prefix) };
        (!nested.is_empty()).then_some(Fields {
            values: nested,
            #[cfg(test)]
            asked,
        })
    }

    /// The customer attributes `named` names in this request, as entered: absent ones are left
    /// out, null ones are cleared, objects and lists are malformed.
    pub fn attributes(&self, named: impl Iterator<Item = (Attribute, &'static str)>) -> Entered {
        named
            .filter_map(|(attribute, name)| {
                let raw = match self.get(name)? {
                    Value::Null => Raw::Clear,
                    Value::String(text) => Raw::Text(text.clone()),
                    Value::Number(number) => Raw::Text(number.to_string()),
                    Value::Bool(flag) => Raw::Flag(*flag),
                    Value::Array(_) | Value::Object(_) => Raw::Malformed,
                };
                Some((attribute, raw))
            })
            .collect()
    }

    /// The raw value, for fields whose type the domain checks.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    fn merge_query(&mut self, query: Option<&str>) {
        for (key, value) in form_urlencoded(query.unwrap_or_default()) {
            self.values.entry(key).or_insert(Value::String(value));
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
            Fields::new(form_urlencoded(text).into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        } else if crate::nesting::json_too_deep(&body, crate::nesting::MAX_NESTING) {
            let max = crate::nesting::MAX_NESTING;
            return Err(MalformedBody(format!("The request body nests values deeper than {max} levels.")));
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => Fields::new(map),
                Ok(_) => return Err(MalformedBody("The request body must be a JSON object.".into())),
                Err(e) => return Err(MalformedBody(format!("The request body is not valid JSON: {e}"))),
            }
        };
        fields.merge_query(query.as_deref());
        Ok(fields)
    }
}
