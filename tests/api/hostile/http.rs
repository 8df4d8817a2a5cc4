//! Rate limits and HTTP hardening.

use super::*;

#[tokio::test]
async fn graphql_requests_are_limited_per_ip_with_retry_after() {
    let app = spawn_with(|s| s.limits.graphql_per_window = 3).await;
    for _ in 0..3 {
        assert_eq!(graphql(&app, None, "{ me { id } }", json!({})).await.status, StatusCode::OK);
    }
    let response = app.graphql("{ me { id } }").response().await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let body: Value = response.json().await.unwrap();
    assert_eq!(top_level_code(&body), Some("RATE_LIMITED"));
}

async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 may come first
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn connections_that_send_half_a_request_nothing_or_idle_are_closed() {
    let app = spawn_with(|s| s.server.header_read_timeout_seconds = 1).await;
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 256];
    assert!(idle.read(&mut first).await.unwrap() > 0, "the first request is answered");
    let (silent, half, idle) = tokio::join!(
        closed_within(&mut silent, Duration::from_secs(3)),
        closed_within(&mut half, Duration::from_secs(3)),
        closed_within(&mut idle, Duration::from_secs(3)),
    );
    assert!(silent && half && idle, "silent {silent}, half {half}, idle {idle}");
}

#[tokio::test]
async fn answers_with_tokens_are_not_cached_and_none_are_sniffed() {
    let app = spawn().await;
    let input = json!({ "input": { "email": "c@example.com", "firstName": "C", "lastName": "C",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    let response = app.graphql(crate::helpers::REGISTER).variables(input).response().await;
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    for path in ["/health", "/no-such-path", "/api/customer/get"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }
    let big = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("x".repeat(100_000));
    let response = big.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn the_cookie_guard_refuses_writes_from_pages_of_foreign_origins() {
    let app = spawn_with(|s| s.server.cors_allowed_origins = vec!["https://shop.example".into()]).await;
    app.register("jane@example.com").await;
    let login = |origin: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/customer/login"))
            .form(&[("email", "jane@example.com"), ("password", PASSWORD)]);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        send(request)
    };
    assert_eq!(login(Some("https://evil.example")).await.status, StatusCode::FORBIDDEN, "login CSRF");
    assert_eq!(login(Some("null")).await.status, StatusCode::FORBIDDEN, "sandboxed pages");
    assert_eq!(login(Some("https://shop.example")).await.status, StatusCode::OK);
    assert_eq!(login(Some(crate::helpers::PUBLIC_URL)).await.status, StatusCode::OK);
    assert_eq!(login(None).await.status, StatusCode::OK, "server-side clients send no Origin");
    let profile = app
        .client
        .put(app.url("/api/customer/profile"))
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({ "first_name": "Mallory" }));
    assert_eq!(send(profile).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn odd_methods_paths_and_headers_get_4xx() {
    let app = spawn().await;
    assert_eq!(
        send(app.client.request(Method::DELETE, app.url("/graphql"))).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(app.client.request(Method::PATCH, app.url("/api/customer/login"))).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(app.client.get(app.url("/api/../graphql/../../etc/passwd"))).await.status,
        StatusCode::NOT_FOUND
    );
    let many = (0..200).fold(app.client.get(app.url("/health")), |r, i| r.header(format!("x-h{i}"), "v"));
    let answer = many.send().await.unwrap();
    assert!(answer.status().is_client_error() || answer.status().is_success(), "{}", answer.status());
    let bad_bearer =
        send(app.client.get(app.url("/api/customer/get")).header(header::AUTHORIZATION, "Bearer")).await;
    assert_eq!(bad_bearer.status, StatusCode::UNAUTHORIZED);
    still_answers(&app).await;
}
