//! `/graphql` over HTTP: JSON-only POST, query-only GET, no batches, GraphQL-over-HTTP answers.
//!
//! Every request is bounded before anything recursive touches it: the body, variables and
//! document are scanned for nesting, then the parsed document's cost is computed (fragments
//! memoized) before async-graphql validates or executes it.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection};
use async_graphql_axum::GraphQLResponse;
use axum::{
    Extension, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use super::{
    AppSchema,
    persisted::{Miss, PersistedQueries},
};
use super::{
    context::{Credentials, RefreshCookie, Storefront},
    guard::{self, DocumentLimits},
};
use crate::{
    accounts::{self, Origin},
    auth::bearer::bearer_token,
    nesting::{self, MAX_NESTING},
    state::AppState,
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// What the `/graphql` handlers share: the state, the schema built over it, and the persisted
/// queries seen.
#[derive(Clone)]
pub struct Doors {
    /// The service state.
    state: AppState,
    /// The GraphQL schema over that state.
    schema: AppSchema,
    /// Documents by hash (automatic persisted queries).
    persisted: std::sync::Arc<PersistedQueries>,
    /// Parsed documents by text.
    documents: std::sync::Arc<super::documents::Documents>,
}

/// `/graphql` (GET and POST), with its per-IP request limit.
pub fn routes(state: AppState) -> Router {
    let doors = Doors {
        schema: super::build(state.clone()),
        state,
        persisted: Default::default(),
        documents: Default::default(),
    };
    let playground = doors.state.settings.graphiql_enabled();
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route_layer(axum::middleware::from_fn_with_state(doors.clone(), rate_limit))
        .with_state(doors);
    // The playground's files are not GraphQL requests: they do not count against the limit.
    if playground { router.route("/graphql/assets/{file}", get(super::graphiql::asset)) } else { router }
}

/// `/graphql` requests per client IP; over the limit a GraphQL-shaped 429.
async fn rate_limit(
    State(doors): State<Doors>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limits = &doors.state.limits;
    crate::limits::limited(request, next, |ip| limits.graphql_request(ip), too_many_requests).await
}

/// A refusal before execution, shaped like a GraphQL response.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

/// 429 for a client over the `/graphql` request limit, worded and timed as the error says.
fn too_many_requests(retry_after: std::time::Duration) -> Response {
    let err = crate::error::Error::RateLimited(retry_after);
    let mut response = refuse(err.status(), err.graphql_code(), &err.message());
    let seconds = crate::error::whole_seconds(retry_after);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn too_deep() -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        "INPUT_TOO_DEEP",
        &format!("The request nests values deeper than {MAX_NESTING} levels."),
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn accepts_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|mime| mime.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE)))
}

/// A persisted-query request that cannot be served, shaped as Apollo Client expects.
fn persisted_miss(miss: Miss) -> Response {
    let status = if miss == Miss::NotFound { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    refuse(status, miss.code(), miss.message())
}

/// Whether `response` failed as a whole request (a document that does not parse or validate,
/// variables that do not coerce): no data, and no error that names a field's path.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// What an operation is called in the metrics: the root field it selects (`me`, `login`), which
/// the schema bounds, rather than the client's operation name, which nobody bounds; `multiple`
/// for several (their combinations would multiply the series).
fn operation_label(document: &ExecutableDocument, name: Option<&str>) -> (String, &'static str) {
    let operation = match &document.operations {
        DocumentOperations::Single(op) => Some(&op.node),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.iter().find(|(n, _)| n.as_str() == name).map(|(_, op)| &op.node),
            // One named operation runs without `operationName`.
            None if ops.len() == 1 => ops.values().next().map(|op| &op.node),
            None => None,
        },
    };
    let Some(operation) = operation else { return ("invalid".to_owned(), "unknown") };
    let kind = match operation.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let mut fields: Vec<&str> = operation
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|selection| match &selection.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        })
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let label = match fields.as_slice() {
        [] => "fragments".to_owned(),
        [field] => (*field).to_owned(),
        _ => "multiple".to_owned(),
    };
    (label, kind)
}

/// Counts and times one executed operation; `invalid` when the document named no real field.
fn record_operation(
    label: String,
    kind: &'static str,
    response: &async_graphql::Response,
    took: std::time::Duration,
) {
    let (label, outcome) = if is_request_error(response) {
        ("invalid".to_owned(), "request_error")
    } else if response.errors.is_empty() {
        (label, "ok")
    } else {
        (label, "error")
    };
    metrics::counter!("graphql_operations_total", "operation" => label.clone(), "type" => kind, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("graphql_operation_duration_seconds", "operation" => label, "type" => kind)
        .record(took);
}

/// Bounds the request (nesting, then cost), runs it, and answers in the media type asked for.
/// `persist` is the hash to keep the document under once it passed the bounds.
async fn execute(
    doors: &Doors,
    origin: Origin,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
    persist: Option<String>,
) -> Response {
    if nesting::document_too_deep(&request.query, MAX_NESTING) {
        return too_deep();
    }
    let settings = &doors.state.settings;
    let limits = DocumentLimits {
        max_complexity: settings.graphql.max_complexity,
        max_depth: settings.graphql.max_depth,
    };
    let operation = request.operation_name.clone();
    let parsed_before = doors.documents.get(&request.query);
    if let Some(document) = &parsed_before {
        request.set_parsed_query(ExecutableDocument::clone(document));
    }
    // A document that does not parse is left to execution, which reports the syntax error.
    if let Ok(document) = request.parsed_query()
        && let Err(refusal) = guard::check(document, operation.as_deref(), limits)
    {
        // GraphQL-over-HTTP: a validation failure is 400 for clients of the newer media type.
        let status = if accepts_graphql_response(headers) { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return refuse(status, refusal.code(), &refusal.message());
    }
    if let Some(hash) = persist {
        doors.persisted.remember(hash, &request.query);
    }
    if parsed_before.is_none() {
        doors.documents.keep(&mut request);
    }
    let (label, kind) = request.parsed_query().map_or(("invalid".to_owned(), "unknown"), |document| {
        operation_label(document, operation.as_deref())
    });
    let started = std::time::Instant::now();
    let refresh_cookie = axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(super::sessions::REFRESH_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    // An API key as the bearer names the shop; only a customer's token is a credential.
    let bearer = bearer_token(headers);
    let (credentials, bearer_key) = match bearer {
        Some(token) if accounts::looks_like_api_key(&token) => (None, Some(token)),
        other => (other, None),
    };
    let project_key = headers
        .get("x-project-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .or(bearer_key);
    let request = request
        .data(Credentials(credentials))
        .data(Storefront::new(project_key))
        .data(RefreshCookie(refresh_cookie))
        .data(origin);
    let response = doors.schema.execute(request).await;
    record_operation(label, kind, &response, started.elapsed());
    // GraphQL-over-HTTP: with the newer media type, a request error is a 400 without `data`.
    if accepts_graphql_response(headers) && is_request_error(&response) {
        let body = json!({ "errors": response.errors });
        let mut answer = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPHQL_RESPONSE));
        return answer;
    }
    let mut answer = GraphQLResponse::from(response).into_response();
    if !accepts_graphql_response(headers) {
        answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    answer
}

/// `POST /graphql`: executes one JSON-encoded request.
async fn graphql_post(
    State(doors): State<Doors>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Only JSON: a cross-site form or text/plain post cannot reach a mutation.
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST bodies must be application/json.",
        );
    }
    // In cookie mode a browser sends the refresh cookie with whatever a page posts, and a login
    // sets one: a page of a foreign origin must not drive either (login CSRF).
    if doors.state.settings.auth.refresh_token_cookie && foreign_page(&doors.state, &headers) {
        return refuse(StatusCode::FORBIDDEN, "FORBIDDEN", "Requests from this origin are not accepted.");
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return refuse(StatusCode::BAD_REQUEST, "BATCH_NOT_SUPPORTED", "Batch requests are not supported.");
    }
    if nesting::json_too_deep(&body, MAX_NESTING) {
        return too_deep();
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(mut request) => match doors.persisted.resolve(&mut request) {
            Ok(persist) => execute(&doors, origin, &headers, request, persist).await,
            Err(miss) => persisted_miss(miss),
        },
        Err(err) => refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &format!("The body is not a GraphQL request: {err}"),
        ),
    }
}

/// Whether the request names an `Origin` that is neither `PUBLIC_URL`'s nor a storefront's.
/// Requests without one (server-side clients, same-origin navigation) are not pages of another site.
fn foreign_page(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .is_some_and(|origin| origin.to_str().map_or(true, |o| !state.page_origins.iter().any(|p| p == o)))
}

/// Why a GET's query string carries no usable request.
enum BadQueryString {
    /// `variables` or `extensions` nest deeper than [`MAX_NESTING`].
    TooDeep,
    /// The named parameter is not a JSON object.
    NotAnObject(&'static str),
}

impl IntoResponse for BadQueryString {
    fn into_response(self) -> Response {
        match self {
            BadQueryString::TooDeep => too_deep(),
            BadQueryString::NotAnObject(name) => refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("The `{name}` parameter is not a JSON object."),
            ),
        }
    }
}

/// The request a GET carries in its query string; `Ok(None)` when it carries none.
fn request_from_query(uri: &Uri) -> Result<Option<async_graphql::Request>, BadQueryString> {
    let mut query = None;
    let mut request = async_graphql::Request::new("");
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "query" => query = Some(value.into_owned()),
            "operationName" if !value.is_empty() => request.operation_name = Some(value.into_owned()),
            "variables" | "extensions" if !value.trim().is_empty() => {
                if nesting::json_too_deep(value.as_bytes(), MAX_NESTING) {
                    return Err(BadQueryString::TooDeep);
                }
                if key == "variables" {
                    request.variables =
                        serde_json::from_str(&value).map_err(|_| BadQueryString::NotAnObject("variables"))?;
                } else {
                    request.extensions = serde_json::from_str(&value)
                        .map_err(|_| BadQueryString::NotAnObject("extensions"))?;
                }
            }
            _ => {}
        }
    }
    // A persisted query's hash in `extensions` stands for the document.
    if query.is_none() && request.extensions.is_empty() {
        return Ok(None);
    }
    request.query = query.unwrap_or_default();
    Ok(Some(request))
}

/// `GET /graphql`: GraphiQL for browsers, otherwise a query (never a mutation) from the URL.
async fn graphql_get(
    State(doors): State<Doors>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut request = match request_from_query(&uri) {
        Ok(Some(request)) => request,
        Ok(None) if doors.state.settings.graphiql_enabled() => return super::graphiql::page(),
        Ok(None) => return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", "Missing the `query` parameter."),
        Err(refusal) => return refusal.into_response(),
    };
    let persist = match doors.persisted.resolve(&mut request) {
        Ok(persist) => persist,
        Err(miss) => return persisted_miss(miss),
    };
    if nesting::document_too_deep(&request.query, MAX_NESTING) {
        return too_deep();
    }
    let name = request.operation_name.clone();
    if let Ok(document) = request.parsed_query() {
        let mutates = match &document.operations {
            DocumentOperations::Single(op) => op.node.ty != OperationType::Query,
            DocumentOperations::Multiple(ops) => ops
                .iter()
                .filter(|(op_name, _)| name.as_deref().is_none_or(|n| n == op_name.as_str()))
                .any(|(_, op)| op.node.ty != OperationType::Query),
        };
        if mutates {
            let mut answer = refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "Mutations must be sent with POST.",
            );
            answer.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return answer;
        }
    }
    execute(&doors, origin, &headers, request, persist).await
}
