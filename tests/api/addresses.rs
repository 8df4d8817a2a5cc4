//! The address book: saving, changing, deleting, defaults decided by the database, the cap.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn, top_level_code};

const ADDRESS_FIELDS: &str =
    "id firstName lastName company street number postcode city country phone defaultBilling defaultShipping";

fn create_mutation() -> String {
    format!(
        "mutation C($input: AddressInput!) {{ createAddress(input: $input) {{ address {{ {ADDRESS_FIELDS} }} errors {{ field code message }} }} }}"
    )
}

fn home() -> Value {
    json!({ "firstName": "Jane", "lastName": "Doe", "company": "Acme", "street": "Keizersgracht",
        "number": "123", "postcode": "1015 CJ", "city": "Amsterdam", "country": "nl", "phone": "+31612345678" })
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql_as(Some(token), &create_mutation(), json!({ "input": input })).await["data"]["createAddress"]
        .clone()
}

async fn book(app: &TestApp, token: &str) -> Vec<Value> {
    let answer =
        app.gql_as(Some(token), &format!("{{ me {{ addresses {{ {ADDRESS_FIELDS} }} }} }}"), json!({})).await;
    answer["data"]["me"]["addresses"].as_array().cloned().unwrap_or_else(|| panic!("{answer}"))
}

async fn set_default(app: &TestApp, token: &str, id: &Value, kind: &str) -> Value {
    let mutation = "mutation S($id: ID!, $kind: AddressKind!) { setDefaultAddress(id: $id, kind: $kind) { address { id defaultBilling defaultShipping } errors { field code } } }";
    app.gql_as(Some(token), mutation, json!({ "id": id, "kind": kind })).await["data"]["setDefaultAddress"]
        .clone()
}

#[tokio::test]
async fn addresses_are_saved_listed_changed_and_deleted_and_the_first_is_both_defaults() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    assert_eq!(book(&app, &jane.token).await, Vec::<Value>::new());

    let first = create(&app, &jane.token, home()).await;
    assert_eq!(first["errors"], json!([]), "{first}");
    let saved = &first["address"];
    assert_eq!(saved["country"], "NL", "the country code is stored upper case");
    assert_eq!(
        (saved["defaultBilling"].clone(), saved["defaultShipping"].clone()),
        (json!(true), json!(true))
    );
    let mut office = home();
    office["street"] = json!("Damrak");
    office["company"] = Value::Null;
    let second = create(&app, &jane.token, office).await;
    assert_eq!(second["address"]["defaultBilling"], false, "only the first becomes a default");

    let listed = book(&app, &jane.token).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], *saved);

    let update = format!(
        "mutation U($id: ID!, $input: AddressInput!) {{ updateAddress(id: $id, input: $input) {{ address {{ {ADDRESS_FIELDS} }} errors {{ field code }} }} }}"
    );
    let mut moved = home();
    moved["city"] = json!("Utrecht");
    moved["phone"] = Value::Null;
    let answer = app.gql_as(Some(&jane.token), &update, json!({ "id": saved["id"], "input": moved })).await;
    let updated = &answer["data"]["updateAddress"]["address"];
    assert_eq!(
        (updated["city"].clone(), updated["phone"].clone()),
        (json!("Utrecht"), Value::Null),
        "{answer}"
    );
    assert_eq!(updated["defaultBilling"], true, "an update keeps the defaults");

    let delete = "mutation D($id: ID!) { deleteAddress(id: $id) { success errors { field code } } }";
    let answer = app.gql_as(Some(&jane.token), delete, json!({ "id": saved["id"] })).await;
    assert_eq!(answer["data"]["deleteAddress"], json!({ "success": true, "errors": [] }));
    let left = book(&app, &jane.token).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["defaultBilling"], false, "deleting the default leaves no default");

    let anonymous = app.gql(&create_mutation(), json!({ "input": home() })).await;
    assert_eq!(top_level_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_address_is_validated_like_the_webshop_billing_address_and_every_error_names_its_field() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let answer =
        create(&app, &jane.token, json!({ "country": "XX", "phone": "x".repeat(192), "company": "a\u{0}b" }))
            .await;
    assert!(answer["address"].is_null());
    let mut errors: Vec<(String, String)> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"][0].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    errors.sort();
    let expected = [
        ("city", "REQUIRED"),
        ("company", "INVALID"),
        ("country", "INVALID"),
        ("firstName", "REQUIRED"),
        ("lastName", "REQUIRED"),
        ("phone", "TOO_LONG"),
        ("postcode", "REQUIRED"),
        ("street", "REQUIRED"),
    ];
    assert_eq!(errors, expected.map(|(f, c)| (f.to_owned(), c.to_owned())).to_vec(), "{answer}");
    let mut no_country = home();
    no_country["country"] = json!("  ");
    let answer = create(&app, &jane.token, no_country).await;
    assert_eq!(answer["errors"][0]["field"], json!(["country"]));
    assert_eq!(answer["errors"][0]["code"], "REQUIRED");
    assert_eq!(book(&app, &jane.token).await.len(), 0, "nothing refused was saved");
}

#[tokio::test]
async fn another_customers_address_is_not_found_for_every_operation_and_stays_as_it_was() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let johns = create(&app, &john.token, home()).await["address"].clone();
    let update = "mutation U($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { address { id } errors { field code } } }";
    let delete = "mutation D($id: ID!) { deleteAddress(id: $id) { success errors { field code } } }";
    let not_found = json!([{ "field": ["id"], "code": "NOT_FOUND" }]);
    for id in [johns["id"].clone(), json!("999999"), json!("abc"), json!("-1")] {
        let answer = app.gql_as(Some(&jane.token), update, json!({ "id": id, "input": home() })).await;
        assert_eq!(answer["data"]["updateAddress"]["errors"], not_found, "{id}: {answer}");
        let answer = app.gql_as(Some(&jane.token), delete, json!({ "id": id })).await;
        assert_eq!(answer["data"]["deleteAddress"]["errors"], not_found);
        assert_eq!(set_default(&app, &jane.token, &id, "SHIPPING").await["errors"], not_found);
    }
    assert_eq!(book(&app, &john.token).await, vec![johns]);
    assert_eq!(book(&app, &jane.token).await.len(), 0);
}

#[tokio::test]
async fn set_default_address_moves_the_default_and_racing_requests_leave_exactly_one_per_kind() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(create(&app, &jane.token, home()).await["address"]["id"].clone());
    }
    let answer = set_default(&app, &jane.token, &ids[2], "SHIPPING").await;
    assert_eq!(answer["address"], json!({ "id": ids[2], "defaultBilling": false, "defaultShipping": true }));
    let listed = book(&app, &jane.token).await;
    let flags: Vec<_> =
        listed.iter().map(|a| (a["defaultBilling"].clone(), a["defaultShipping"].clone())).collect();
    assert_eq!(
        flags,
        [(true, false), (false, false), (false, true), (false, false)].map(|(b, s)| (json!(b), json!(s)))
    );

    let races = ids.iter().map(|id| set_default(&app, &jane.token, id, "BILLING"));
    for answer in futures::future::join_all(races).await {
        assert_eq!(answer["errors"], json!([]), "{answer}");
    }
    let listed = book(&app, &jane.token).await;
    assert_eq!(listed.iter().filter(|a| a["defaultBilling"] == true).count(), 1);
    assert_eq!(listed.iter().filter(|a| a["defaultShipping"] == true).count(), 1);
}

#[tokio::test]
async fn the_database_itself_refuses_a_second_default_of_a_kind() {
    use customer_accounts::entity::address;
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    create(&app, &jane.token, home()).await;
    let now = chrono::Utc::now();
    let second = address::ActiveModel {
        customer_id: Set(jane.id.parse().unwrap()),
        default_billing: Set(true),
        default_shipping: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assert!(
        second.insert(&app.state.db).await.is_err(),
        "the unique index lets one default billing address be"
    );
}

#[tokio::test]
async fn an_address_book_holds_at_most_fifty_even_when_requests_race_for_the_last_place() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    for _ in 0..48 {
        assert_eq!(create(&app, &jane.token, home()).await["errors"], json!([]));
    }
    let racing = futures::future::join_all((0..4).map(|_| create(&app, &jane.token, home()))).await;
    let refused: Vec<_> = racing.iter().filter(|a| a["address"].is_null()).collect();
    assert_eq!(refused.len(), 2, "{racing:?}");
    assert_eq!(
        refused[0]["errors"],
        json!([{ "field": null, "code": "TOO_MANY", "message": "At most 50 are allowed; remove one first." }])
    );
    assert_eq!(book(&app, &jane.token).await.len(), 50);
}
