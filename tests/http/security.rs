//! Safe on the internet: only the site's own pages may change anything, every
//! response carries the security headers, a cached page's
//! Content-Security-Policy allows exactly its own scripts, and nothing a
//! client sends besides the key makes an anonymous render differ.

use axum::body::Body;
use http::header::CONTENT_TYPE;
use http::{Method, Request, StatusCode};

use crate::helpers::{
    REVALIDATE_TOKEN, TestApp, TestResponse, inline_script_hashes, policy_script_hashes, x_cache,
};

/// Where a browser says a request came from: another site entirely, and a
/// sibling subdomain (whose cookies `SameSite=Lax` lets through).
const FOREIGN: [(&str, &str); 2] =
    [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];
const SIBLING: [(&str, &str); 2] =
    [("origin", "https://blog.127.0.0.1.example"), ("sec-fetch-site", "same-site")];

fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{what}: {}", response.body);
    assert_eq!(response.json()["error"]["code"], "cross_origin", "{what}");
    assert!(response.set_cookies().is_empty(), "{what} set a cookie");
}

/// The demo admin's sign-in, as a form.
const LOGIN: &str = "email=admin%40example.com&password=admin-demo-password";

async fn title_of_hello_isr(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT title FROM posts WHERE slug = 'hello-isr'")
        .fetch_one(&app.db)
        .await
        .expect("the post")
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&app.db)
        .await
        .expect("count")
}

/// Sign-in, sign-out, orders, edits and purges, each sent by a browser on
/// another site and on a sibling subdomain: refused, and nothing changed.
#[tokio::test]
async fn writes_from_other_sites_are_refused_and_change_nothing() {
    let app = TestApp::start_with_vars(&[]).await;
    let admin = app.sign_in_admin().await;
    let (orders, sessions, title) = (
        count(&app, "orders").await,
        count(&app, "sessions").await,
        title_of_hello_isr(&app).await,
    );
    app.get("/blog/hello-isr").await;
    let writes: [(&str, &str); 6] = [
        ("/api/auth/login", LOGIN),
        ("/api/auth/logout", ""),
        ("/api/shop/place_order", "id=1&quantity=1"),
        ("/api/dashboard/update_post", "slug=hello-isr&title=Forged&body=Forged."),
        (
            "/api/dashboard/update_product",
            "id=1&name=Forged&description=Forged.&price_cents=1&stock=1",
        ),
        ("/api/dashboard/purge_cache", "target=everything"),
    ];
    for from in [&FOREIGN[..], &SIBLING[..], &FOREIGN[..1]] {
        for (path, form) in writes {
            let response = app.post_form_with(path, form, Some(&admin), from).await;
            assert_refused(&response, &format!("{path} from {from:?}"));
        }
        let purge = Request::post("/api/revalidate")
            .header(CONTENT_TYPE, "application/json")
            .header("authorization", format!("Bearer {REVALIDATE_TOKEN}"))
            .header("origin", from[0].1);
        let purge = app.send(purge.body(Body::from(r#"{"tags":["posts"]}"#)).expect("request"));
        assert_refused(&purge.await, "a purge from a page of another site");
    }
    assert_eq!(count(&app, "orders").await, orders);
    assert_eq!(count(&app, "sessions").await, sessions, "no sign-in, no sign-out");
    assert_eq!(title_of_hello_isr(&app).await, title);
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT", "nothing was purged");
    // The admin's session still works.
    assert_eq!(app.get_signed_in("/dashboard", &admin).await.status, StatusCode::OK);
}

/// The site's own pages (`Sec-Fetch-Site: same-origin`, or `Origin` alone as
/// older browsers send it) may write; so may `curl` with a bearer token.
#[tokio::test]
async fn own_pages_and_clients_without_a_browser_may_write() {
    let app = TestApp::start_with_vars(&[]).await;
    let same_origin = [("sec-fetch-site", "same-origin"), ("origin", "http://127.0.0.1:3000")];
    let form = LOGIN;
    for from in [&same_origin[..], &same_origin[1..]] {
        let response = app.post_form_with("/api/auth/login", form, None, from).await;
        assert_eq!(response.status, StatusCode::OK, "{from:?}: {}", response.body);
        assert!(response.session_cookie().is_some());
    }
    // curl: neither header.
    let purge = Request::post("/api/revalidate")
        .header(CONTENT_TYPE, "application/json")
        .header("authorization", format!("Bearer {REVALIDATE_TOKEN}"));
    let purge = app.send(purge.body(Body::from(r#"{"tags":["posts"]}"#)).expect("request")).await;
    assert_eq!(purge.status, StatusCode::OK, "{}", purge.body);
    // Reads are never refused, whoever links to them.
    let read = app.send_with(Method::GET, "/blog/hello-isr", &FOREIGN).await;
    assert_eq!(read.status, StatusCode::OK);
}

/// A cached page's policy, on the miss and on the hit, allows exactly the
/// inline scripts of the body stored with it, and nothing inline besides.
#[tokio::test]
async fn a_cached_page_policy_lists_its_own_scripts() {
    let app = TestApp::start_with_vars(&[]).await;
    for path in ["/", "/blog/hello-isr", "/products"] {
        let miss = app.get(path).await;
        let hit = app.get(path).await;
        assert_eq!((x_cache(&miss), x_cache(&hit)), ("MISS", "HIT"), "{path}");
        for response in [&miss, &hit] {
            let policy = response.header("content-security-policy").expect("a policy");
            assert!(!policy.contains("unsafe-inline"), "{policy}");
            let scripts = inline_script_hashes(&response.body);
            assert!(scripts.len() >= 2, "{path}: the bootstrap and the page's data");
            let mut listed = policy_script_hashes(policy);
            listed.sort();
            let expected: Vec<String> = scripts.into_iter().collect();
            assert_eq!(listed, expected, "{path}: {policy}");
        }
        assert_eq!(miss.header("content-security-policy"), hit.header("content-security-policy"));
    }
    // A post's changed data is a new script, and a new policy with it.
    let before = app.get("/blog/hello-isr").await;
    app.edit_hello_isr_as_admin("Hashed anew").await;
    let after = app.get("/blog/hello-isr").await;
    assert!(after.body.contains("Hashed anew"));
    assert_ne!(before.header("content-security-policy"), after.header("content-security-policy"));
}

/// Every response carries the fixed headers: pages, hits, JSON, the bundle's
/// files, errors and refusals.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::start_with_vars(&[]).await;
    app.get("/").await;
    let responses = [
        ("a page", app.get("/blog").await),
        ("a hit", app.get("/").await),
        ("JSON", app.get_json("/api/posts").await),
        ("a 404", app.get("/nope").await),
        ("a refused path", app.get("/blog/%FF").await),
        ("a refused write", app.post_form_with("/api/auth/logout", "", None, &FOREIGN).await),
        ("a file", app.get("/favicon.svg").await),
    ];
    for (what, response) in &responses {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("x-frame-options", "DENY"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            assert_eq!(response.header(name), Some(value), "{what}: {name}");
        }
        assert!(response.header("permissions-policy").is_some_and(|p| p.contains("camera=()")));
        let policy = response.header("content-security-policy").expect("a policy");
        assert!(policy.contains("frame-ancestors 'none'"), "{what}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
        // Served over http here: no HSTS, which browsers ignore there anyway.
        assert_eq!(response.header("strict-transport-security"), None, "{what}");
    }
    let https =
        TestApp::start_with_vars(&[("PUBLIC_URL", "https://shop.example".to_owned())]).await;
    let page = https.get("/").await;
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
}

/// A GET data function asked as a browser's form post would be (`Accept:
/// text/html` and a `Referer`) answers JSON, and its key stays cached:
/// nothing in those headers reaches the render.
#[tokio::test]
async fn a_browser_s_accept_and_referer_cannot_make_a_key_pass() {
    let app = TestApp::start_with_vars(&[]).await;
    let path = "/api/blog/get_post?slug=hello-isr";
    let as_form = [("accept", "text/html"), ("referer", "https://evil.example/")];
    let first = app.get_with(path, &as_form).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.location(), None);
    assert_eq!(x_cache(&first), "MISS");
    assert_eq!(first.header("cache-status"), Some("isr; fwd=uri-miss; stored"));
    for _ in 0..3 {
        let again = app.get_with(path, &as_form).await;
        assert_eq!((again.status, x_cache(&again)), (StatusCode::OK, "HIT"));
    }
    assert_eq!(x_cache(&app.get_json(path).await), "HIT");
}
