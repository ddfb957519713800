//! Bounded under load: what arrives faster than the server should take it is
//! refused cheaply, and the rest of the site goes on answering.
//!
//! - Password checks run at most `SIGN_IN_HASH_PERMITS` at once; a sign-in
//!   that finds none free within `SIGN_IN_HASH_WAIT_MS` gets a `429` with
//!   `Retry-After`, and cached pages and `/healthz/live` answer throughout.
//! - After a few failures an account, and after more an address, must wait
//!   before its next attempt, even one with the right password; the answer
//!   is the same whether or not the account exists, and the wait ends.
//! - An account holds at most `MAX_SESSIONS_PER_USER` sessions: sign-ins
//!   cannot fill the sessions table.
//! - The listener closes a connection that does not send a request head in
//!   time, and holds no more than `MAX_CONNECTIONS` open.

use std::time::Duration;

use axum::body::Body;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use leptos_isr_starter::app::auth::demo::{DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD};
use leptos_isr_starter::app::auth::session::MAX_SESSIONS_PER_USER;
use leptos_isr_starter::server::listen::Limits;
use leptos_isr_starter::throttle::{ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::db_tests;
use crate::helpers::{Server, TestApp, TestResponse, x_cache};

db_tests!(
    an_account_waits_after_a_few_failures_even_with_the_right_password,
    an_account_keeps_its_newest_sessions_only,
);

/// The address throttle, on each database, behind one trusted proxy.
mod an_address_waits_after_more_failures_on_any_account {
    use crate::helpers::{Backend, TestApp, postgres_unavailable};

    async fn app(backend: Backend) -> Option<TestApp> {
        TestApp::start_on(backend, &[("TRUSTED_PROXY_HOPS", "1".to_owned())]).await
    }

    #[tokio::test]
    async fn sqlite() {
        super::an_address_waits_after_more_failures_on_any_account(
            app(Backend::Sqlite).await.expect("SQLite is always available"),
        )
        .await;
    }

    #[tokio::test]
    async fn postgres() {
        match app(Backend::Postgres).await {
            Some(app) => super::an_address_waits_after_more_failures_on_any_account(app).await,
            None => postgres_unavailable(),
        }
    }
}

/// A form post to the sign-in function from `client` (the address a trusted
/// proxy saw: the tests' apps trust one hop where they say so).
async fn sign_in_from(app: &TestApp, client: &str, email: &str, password: &str) -> TestResponse {
    let form = format!("email={}&password={password}", email.replace('@', "%40"));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/auth/login")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(form))
        .expect("request");
    app.send(request).await
}

/// The seconds a `429` asks to wait.
fn retry_after(response: &TestResponse) -> u64 {
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS, "{}", response.body);
    assert_eq!(response.json()["error"]["code"], "too_many_requests", "{}", response.body);
    let seconds = response.header("retry-after").expect("Retry-After on a 429");
    seconds.parse().expect("Retry-After in seconds")
}

async fn an_account_waits_after_a_few_failures_even_with_the_right_password(app: TestApp) {
    // Throttles are kept in the database whatever the app's proxy setting:
    // here every attempt comes from one address, far below its own limit.
    for _ in 0..ACCOUNT_FREE_FAILURES {
        let wrong = app
            .post_form("/api/auth/login", "email=customer%40example.com&password=nope", None)
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let right = format!("email=customer%40example.com&password={DEMO_CUSTOMER_PASSWORD}");
    let throttled = app.post_form("/api/auth/login", &right, None).await;
    let wait = retry_after(&throttled);
    assert!((1..=2).contains(&wait), "the first wait is a second: {wait}");
    assert!(throttled.json()["error"]["message"].as_str().is_some_and(|m| m.contains("wait")));
    assert!(throttled.session_cookie().is_none(), "a throttled sign-in signs nobody in");

    // An account that does not exist is throttled alike: same status, same
    // body, same wait.
    for _ in 0..ACCOUNT_FREE_FAILURES {
        app.post_form("/api/auth/login", "email=nobody%40example.com&password=nope", None).await;
    }
    let unknown =
        app.post_form("/api/auth/login", "email=nobody%40example.com&password=nope", None).await;
    assert_eq!(retry_after(&unknown), wait);
    assert_eq!(unknown.body, throttled.body, "the two refusals are indistinguishable");

    // The wait ends: the right password signs in after it.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let after = app.post_form("/api/auth/login", &right, None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert!(after.session_cookie().is_some());
}

async fn an_address_waits_after_more_failures_on_any_account(app: TestApp) {
    // One wrong password on each of many accounts: no account reaches its
    // limit, the address does.
    for n in 0..ADDRESS_FREE_FAILURES {
        let wrong = sign_in_from(&app, "198.51.100.7", &format!("guess{n}@example.com"), "x").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let from_there =
        sign_in_from(&app, "198.51.100.7", DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD).await;
    retry_after(&from_there);
    // Another address, the same account: let in.
    let elsewhere =
        sign_in_from(&app, "203.0.113.5", DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
}

async fn an_account_keeps_its_newest_sessions_only(app: TestApp) {
    let max = usize::try_from(MAX_SESSIONS_PER_USER).expect("small");
    let mut cookies = Vec::new();
    for _ in 0..max + 2 {
        cookies.push(app.sign_in(DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD).await);
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows, MAX_SESSIONS_PER_USER);
    let signed_in = |response: &TestResponse| response.status == StatusCode::OK;
    let oldest = app.get_signed_in("/dashboard", &cookies[0]).await;
    assert!(!signed_in(&oldest), "the oldest session was ended: {}", oldest.status);
    let newest = app.get_signed_in("/dashboard", &cookies[max + 1]).await;
    assert!(signed_in(&newest), "{}", newest.status);
}

/// Many more sign-ins at once than there are password checks: the surplus
/// is refused at once with a `429`, nothing fails, and the site answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_is_refused_fast_while_the_site_answers() {
    let app = TestApp::start_with_vars(&[
        ("SIGN_IN_HASH_PERMITS", "1".to_owned()),
        ("SIGN_IN_HASH_WAIT_MS", "20".to_owned()),
        // Each attempt from an address of its own, on an account of its own:
        // no throttle is reached, only the permits.
        ("TRUSTED_PROXY_HOPS", "1".to_owned()),
    ])
    .await;
    let app = std::sync::Arc::new(app);
    app.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT");

    const FLOOD: usize = 48;
    let flood: Vec<_> = (0..FLOOD)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let client = format!("192.0.2.{n}");
                sign_in_from(&app, &client, &format!("flood{n}@example.com"), "wrong").await
            })
        })
        .collect();
    // While the flood is in flight.
    let page = app.get("/blog/hello-isr").await;
    let live = app.get("/healthz/live").await;
    let mut refused = 0;
    let mut checked = 0;
    for attempt in flood {
        let response = attempt.await.expect("the attempt runs");
        match response.status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(retry_after(&response), 1);
                refused += 1;
            }
            other => panic!("a flood gets 401 or 429, got {other}: {}", response.body),
        }
    }
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(x_cache(&page), "HIT", "cached pages answer during the flood");
    assert_eq!(live.status, StatusCode::OK);
    assert!(checked >= 1, "some attempts were checked");
    assert!(refused >= FLOOD / 2, "most of the flood is refused: {refused} of {FLOOD}");
    assert_eq!(app.state.sign_in.hashing.available(), 1, "every permit came back");
}

/// A connection that opens and sends half a request head is closed once the
/// deadline passes; one that sends a whole head is answered.
#[tokio::test]
async fn a_connection_that_never_finishes_its_head_is_closed() {
    let app = TestApp::start_with_vars(&[]).await;
    let limits = Limits { max_connections: 16, header_read_timeout: Duration::from_millis(300) };
    let server = Server::with_limits(Server::any_port().await, app.router(), limits);

    let mut slow = tokio::net::TcpStream::connect(server.addr).await.expect("connects");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("writes");
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the server closed the connection");
    // hyper answers a timed-out head with 408 before it closes, or just closes.
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    let live = raw_get(server.addr, "/healthz/live").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
    server.stop().await;
}

/// With every connection the cap allows open, the next one is not served
/// until one of them closes.
#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let app = TestApp::start_with_vars(&[]).await;
    let limits = Limits { max_connections: 2, header_read_timeout: Duration::from_secs(30) };
    let server = Server::with_limits(Server::any_port().await, app.router(), limits);

    // Two idle connections, each answered once, so both are surely accepted.
    let mut first = tokio::net::TcpStream::connect(server.addr).await.expect("connects");
    let mut second = tokio::net::TcpStream::connect(server.addr).await.expect("connects");
    for connection in [&mut first, &mut second] {
        let answer = exchange(connection, "/healthz/live").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // The third is queued by the kernel, unserved...
    let third = tokio::spawn(raw_get(server.addr, "/healthz/live"));
    let early = tokio::time::timeout(Duration::from_millis(500), async {
        while !third.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(early.is_err(), "a third connection was served while two were open");
    // ...until one of the two closes.
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a connection closed")
        .expect("the request runs");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    server.stop().await;
}

/// `GET path` on a connection of its own, closed after the answer.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut connection = tokio::net::TcpStream::connect(addr).await.expect("connects");
    exchange(&mut connection, path).await
}

/// `GET path` on `connection`, kept open; the answer's head and body, read
/// until the body's announced length.
async fn exchange(connection: &mut tokio::net::TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    connection.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = connection.read(&mut buffer).await.expect("reads");
        assert!(read > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
}
