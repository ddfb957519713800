//! The cache as RFC 9111 has it ([`IsrConfig::http_cache`], the
//! `reverse_proxy` example): the settings where an app's cache and a general
//! HTTP cache differ, and the rules both keep (freshness from `Expires` and
//! the age a response arrives with).

use super::*;

fn http_cache() -> Harness {
    harness_with(IsrConfig::http_cache().canonical_host("example.com"))
}

#[tokio::test]
async fn a_miss_is_sent_as_it_came_and_its_answer_is_the_clients() {
    let h = http_cache();
    h.origin.set(Behaviour::Page("private, max-age=60"));
    let got = h
        .get_with("/a?utm_source=x", &[("cookie", "theme=dark"), ("if-none-match", "\"x\"")])
        .await;
    assert_eq!((got.status, got.x_cache()), (StatusCode::OK, "MISS"));
    assert_eq!(h.origin.renders(), 1, "one request upstream, not a render and then the request");
    assert_eq!(h.origin.last_header("cookie").as_deref(), Some("theme=dark"));
    assert_eq!(h.origin.last_header("if-none-match"), None, "the cache answers conditionals");
    assert!(got.body.contains("uri=/a?utm_source=x"), "the query as sent");

    // The app's default: an anonymous render, then the request as it came.
    let app = harness();
    app.origin.set(Behaviour::Page("private, max-age=60"));
    app.get_with("/a", &[("cookie", "theme=dark")]).await;
    assert_eq!(app.origin.renders(), 2);
}

#[tokio::test]
async fn the_age_a_response_arrives_with_counts_against_its_freshness() {
    let h = http_cache();
    h.clock.advance(3600 * SECOND); // a clock with a past to be 50 s old in
    h.origin.set(Behaviour::Respond(200, &[("cache-control", "max-age=60"), ("age", "50")]));
    assert_eq!(h.get("/a").await.headers[AGE], "50");
    h.clock.advance(9 * SECOND);
    let hit = h.get("/a").await;
    assert_eq!((hit.x_cache(), &hit.headers[AGE]), ("HIT", &HeaderValue::from_static("59")));
    h.clock.advance(SECOND);
    assert_eq!(h.get("/a").await.x_cache(), "MISS", "stale after 10 s, not 60");
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn expires_less_date_is_a_freshness_lifetime() {
    // The manual clock starts at the Unix epoch.
    let h = http_cache();
    h.origin.set(Behaviour::Respond(
        200,
        &[("date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("expires", "Thu, 01 Jan 1970 00:00:30 GMT")],
    ));
    h.get("/a").await;
    h.clock.advance(29 * SECOND);
    assert_eq!(h.get("/a").await.x_cache(), "HIT");
    h.clock.advance(SECOND);
    assert_eq!(h.get("/a").await.x_cache(), "MISS");

    h.origin.set(Behaviour::Respond(200, &[("expires", "0")]));
    h.get("/invalid").await;
    assert_eq!(h.get("/invalid").await.x_cache(), "BYPASS", "an invalid Expires is stale");
}

#[tokio::test]
async fn errors_that_state_a_freshness_are_stored_when_any_status_is() {
    let h = http_cache();
    h.origin.set(Behaviour::Respond(503, &[("cache-control", "max-age=60")]));
    assert_eq!(h.get("/a").await.status, StatusCode::SERVICE_UNAVAILABLE);
    let again = h.get("/a").await;
    assert_eq!((again.status, again.x_cache()), (StatusCode::SERVICE_UNAVAILABLE, "HIT"));

    let app = harness();
    app.origin.set(Behaviour::Respond(503, &[("cache-control", "max-age=60")]));
    app.get("/a").await;
    assert_eq!(app.get("/a").await.x_cache(), "MISS", "an app's error is never stored");
}

#[tokio::test]
async fn a_successful_unsafe_request_invalidates_its_url_and_locations() {
    let h = http_cache();
    let post = |path: &str| Request::post(path).body(()).expect("request");
    for path in ["/a", "/a?v=1", "/b", "/c"] {
        h.get(path).await;
    }
    h.origin.set(Behaviour::PageWith(
        ISR,
        &[("location", "b"), ("content-location", "http://elsewhere.test/c")],
    ));
    h.send(post("/a")).await;
    assert_eq!(h.get("/a").await.x_cache(), "MISS");
    assert_eq!(h.get("/b").await.x_cache(), "MISS", "its Location");
    assert_eq!(h.get("/a?v=1").await.x_cache(), "HIT", "another URL");
    assert_eq!(h.get("/c").await.x_cache(), "HIT", "another origin's URL is not ours");

    h.origin.set(Behaviour::Status(500));
    h.send(post("/a")).await;
    assert_eq!(h.get("/a").await.x_cache(), "HIT", "a failed request changes nothing");

    let app = harness();
    app.get("/a").await;
    app.send(post("/a")).await;
    assert_eq!(app.get("/a").await.x_cache(), "HIT", "an app purges by tag instead");
}

#[tokio::test]
async fn the_etag_date_and_encoding_given_are_served_from_the_entry() {
    let h = harness();
    let given: &[(&str, &str)] = &[
        ("etag", "\"v1\""),
        ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ("content-encoding", "gzip"),
    ];
    h.origin.set(Behaviour::PageWith(ISR, given));
    h.get("/a").await;
    let hit = h.get_with("/a", &[("accept-encoding", "br")]).await;
    assert_eq!(hit.x_cache(), "HIT");
    for (name, value) in given {
        assert_eq!(hit.headers[*name], *value, "{name}");
    }
    let revalidated = h.get_with("/a", &[("if-none-match", "\"v1\"")]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn headers_of_the_connection_are_not_stored() {
    let h = harness();
    h.origin.set(Behaviour::PageWith(
        ISR,
        &[
            ("connection", "x-a, x-b"),
            ("x-a", "1"),
            ("x-b", "2"),
            ("x-c", "3"),
            ("keep-alive", "5"),
        ],
    ));
    h.get("/a").await;
    let hit = h.get("/a").await;
    assert_eq!(hit.x_cache(), "HIT");
    assert_eq!(hit.headers["x-c"], "3");
    for name in ["connection", "x-a", "x-b", "keep-alive"] {
        assert!(hit.headers.get(name).is_none(), "{name}");
    }
}

#[tokio::test]
async fn a_stale_entry_is_revalidated_and_a_304_updates_it() {
    let h = harness();
    h.origin.set(Behaviour::Validating("public, s-maxage=60", "\"v1\""));
    let first = h.get("/a").await;
    assert_eq!(h.origin.last_header("if-none-match"), None, "nothing to revalidate yet");
    h.clock.advance(61 * SECOND);

    let again = h.get("/a").await;
    assert_eq!(h.origin.last_header("if-none-match").as_deref(), Some("\"v1\""));
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "the stored body");
    assert_eq!(again.headers["x-render"], "2", "with the headers the 304 sent");
    h.clock.advance(59 * SECOND);
    assert_eq!(h.get("/a").await.x_cache(), "HIT", "fresh again for its whole lifetime");
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn a_changed_page_is_stored_whole_after_revalidating() {
    let h = harness();
    h.origin.set(Behaviour::Validating("public, s-maxage=60", "\"v1\""));
    h.get("/a").await;
    h.origin.set(Behaviour::Validating("public, s-maxage=60", "\"v2\""));
    h.clock.advance(61 * SECOND);
    let changed = h.get("/a").await;
    assert!(changed.body.starts_with("body-2"));
    assert_eq!(changed.headers[ETAG], "\"v2\"");
}

#[tokio::test]
async fn a_stale_entry_answers_while_the_service_is_unreachable_unless_it_must_revalidate() {
    const MAY: &[(&str, &str)] = &[("cache-control", "max-age=60")];
    const MUST: &[(&str, &str)] = &[("cache-control", "max-age=60, must-revalidate")];
    const SHARED: &[(&str, &str)] = &[("cache-control", "s-maxage=60")];
    let stale_then_unreachable = async |config: IsrConfig, headers| {
        let h = harness_with(config);
        h.origin.set(Behaviour::Respond(200, headers));
        h.get("/a").await;
        h.clock.advance(61 * SECOND);
        h.origin.set(Behaviour::Respond(502, &[]));
        h.get("/a").await.status
    };
    assert_eq!(stale_then_unreachable(IsrConfig::http_cache(), MAY).await, StatusCode::OK);
    for must_revalidate in [MUST, SHARED] {
        let status = stale_then_unreachable(IsrConfig::http_cache(), must_revalidate).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{must_revalidate:?}");
    }
    let off = IsrConfig::http_cache().stale_if_unreachable(false);
    assert_eq!(stale_then_unreachable(off, MAY).await, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn a_304_that_forbids_storing_still_answers_with_the_body_it_validated() {
    let h = harness();
    h.origin.set(Behaviour::Validating("public, s-maxage=60", "\"v1\""));
    let first = h.get("/a").await;
    h.origin.set(Behaviour::Validating("no-store", "\"v1\""));
    h.clock.advance(61 * SECOND);
    let validated = h.get("/a").await;
    assert_eq!(validated.cache_status(), "isr; fwd=uri-miss", "answered, not stored");
    assert_eq!((validated.status, validated.body), (StatusCode::OK, first.body));
    assert_eq!(h.origin.renders(), 2, "one conditional request, not a second whole one");
    assert_eq!(h.get("/a").await.x_cache(), "MISS", "no longer stored");
}

#[tokio::test]
async fn a_response_to_authorization_is_stored_only_if_it_says_it_is_shared() {
    let h = http_cache();
    let authorized = [("authorization", "Basic Zm9vOmJhcg==")];
    h.origin.set(Behaviour::Respond(200, &[("cache-control", "max-age=60")]));
    assert_eq!(h.get_with("/a", &authorized).await.status, StatusCode::OK);
    assert_eq!(h.origin.renders(), 1, "answered by the one request sent");
    assert_eq!(h.get("/a").await.x_cache(), "BYPASS", "not stored");

    h.origin.set(Behaviour::Respond(200, &[("cache-control", "public, max-age=60")]));
    h.get_with("/b", &authorized).await;
    assert_eq!(h.get_with("/b", &authorized).await.x_cache(), "HIT");
}

#[tokio::test]
async fn a_clients_no_cache_revalidates_only_when_request_cache_control_is_honoured() {
    let h = http_cache();
    h.origin.set(Behaviour::Validating("max-age=600", "\"v1\""));
    h.get("/a").await;
    let reload = h.get_with("/a", &[("cache-control", "no-cache")]).await;
    assert_eq!(h.origin.last_header("if-none-match").as_deref(), Some("\"v1\""));
    assert_eq!(reload.headers["x-render"], "2", "revalidated");
    h.clock.advance(30 * SECOND);
    h.get_with("/a", &[("cache-control", "max-age=10")]).await;
    assert_eq!(h.origin.renders(), 3, "older than the client's max-age");
    h.get_with("/a", &[("pragma", "no-cache")]).await;
    assert_eq!(h.origin.renders(), 4);
    assert_eq!(h.get("/a").await.x_cache(), "HIT");
    assert_eq!(h.get_with("/a", &[("cache-control", "no-store")]).await.x_cache(), "BYPASS");

    // The app's default: a reload is a hit like any other request.
    let app = harness();
    app.get("/a").await;
    assert_eq!(app.get_with("/a", &[("cache-control", "no-cache")]).await.x_cache(), "HIT");
}

#[tokio::test]
async fn the_query_as_sent_is_the_key_unless_it_is_normalised() {
    let h = http_cache();
    for path in ["/a?b=1&a=2", "/a?a=2&b=1", "/a?a=2&b=1&utm_source=x"] {
        assert_eq!(h.get(path).await.x_cache(), "MISS", "{path}");
    }
    let app = harness();
    app.get("/a?b=1&a=2").await;
    for path in ["/a?a=2&b=1", "/a?a=2&b=1&utm_source=x"] {
        assert_eq!(app.get(path).await.x_cache(), "HIT", "{path}");
    }
}
