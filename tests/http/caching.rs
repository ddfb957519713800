//! The cache headers of every route, as a shared cache (CDN, the built-in ISR
//! cache) and a browser see them.
//!
//! The policy (`src/app/cache.rs` holds the route table):
//!
//! - Every route has a default in the table; loaders may only tighten it.
//! - Public pages and their GET data functions share one policy and carry
//!   purge tags (`Surrogate-Key` space-separated, `Cache-Tag` comma-separated).
//! - A signed-in request (session cookie) or one with `Authorization` is
//!   answered `private, no-store`, without tags, on every route but the hashed
//!   bundle, whose bytes are the same for everyone.
//! - Mutations (POST), responses that set a cookie, redirects, 4xx other than
//!   404/410, and every 5xx are `no-store`.
//! - 404s are cached by shared caches for a minute at most, never by browsers.
//! - Cacheable responses carry a strong `ETag` of the bytes sent; a matching
//!   `If-None-Match` gets `304` with the same cache headers; compressed
//!   responses say `Vary: Accept-Encoding`.
//! - `/pkg` files are `immutable` when their names are hashed, revalidated
//!   otherwise; other static files are kept an hour.
//!
//! The site's routes are checked one by one; rules that hold for any page
//! (validators, compression, `HEAD`, an unused `Authorization`) on a
//! [`fixture`](crate::fixture) page of the tests' own.

use http::{Method, StatusCode};
use isr_cache::{Purge, PurgeMode};

use crate::db_tests;
use crate::fixture::{self, Fixture};
use crate::helpers::{TestApp, TestResponse, x_cache};

db_tests!(
    public_routes_for_anonymous_visitors,
    every_route_is_private_for_signed_in_visitors,
    low_stock_tightens_the_product_page_its_data_and_its_api,
    mutations_and_cookies_are_never_stored,
    not_found_is_cached_briefly_with_its_tags,
    errors_and_redirects_are_never_stored,
);

const HOME: &str =
    "public, max-age=0, s-maxage=86400, stale-while-revalidate=604800, stale-if-error=1209600";
const POSTS: &str =
    "public, max-age=0, s-maxage=300, stale-while-revalidate=3600, stale-if-error=90000";
const POST: &str =
    "public, max-age=0, s-maxage=3600, stale-while-revalidate=604800, stale-if-error=691200";
const PRODUCTS: &str =
    "public, max-age=0, s-maxage=60, stale-while-revalidate=600, stale-if-error=87000";
const PRODUCT: &str =
    "public, max-age=300, s-maxage=300, stale-while-revalidate=3600, stale-if-error=90000";
const LOW_STOCK: &str =
    "public, max-age=0, s-maxage=10, stale-while-revalidate=60, stale-if-error=86460";
const PRODUCT_API: &str = "public, max-age=300, stale-while-revalidate=600, stale-if-error=87000";
const SEARCH: &str = "public, max-age=300, stale-if-error=86400";
const NOT_FOUND: &str = "public, max-age=0, s-maxage=60";
const PRIVATE: &str = "private, no-store";
const NO_STORE: &str = "no-store";
/// The fixture page `/fixture/a`: its policy and tags.
const FIXTURE_A: Expect<'static> = expect(fixture::CACHE_CONTROL, Some("fixture:a fixtures"));

/// What a response must say about caching, header by header; `None` means
/// the header must be absent.
#[derive(Debug, Clone, Copy)]
struct Expect<'a> {
    cache_control: &'a str,
    tags: Option<&'a str>,
    cdn: Option<&'a str>,
}

const fn expect<'a>(cache_control: &'a str, tags: Option<&'a str>) -> Expect<'a> {
    Expect { cache_control, tags, cdn: None }
}

#[track_caller]
fn assert_caching(what: &str, response: &TestResponse, expected: Expect<'_>) {
    assert_eq!(
        response.header("cache-control"),
        Some(expected.cache_control),
        "{what}: Cache-Control"
    );
    assert_eq!(response.header("surrogate-key"), expected.tags, "{what}: Surrogate-Key");
    let cache_tag = expected.tags.map(|tags| tags.replace(' ', ","));
    assert_eq!(response.header("cache-tag"), cache_tag.as_deref(), "{what}: Cache-Tag");
    assert_eq!(response.header("cdn-cache-control"), expected.cdn, "{what}: CDN-Cache-Control");
}

/// A product with plenty in stock, and one of the seed's campaigns.
async fn fixtures(app: &TestApp) -> (i64, String) {
    let product: i64 =
        sqlx::query_scalar("SELECT id FROM products WHERE stock > 5 ORDER BY id LIMIT 1")
            .fetch_one(&app.db)
            .await
            .expect("a product in stock");
    let campaign: String = sqlx::query_scalar("SELECT slug FROM campaigns ORDER BY slug LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("a campaign");
    (product, campaign)
}

/// Every public route and data function, with what an anonymous visitor gets.
fn public_routes(product: i64, campaign: &str) -> Vec<(String, StatusCode, Expect<'static>)> {
    let ok = StatusCode::OK;
    let campaign_tag: &'static str = format!("campaign:{campaign}").leak();
    let product_tag: &'static str = format!("product:{product}").leak();
    vec![
        ("/".into(), ok, expect(HOME, Some("home posts products"))),
        // The home page's sections load their own lists, kept like the lists.
        ("/api/blog/latest_posts".into(), ok, expect(POSTS, Some("posts"))),
        ("/api/shop/featured_products".into(), ok, expect(PRODUCTS, Some("products"))),
        (format!("/landing/{campaign}"), ok, expect(HOME, Some(campaign_tag))),
        (
            format!("/api/landing/get_campaign?slug={campaign}"),
            ok,
            expect(HOME, Some(campaign_tag)),
        ),
        ("/blog".into(), ok, expect(POSTS, Some("posts"))),
        ("/blog?page=2".into(), ok, expect(POSTS, Some("posts"))),
        ("/api/blog/list_posts?page=1".into(), ok, expect(POSTS, Some("posts"))),
        ("/blog/hello-isr".into(), ok, expect(POST, Some("post:hello-isr"))),
        ("/api/blog/get_post?slug=hello-isr".into(), ok, expect(POST, Some("post:hello-isr"))),
        ("/products".into(), ok, expect(PRODUCTS, Some("products"))),
        ("/api/shop/list_products?page=1".into(), ok, expect(PRODUCTS, Some("products"))),
        (format!("/products/{product}"), ok, expect(PRODUCT, Some(product_tag))),
        (format!("/api/shop/get_product?id={product}"), ok, expect(PRODUCT, Some(product_tag))),
        ("/search?q=cache".into(), ok, expect(SEARCH, Some("search"))),
        ("/api/blog/search_posts?q=cache".into(), ok, expect(SEARCH, Some("search"))),
        ("/api/shop/search_products?q=cache".into(), ok, expect(SEARCH, Some("search"))),
        ("/api/posts".into(), ok, expect(POSTS, Some("posts"))),
        (
            format!("/api/products/{product}"),
            ok,
            Expect {
                cache_control: PRODUCT_API,
                tags: Some(product_tag),
                cdn: Some("max-age=3600, stale-while-revalidate=600, stale-if-error=87000"),
            },
        ),
        ("/login".into(), ok, expect(NO_STORE, None)),
        ("/dashboard".into(), StatusCode::FOUND, expect(NO_STORE, None)),
        ("/api/dashboard/get_dashboard".into(), StatusCode::UNAUTHORIZED, expect(NO_STORE, None)),
        ("/api/shop/my_orders".into(), StatusCode::UNAUTHORIZED, expect(NO_STORE, None)),
    ]
}

/// A GET as the browser sends it: a page navigation, or the `fetch` of a
/// data function (which asks for JSON).
async fn fetch(app: &TestApp, path: &str, cookie: Option<&str>) -> TestResponse {
    let accept = if path.starts_with("/api/") { "application/json" } else { "text/html" };
    let mut headers = vec![("accept", accept)];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    app.get_with(path, &headers).await
}

async fn public_routes_for_anonymous_visitors(app: TestApp) {
    let (product, campaign) = fixtures(&app).await;
    for (path, status, expected) in public_routes(product, &campaign) {
        let response = fetch(&app, &path, None).await;
        assert_eq!(response.status, status, "{path}");
        assert_caching(&path, &response, expected);
    }
    let search = app.get("/search?q=cache").await;
    assert!(
        search.header("vary").is_some_and(|vary| vary.to_lowercase().contains("accept-encoding")),
        "search varies on Accept-Encoding: {:?}",
        search.header("vary")
    );
}

async fn every_route_is_private_for_signed_in_visitors(app: TestApp) {
    let (product, campaign) = fixtures(&app).await;
    let cookie = app.sign_in_customer().await;
    for (path, _, _) in public_routes(product, &campaign) {
        let response = fetch(&app, &path, Some(&cookie)).await;
        assert!(response.status.is_success(), "{path}: {}", response.status);
        // The sign-in form is `no-store` for everyone: stricter still, it stays.
        let expected = if path == "/login" { NO_STORE } else { PRIVATE };
        assert_caching(&path, &response, expect(expected, None));
    }
}

/// An `Authorization` header no page reads neither forces a render nor
/// makes a public page private: the page is rendered anonymously, stored, and
/// served from the cache, as RFC 9111 section 3.5 allows for `public` and
/// `s-maxage` responses.
#[tokio::test]
async fn an_unused_authorization_is_served_from_the_cache() {
    let (app, fixture) = Fixture::start().await;
    let first = app.get_with("/fixture/a", &[("authorization", "Bearer anything")]).await;
    assert_eq!((first.status, x_cache(&first)), (StatusCode::OK, "MISS"));
    assert_caching("with a bearer", &first, FIXTURE_A);
    let again = app.get_with("/fixture/a", &[("authorization", "Basic dTpw")]).await;
    assert_eq!(x_cache(&again), "HIT");
    assert_eq!(x_cache(&app.get("/fixture/a").await), "HIT", "stored for everyone");
    assert_eq!(fixture.renders(), 1);
}

/// The loader of `/products/{id}` (the `get_product` server function)
/// tightens the policy when stock is low: on the page, where it runs inside
/// the render (`SsrMode::Async` lets the header through), on the data request
/// the browser makes, and on the JSON API, whose handler returns a policy.
async fn low_stock_tightens_the_product_page_its_data_and_its_api(app: TestApp) {
    let (product, _) = fixtures(&app).await;
    let tag = format!("product:{product}");
    assert_caching(
        "before",
        &app.get(&format!("/products/{product}")).await,
        expect(PRODUCT, Some(&tag)),
    );

    sqlx::query("UPDATE products SET stock = 2 WHERE id = $1")
        .bind(product)
        .execute(&app.db)
        .await
        .expect("update stock");
    // Changed behind the app's back: purge, as a CMS webhook would.
    app.isr.purge(&Purge::tags([tag.clone()], PurgeMode::Hard)).await;

    let page = app.get(&format!("/products/{product}")).await;
    assert!(page.body.contains("Only 2 left"));
    assert_caching("page", &page, expect(LOW_STOCK, Some(&tag)));
    let data = fetch(&app, &format!("/api/shop/get_product?id={product}"), None).await;
    assert_caching("data", &data, expect(LOW_STOCK, Some(&tag)));
    let api = app.get_json(&format!("/api/products/{product}")).await;
    assert_eq!(api.json()["stock"], 2);
    assert_caching(
        "api",
        &api,
        Expect {
            cache_control: LOW_STOCK,
            tags: Some(&tag),
            cdn: Some("max-age=10, stale-while-revalidate=60, stale-if-error=86460"),
        },
    );
}

async fn mutations_and_cookies_are_never_stored(app: TestApp) {
    let failed = app.post_form("/api/auth/login", "email=a@b.c&password=wrong", None).await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert_caching("failed sign-in", &failed, expect(NO_STORE, None));

    let signed_in = app
        .post_form(
            "/api/auth/login",
            &format!(
                "email={}&password={}",
                leptos_isr_starter::app::auth::demo::DEMO_CUSTOMER_EMAIL,
                leptos_isr_starter::app::auth::demo::DEMO_CUSTOMER_PASSWORD
            ),
            None,
        )
        .await;
    assert!(signed_in.session_cookie().is_some());
    assert_caching("sign-in", &signed_in, expect(NO_STORE, None));

    let cookie = signed_in.session_cookie().expect("cookie");
    let signed_out = app.post_form("/api/auth/logout", "", Some(&cookie)).await;
    assert!(!signed_out.set_cookies().is_empty());
    assert_caching("sign-out", &signed_out, expect(NO_STORE, None));

    // A GET data function called with POST is still never stored.
    let posted = app.send_with(Method::POST, "/api/posts", &[]).await;
    assert_eq!(posted.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_caching("POST /api/posts", &posted, expect(NO_STORE, None));
}

async fn not_found_is_cached_briefly_with_its_tags(app: TestApp) {
    let cases = [
        ("/blog/no-such-post", expect(NOT_FOUND, Some("post:no-such-post"))),
        ("/api/blog/get_post?slug=no-such-post", expect(POST, Some("post:no-such-post"))),
        ("/products/999999", expect(NOT_FOUND, Some("product:999999"))),
        // The CDN TTL is capped too.
        (
            "/api/products/999999",
            Expect {
                cache_control: NOT_FOUND,
                tags: Some("product:999999"),
                cdn: Some("max-age=60"),
            },
        ),
        ("/landing/no-such-campaign", expect(NOT_FOUND, Some("campaign:no-such-campaign"))),
        ("/no/such/page", expect(NOT_FOUND, None)),
    ];
    for (path, expected) in cases {
        let response = fetch(&app, path, None).await;
        if response.status == StatusCode::OK {
            // A data function answers "no such post" as a 200 with `null`:
            // the page turns it into the 404. It keeps the page's policy.
            assert_eq!(response.body, "null", "{path}");
        } else {
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        }
        assert_caching(path, &response, expected);
    }
}

async fn errors_and_redirects_are_never_stored(app: TestApp) {
    let bad = app.get("/blog?page=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_caching("400", &bad, expect(NO_STORE, None));
    let bad_api = app.get_json("/api/products/abc").await;
    assert_eq!(bad_api.status, StatusCode::BAD_REQUEST);
    assert_caching("API 400", &bad_api, expect(NO_STORE, None));

    // Break the database under the app: every page that reads posts fails.
    sqlx::query("DROP TABLE posts").execute(&app.db).await.expect("drop posts");
    for path in ["/blog/hello-isr", "/blog", "/api/posts", "/api/blog/get_post?slug=hello-isr"] {
        let response = fetch(&app, path, None).await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_caching(path, &response, expect(NO_STORE, None));
        assert!(response.header("etag").is_none(), "{path}: no validator on an error");
    }
}

#[tokio::test]
async fn etags_and_not_modified() {
    let (app, _) = Fixture::start().await;
    let first = app.get("/fixture/a").await;
    let etag = first.header("etag").expect("a cacheable page has an ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong validator: {etag}");
    assert_eq!(app.get("/fixture/a").await.header("etag"), Some(&*etag), "same bytes, same tag");
    assert_ne!(app.get("/fixture/b").await.header("etag"), Some(&*etag), "other bytes, other tag");

    let revalidated = app.get_with("/fixture/a", &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(&*etag));
    assert_caching("304", &revalidated, FIXTURE_A);

    let changed = app.get_with("/fixture/a", &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(changed.status, StatusCode::OK);

    let uncacheable = app.get("/login").await;
    assert!(uncacheable.header("etag").is_none(), "no-store responses get no validator");
    let cookie = app.sign_in_customer().await;
    let personal = app.get_signed_in("/fixture/a", &cookie).await;
    assert!(personal.header("etag").is_none(), "private, no-store responses get no validator");
}

#[tokio::test]
async fn compressed_responses_vary_and_have_their_own_etag() {
    let (app, _) = Fixture::start().await;
    let plain = app.get("/fixture/a").await;
    let brotli = app.get_with("/fixture/a", &[("accept-encoding", "br")]).await;
    let gzip = app.get_with("/fixture/a", &[("accept-encoding", "gzip")]).await;
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    for response in [&plain, &brotli, &gzip] {
        assert_eq!(response.header("vary"), Some("accept-encoding"));
        assert_caching("compressed", response, FIXTURE_A);
    }
    let etags = [&plain, &brotli, &gzip].map(|r| r.header("etag").expect("etag").to_owned());
    assert!(etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2], "{etags:?}");
    let length: usize =
        brotli.header("content-length").and_then(|l| l.parse().ok()).expect("content-length");
    let plain_length: usize =
        plain.header("content-length").and_then(|l| l.parse().ok()).expect("content-length");
    assert!(length * 2 < plain_length, "brotli {length} vs plain {plain_length}");

    let revalidated = app
        .get_with("/fixture/a", &[("accept-encoding", "br"), ("if-none-match", &etags[1])])
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn head_has_the_get_headers() {
    let (app, fixture) = Fixture::start().await;
    let get = app.get("/fixture/a").await;
    let head = app.send_with(Method::HEAD, "/fixture/a", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    for name in ["cache-control", "surrogate-key", "etag", "content-length", "content-type"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(fixture.renders(), 1, "HEAD is answered from the GET entry");
}

/// Static files, from a site root of our own (the real one is built later).
mod static_files {
    use super::*;

    fn site(files: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temp dir");
        for file in files {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "body {}").expect("write");
        }
        root
    }

    #[tokio::test]
    async fn hashed_bundles_are_immutable_for_everyone() {
        let root = site(&["pkg/leptos-isr-starter.0a1b2c3d.css", "favicon.svg"]);
        let app = TestApp::start_with_site(root.path(), true).await;
        let cookie = app.sign_in_customer().await;
        let path = "/pkg/leptos-isr-starter.0a1b2c3d.css";
        let immutable = expect("public, max-age=31536000, immutable", None);
        assert_caching("anonymous", &app.get(path).await, immutable);
        assert_caching("signed in", &app.get_signed_in(path, &cookie).await, immutable);

        let favicon = app.get("/favicon.svg").await;
        assert_eq!(favicon.status, StatusCode::OK);
        assert_caching("favicon", &favicon, expect("public, max-age=3600", None));
        assert_caching(
            "favicon signed in",
            &app.get_signed_in("/favicon.svg", &cookie).await,
            expect(PRIVATE, None),
        );

        let missing = app.get("/pkg/leptos-isr-starter.ffffffff.js").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_caching("missing bundle", &missing, expect(NOT_FOUND, None));
    }

    #[tokio::test]
    async fn unhashed_bundles_are_revalidated() {
        let root = site(&["pkg/leptos-isr-starter.css"]);
        let app = TestApp::start_with_site(root.path(), false).await;
        let response = app.get("/pkg/leptos-isr-starter.css").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_caching("unhashed", &response, expect("public, max-age=0, must-revalidate", None));
    }
}
