//! The built-in ISR cache in the real app, on the real database.
//!
//! - Anonymous GETs of cacheable pages are stored and served as hits; signed-in
//!   visitors neither get stored pages nor fill the cache.
//! - `POST /api/revalidate` purges by path, prefix and tag, soft or hard, for
//!   the bearer of `REVALIDATE_TOKEN` only; bad calls get JSON errors.
//! - The editor's saves purge what they change: the next visitor sees it.
//! - With the database gone, the last good page keeps being served, inside
//!   its stale-while-revalidate window and, past it, inside its
//!   stale-if-error window (saying so: `fwd=stale; fwd-status=500`); after
//!   recovery it refreshes.
//! - `GET /metrics` is for a token holder, or a loopback client that no
//!   proxy forwarded (`X-Forwarded-For`, `Forwarded`, `Via`).
//! - On PostgreSQL, a purge on one instance reaches the others.
//!
//! The cache runs on a hand-moved clock (`app.clock`): no test waits for a TTL.
//! Rules that hold for any page (hits, purges, stale serving) are shown on
//! [`fixture`](crate::fixture) pages, whose policy the tests know; the
//! demo's pages where the rule is about them (the editor's purges, a real
//! database outage).

use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request, StatusCode};
use isr_cache::{CachePolicy, PurgeMode};

use crate::db_tests;
use crate::fixture::{DAY, Fixture, HOUR};
use crate::helpers::{Backend, REVALIDATE_TOKEN, TestApp, TestResponse, x_cache};

db_tests!(
    signed_in_visitors_never_get_or_fill_stored_pages,
    revalidate_requires_its_token,
    revalidate_rejects_bad_requests,
    editing_a_post_purges_its_pages,
    editing_a_product_purges_its_pages,
    the_editor_rejects_bad_input_and_other_users,
    the_last_good_page_outlives_the_database,
    host_headers_do_not_change_what_others_get,
    metrics_are_for_direct_loopback_clients,
    warm_up_fills_the_cache,
    the_dashboard_shows_the_cache_and_purges_it,
);

const POST_TITLE: &str = "Hello, ISR: static pages that refresh themselves";

/// Two instances of the app on one fresh PostgreSQL database, each with a
/// cache of its own; `None` (said) without `TEST_POSTGRES_URL`.
async fn two_instances_on_postgres() -> Option<(TestApp, TestApp)> {
    let Some(first) = TestApp::start(Backend::Postgres).await else {
        crate::helpers::postgres_unavailable();
        return None;
    };
    let second = first.another_instance().await;
    Some((first, second))
}

/// Two instances on one PostgreSQL database (as behind a load balancer), each
/// with its own cache: an edit on one purges the page on both. (On SQLite
/// there is one machine, so nothing to fan out to.)
#[tokio::test]
async fn purges_reach_every_instance_on_postgres() {
    let Some((first, second)) = two_instances_on_postgres().await else { return };
    for app in [&first, &second] {
        app.get("/blog/hello-isr").await;
        assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT");
    }

    first.edit_hello_isr_as_admin("Edited on the first").await;
    second.heard_purges(1).await;
    let purge = &second.isr.recent_purges()[0].purge;
    assert_eq!(purge.tags, ["post:hello-isr", "posts", "search"]);
    assert_eq!(purge.mode, PurgeMode::Hard);
    let page = second.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&page), "MISS");
    assert!(page.body.contains("Edited on the first"));
    // The first instance applied its purge once: it ignores its own message.
    assert_eq!(first.isr.recent_purges().len(), 1);
}

/// A listener that loses its connection may have missed purges: once back,
/// it marks every page it stores stale, and hears the next purges again. It
/// sends nothing to the CDN (a purge of everything there, once per instance).
#[tokio::test]
async fn a_listener_that_reconnects_marks_everything_stale_on_postgres() {
    let (api, calls) = crate::cdn::purge_api_stand_in().await;
    let cloudflare = [
        ("CLOUDFLARE_API_URL", format!("http://{api}/cloudflare")),
        ("CLOUDFLARE_ZONE_ID", "zone-1".to_owned()),
        ("CLOUDFLARE_API_TOKEN", "cf-token".to_owned()),
    ];
    let Some(first) = TestApp::start_on(Backend::Postgres, &cloudflare).await else {
        crate::helpers::postgres_unavailable();
        return;
    };
    let second = first.another_instance().await;
    // The database drops every listening connection.
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&first.db)
    .await
    .expect("terminate the listeners");
    assert_eq!(dropped, [true, true], "both instances were listening");
    second.heard_purges(1).await; // the listener noticed
    let everything = &second.isr.recent_purges()[0].purge;
    assert_eq!(
        (everything.prefixes.as_slice(), everything.mode),
        (&["/".to_owned()][..], PurgeMode::Soft)
    );

    // Reconnected: a purge on the first reaches the second again.
    let response = revalidate(&first, Some(REVALIDATE_TOKEN), r#"{"tags": ["posts"]}"#).await;
    assert_eq!(response.status, StatusCode::OK);
    second.heard_purges(2).await; // the reconnected listener missed no purge
    assert_eq!(second.isr.recent_purges()[1].purge.tags, ["posts"]);

    // The CDN heard of that purge, from each instance, and of nothing else.
    let arrived = tokio::time::timeout(Duration::from_secs(10), async {
        while calls.lock().expect("calls").len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(arrived.is_ok(), "the purge of posts reached the CDN");
    let bodies: Vec<_> = calls.lock().expect("calls").iter().map(|c| c.body.clone()).collect();
    let posts = serde_json::json!({ "tags": ["posts"] });
    assert_eq!(bodies, [posts.clone(), posts]);
}

async fn revalidate(app: &TestApp, token: Option<&str>, body: &str) -> TestResponse {
    let mut request = Request::post("/api/revalidate").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.send(request.body(Body::from(body.to_owned())).expect("request")).await
}

/// The fixture's `s-maxage=3600`: 30 s later, a hit with 3570 s to live.
#[tokio::test]
async fn pages_are_stored_and_served_as_hits() {
    let (app, fixture) = Fixture::start().await;
    let first = app.get("/fixture/a").await;
    assert_eq!(x_cache(&first), "MISS");
    assert_eq!(first.header("cache-status"), Some("isr; fwd=uri-miss; stored"));
    app.clock.advance(Duration::from_secs(30));
    let second = app.get("/fixture/a").await;
    assert_eq!(x_cache(&second), "HIT");
    assert_eq!(second.header("age"), Some("30"));
    assert_eq!(second.header("cache-status"), Some("isr; hit; ttl=3570"));
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("cache-control"), first.header("cache-control"));
    assert_eq!(fixture.renders(), 1);

    // What may not be stored goes straight through, every time.
    assert_eq!(x_cache(&app.get("/login").await), "MISS");
    assert_eq!(x_cache(&app.get("/login").await), "BYPASS");
}

async fn signed_in_visitors_never_get_or_fill_stored_pages(app: TestApp) {
    let cookie = app.sign_in_customer().await;
    // A signed-in render first: it must not be stored for others.
    let personal = app.get_signed_in("/blog/hello-isr", &cookie).await;
    assert_eq!(x_cache(&personal), "BYPASS");
    assert_eq!(personal.header("cache-control"), Some("private, no-store"));
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "MISS");
    // And a stored page is not what a signed-in visitor gets.
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT");
    let again = app.get_signed_in("/blog/hello-isr", &cookie).await;
    assert_eq!(x_cache(&again), "BYPASS");
    assert_eq!(again.header("cache-control"), Some("private, no-store"));
}

async fn revalidate_requires_its_token(app: TestApp) {
    let body = r#"{"tags": ["posts"]}"#;
    for token in [None, Some("wrong"), Some("test-revalidate-tokenX"), Some("")] {
        let response = revalidate(&app, token, body).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(response.json()["error"]["code"], "invalid_token");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
    let ok = revalidate(&app, Some(REVALIDATE_TOKEN), body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
}

async fn revalidate_rejects_bad_requests(app: TestApp) {
    assert_eq!(x_cache(&app.get("/blog").await), "MISS");
    let many = serde_json::json!({ "tags": vec!["posts"; 257] }).to_string();
    let long = serde_json::json!({ "paths": [format!("/{}", "x".repeat(2048))] }).to_string();
    let cases = [
        ("not json", "invalid revalidation request"),
        (r#"{"tags": "posts"}"#, "invalid revalidation request"),
        (r#"{"tags": ["posts"], "mode": "gentle"}"#, "invalid revalidation request"),
        (r#"{"tagz": ["posts"]}"#, "invalid revalidation request"),
        ("{}", "nothing to purge"),
        (r#"{"paths": ["blog"]}"#, r#"paths[0] "blog": must start with /"#),
        // Every item is checked, and one bad item stops the whole purge.
        (r#"{"tags": ["posts", "a|b"]}"#, r#"tags[1] "a|b": a tag holds only"#),
        (r#"{"tags": [".*"]}"#, r#"tags[0] ".*": a tag holds only"#),
        (r#"{"tags": ["posts", ""]}"#, r#"tags[1] "": a tag is 1 to 128"#),
        (r#"{"tags": ["two tags"]}"#, r#"tags[0] "two tags""#),
        (r#"{"paths": ["/blog", "/a b"]}"#, r#"paths[1] "/a b": holds a space"#),
        (r#"{"paths": ["/a\u0001"]}"#, "holds a control character"),
        (
            r#"{"prefixes": ["/blog/../dashboard"]}"#,
            "prefixes[0] \"/blog/../dashboard\": holds a ..",
        ),
        (r#"{"prefixes": ["/blog/*"]}"#, "no wildcards"),
        (&long, "longer than 2048 bytes"),
        (&many, "257 items to purge; the limit is 256"),
    ];
    for (body, message) in cases {
        let response = revalidate(&app, Some(REVALIDATE_TOKEN), body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        let json = response.json();
        assert_eq!(json["error"]["code"], "bad_request");
        assert!(
            json["error"]["message"].as_str().is_some_and(|m| m.contains(message)),
            "{body}: {json}"
        );
    }
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let response = app.send_with(method.clone(), "/api/revalidate", &[]).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.json()["error"]["code"], "method_not_allowed");
    }
    assert_eq!(x_cache(&app.get("/blog").await), "HIT", "nothing was purged");
    assert!(app.isr.recent_purges().is_empty());
}

#[tokio::test]
async fn revalidate_purges_by_path_prefix_and_tag() {
    let (app, _) = Fixture::start().await;
    for path in ["/fixture/a", "/fixture/b", "/fixtures", "/fixtures?page=2"] {
        assert_eq!(x_cache(&app.get(path).await), "MISS", "{path}");
    }
    let purge = |body: &'static str| revalidate(&app, Some(REVALIDATE_TOKEN), body);

    // Hard by path: every query of that path, the next visitor renders.
    let response = purge(r#"{"paths": ["/fixtures"], "mode": "hard"}"#).await;
    assert_eq!(response.json(), serde_json::json!({"purged": 2, "mode": "hard"}));
    assert_eq!(x_cache(&app.get("/fixtures").await), "MISS");
    assert_eq!(x_cache(&app.get("/fixture/a").await), "HIT");

    // Soft by prefix (the default mode): the next visitor gets the old page at
    // once while a new one renders. `/fixtures` is not under `/fixture/`.
    let response = purge(r#"{"prefixes": ["/fixture/"]}"#).await;
    assert_eq!(response.json(), serde_json::json!({"purged": 2, "mode": "soft"}));
    assert_eq!(x_cache(&app.get("/fixture/a").await), "STALE");
    app.isr.idle().await;
    assert_eq!(x_cache(&app.get("/fixture/a").await), "HIT");
    assert_eq!(x_cache(&app.get("/fixtures").await), "HIT");

    // By tag: each fixture page is tagged `fixture:{name}`.
    let response = purge(r#"{"tags": ["fixture:b"], "mode": "hard"}"#).await;
    assert_eq!(response.json()["purged"], 1);
    assert_eq!(x_cache(&app.get("/fixture/b").await), "MISS");
    assert_eq!(x_cache(&app.get("/fixture/a").await), "HIT");
}

async fn editing_a_post_purges_its_pages(app: TestApp) {
    // Pages showing the post are in the cache.
    assert!(app.get("/blog/hello-isr").await.body.contains(POST_TITLE));
    let list_page: String = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db)
        .await
        .map(|n: i64| format!("/blog?page={}", (n + 8) / 9))
        .expect("count");
    assert!(app.get(&list_page).await.body.contains(POST_TITLE));
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT");

    let cookie = app.sign_in_admin().await;
    let saved = app
        .post_form(
            "/api/dashboard/update_post",
            "slug=hello-isr&title=Hello%2C+edited+ISR&body=A+new+first+paragraph.%0A%0AAnd+a+second.",
            Some(&cookie),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.header("cache-control"), Some("no-store"));
    // It names what changed, for the browser to invalidate its own copies
    // (`write`: what any write changes, the dashboard's numbers).
    assert_eq!(
        saved.json(),
        serde_json::json!({ "tags": ["post:hello-isr", "posts", "search", "write"] })
    );

    let post = app.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&post), "MISS", "purged, so rendered afresh");
    assert!(
        post.body.contains("Hello, edited ISR") && post.body.contains("A new first paragraph.")
    );
    assert!(!post.body.contains(POST_TITLE));
    let list = app.get(&list_page).await;
    assert!(list.body.contains("Hello, edited ISR"), "the list is purged too (tag posts)");
    let data = app.get_json("/api/blog/get_post?slug=hello-isr").await;
    assert!(data.body.contains("Hello, edited ISR"));
}

async fn editing_a_product_purges_its_pages(app: TestApp) {
    let id: i64 = sqlx::query_scalar("SELECT id FROM products WHERE stock > 5 ORDER BY id LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("a product");
    let page = format!("/products/{id}");
    assert!(app.get(&page).await.body.contains("In stock"));
    app.get("/products").await;
    app.get_json(&format!("/api/products/{id}")).await;

    let cookie = app.sign_in_admin().await;
    let saved = app
        .post_form(
            "/api/dashboard/update_product",
            &format!("id={id}&price=12.34&stock=3"),
            Some(&cookie),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        saved.json(),
        serde_json::json!({ "tags": [format!("product:{id}"), "products", "search", "write"] })
    );

    let product = app.get(&page).await;
    assert_eq!(x_cache(&product), "MISS");
    assert!(product.body.contains("$12.34") && product.body.contains("Only 3 left"));
    assert!(app.get("/products").await.body.contains("$12.34"));
    let api = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(
        (api.json()["price_cents"].as_i64(), api.json()["stock"].as_i64()),
        (Some(1234), Some(3))
    );
}

async fn the_editor_rejects_bad_input_and_other_users(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let customer = app.sign_in_customer().await;
    let form = "slug=hello-isr&title=New&body=Text";
    let anonymous = app.post_form("/api/dashboard/update_post", form, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let forbidden = app.post_form("/api/dashboard/update_post", form, Some(&customer)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let missing =
        app.post_form("/api/dashboard/update_post", "slug=nope&title=T&body=B", Some(&admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let cases = [
        ("/api/dashboard/update_post", "slug=hello-isr&title=+&body=Text", "title"),
        ("/api/dashboard/update_product", "id=1&price=abc&stock=3", "price"),
        ("/api/dashboard/update_product", "id=1&price=1.00&stock=-1", "stock"),
    ];
    for (path, form, field) in cases {
        let response = app.post_form(path, form, Some(&admin)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{form}");
        assert!(response.body.to_lowercase().contains(field), "{form}: {}", response.body);
    }
    // Nothing was changed by the rejected saves.
    assert!(app.get("/blog/hello-isr").await.body.contains(POST_TITLE));
    // Only admins reach the editor's pages.
    assert_eq!(
        app.get_signed_in("/dashboard/posts/hello-isr", &customer).await.status,
        StatusCode::FORBIDDEN
    );
    let editor = app.get_signed_in("/dashboard/posts/hello-isr", &admin).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(editor.body.contains(POST_TITLE));
    assert_eq!(app.get("/dashboard/products/1").await.status, StatusCode::FOUND);
}

async fn the_last_good_page_outlives_the_database(app: TestApp) {
    let good = app.get("/blog/hello-isr").await;
    assert_eq!(good.status, StatusCode::OK);

    // The posts disappear from under the app.
    app.take_posts_away().await;
    let ttl = CachePolicy::from_headers(&good.headers).and_then(|policy| policy.shared_ttl());
    let ttl = ttl.expect("a post is shared");
    app.clock.advance(ttl + Duration::from_secs(1)); // past s-maxage, inside stale-while-revalidate
    let stale = app.get("/blog/hello-isr").await;
    assert_eq!((stale.status, x_cache(&stale)), (StatusCode::OK, "STALE"));
    assert_eq!(stale.body, good.body);
    app.isr.idle().await;
    assert_eq!(app.isr.metrics().regeneration_errors.get(), 1);
    let still = app.get("/blog/hello-isr").await;
    assert_eq!((still.status, x_cache(&still)), (StatusCode::OK, "STALE"));
    assert_eq!(still.body, good.body, "an error never replaces a good page");
    app.isr.idle().await;
    // A page that was never stored has nothing to fall back on.
    assert_eq!(app.get("/blog").await.status, StatusCode::INTERNAL_SERVER_ERROR);

    // Recovery: after the back-off the next visit refreshes the entry.
    app.bring_posts_back().await;
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "STALE");
    app.isr.idle().await;
    let fresh = app.get("/blog/hello-isr").await;
    assert_eq!((fresh.status, x_cache(&fresh)), (StatusCode::OK, "HIT"));
    assert_eq!(fresh.header("age"), Some("0"));
}

/// The fixture's policy: `s-maxage=3600, stale-while-revalidate=86400,
/// stale-if-error=172800` (a day past the SWR window).
#[tokio::test]
async fn the_last_good_page_outlives_the_swr_window_when_renders_fail() {
    let (app, fixture) = Fixture::start().await;
    let good = app.get("/fixture/a").await;
    assert_eq!((good.status, x_cache(&good)), (StatusCode::OK, "MISS"));
    assert!(good.body.contains("version 0"));

    // Past s-maxage and the whole SWR window: only an error lets it be served.
    app.clock.advance(HOUR + DAY + Duration::from_secs(60));
    fixture.fail(true);
    let stale = app.get("/fixture/a").await;
    assert_eq!((stale.status, x_cache(&stale)), (StatusCode::OK, "STALE"), "{}", stale.body);
    assert_eq!(stale.body, good.body, "the last good page");
    let cache_status = stale.header("cache-status").unwrap_or_default();
    assert!(cache_status.starts_with("isr; fwd=stale; fwd-status=500; ttl=-"), "{cache_status}");
    assert_eq!(app.isr.metrics().regeneration_errors.get(), 1, "it tried to render first");
    // Again, and as HEAD: still the last good page, never the error.
    let again = app.get("/fixture/a").await;
    assert_eq!((again.status, again.body.as_str()), (StatusCode::OK, good.body.as_str()));
    let head = app.send_with(Method::HEAD, "/fixture/a", &[]).await;
    assert_eq!((head.status, x_cache(&head)), (StatusCode::OK, "STALE"));

    // Renders work again, and the page changed behind the cache's back (no
    // purge): the next visit renders it, stores it, and serves it.
    fixture.fail(false);
    fixture.edit();
    app.clock.advance(Duration::from_secs(60)); // past the retries' back-off
    let fresh = app.get("/fixture/a").await;
    assert_eq!((fresh.status, x_cache(&fresh)), (StatusCode::OK, "MISS"), "{}", fresh.body);
    assert!(fresh.body.contains("version 1"), "{}", fresh.body);
    let hit = app.get("/fixture/a").await;
    assert_eq!((x_cache(&hit), hit.body.as_str()), ("HIT", fresh.body.as_str()));

    // Past stale-if-error too, the page is gone for good: a failure then is an error.
    app.clock.advance(HOUR + 2 * DAY + Duration::from_secs(1));
    fixture.fail(true);
    let expired = app.get("/fixture/a").await;
    assert_eq!(expired.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!expired.body.contains("version 1"));
}

async fn host_headers_do_not_change_what_others_get(app: TestApp) {
    let poisoned = app
        .get_with("/blog/hello-isr", &[("host", "evil.test"), ("x-forwarded-host", "evil.test")])
        .await;
    assert_eq!(x_cache(&poisoned), "MISS");
    let normal = app.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&normal), "HIT", "one entry whatever the Host: the canonical one");
    assert!(!normal.body.contains("evil.test"));
}

async fn metrics_are_for_direct_loopback_clients(app: TestApp) {
    app.get("/blog/hello-isr").await;
    app.get("/blog/hello-isr").await;
    let from = |ip: [u8; 4]| {
        let mut request = Request::get("/metrics").body(Body::empty()).expect("request");
        request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from((ip, 40000))));
        request
    };
    let local = app.send(from([127, 0, 0, 1])).await;
    assert_eq!(local.status, StatusCode::OK);
    assert!(
        local.header("content-type").is_some_and(|t| t.starts_with("application/openmetrics-text"))
    );
    assert!(local.body.contains("isr_cache_hits_total 1"), "{}", local.body);
    // The page's first request, and this one (not storable, so not yet known as such).
    assert!(local.body.contains("isr_cache_misses_total 2"), "{}", local.body);
    assert!(local.body.contains("isr_cache_entries 1"), "{}", local.body);
    assert_eq!(local.header("cache-control"), Some("no-store"));
    assert_eq!(app.send(from([10, 0, 0, 7])).await.status, StatusCode::FORBIDDEN);
    // A proxy on this host (Varnish, nginx) is a loopback peer for everyone.
    for (name, value) in
        [("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.9"), ("via", "1.1 cdn")]
    {
        let mut proxied = from([127, 0, 0, 1]);
        proxied.headers_mut().insert(name, value.parse().expect("a value"));
        assert_eq!(app.send(proxied).await.status, StatusCode::FORBIDDEN, "{name}");
    }
    assert_eq!(
        app.get("/metrics").await.status,
        StatusCode::FORBIDDEN,
        "no peer address, no access"
    );
}

async fn warm_up_fills_the_cache(app: TestApp) {
    let report = leptos_isr_starter::server::cache::warm(
        app.router(),
        &app.config,
        &app.isr,
        &app.state.ready,
    )
    .await;
    assert_eq!(report.requested, 5, "the configured paths, then links from them, up to the limit");
    assert!(report.ok >= 2);
    assert_eq!(x_cache(&app.get("/").await), "HIT");
    assert_eq!(x_cache(&app.get("/blog").await), "HIT");
}

async fn the_dashboard_shows_the_cache_and_purges_it(app: TestApp) {
    app.get("/blog/hello-isr").await;
    app.get("/blog/hello-isr").await;
    revalidate(&app, Some(REVALIDATE_TOKEN), r#"{"tags": ["products"]}"#).await;
    let admin = app.sign_in_admin().await;
    let dashboard = app.get_signed_in("/dashboard", &admin).await;
    assert!(dashboard.body.contains("data-testid=\"cache-panel\""));
    assert!(dashboard.body.contains("50%"), "one hit, one miss");
    assert!(dashboard.body.contains("#products"), "the latest purge is listed");
    assert!(dashboard.body.contains("Second level: "), "and the second level");
    assert!(dashboard.body.contains("appears after the first minute"), "no sample yet");

    // A minute's sample (the server takes one a minute), then another.
    app.isr.sample_history();
    app.get("/blog/hello-isr").await;
    app.get("/blog/hello-isr").await;
    app.isr.sample_history();
    let graph = app.get_signed_in("/dashboard", &admin).await.body;
    assert!(graph.contains("Hit rate, one point a minute; last: 100%"), "{graph}");
    assert!(graph.contains(r#"<polyline points="0,30 5,0">"#), "50 % then 100 %: {graph}");
    let customer = app.sign_in_customer().await;
    let theirs = app.get_signed_in("/dashboard", &customer).await;
    assert!(!theirs.body.contains("cache-panel"), "only admins see the cache");
    assert_eq!(
        app.post_form("/api/dashboard/purge_cache", "", Some(&customer)).await.status,
        StatusCode::FORBIDDEN
    );

    let purged = app.post_form("/api/dashboard/purge_cache", "", Some(&admin)).await;
    assert_eq!(purged.status, StatusCode::OK, "{}", purged.body);
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "MISS", "every page was dropped");
}
