//! Sign-in and sign-out: sessions, cookie attributes, the dashboard's guard,
//! and failures that reveal nothing; signed session cookies (a forged one is
//! no session, for the pages and for the cache policy), session ids stored as
//! hashes, the demo accounts only where they were seeded, and previews.

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use leptos_isr_starter::app::auth::demo::{
    DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CUSTOMER_EMAIL,
};
use leptos_isr_starter::app::auth::preview::{PREVIEW_COOKIE, is_preview};
use leptos_isr_starter::app::auth::session;
use sha2::{Digest as _, Sha256};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, TestResponse};

db_tests!(
    dashboard_redirects_signed_out_visitors,
    customer_signs_in_sees_dashboard_and_signs_out,
    admin_sees_site_stats,
    wrong_credentials_are_rejected_alike,
    blank_or_huge_credentials_are_bad_requests,
    forged_or_expired_sessions_are_signed_out,
    dashboard_data_needs_a_session,
    session_ids_are_stored_as_hashes,
    forged_cookies_do_not_make_a_request_personal,
    the_login_page_names_the_seeded_demo_accounts,
);

async fn dashboard_redirects_signed_out_visitors(app: TestApp) {
    let response = app.get("/dashboard").await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.location(), Some("/login"));
}

async fn customer_signs_in_sees_dashboard_and_signs_out(app: TestApp) {
    let sign_in = app
        .post_form(
            "/api/auth/login",
            "email=Customer%40Example.com&password=customer-demo-password",
            None,
        )
        .await;
    assert_eq!(sign_in.status, StatusCode::OK, "{}", sign_in.body);
    assert_eq!(sign_in.location(), Some("/dashboard"));
    let set_cookie = sign_in.set_cookies().join("\n");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "http site: no Secure flag: {set_cookie}");
    let cookie = sign_in.session_cookie().expect("session cookie");
    let (id, mac) = cookie["sid=".len()..].split_once('.').expect("sid={id}.{mac}");
    assert_eq!(id.len(), 64, "256-bit hex id: {cookie}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{cookie}");
    assert_eq!(mac.len(), 43, "HMAC-SHA256, base64url without padding: {cookie}");

    let dashboard = app.get_signed_in("/dashboard", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.body.contains("Welcome, <!>Casey Customer")
            || dashboard.body.contains("Welcome, Casey Customer")
    );
    assert!(dashboard.body.contains(DEMO_CUSTOMER_EMAIL));
    assert_eq!(dashboard.body.matches("<tr><td>#").count(), 2, "the customer's two orders");
    assert!(!dashboard.body.contains("stat-value"), "customers see no site stats");

    let sign_out = app.post_form("/api/auth/logout", "", Some(&cookie)).await;
    assert_eq!(sign_out.status, StatusCode::OK);
    assert!(
        sign_out.set_cookies().iter().any(|c| c.starts_with("sid=;") && c.contains("Max-Age=0"))
    );
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(sessions, 0, "sign-out deletes the session row");

    let after = app.get_signed_in("/dashboard", &cookie).await;
    assert_eq!(after.status, StatusCode::FOUND, "the old cookie no longer works");
}

async fn admin_sees_site_stats(app: TestApp) {
    let cookie = app.sign_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).await;
    let dashboard = app.get_signed_in("/dashboard", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("Administrator"));
    for (table, label) in [("posts", "posts"), ("products", "products"), ("orders", "orders")] {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&app.db)
                .await
                .expect("count");
        let stat = format!("<span class=\"stat-value\">{count}</span> {label}");
        assert!(dashboard.html().contains(&stat), "{stat}");
    }
}

async fn wrong_credentials_are_rejected_alike(app: TestApp) {
    let wrong_password =
        app.post_form("/api/auth/login", "email=customer%40example.com&password=nope", None).await;
    let no_such_user =
        app.post_form("/api/auth/login", "email=nobody%40example.com&password=nope", None).await;
    for response in [&wrong_password, &no_such_user] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.json()["error"]["code"], "invalid_credentials", "{}", response.body);
        assert!(response.session_cookie().is_none());
    }
    assert_eq!(wrong_password.body, no_such_user.body, "the two failures are indistinguishable");
    assert_eq!(wrong_password.status, no_such_user.status);
}

async fn blank_or_huge_credentials_are_bad_requests(app: TestApp) {
    let blank = app.post_form("/api/auth/login", "email=&password=", None).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert!(blank.body.contains("Enter your email and password"), "{}", blank.body);
    let huge = format!("email=a%40b.c&password={}", "x".repeat(2000));
    let huge = app.post_form("/api/auth/login", &huge, None).await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);
    assert!(huge.body.contains("limited to 1024 bytes"), "{}", huge.body);
    let missing_field = app.post_form("/api/auth/login", "email=a%40b.c", None).await;
    assert_eq!(missing_field.json()["error"]["code"], "bad_request", "{}", missing_field.body);
    assert_eq!(missing_field.status, StatusCode::BAD_REQUEST);
}

async fn dashboard_data_needs_a_session(app: TestApp) {
    let signed_out = app.get_json("/api/dashboard/get_dashboard").await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        signed_out.json(),
        serde_json::json!({ "error": { "code": "unauthorized", "message": "Please sign in" } })
    );
}

async fn forged_or_expired_sessions_are_signed_out(app: TestApp) {
    let forged = app.get_signed_in("/dashboard", &format!("sid={}", "ab".repeat(32))).await;
    assert_eq!(forged.status, StatusCode::FOUND);

    let cookie = app.sign_in_customer().await;
    // A real session's id with its signature altered, or without one (the
    // unsigned cookies of earlier releases), is no session.
    let (id, mac) = cookie["sid=".len()..].split_once('.').expect("sid={id}.{mac}");
    let tampered_mac = format!("sid={id}.{}", flip_first_char(mac));
    for forged in [format!("sid={id}"), tampered_mac, format!("sid={}.{mac}", flip_first_char(id))]
    {
        let response = app.get_signed_in("/dashboard", &forged).await;
        assert_eq!(response.status, StatusCode::FOUND, "{forged}");
    }
    assert_eq!(app.get_signed_in("/dashboard", &cookie).await.status, StatusCode::OK);

    sqlx::query("UPDATE sessions SET expires_at = 0").execute(&app.db).await.expect("expire");
    let expired = app.get_signed_in("/dashboard", &cookie).await;
    assert_eq!(expired.status, StatusCode::FOUND);
    assert_eq!(expired.location(), Some("/login"));
}

/// `s` with its first character replaced by another of the same alphabet.
fn flip_first_char(s: &str) -> String {
    let replacement = if s.starts_with('a') { 'b' } else { 'a' };
    format!("{replacement}{}", &s[1..])
}

/// The id part of a `sid={id}.{mac}` pair.
fn session_id(cookie: &str) -> &str {
    cookie["sid=".len()..].split_once('.').expect("sid={id}.{mac}").0
}

async fn session_ids_are_stored_as_hashes(app: TestApp) {
    let cookie = app.sign_in_customer().await;
    let id = session_id(&cookie);

    let stored: Vec<String> =
        sqlx::query_scalar("SELECT id_hash FROM sessions").fetch_all(&app.db).await.expect("rows");
    let expected: String =
        Sha256::digest(id.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(stored, std::slice::from_ref(&expected), "one row, keyed by the SHA-256 of the id");
    assert!(stored.iter().all(|row| !row.contains(id)), "the id itself is not stored");

    // What a stolen table holds signs nobody in, even signed with the server's
    // own key: the server looks up the hash of what it is given.
    let from_the_table = session::cookie(&expected, &app.config);
    let from_the_table = from_the_table.split(';').next().expect("a pair");
    let response = app.get_signed_in("/dashboard", from_the_table).await;
    assert_eq!(response.status, StatusCode::FOUND);

    // Sign-out finds the row by the hash too.
    app.post_form("/api/auth/logout", "", Some(&cookie)).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

/// The cache policy layer asks `session::is_signed_in`: a cookie whose
/// signature fails gets the page's public policy, a real one `private`.
async fn forged_cookies_do_not_make_a_request_personal(app: TestApp) {
    let cookie = app.sign_in_customer().await;
    let forged = format!("sid={}.{}", "ab".repeat(32), "A".repeat(43));
    let anonymous = app.get("/blog/hello-isr").await;
    let with_forged = app.get_signed_in("/blog/hello-isr", &forged).await;
    assert_eq!(with_forged.status, StatusCode::OK);
    assert_eq!(with_forged.header("cache-control"), anonymous.header("cache-control"));
    assert!(
        with_forged.header("cache-control").is_some_and(|value| value.contains("s-maxage")),
        "{:?}",
        with_forged.header("cache-control")
    );
    let personal = app.get_signed_in("/blog/hello-isr", &cookie).await;
    assert_eq!(personal.header("cache-control"), Some("private, no-store"));

    let headers = cookie_headers(&forged);
    assert!(!session::is_signed_in(&headers, &app.config));
    assert!(session::is_signed_in(&cookie_headers(&cookie), &app.config));
}

fn cookie_headers(cookie: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(cookie).expect("valid cookie"));
    headers
}

const DEMO_LINE: &str = "Demo accounts: ";

async fn the_login_page_names_the_seeded_demo_accounts(app: TestApp) {
    let login = app.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains(DEMO_LINE), "{}", login.body);
    assert!(login.body.contains("admin@example.com / admin-demo-password"), "{}", login.body);
    assert!(login.body.contains("customer@example.com / customer-demo-password"));

    // Removed accounts are no longer offered.
    sqlx::query("DELETE FROM orders").execute(&app.db).await.expect("delete orders");
    sqlx::query("DELETE FROM users WHERE email = $1")
        .bind(DEMO_CUSTOMER_EMAIL)
        .execute(&app.db)
        .await
        .expect("delete the customer");
    let login = app.get("/login").await;
    assert!(login.body.contains("admin@example.com / admin-demo-password"), "{}", login.body);
    assert!(!login.body.contains(DEMO_CUSTOMER_EMAIL), "{}", login.body);
}

async fn demo_users(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email IN ($1, $2)")
        .bind(DEMO_ADMIN_EMAIL)
        .bind(DEMO_CUSTOMER_EMAIL)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

/// `SEED_DEMO=false`, and the default everywhere (the tests set it): no demo
/// accounts, and no line on `/login` advertising their passwords.
#[tokio::test]
async fn without_demo_seeding_there_are_no_demo_accounts_to_advertise() {
    let secret = "a-session-secret-of-at-least-32-bytes".to_owned();
    for vars in [
        vec![("SEED_DEMO", "false".to_owned())],
        // Unset (an empty value reads as unset): the tests' own default is `true`.
        vec![("SEED_DEMO", String::new())],
        vec![
            ("SEED_DEMO", String::new()),
            ("LEPTOS_ENV", "PROD".to_owned()),
            ("SESSION_SECRET", secret.clone()),
            ("METRICS_TOKEN", secret),
        ],
    ] {
        let app = TestApp::start_with_vars(&vars).await;
        assert!(!app.config.seed_demo, "{vars:?}");
        assert_eq!(demo_users(&app).await, 0, "{vars:?}");
        let login = app.get("/login").await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(login.body.contains("Sign in"), "{}", login.body);
        assert!(!login.body.contains(DEMO_LINE), "{vars:?}: {}", login.body);
        assert!(!login.body.contains("demo-password"), "{vars:?}");
    }
    let seeded = TestApp::start(Backend::Sqlite).await.expect("SQLite");
    assert_eq!(demo_users(&seeded).await, 2);
}

// Previews: `POST /api/preview` (`token=…&path=…`) and `/api/preview/exit`.

const PREVIEW_TOKEN: &str = "a-preview-token-for-the-tests";

async fn preview_app(public_url: &str) -> TestApp {
    TestApp::start_with_vars(&[
        ("PREVIEW_TOKEN", PREVIEW_TOKEN.to_owned()),
        ("PUBLIC_URL", public_url.to_owned()),
    ])
    .await
}

/// The `isr_preview=…` pair and attributes of the response's preview cookie.
fn preview_cookie(response: &TestResponse) -> Option<String> {
    let prefix = format!("{PREVIEW_COOKIE}=");
    response.set_cookies().into_iter().find(|line| line.starts_with(&prefix)).map(str::to_owned)
}

fn assert_json_error(response: &TestResponse, status: StatusCode, code: &str, says: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json = response.json();
    assert_eq!(json["error"]["code"], code, "{json}");
    let message = json["error"]["message"].as_str().expect("a message");
    assert!(message.contains(says), "{message:?} should say {says:?}");
    assert!(preview_cookie(response).is_none(), "no cookie on an error");
}

#[tokio::test]
async fn the_right_preview_token_sets_a_cookie_that_makes_requests_previews() {
    let app = preview_app("https://shop.example.com").await;
    let response =
        app.enter_preview(&format!("token={PREVIEW_TOKEN}&path=/blog/hello-isr%3Fpage%3D2")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), Some("/blog/hello-isr?page=2"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let set_cookie = preview_cookie(&response).expect("a preview cookie");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Max-Age=3600", "; Secure"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }

    let pair = set_cookie.split(';').next().expect("a pair");
    assert!(is_preview(&cookie_headers(pair), &app.config));
    assert!(is_preview(&cookie_headers(&format!("theme=dark; {pair}")), &app.config));
    assert!(!is_preview(&HeaderMap::new(), &app.config));
    let tampered = format!("{pair}x");
    assert!(!is_preview(&cookie_headers(&tampered), &app.config));
    // The same cookie under another server's key is nothing.
    let other = preview_app("https://shop.example.com").await;
    assert!(!is_preview(&cookie_headers(pair), &other.config));

    let mut bearer = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {PREVIEW_TOKEN}")).expect("valid");
    bearer.insert(AUTHORIZATION, value);
    assert!(is_preview(&bearer, &app.config));
    bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer not-the-token"));
    assert!(!is_preview(&bearer, &app.config));

    // Over http, the cookie is not `Secure` (the browser would drop it); no
    // path means the home page.
    let plain = preview_app("http://127.0.0.1:3000").await;
    let response = plain.enter_preview(&format!("token={PREVIEW_TOKEN}")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/"));
    assert!(!preview_cookie(&response).expect("a cookie").contains("Secure"));
}

#[tokio::test]
async fn a_missing_or_wrong_preview_token_is_a_401() {
    let app = preview_app("http://127.0.0.1:3000").await;
    for query in [
        "path=/blog".to_owned(),
        "token=&path=/blog".to_owned(),
        "token=wrong&path=/blog".to_owned(),
        format!("token={PREVIEW_TOKEN}x&path=/blog"),
        format!("token={}&path=/blog", &PREVIEW_TOKEN[1..]),
        // A wrong token with a bad path: the token is checked first.
        "token=wrong&path=//evil.test".to_owned(),
    ] {
        let response = app.enter_preview(&query).await;
        assert_json_error(&response, StatusCode::UNAUTHORIZED, "invalid_token", "token");
    }
}

#[tokio::test]
async fn preview_redirects_stay_on_the_site() {
    let app = preview_app("http://127.0.0.1:3000").await;
    for (path, says) in [
        ("//evil.test", "//"),
        ("%2F%2Fevil.test", "//"),
        ("https://evil.test", "starting with /"),
        ("https%3A%2F%2Fevil.test", "starting with /"),
        ("/%5Cevil", "backslash"),
        ("%5C%5Cevil.test", "starting with /"),
        ("/%09/evil.test", "control"),
        ("/%0D%0ASet-Cookie:%20x=y", "control"),
    ] {
        let response = app.enter_preview(&format!("token={PREVIEW_TOKEN}&path={path}")).await;
        assert_json_error(&response, StatusCode::BAD_REQUEST, "bad_request", says);
        assert!(response.location().is_none(), "{path}");
        let exit = app.get(&format!("/api/preview/exit?path={path}")).await;
        assert_json_error(&exit, StatusCode::BAD_REQUEST, "bad_request", says);
    }
}

#[tokio::test]
async fn leaving_the_preview_clears_its_cookie() {
    let app = preview_app("http://127.0.0.1:3000").await;
    let exit = app.get("/api/preview/exit?path=/blog").await;
    assert_eq!(exit.status, StatusCode::SEE_OTHER);
    assert_eq!(exit.location(), Some("/blog"));
    assert_eq!(exit.header("cache-control"), Some("no-store"));
    let cleared = preview_cookie(&exit).expect("a cookie that clears");
    assert!(cleared.starts_with(&format!("{PREVIEW_COOKIE}=;")), "{cleared}");
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/"), "{cleared}");
    let home = app.get("/api/preview/exit").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/"));
}

/// The token never travels in a URL: a `GET` with it is refused, unread,
/// and sets nothing.
#[tokio::test]
async fn a_preview_token_in_a_url_is_refused() {
    let app = preview_app("http://127.0.0.1:3000").await;
    let response = app.get(&format!("/api/preview?token={PREVIEW_TOKEN}&path=/blog")).await;
    assert_json_error(&response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "POST");
}

#[tokio::test]
async fn previews_are_off_without_a_token() {
    let app = TestApp::start(Backend::Sqlite).await.expect("SQLite");
    assert!(app.config.preview_token.is_none());
    let response = app.enter_preview("token=anything&path=/").await;
    assert_json_error(&response, StatusCode::NOT_FOUND, "preview_disabled", "PREVIEW_TOKEN");
    let mut bearer = HeaderMap::new();
    bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
    assert!(!is_preview(&bearer, &app.config));
}
