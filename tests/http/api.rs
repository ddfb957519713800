//! The JSON API: shapes, paging, and a JSON error with the right status for
//! every kind of bad input.

use http::StatusCode;

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    posts_are_paged_newest_first,
    posts_reject_bad_paging,
    product_by_id,
    product_errors_are_json,
);

async fn posts_are_paged_newest_first(app: TestApp) {
    let response = app.get_json("/api/posts?page=2&per_page=5").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    let body = response.json();
    assert_eq!(body["page"], 2);
    assert_eq!(body["per_page"], 5);
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(&app.db).await.expect("count");
    assert_eq!(body["total"], total);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);

    let newest_sixth: String = sqlx::query_scalar(
        "SELECT slug FROM posts ORDER BY published_at DESC, id DESC LIMIT 1 OFFSET 5",
    )
    .fetch_one(&app.db)
    .await
    .expect("sixth newest");
    assert_eq!(items[0]["slug"], newest_sixth.as_str());

    let beyond = app.get_json("/api/posts?page=1000").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.json()["items"].as_array().map(Vec::len), Some(0));
}

async fn posts_reject_bad_paging(app: TestApp) {
    for query in ["page=abc", "page=0", "per_page=0", "per_page=51", "per_page=1e3"] {
        let response = app.get_json(&format!("/api/posts?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        let body = response.json();
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains("page"), "{query}: {message}");
    }
}

async fn product_by_id(app: TestApp) {
    let (id, name, price): (i64, String, i64) =
        sqlx::query_as("SELECT id, name, price_cents FROM products ORDER BY id LIMIT 1")
            .fetch_one(&app.db)
            .await
            .expect("a product");
    let response = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["id"], id);
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["price_cents"], price);
}

async fn product_errors_are_json(app: TestApp) {
    let missing = app.get_json("/api/products/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");

    for bad in ["abc", "0", "-4", "1.5"] {
        let response = app.get_json(&format!("/api/products/{bad}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(response.json()["error"]["code"], "bad_request", "{bad}");
    }
}
