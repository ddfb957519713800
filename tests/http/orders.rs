//! Orders: `POST /api/shop/place_order` takes stock in one transaction, never
//! sells more than there is, and purges every page that shows the stock.

use axum::body::Body;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE};
use http::{Method, Request, StatusCode};
use tower::ServiceExt as _;

use crate::db_tests;
use crate::helpers::{TestApp, x_cache};

db_tests!(
    an_order_takes_stock_and_purges_what_shows_it,
    orders_never_sell_more_than_there_is,
    concurrent_orders_never_oversell,
    bad_orders_are_refused_and_change_nothing,
);

const ORDER: &str = "/api/shop/place_order";

async fn stock(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("a product")
}

async fn orders(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&app.db).await.expect("count")
}

/// A product with at least `min` in stock, and its stock.
async fn product_with(app: &TestApp, min: i64) -> (i64, i64) {
    sqlx::query_as("SELECT id, stock FROM products WHERE stock >= $1 ORDER BY id LIMIT 1")
        .bind(min)
        .fetch_one(&app.db)
        .await
        .expect("a product in stock")
}

async fn an_order_takes_stock_and_purges_what_shows_it(app: TestApp) {
    let (id, before) = product_with(&app, 20).await;
    let page = format!("/products/{id}");
    app.get(&page).await;
    assert_eq!(x_cache(&app.get(&page).await), "HIT");
    let orders_before = orders(&app).await;

    let customer = app.sign_in_customer().await;
    let placed = app.post_form(ORDER, &format!("id={id}&quantity=2"), Some(&customer)).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    assert_eq!(placed.header("cache-control"), Some("no-store"));
    assert_eq!(
        placed.json(),
        serde_json::json!({
            "tags": [format!("product:{id}"), "products", "search", "orders", "write"]
        })
    );

    assert_eq!(stock(&app, id).await, before - 2);
    assert_eq!(orders(&app).await, orders_before + 1);
    let (quantity, total, price): (i64, i64, i64) = sqlx::query_as(
        "SELECT o.quantity, o.total_cents, p.price_cents FROM orders o
         JOIN products p ON p.id = o.product_id ORDER BY o.id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("the new order");
    assert_eq!((quantity, total), (2, 2 * price));

    // Every visitor sees the new stock at once: the stored page was purged.
    let fresh = app.get(&page).await;
    assert_eq!(x_cache(&fresh), "MISS");
    let api = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(api.json()["stock"].as_i64(), Some(before - 2));
    // And the customer's dashboard lists it.
    let dashboard = app.get_signed_in("/dashboard", &customer).await;
    assert_eq!(dashboard.body.matches("<tr>").count() - 1, 3, "two seeded orders and the new one");
}

async fn orders_never_sell_more_than_there_is(app: TestApp) {
    let (id, left) = sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, stock FROM products WHERE stock BETWEEN 1 AND 5 ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("a product with low stock");
    let customer = app.sign_in_customer().await;
    let orders_before = orders(&app).await;

    let refused =
        app.post_form(ORDER, &format!("id={id}&quantity={}", left + 1), Some(&customer)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains(&format!("Only {left} left")), "{}", refused.body);
    assert_eq!((stock(&app, id).await, orders(&app).await), (left, orders_before));

    let all = app.post_form(ORDER, &format!("id={id}&quantity={left}"), Some(&customer)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let sold_out = app.post_form(ORDER, &format!("id={id}&quantity=1"), Some(&customer)).await;
    assert_eq!(sold_out.status, StatusCode::BAD_REQUEST);
    assert!(sold_out.body.contains("Sold out"), "{}", sold_out.body);
    assert_eq!((stock(&app, id).await, orders(&app).await), (0, orders_before + 1));
    assert!(app.get(&format!("/products/{id}")).await.body.contains("Sold out"));
}

/// Ten orders of one arrive at once for the last three: three succeed.
async fn concurrent_orders_never_oversell(app: TestApp) {
    let (id, _) = product_with(&app, 3).await;
    sqlx::query("UPDATE products SET stock = 3 WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .expect("set stock");
    let customer = app.sign_in_customer().await;
    let orders_before = orders(&app).await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = Request::builder()
            .method(Method::POST)
            .uri(ORDER)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(COOKIE, &customer)
            .body(Body::from(format!("id={id}&quantity=1")))
            .expect("request");
        requests.spawn(app.router().oneshot(request));
    }
    let mut statuses = Vec::new();
    while let Some(response) = requests.join_next().await {
        statuses.push(response.expect("task").expect("infallible").status());
    }
    statuses.sort();
    let mut expected = vec![StatusCode::OK; 3];
    expected.extend([StatusCode::BAD_REQUEST; 7]);
    assert_eq!(statuses, expected);
    assert_eq!((stock(&app, id).await, orders(&app).await), (0, orders_before + 3));
}

async fn bad_orders_are_refused_and_change_nothing(app: TestApp) {
    let (id, before) = product_with(&app, 20).await;
    let customer = app.sign_in_customer().await;
    let orders_before = orders(&app).await;

    let anonymous = app.post_form(ORDER, &format!("id={id}&quantity=1"), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    for quantity in ["0", "-1", "11", "two", ""] {
        let response =
            app.post_form(ORDER, &format!("id={id}&quantity={quantity}"), Some(&customer)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "quantity {quantity:?}");
        assert!(response.body.contains("quantity"), "{}", response.body);
    }
    let missing = app.post_form(ORDER, "id=999999&quantity=1", Some(&customer)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!((stock(&app, id).await, orders(&app).await), (before, orders_before));
}
