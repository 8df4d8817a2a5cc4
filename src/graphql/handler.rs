//! `/graphql` over HTTP: JSON-only POST, query-only GET, no batches, GraphQL-over-HTTP answers.

use async_graphql::{
    http::GraphiQLSource,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Extension,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::query::{Credentials, RequestId};
use crate::{accounts::Origin, auth::extractor::bearer_token, http::Doors};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A refusal before execution, shaped like a GraphQL response.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
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

async fn execute(
    doors: &Doors,
    origin: Origin,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> Response {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let request = request.data(Credentials(bearer_token(headers))).data(RequestId(request_id)).data(origin);
    let response = doors.schema.execute(request).await;
    let mut answer = GraphQLResponse::from(response).into_response();
    if !accepts_graphql_response(headers) {
        answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    answer
}

/// `POST /graphql`: executes one JSON-encoded request.
pub async fn graphql_post(
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
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return refuse(StatusCode::BAD_REQUEST, "BATCH_NOT_SUPPORTED", "Batch requests are not supported.");
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => execute(&doors, origin, &headers, request).await,
        Err(err) => refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &format!("The body is not a GraphQL request: {err}"),
        ),
    }
}

/// `GET /graphql`: GraphiQL for browsers, otherwise a query (never a mutation) from the URL.
pub async fn graphql_get(
    State(doors): State<Doors>,
    Extension(origin): Extension<Origin>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let has_query = request.uri().query().is_some_and(|q| q.split('&').any(|p| p.starts_with("query=")));
    if !has_query {
        return if doors.state.settings.graphiql_enabled() {
            Html(GraphiQLSource::build().endpoint("/graphql").title("customer-accounts").finish())
                .into_response()
        } else {
            refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", "Missing the `query` parameter.")
        };
    }
    let mut gql =
        match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(request, &())
            .await
        {
            Ok(extracted) => extracted.into_inner(),
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "The query string is not a GraphQL request.",
                );
            }
        };
    let name = gql.operation_name.clone();
    if let Ok(document) = gql.parsed_query() {
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
    execute(&doors, origin, &headers, gql).await
}
