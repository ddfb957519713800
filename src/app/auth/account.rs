//! The signed-in visitor's own account, on the dashboard: change the
//! password, and sign out everywhere.
//!
//! Both end the account's other sessions: a password changed because it
//! leaked must not leave the thief signed in. Changing it asks for the
//! current one (a browser left signed in is not enough), under the same
//! throttle as sign-in, so a stolen session cannot guess its way to the
//! password either.

use leptos::prelude::*;

use crate::AppError;

/// The shortest new password accepted. Length is what makes a password
/// strong (NIST SP 800-63B asks for at least 8; 12 leaves a margin).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Whether `password` may become an account's password; if not, why.
pub fn check_new_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::BadRequest(format!(
            "The new password must have at least {MIN_PASSWORD_CHARS} characters."
        )));
    }
    super::check_password_bytes(password)
}

/// Replaces the signed-in visitor's password, after checking the current
/// one; every other session of the account ends.
#[server(endpoint = "auth/change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use super::{db, session};

    let user = session::require_user().await?;
    check_new_password(&new)?;
    let state = crate::state::AppState::current();
    let attempt = super::admitted_attempt(&state, &user.email).await?;
    let sign_in = &state.sign_in;
    let stored = db::find_credentials(&state.db, &user.email).await?.map(|row| row.password_hash);
    if !sign_in.hashing.verify(current, stored).await? {
        sign_in.throttle.failed(&state.db, &attempt).await?;
        tracing::warn!(user_id = user.id, "password change refused: wrong current password");
        return Err(AppError::BadRequest("The current password is wrong.".into()));
    }
    sign_in.throttle.succeeded(&state.db, &attempt).await?;
    let hash = tokio::task::spawn_blocking(move || crate::password::hash(&new))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    db::set_password_hash(&state.db, user.id, &hash).await?;
    let this = session::id_from_request().await;
    let ended = db::delete_sessions_of(&state.db, user.id, this.as_deref()).await?;
    tracing::info!(user_id = user.id, other_sessions_ended = ended, "password changed");
    Ok(())
}

/// Ends every session of the signed-in visitor's account, this one too,
/// and goes home.
#[server(endpoint = "auth/logout_everywhere")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    use super::{db, session};

    let user = session::require_user().await?;
    let state = crate::state::AppState::current();
    let ended = db::delete_sessions_of(&state.db, user.id, None).await?;
    session::clear_cookie(&state.config);
    tracing::info!(user_id = user.id, sessions_ended = ended, "signed out everywhere");
    leptos_axum::redirect("/");
    Ok(())
}

/// The dashboard's "Your account" section.
#[component]
pub fn AccountPanel() -> impl IntoView {
    use server_fn::ServerFn as _;

    let change = ServerAction::<ChangePassword>::new();
    let outcome = move || {
        match change.value().get() {
        Some(Ok(())) => Some(view! { <p class="form-ok" role="status">"Password changed. Your other sessions were signed out."</p> }.into_any()),
        Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()),
        None => None,
    }
    };
    view! {
        <section class="section account">
            <h2>"Your account"</h2>
            <ActionForm action=change attr:class="stack card">
                <h3>"Change password"</h3>
                <label>
                    "Current password"
                    <input type="password" name="current" autocomplete="current-password" required />
                </label>
                <label>
                    "New password"
                    <input
                        type="password"
                        name="new"
                        autocomplete="new-password"
                        minlength=MIN_PASSWORD_CHARS.to_string()
                        required
                    />
                </label>
                {outcome}
                <button type="submit" class="button" disabled=move || change.pending().get()>
                    "Change password"
                </button>
            </ActionForm>
            // A plain form post, as signing out is: the browser loads the home page afresh.
            <form method="post" action=LogoutEverywhere::PATH>
                <button type="submit" class="button secondary">"Sign out everywhere"</button>
            </form>
        </section>
    }
}
