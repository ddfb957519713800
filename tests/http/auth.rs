//! Sign-in and sign-out: sessions, cookie attributes, the dashboard's guard,
//! and failures that reveal nothing.

use http::StatusCode;
use leptos_isr_starter::server::seed::{
    DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CUSTOMER_EMAIL,
};

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    dashboard_redirects_signed_out_visitors,
    customer_signs_in_sees_dashboard_and_signs_out,
    admin_sees_site_stats,
    wrong_credentials_are_rejected_alike,
    blank_or_huge_credentials_are_bad_requests,
    forged_or_expired_sessions_are_signed_out,
    dashboard_data_needs_a_session,
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
    assert_eq!(cookie.len(), "sid=".len() + 64, "256-bit hex id: {cookie}");

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
        assert!(dashboard.body.contains(&stat), "{stat}");
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
    sqlx::query("UPDATE sessions SET expires_at = 0").execute(&app.db).await.expect("expire");
    let expired = app.get_signed_in("/dashboard", &cookie).await;
    assert_eq!(expired.status, StatusCode::FOUND);
    assert_eq!(expired.location(), Some("/login"));
}
