//! Input that PostgreSQL's column limits or NUL bytes once turned into a 500.

use super::{links::RESET, *};

#[tokio::test]
async fn login_with_an_overlong_or_nul_email_is_a_field_error() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 5).await;
    for (email, code) in [
        (format!("{}@example.com", "a".repeat(300)), "TOO_LONG"),
        ("jane\u{0}@example.com".to_owned(), "INVALID"),
        (format!("{}@example.com", "İ".repeat(100)), "TOO_LONG"),
    ] {
        let answer =
            graphql(&app, None, crate::helpers::LOGIN, json!({ "email": email, "password": "whatever" }))
                .await;
        assert_eq!(
            error_codes(&answer.body["data"]["login"]),
            vec![(json!(["email"]), code.to_owned())],
            "{email:?}"
        );
        let rest = send(
            app.client
                .post(app.url("/api/customer/login"))
                .json(&json!({ "email": email, "password": "whatever" })),
        )
        .await;
        assert_eq!(rest.status, StatusCode::UNPROCESSABLE_ENTITY, "{email:?}");
    }
}

#[tokio::test]
async fn registration_refuses_what_the_database_or_the_mailer_could_not_take() {
    let app = spawn().await;
    let cases = [
        // 187 characters as typed, 207 once lower-cased: the key would overflow its column.
        (
            format!("{}@{}.{}.{}.com", "İ".repeat(20), "a".repeat(60), "b".repeat(60), "c".repeat(40)),
            "email",
            "TOO_LONG",
        ),
        ("jane\u{0}@example.com".to_owned(), "email", "INVALID"),
        ("Security Team <victim@example.com>".to_owned(), "email", "INVALID"),
        ("\"very.unusual\"@example.com".to_owned(), "email", "INVALID"),
        ("jane@[192.168.0.1]".to_owned(), "email", "INVALID"),
        ("jane@localhost".to_owned(), "email", "INVALID"),
        ("' OR 1=1 --@example.com".to_owned(), "email", "INVALID"),
    ];
    for (email, field, code) in cases {
        let input = json!({ "email": email, "firstName": "J", "lastName": "D", "password": PASSWORD, "passwordConfirmation": PASSWORD });
        let answer = graphql(&app, None, crate::helpers::REGISTER, json!({ "input": input })).await;
        assert_eq!(
            error_codes(&answer.body["data"]["register"]),
            vec![(json!([field]), code.to_owned())],
            "{email:?}"
        );
    }
}

#[tokio::test]
async fn every_text_field_refuses_nul_and_overlong_values() {
    let app = spawn().await;
    let long = "x".repeat(10_000);
    let cases = [
        ("firstName", "J\u{0}", "INVALID"),
        ("lastName", long.as_str(), "TOO_LONG"),
        ("phone", "+31\u{0}6", "INVALID"),
        ("gender", long.as_str(), "INVALID"),
        ("dateOfBirth", "0000-00-00", "INVALID"),
        ("password", long.as_str(), "TOO_LONG"),
    ];
    for (field, value, code) in cases {
        let mut input = json!({ "email": "j@example.com", "firstName": "J", "lastName": "D", "password": PASSWORD, "passwordConfirmation": PASSWORD });
        input[field] = json!(value);
        if field == "password" {
            input["passwordConfirmation"] = json!(value);
        }
        let answer =
            send(app.client.post(app.url("/api/v1/customer/register")).json(&rest_names(&input))).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", answer.body);
        if field != "gender" {
            let graphql = graphql(&app, None, crate::helpers::REGISTER, json!({ "input": input })).await;
            let codes = error_codes(&graphql.body["data"]["register"]);
            assert!(codes.iter().any(|(f, c)| f == &json!([field]) && c == code), "{field}: {codes:?}");
        }
    }
}

fn rest_names(input: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in input.as_object().unwrap() {
        let key = match key.as_str() {
            "firstName" => "first_name",
            "lastName" => "last_name",
            "passwordConfirmation" => "password_confirmation",
            "dateOfBirth" => "date_of_birth",
            other => other,
        };
        out.insert(key.to_owned(), value.clone());
    }
    Value::Object(out)
}

#[tokio::test]
async fn odd_webshop_project_ids_and_bodies_are_clean_refusals() {
    let app = spawn().await;
    let path = "/api/services/webshop/v1/customer/auth/register";
    for project_id in [
        json!(99_999_999_999_i64),
        json!(-1),
        json!("1; DROP TABLE customers"),
        json!([1]),
        json!({ "id": 1 }),
    ] {
        let body = json!({ "project_id": project_id, "email": "w@example.com", "password": PASSWORD });
        let answer = send(app.client.post(app.url(path)).json(&body)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{project_id}: {}", answer.body);
    }
    for body in ["[1, 2]", "\"text\"", "{\"email\": \"unterminated"] {
        assert_eq!(raw_post(&app, path, body.to_owned()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let invalid_utf8 = app
        .client
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0xff]);
    assert_eq!(send(invalid_utf8).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nul_and_huge_tokens_and_ids_are_refused_not_failed() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    for token in [
        "abc\u{0}def".to_owned(),
        "x".repeat(20_000),
        format!("{}|secret", "not-a-uuid"),
        "00000000-0000-0000-0000-000000000000|\u{0}".to_owned(),
    ] {
        let answer =
            send(app.client.get(app.url("/api/customer/get")).query(&[("token", token.as_str())])).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{:?}", &token[..token.len().min(40)]);
        let reset = graphql(&app, None, RESET, json!({ "t": token })).await;
        assert_eq!(reset.body["data"]["resetPassword"]["errors"][0]["code"], "INVALID_TOKEN");
    }
    for id in ["99999999999999999999999", "-1", "1%00", "..%2F..%2Fetc%2Fpasswd"] {
        let answer =
            send(app.client.get(app.url(&format!("/api/customers/{id}"))).bearer_auth(&jane.token)).await;
        assert!(
            matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{id}: {}",
            answer.status
        );
    }
    let forgot = send(
        app.client
            .post(app.url("/api/customer/forgot-password"))
            .json(&json!({ "email": "a\u{0}@example.com" })),
    )
    .await;
    assert_eq!(forgot.status, StatusCode::UNPROCESSABLE_ENTITY);
}
