//! The cache never makes things worse: nothing an anonymous client sends can
//! make every request a render, and nothing the route table forgets is
//! stored for everyone.
//!
//! - Query parameters a route does not declare share its one entry.
//! - `Range`, `Authorization` (on public pages) and a client's
//!   `Cache-Control: no-cache` or `Pragma: no-cache` are answered from the cache.
//! - A session cookie whose signature fails is anonymous: served from the cache.
//! - A route missing from the table is answered `private, no-store` and
//!   never stored, whatever its handler says.
//! - The preview token is the way around the cache: a fresh render,
//!   `private, no-store`, never stored, replacing nothing.
//!
//! Rules that hold for any page are shown on [`fixture`](crate::fixture)
//! pages of the tests' own, which count their renders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use leptos_isr_starter::server::{AppState, router_with};
use tower::ServiceExt as _;

use crate::db_tests;
use crate::fixture::{self, Fixture};
use crate::helpers::{TestApp, x_cache};

db_tests!(data_functions_keep_their_arguments);

fn renders(app: &TestApp) -> u64 {
    app.isr.metrics().regenerations.get()
}

/// `?x=1`, `?x=2`, …: one entry and one render, on pages that declare no
/// parameter and on those that declare some; declared ones still count, and
/// are all the render sees.
#[tokio::test]
async fn undeclared_query_parameters_share_one_entry() {
    let (app, fixture) = Fixture::start().await;
    let first = app.get("/fixture/a?x=1").await;
    assert_eq!((first.status, x_cache(&first)), (StatusCode::OK, "MISS"));
    assert!(first.body.contains("query: []"), "rendered without x: {}", first.body);
    for junk in ["?x=2", "?x=3&y=4", "?page=9", "?utm_source=mail", "", "?"] {
        let response = app.get(&format!("/fixture/a{junk}")).await;
        assert_eq!(x_cache(&response), "HIT", "{junk}");
        assert_eq!(response.body, first.body, "{junk}");
    }
    assert_eq!(fixture.renders(), 1, "no render for junk parameters");

    let page_two = app.get("/fixtures?page=2&x=1").await;
    assert_eq!((page_two.status, x_cache(&page_two)), (StatusCode::OK, "MISS"));
    assert!(page_two.body.contains("query: [page=2]"), "{}", page_two.body);
    assert_eq!(x_cache(&app.get("/fixtures?x=2&page=2").await), "HIT");
    assert_eq!(x_cache(&app.get("/fixtures?page=3").await), "MISS", "a declared value is a page");
    assert_eq!(fixture.renders(), 3);
}

/// The GET data functions keep their arguments (the route table declares
/// them), and drop the rest.
async fn data_functions_keep_their_arguments(app: TestApp) {
    let data = app.get_json("/api/blog/get_post?slug=hello-isr&junk=1").await;
    assert_eq!((data.status, x_cache(&data)), (StatusCode::OK, "MISS"), "{}", data.body);
    assert!(data.body.contains("hello-isr"), "{}", data.body);
    assert_eq!(x_cache(&app.get_json("/api/blog/get_post?slug=hello-isr").await), "HIT");
}

/// A `Range` request is a slice of the stored page, not a render.
#[tokio::test]
async fn ranges_are_answered_from_the_cache() {
    let (app, fixture) = Fixture::start().await;
    let whole = app.get("/fixture/a").await;
    let part = app.get_with("/fixture/a", &[("range", "bytes=0-99")]).await;
    assert_eq!((part.status, x_cache(&part)), (StatusCode::PARTIAL_CONTENT, "HIT"));
    assert_eq!(part.body, whole.body[..100]);
    let range = format!("bytes 0-99/{}", whole.body.len());
    assert_eq!(part.header("content-range"), Some(range.as_str()));
    let beyond = app.get_with("/fixture/a", &[("range", "bytes=999999-")]).await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(fixture.renders(), 1);
    // A range of a page not stored yet: one render, stored for everyone.
    let miss = app.get_with("/fixture/b", &[("range", "bytes=-10")]).await;
    let page = fixture::page("b", 0, "");
    assert_eq!(
        (miss.status, miss.body.as_str()),
        (StatusCode::PARTIAL_CONTENT, &page[page.len() - 10..])
    );
    assert_eq!(x_cache(&app.get("/fixture/b").await), "HIT");
    assert_eq!(fixture.renders(), 2);
}

/// `curl -H "Cache-Control: no-cache"` is not a way around the cache for
/// anonymous clients (the preview token is).
#[tokio::test]
async fn a_client_asking_for_no_cache_still_gets_the_cache() {
    let (app, fixture) = Fixture::start().await;
    app.get("/fixture/a").await;
    for (name, value) in
        [("cache-control", "no-cache"), ("cache-control", "max-age=0"), ("pragma", "no-cache")]
    {
        let response = app.get_with("/fixture/a", &[(name, value)]).await;
        assert_eq!(x_cache(&response), "HIT", "{name}: {value}");
    }
    assert_eq!(fixture.renders(), 1);
}

/// `Cookie: sid=anything` is not a session: no render, the stored page.
#[tokio::test]
async fn a_forged_session_cookie_is_served_from_the_cache() {
    let (app, fixture) = Fixture::start().await;
    let stored = app.get("/fixture/a").await;
    for forged in ["sid=anything", "sid=abc.def", "theme=dark; sid=1", "sid="] {
        let response = app.get_signed_in("/fixture/a", forged).await;
        assert_eq!(x_cache(&response), "HIT", "{forged}");
        assert_eq!(response.body, stored.body, "{forged}");
    }
    assert_eq!(fixture.renders(), 1);
    // A real session still goes straight to the app.
    let cookie = app.sign_in_customer().await;
    let personal = app.get_signed_in("/fixture/a", &cookie).await;
    assert_eq!(x_cache(&personal), "BYPASS");
    assert_eq!(personal.header("cache-control"), Some("private, no-store"));
    assert_eq!(fixture.renders(), 2);
}

/// With `PREVIEW_TOKEN`, its bearer (or the cookie `/api/preview` sets) sees
/// a fresh render that is never stored; a wrong token changes nothing.
#[tokio::test]
async fn previews_render_afresh_and_replace_nothing() {
    let token = "preview-token-for-tests";
    let app = TestApp::start_with_vars(&[("PREVIEW_TOKEN", token.to_owned())]).await;
    let stored = app.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&stored), "MISS");
    let bearer = format!("Bearer {token}");

    let before = renders(&app);
    let preview = app.get_with("/blog/hello-isr", &[("authorization", &bearer)]).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.header("cache-status"), Some("isr; fwd=bypass; detail=preview"));
    assert_eq!(preview.header("cache-control"), Some("private, no-store"));
    assert_eq!(preview.header("surrogate-key"), None);
    assert_eq!(renders(&app), before, "rendered by the app, not for the cache");
    let again = app.get("/blog/hello-isr").await;
    assert_eq!((x_cache(&again), &again.body), ("HIT", &stored.body), "nothing replaced");

    // A page previewed before anyone stored it is not stored by the preview.
    app.get_with("/products", &[("authorization", &bearer)]).await;
    assert_eq!(x_cache(&app.get("/products").await), "MISS");

    // The cookie that /api/preview sets works the same way.
    let enter = app.enter_preview(&format!("token={token}&path=/blog/hello-isr")).await;
    assert_eq!(enter.status, StatusCode::SEE_OTHER, "{}", enter.body);
    let cookie = enter
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("isr_preview="))
        .and_then(|c| c.split(';').next())
        .expect("a preview cookie")
        .to_owned();
    let via_cookie = app.get_signed_in("/blog/hello-isr", &cookie).await;
    assert_eq!(via_cookie.header("cache-status"), Some("isr; fwd=bypass; detail=preview"));

    // A wrong token is no preview: the stored page, and /api/preview says 401.
    let wrong = app.get_with("/blog/hello-isr", &[("authorization", "Bearer nope")]).await;
    assert_eq!(x_cache(&wrong), "HIT");
    let refused = app.enter_preview("token=nope&path=/").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

/// A plain axum route the table does not list: `private, no-store` whatever
/// it asks for, never stored, however often it is requested.
#[tokio::test]
async fn a_route_missing_from_the_table_is_never_stored() {
    let app = TestApp::start_with_vars(&[]).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let extra: Router<AppState> = Router::new().route(
        "/unlisted",
        get({
            let calls = calls.clone();
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                ([(http::header::CACHE_CONTROL, "public, max-age=3600")], "shared, it says")
            }
        }),
    );
    let router = router_with(app.state.clone(), extra);
    for attempt in 0..3 {
        let request = http::Request::get("/unlisted").body(axum::body::Body::empty());
        let response = router.clone().oneshot(request.expect("request")).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "private, no-store", "attempt {attempt}");
        assert_ne!(response.headers()["x-cache"], "HIT", "attempt {attempt}");
    }
    // The first request's anonymous render plus each request itself.
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}
