//! The bad-input sweep: what crawlers, broken clients and attackers send, on
//! every route and API of the app.
//!
//! The policy:
//!
//! - Malformed or oversized JSON (2 MB), invalid UTF-8 in a path or a query
//!   (`%FF`), `..` segments (raw or percent-encoded), a 100 KB header, and
//!   methods the route does not have (`FOO`, `PATCH`, `PROPFIND`) are each
//!   answered with a 4xx, never a 5xx, and with a message: JSON
//!   `{"error":{"code","message"}}` under `/api/`, a page or text elsewhere.
//! - Nothing such a request gets is stored: no `Cache-Status: …stored`, and the
//!   same request again is not a hit.
//! - Over a real socket, a header hyper itself refuses (larger than its read
//!   buffer) gets hyper's `431` and the connection is closed; one our own
//!   limit refuses gets a `431` with a message.
//!
//! Each case is sent twice; every wrong answer is collected, and the test
//! fails once, listing all of them.

use axum::body::Body;
use http::header::{CONTENT_TYPE, COOKIE};
use http::{Method, Request};

use crate::helpers::{TestApp, TestResponse};

/// Every route of the site: pages, the GET server functions with their
/// arguments, the POST server functions, the JSON API, operations, a file.
fn routes(campaign: &str) -> Vec<String> {
    let mut routes: Vec<String> = [
        "/",
        "/blog",
        "/blog/hello-isr",
        "/products",
        "/products/1",
        "/search?q=isr",
        "/login",
        "/dashboard",
        "/dashboard/posts/hello-isr",
        "/dashboard/products/1",
        "/api/blog/latest_posts",
        "/api/shop/featured_products",
        "/api/blog/list_posts",
        "/api/blog/get_post?slug=hello-isr",
        "/api/shop/list_products",
        "/api/shop/get_product?id=1",
        "/api/blog/search_posts?q=isr",
        "/api/shop/search_products?q=isr",
        "/api/shop/my_orders",
        "/api/blog/posts_for_admin",
        "/api/shop/products_for_admin",
        "/api/dashboard/get_dashboard",
        "/api/dashboard/get_post_for_edit?slug=hello-isr",
        "/api/dashboard/get_product_for_edit?id=1",
        "/api/dashboard/update_post",
        "/api/dashboard/purge_cache",
        "/api/dashboard/update_product",
        "/api/shop/place_order",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/posts",
        "/api/products/1",
        "/api/revalidate",
        "/metrics",
        "/pkg/leptos-isr-starter.js",
    ]
    .map(str::to_owned)
    .to_vec();
    routes.push(format!("/landing/{campaign}"));
    routes.push(format!("/api/landing/get_campaign?slug={campaign}"));
    routes
}

/// One request of the sweep.
#[derive(Debug, Clone)]
struct Case {
    what: &'static str,
    method: Method,
    uri: String,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Vec<u8>)>,
}

impl Case {
    fn get(what: &'static str, uri: String) -> Self {
        Self { what, method: Method::GET, uri, headers: Vec::new(), body: None }
    }

    fn request(&self) -> Request<Body> {
        let mut request = Request::builder().method(self.method.clone()).uri(&self.uri);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let body = match &self.body {
            Some((content_type, bytes)) => {
                request = request.header(CONTENT_TYPE, *content_type);
                Body::from(bytes.clone())
            }
            None => Body::empty(),
        };
        request.body(body).expect("request")
    }
}

/// `uri` with `suffix` put at the end of its path (before the query).
fn with_path_suffix(uri: &str, suffix: &str) -> String {
    match uri.split_once('?') {
        Some((path, query)) => format!("{}{suffix}?{query}", path.trim_end_matches('/')),
        None => format!("{}{suffix}", uri.trim_end_matches('/')),
    }
}

/// `uri` with `pair` added to its query.
fn with_query(uri: &str, pair: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{pair}")
}

/// A 2 MB JSON document, well formed: too large, not malformed.
fn oversized_json() -> Vec<u8> {
    let paths = (0..100_000).map(|i| format!("\"/p/{i:08}\"")).collect::<Vec<_>>().join(",");
    let mut json = format!("{{\"paths\":[{paths}]}}").into_bytes();
    json.resize(json.len().max(2 * 1024 * 1024), b' ');
    json
}

fn cases(routes: &[String]) -> Vec<Case> {
    let big_json = oversized_json();
    let big_header = "x".repeat(100 * 1024);
    let mut cases = Vec::new();
    for uri in routes {
        let json = |what, body: &[u8]| Case {
            what,
            method: Method::POST,
            uri: uri.clone(),
            headers: Vec::new(),
            body: Some(("application/json", body.to_vec())),
        };
        cases.push(json("malformed JSON", br#"{"paths": ["/blog", "#));
        cases.push(json("JSON of the wrong shape", br#"[1, {"paths": null}]"#));
        cases.push(json("oversized JSON", &big_json));
        cases.push(Case::get("invalid UTF-8 in the path", with_path_suffix(uri, "/%FF")));
        cases.push(Case::get(
            "invalid UTF-8 in the query",
            with_query(uri, "q=%FF&slug=%FF%FE&id=%C3%28&page=%FF"),
        ));
        cases.push(Case::get("a .. segment", with_path_suffix(uri, "/..")));
        cases.push(Case::get("a .. segment inside", format!("/blog/..{uri}")));
        cases.push(Case::get("an encoded .. segment", format!("/blog/%2e%2e{uri}")));
        cases.push(Case {
            headers: vec![("x-filler", big_header.clone())],
            ..Case::get("a 100 KB header", uri.clone())
        });
        cases.push(Case {
            headers: vec![(COOKIE.as_str(), format!("sid={big_header}"))],
            ..Case::get("a 100 KB cookie", uri.clone())
        });
        for method in ["FOO", "PATCH", "PROPFIND"] {
            cases.push(Case {
                method: Method::from_bytes(method.as_bytes()).expect("method"),
                ..Case::get("an unknown method", uri.clone())
            });
        }
    }
    cases.push(Case::get("invalid UTF-8 at the root", "/%FF".to_owned()));
    cases.push(Case::get("an overlong UTF-8 path", "/blog/%C0%AE%C0%AE".to_owned()));
    cases
}

/// Server functions that take no arguments, so any body will do: signing out
/// with a junk body signs out. They must still never fail or store.
const TAKES_NO_INPUT: [&str; 1] = ["/api/auth/logout"];

/// What is wrong with `response` to `case`, if anything.
fn problems(case: &Case, response: &TestResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let any_body_will_do = case.body.is_some() && TAKES_NO_INPUT.contains(&&*case.uri);
    let acceptable =
        response.status.is_client_error() || (any_body_will_do && response.status.is_success());
    if !acceptable {
        problems.push(format!("status {}", response.status));
    }
    if response.body.trim().is_empty() {
        problems.push("an empty body".to_owned());
    } else if case.uri.starts_with("/api/") && response.status.is_client_error() {
        let message = serde_json::from_str::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|json| json["error"]["message"].as_str().map(str::to_owned))
            .filter(|message| !message.is_empty());
        if message.is_none() {
            let start: String = response.body.chars().take(80).collect();
            problems.push(format!("not a JSON error: {start:?}"));
        }
    }
    if response.header("cache-status").is_some_and(|status| status.contains("stored")) {
        problems.push(format!("stored: {:?}", response.header("cache-status")));
    }
    problems
}

#[tokio::test]
async fn every_route_answers_bad_input_with_a_4xx_and_a_message_and_stores_nothing() {
    let app = TestApp::start_with_vars(&[]).await;
    let campaign: String = sqlx::query_scalar("SELECT slug FROM campaigns ORDER BY id LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("a campaign");
    let mut wrong = Vec::new();
    for case in cases(&routes(&campaign)) {
        let first = app.send(case.request()).await;
        let second = app.send(case.request()).await;
        let mut found = problems(&case, &first);
        if second.header("x-cache") == Some("HIT") {
            found.push("the second request was a HIT".to_owned());
        }
        if !found.is_empty() {
            let uri: String = case.uri.chars().take(100).collect();
            wrong.push(format!("{} {uri} ({}): {}", case.method, case.what, found.join("; ")));
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

/// Sends `head` (a request head without its final blank line) over a real
/// socket, and reads the answer until the server closes the connection.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read everything: a failed
    // write is part of what is tested, the answer is what counts.
    let _ = stream.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server neither answered nor closed the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversized_headers_over_a_socket_get_a_431() {
    let app = TestApp::start_with_vars(&[]).await;
    let addr = app.serve().await;
    for path in ["/blog/hello-isr", "/api/posts"] {
        // Within hyper's read buffer: our own limit answers, with a message.
        let filler = "x".repeat(100 * 1024);
        let answer = raw_exchange(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: a\r\nX-Filler: {filler}\r\n"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{path}: {answer:.200}");
        assert!(answer.contains("too large"), "{path}: a message: {answer}");
        assert!(answer.to_ascii_lowercase().contains("cache-control: no-store"), "{answer}");
    }
    // Beyond hyper's read buffer (about 400 KB): hyper answers by itself, a
    // 431 with an empty body (`content-length: 0`; axum::serve exposes no
    // setting for it), and closes the connection; the app never sees it.
    let filler = "x".repeat(1024 * 1024);
    let answer =
        raw_exchange(addr, &format!("GET / HTTP/1.1\r\nHost: a\r\nX-Filler: {filler}\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "hyper's own answer: {answer:.200}");
}
