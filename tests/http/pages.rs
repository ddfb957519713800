//! Pages: each route renders with the right status and content; unknown
//! slugs, ids and campaigns are real 404s; bad paging is a 400.

use http::StatusCode;

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    home_shows_latest_posts_and_products,
    blog_index_pages_through_posts,
    blog_rejects_bad_pages,
    post_page_renders_the_post,
    every_seeded_post_renders,
    unknown_post_is_404,
    products_index_and_product_page,
    unknown_or_malformed_product_is_404,
    landing_pages_render_and_unknown_campaign_is_404,
    search_finds_posts_and_products,
    search_treats_wildcards_literally,
    login_page_renders,
    unknown_path_is_404,
    pages_carry_their_data_stamped_for_the_client_cache,
);

async fn home_shows_latest_posts_and_products(app: TestApp) {
    let response = app.get("/").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.contains("Fast like a static site"));
    assert!(response.body.contains("Latest posts"));
    assert!(response.body.contains("From the shop"));
    assert_eq!(response.body.matches("class=\"card product-card\"").count(), 4);
    assert!(response.header("content-type").is_some_and(|t| t.starts_with("text/html")));
}

async fn blog_index_pages_through_posts(app: TestApp) {
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(&app.db).await.expect("count");
    let pages = (total + 8) / 9;
    assert!(total >= 20, "the seed has at least 20 posts, found {total}");

    let first = app.get("/blog").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("<li class=\"card\">").count(), 9);
    assert!(first.body.contains(&format!("Page 1 of {pages}")));
    assert!(first.body.contains("href=\"/blog?page=2\""));

    let last = app.get(&format!("/blog?page={pages}")).await;
    assert_eq!(last.status, StatusCode::OK);
    let expected_on_last = usize::try_from(total - (pages - 1) * 9).expect("small");
    assert_eq!(last.body.matches("<li class=\"card\">").count(), expected_on_last);
    assert!(!last.body.contains("rel=\"next\""));

    let beyond = app.get(&format!("/blog?page={}", pages + 1)).await;
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
}

async fn blog_rejects_bad_pages(app: TestApp) {
    for bad in ["abc", "0", "-2"] {
        let response = app.get(&format!("/blog?page={bad}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "page={bad}");
        assert!(response.body.contains("page must be a whole number"), "page={bad}");
    }
}

async fn post_page_renders_the_post(app: TestApp) {
    let response = app.get("/blog/hello-isr").await;
    assert_eq!(response.status, StatusCode::OK);
    let title: String = sqlx::query_scalar("SELECT title FROM posts WHERE slug = 'hello-isr'")
        .fetch_one(&app.db)
        .await
        .expect("seeded post");
    let html = response.html();
    assert!(html.contains(&format!("<h1>{}</h1>", escape(&title))), "{html}");
    assert!(html.contains(&format!("<title>{} · Leptos ISR Starter</title>", escape(&title))));
}

/// Every post the demo seeds has its page, not only the one other tests open.
async fn every_seeded_post_renders(app: TestApp) {
    let posts: Vec<(String, String)> = sqlx::query_as("SELECT slug, title FROM posts ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("posts");
    assert!(!posts.is_empty());
    for (slug, title) in posts {
        let response = app.get(&format!("/blog/{slug}")).await;
        assert_eq!(response.status, StatusCode::OK, "{slug}");
        assert!(response.html().contains(&format!("<h1>{}</h1>", escape(&title))), "{slug}");
    }
}

async fn unknown_post_is_404(app: TestApp) {
    let response = app.get("/blog/no-such-post").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.body.contains("Page not found"));
}

async fn products_index_and_product_page(app: TestApp) {
    let index = app.get("/products").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.body.matches("class=\"card product-card\"").count(), 9);

    let (id, name, stock): (i64, String, i64) =
        sqlx::query_as("SELECT id, name, stock FROM products WHERE stock = 0 ORDER BY id LIMIT 1")
            .fetch_one(&app.db)
            .await
            .expect("a sold-out product is seeded");
    let page = app.get(&format!("/products/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&escape(&name)));
    assert_eq!(stock, 0);
    assert!(page.body.contains("Sold out"));
}

async fn unknown_or_malformed_product_is_404(app: TestApp) {
    for path in ["/products/999999", "/products/abc", "/products/-1"] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(response.body.contains("Page not found"), "{path}");
    }
}

async fn landing_pages_render_and_unknown_campaign_is_404(app: TestApp) {
    for slug in ["spring-sale", "launch-week"] {
        let headline: String = sqlx::query_scalar("SELECT headline FROM campaigns WHERE slug = $1")
            .bind(slug)
            .fetch_one(&app.db)
            .await
            .expect("seeded campaign");
        let response = app.get(&format!("/landing/{slug}")).await;
        assert_eq!(response.status, StatusCode::OK, "{slug}");
        assert!(response.body.contains(&escape(&headline)), "{slug}");
    }
    assert_eq!(app.get("/landing/no-such-campaign").await.status, StatusCode::NOT_FOUND);
}

async fn search_finds_posts_and_products(app: TestApp) {
    sqlx::query(
        "INSERT INTO posts (slug, title, summary, body, author, published_at, updated_at)
         VALUES ('zebra-post', 'Zebra stripes', 'About zebras.', 'Zebras.', 'Test', 0, 0)",
    )
    .execute(&app.db)
    .await
    .expect("insert");
    let response = app.get("/search?q=ZEBRA").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.contains("Zebra stripes"));
    assert!(response.body.contains("Posts (1)"));
    assert!(
        response.body.contains("value=\"ZEBRA\""),
        "the box shows the query without JavaScript"
    );

    let none = app.get("/search?q=qwertyuiopasdf").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.contains("No posts match “qwertyuiopasdf”."), "{}", none.body);
    assert!(none.body.contains("No products match “qwertyuiopasdf”."));

    let empty = app.get("/search").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("Type a word"));

    let too_long = app.get(&format!("/search?q={}", "a".repeat(101))).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.body.contains("limited to 100 characters"));
}

async fn search_treats_wildcards_literally(app: TestApp) {
    // `%` would match everything if it reached LIKE unescaped.
    let response = app.get("/search?q=%25").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.contains("No posts match “%”."), "{}", response.body);
}

async fn login_page_renders(app: TestApp) {
    let response = app.get("/login").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.contains("name=\"email\""));
    assert!(response.body.contains("name=\"password\""));
}

async fn unknown_path_is_404(app: TestApp) {
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.body.contains("Page not found"));
}

/// Text as Leptos escapes it in HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The data a page was rendered from travels with it, for the browser's
/// query cache to hydrate (no request of its own), stamped with when the
/// server loaded it (src/app/query.rs); without `CLIENT_CACHE_MAX_SECS`, no cap.
async fn pages_carry_their_data_stamped_for_the_client_cache(app: TestApp) {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let response = app.get("/blog/hello-isr").await;
    let stamp = response
        .body
        .split_once(r#"\"loaded_at\":"#)
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|n| n.parse::<u128>().ok())
        .unwrap_or_else(|| panic!("a loaded_at stamp in {}", response.body));
    assert!((before..before + 60_000).contains(&stamp), "{stamp} vs {before}");
    assert!(response.body.contains(r#"\"rendered\":true"#));
    assert!(response.body.contains(r#"\"slug\":\"hello-isr\""#));
    assert!(!response.body.contains("client-cache-max-secs"));
}
