//! Sign-in and sign-out: `/login`, the `login` and `logout` server functions,
//! and (on the server) password hashing, sessions and previews.
//!
//! A session is a random 256-bit id in a signed, HttpOnly, SameSite=Lax cookie
//! (`Secure` when the site is served over https) mapped to a `sessions` row,
//! keyed by the id's hash, with an expiry; signing out deletes the row (see
//! [`session`]). A failed sign-in says only "wrong email or password", and
//! takes the same time whether the account exists or not: an unknown email is
//! checked against a dummy hash.
//!
//! Under load, sign-in holds: password checks run a few at once
//! (`crate::password::Hashing`: past them a fast `429`), and an account or an
//! address that fails a few times must wait, longer after each failure
//! (`crate::throttle`).
//! Both `429`s say how long to wait, and the form shows that.
//!
//! `/login` names a demo account only while it exists and its password is
//! still the public one, so a deployment that does not seed them (the
//! default) or changed their passwords does not advertise them.
//!
//! Signing in empties the browser's query cache before it asks (see
//! `app::query::clear_on`); signing out is a plain form post and a full page
//! load. Either way nothing the previous visitor loaded stays in the tab.

pub mod account;
#[cfg(feature = "ssr")]
pub mod bearer;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod preview;
#[cfg(feature = "ssr")]
pub mod seed;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Route;
use leptos_router::{Lazy, SsrMode, path};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::Feature;
use crate::app::lazy::LoginRoute;

/// Signing in and previews in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    #[cfg(feature = "ssr")]
    cache: routes,
    #[cfg(feature = "ssr")]
    seed: Some(|conn| Box::pin(seed::seed(conn))),
    #[cfg(feature = "ssr")]
    api: Some(preview::routes),
    ..Feature::NONE
};

/// The sign-in page.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async /> }
        .into_inner()
}

/// Sign-in's routes in the site's route table: nothing here is ever stored.
#[cfg(feature = "ssr")]
fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    use isr_cache::CachePolicy;

    use crate::app::cache::DataFunctions as _;
    table
        .route("/login", |_| CachePolicy::no_store())
        .write::<Login>()
        .write::<Logout>()
        .write::<account::ChangePassword>()
        .write::<account::LogoutEverywhere>()
        .data::<DemoAccounts>(|_| CachePolicy::no_store())
        // Previews: fresh renders for the bearer of `PREVIEW_TOKEN` (see `preview`).
        .route("/api/preview", |_| CachePolicy::no_store())
        .route("/api/preview/exit", |_| CachePolicy::no_store())
        .query(["path"])
}

/// Longest password accepted: argon2 work grows with input, so bound it.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// `password` within [`MAX_PASSWORD_BYTES`], or why not: for every form that
/// takes one (sign-in, a new password).
pub fn check_password_bytes(password: &str) -> Result<(), AppError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::BadRequest(format!(
            "Passwords are limited to {MAX_PASSWORD_BYTES} bytes."
        )));
    }
    Ok(())
}

/// A password check for `email` by the request being handled, as the
/// sign-in throttle counts it; refused (held, then a `429` with the wait)
/// while the account or the client's address must wait. Before anything is
/// looked up or hashed: the answer and its timing are the same whether the
/// account exists or not.
#[cfg(feature = "ssr")]
pub(crate) async fn admitted_attempt(
    state: &crate::state::AppState,
    email: &str,
) -> Result<crate::throttle::Attempt, AppError> {
    use crate::throttle;
    let client = use_context::<http::request::Parts>().and_then(|parts| {
        throttle::client_address(&parts.extensions, &parts.headers, state.config.trusted_proxy_hops)
    });
    let attempt = throttle::Attempt::new(&state.config, email, client);
    if let Some(wait) = state.sign_in.throttle.wait(&state.db, &attempt).await? {
        tracing::debug!(client = %attempt.client, email_hash = %attempt.email_hash, ?wait, "password check throttled");
        throttle::hold(wait).await;
        return Err(throttle::throttled(wait));
    }
    Ok(attempt)
}

/// The signed-in user as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

/// A seeded demo account that `/login` offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub email: String,
    pub password: String,
}

/// The demo accounts whose password is still the public one: both after
/// demo seeding, none when it was off, the accounts were removed or their
/// passwords changed.
#[server(endpoint = "auth/demo_accounts", input = GetUrl)]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    use std::sync::LazyLock;

    use crate::app::auth::demo::{
        DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD,
    };
    // Whether a demo password verifies against a stored hash, by that hash:
    // a check costs what a sign-in does (19 MiB, ~20 ms), so each hash is
    // checked once, and a changed password is a new hash, checked anew.
    static VERIFIED: LazyLock<moka::sync::Cache<String, bool>> =
        LazyLock::new(|| moka::sync::Cache::new(16));

    let state = crate::state::AppState::current();
    let demo =
        [(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD), (DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD)];
    let stored = db::password_hashes(&state.db, &demo.map(|(email, _)| email)).await?;
    let mut accounts = Vec::new();
    for (email, password) in demo {
        let Some((_, hash)) = stored.iter().find(|(stored, _)| stored == email) else { continue };
        let verified = match VERIFIED.get(hash) {
            Some(verified) => verified,
            None => {
                let verified =
                    state.sign_in.hashing.verify(password.to_owned(), Some(hash.clone())).await?;
                VERIFIED.insert(hash.clone(), verified);
                verified
            }
        };
        if verified {
            accounts.push(DemoAccount { email: email.to_owned(), password: password.to_owned() });
        }
    }
    Ok(accounts)
}

/// Checks the credentials, starts a session and redirects to the dashboard.
#[server(endpoint = "auth/login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    let state = crate::state::AppState::current();
    let email = email.trim().to_lowercase();
    if email.is_empty() || password.is_empty() {
        return Err(AppError::BadRequest("Enter your email and password.".into()));
    }
    check_password_bytes(&password)?;
    let attempt = admitted_attempt(&state, &email).await?;
    let sign_in = &state.sign_in;
    let user = db::find_credentials(&state.db, &email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = sign_in.hashing.verify(password, stored).await.inspect_err(|error| {
        if matches!(error, AppError::TooManyRequests(_)) {
            tracing::debug!(client = %attempt.client, "sign-in refused: every password check is busy");
        }
    })?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            let failures = sign_in.throttle.failed(&state.db, &attempt).await?;
            tracing::warn!(
                client = %attempt.client,
                email_hash = %attempt.email_hash,
                failures,
                "failed sign-in"
            );
            return Err(AppError::InvalidCredentials);
        }
    };
    sign_in.throttle.succeeded(&state.db, &attempt).await?;
    // A new id, never the one the browser came with (session fixation): the
    // old session, if any, ends here.
    if let Some(old) = session::id_from_request().await {
        db::delete_session(&state.db, &old).await?;
    }
    let session_id = session::create(&state.db, user.id, state.config.session_ttl).await?;
    session::set_cookie(&session_id, &state.config);
    tracing::info!(user_id = user.id, "signed in");
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Ends the session (deletes its row, clears the cookie) and goes home.
#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    let state = crate::state::AppState::current();
    if let Some(id) = session::id_from_request().await {
        db::delete_session(&state.db, &id).await?;
    }
    session::clear_cookie(&state.config);
    leptos_axum::redirect("/");
    Ok(())
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    crate::app::query::clear_on(login);
    let demo = Resource::new(|| (), |()| demo_accounts());
    let error = move || match login.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };

    view! {
        <Title text="Sign in" />
        <section class="auth-card card">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    // No line at all when the lookup fails: it is a hint, not the page.
                    let accounts = demo.await.unwrap_or_default();
                    (!accounts.is_empty()).then(|| {
                        let list = accounts
                            .iter()
                            .map(|account| format!("{} / {}", account.email, account.password))
                            .collect::<Vec<_>>()
                            .join(", ");
                        view! { <p class="muted demo-accounts">{format!("Demo accounts: {list}.")}</p> }
                    })
                })}
            </Suspense>
            <ActionForm action=login attr:class="stack">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                {move || error().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                <button type="submit" class="button" disabled=move || login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
        </section>
    }
}

/// The sign-out button: a plain form post, so the browser loads the home
/// page afresh and drops every query the signed-in visitor loaded.
#[component]
pub fn SignOut() -> impl IntoView {
    use server_fn::ServerFn as _;
    view! {
        <form method="post" action=Logout::PATH>
            <button type="submit" class="button secondary">"Sign out"</button>
        </form>
    }
}
