//! Accounts in production: a sign-in replaces the browser's session, an
//! unused session ends, "sign out everywhere", changing a password, the
//! `create-admin` command, and a server that refuses to start unsafe.

use http::StatusCode;
use leptos_isr_starter::app::auth::demo::{DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD};
use leptos_isr_starter::server::admin::{Created, create_admin};

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    a_sign_in_replaces_the_session_the_browser_had,
    an_unused_session_ends_before_its_expiry,
    sign_out_everywhere_ends_every_session_of_the_account,
    a_password_change_needs_the_current_one_and_ends_other_sessions,
    create_admin_makes_an_admin_or_promotes_an_account,
);

async fn sessions_of(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions JOIN users ON users.id = sessions.user_id
         WHERE users.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .expect("count")
}

async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let dashboard = app.get_signed_in("/dashboard", cookie).await;
    match dashboard.status {
        StatusCode::OK => true,
        StatusCode::FOUND => false,
        other => panic!("the dashboard answered {other}"),
    }
}

/// A browser that comes to sign in with a session (one an attacker planted,
/// or its own) leaves with a new id, and the old one is gone.
async fn a_sign_in_replaces_the_session_the_browser_had(app: TestApp) {
    let first = app.sign_in_customer().await;
    let form = format!("email={DEMO_CUSTOMER_EMAIL}&password={DEMO_CUSTOMER_PASSWORD}");
    let again = app.post_form("/api/auth/login", &form, Some(&first)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let second = again.session_cookie().expect("a new session");
    assert_ne!(first, second);
    assert!(!signed_in(&app, &first).await, "the old id no longer signs anyone in");
    assert!(signed_in(&app, &second).await);
    assert_eq!(sessions_of(&app, DEMO_CUSTOMER_EMAIL).await, 1);
}

/// `SESSION_IDLE_HOURS` (24 by default): a session last used longer ago ends,
/// though its expiry is days away; using one marks it used.
async fn an_unused_session_ends_before_its_expiry(app: TestApp) {
    let cookie = app.sign_in_customer().await;
    let set_last_seen = |ago: i64| {
        sqlx::query("UPDATE sessions SET last_seen_at = $1")
            .bind(chrono::Utc::now().timestamp() - ago)
            .execute(&app.db)
    };
    set_last_seen(23 * 3600).await.expect("update");
    assert!(signed_in(&app, &cookie).await, "used 23 hours ago: still signed in");
    let last_seen: i64 = sqlx::query_scalar("SELECT MAX(last_seen_at) FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("last seen");
    assert!(chrono::Utc::now().timestamp() - last_seen < 60, "the use was recorded");
    set_last_seen(25 * 3600).await.expect("update");
    assert!(!signed_in(&app, &cookie).await, "unused for 25 hours: signed out");
}

async fn sign_out_everywhere_ends_every_session_of_the_account(app: TestApp) {
    let laptop = app.sign_in_customer().await;
    let phone = app.sign_in_customer().await;
    let admin = app.sign_in_admin().await;
    let everywhere = app.post_form("/api/auth/logout_everywhere", "", Some(&phone)).await;
    assert_eq!(everywhere.status, StatusCode::OK, "{}", everywhere.body);
    assert!(everywhere.set_cookies().iter().any(|c| c.starts_with("sid=;")), "cookie cleared");
    assert!(!signed_in(&app, &laptop).await);
    assert!(!signed_in(&app, &phone).await);
    assert_eq!(sessions_of(&app, DEMO_CUSTOMER_EMAIL).await, 0);
    assert!(signed_in(&app, &admin).await, "another account is untouched");
    // Signed out, there is nothing to end.
    let again = app.post_form("/api/auth/logout_everywhere", "", Some(&phone)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.body);
}

async fn a_password_change_needs_the_current_one_and_ends_other_sessions(app: TestApp) {
    let login = app.get("/login").await;
    assert!(login.body.contains("customer@example.com / customer-demo-password"));
    let other = app.sign_in_customer().await;
    let this = app.sign_in_customer().await;
    let change = |form: String| {
        let this = this.clone();
        let app = &app;
        async move { app.post_form("/api/auth/change_password", &form, Some(&this)).await }
    };
    let wrong = change("current=not-it&new=a-brand-new-password".into()).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(wrong.body.contains("current password is wrong"), "{}", wrong.body);
    let short = change(format!("current={DEMO_CUSTOMER_PASSWORD}&new=short")).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
    assert!(short.body.contains("at least 12 characters"), "{}", short.body);
    assert!(signed_in(&app, &other).await, "refusals change nothing");

    let changed =
        change(format!("current={DEMO_CUSTOMER_PASSWORD}&new=a-brand-new-password")).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(signed_in(&app, &this).await, "this session stays");
    assert!(!signed_in(&app, &other).await, "the other session ended");
    let old = format!("email={DEMO_CUSTOMER_EMAIL}&password={DEMO_CUSTOMER_PASSWORD}");
    let old = app.post_form("/api/auth/login", &old, None).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.body);
    app.sign_in(DEMO_CUSTOMER_EMAIL, "a-brand-new-password").await;
    // `/login` no longer offers a password that does not work.
    let login = app.get("/login").await;
    assert!(!login.body.contains(DEMO_CUSTOMER_EMAIL), "{}", login.body);
    assert!(login.body.contains("admin@example.com / admin-demo-password"), "{}", login.body);
    // Only a signed-in visitor may change a password.
    let anonymous = app
        .post_form("/api/auth/change_password", "current=x&new=a-brand-new-password", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn create_admin_makes_an_admin_or_promotes_an_account(app: TestApp) {
    let created = create_admin(&app.db, " Ops@Example.com ", "an-admin-password-of-mine")
        .await
        .expect("created");
    assert!(matches!(created, Created::New(_)), "{created:?}");
    let cookie = app.sign_in("ops@example.com", "an-admin-password-of-mine").await;
    let dashboard = app.get_signed_in("/dashboard", &cookie).await;
    assert!(dashboard.body.contains("Administrator"), "{}", dashboard.body);

    // An existing account: promoted, new password, its sessions ended.
    let customer = app.sign_in_customer().await;
    let promoted = create_admin(&app.db, DEMO_CUSTOMER_EMAIL, "the-customer-is-admin-now")
        .await
        .expect("promoted");
    assert!(matches!(promoted, Created::Updated(_)), "{promoted:?}");
    assert!(!signed_in(&app, &customer).await);
    let cookie = app.sign_in(DEMO_CUSTOMER_EMAIL, "the-customer-is-admin-now").await;
    assert!(app.get_signed_in("/dashboard", &cookie).await.body.contains("Administrator"));

    for (email, password) in [("not-an-email", "long-enough-password"), ("a@b.c", "short")] {
        assert!(create_admin(&app.db, email, password).await.is_err(), "{email} {password}");
    }
}

/// The binary's `create-admin`, as an operator runs it: the password on
/// standard input, never echoed.
#[test]
fn the_create_admin_command_reads_the_password_from_stdin() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leptos-isr-starter"))
        .args(["create-admin", "ops@example.com"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &database)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the server binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a-password-from-stdin\n")
        .expect("write the password");
    let output = child.wait_with_output().expect("it ends");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("created the admin ops@example.com"), "{stdout}");
    assert!(!format!("{stdout}{stderr}").contains("a-password-from-stdin"), "never echoed");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let role: String = runtime.block_on(async {
        let db = leptos_isr_starter::db::connect(&database).await.expect("the database");
        sqlx::query_scalar("SELECT role FROM users WHERE email = 'ops@example.com'")
            .fetch_one(&db)
            .await
            .expect("the new admin")
    });
    assert_eq!(role, "admin");
}

/// `LEPTOS_ENV=PROD` refuses to start with each unsafe setting, naming it.
#[test]
fn production_refuses_to_start_unsafe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
    let token = "t".repeat(32);
    let safe = [
        ("LEPTOS_ENV", "PROD"),
        ("PUBLIC_URL", "https://shop.example.com"),
        ("SESSION_SECRET", token.as_str()),
        ("METRICS_TOKEN", token.as_str()),
        ("DATABASE_URL", database.as_str()),
        // Were a refusal missing, the server would fail here rather than run.
        ("LEPTOS_SITE_ADDR", "192.0.2.1:9"),
    ];
    for (name, unsafe_value) in [
        ("PUBLIC_URL", "http://shop.example.com"),
        ("METRICS_TOKEN", ""),
        ("SESSION_SECRET", ""),
        ("REVALIDATE_TOKEN", "short"),
        ("PREVIEW_TOKEN", "short"),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_leptos-isr-starter"));
        command.current_dir(dir.path()).env_clear();
        for (var, value) in safe {
            command.env(var, value);
        }
        command.env(name, unsafe_value);
        let output = command.output().expect("the server binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}={unsafe_value:?} started");
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}
