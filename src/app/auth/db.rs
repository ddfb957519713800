//! User and session queries.

use super::CurrentUser;
use crate::AppResult;
use crate::server::db::{Db, now};

/// What a sign-in needs to know about an account.
#[derive(sqlx::FromRow)]
pub struct CredentialsRow {
    pub id: i64,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
}

impl From<UserRow> for CurrentUser {
    fn from(row: UserRow) -> Self {
        Self { id: row.id, email: row.email, name: row.name, is_admin: row.role == "admin" }
    }
}

/// The account with `email` (already lower-cased), if any.
pub async fn find_credentials(db: &Db, email: &str) -> AppResult<Option<CredentialsRow>> {
    Ok(sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?)
}

/// Stores a new session.
pub async fn insert_session(db: &Db, id: &str, user_id: i64, expires_at: i64) -> AppResult<()> {
    sqlx::query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// The user of an unexpired session.
pub async fn find_session_user(db: &Db, session_id: &str) -> AppResult<Option<CurrentUser>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT users.id, users.email, users.name, users.role
         FROM sessions JOIN users ON users.id = sessions.user_id
         WHERE sessions.id = $1 AND sessions.expires_at > $2",
    )
    .bind(session_id)
    .bind(now())
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Ends a session.
pub async fn delete_session(db: &Db, session_id: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(db).await?;
    Ok(())
}

/// Removes expired sessions; called on each sign-in, so the table stays small
/// without a background job.
pub async fn delete_expired_sessions(db: &Db) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now()).execute(db).await?;
    Ok(())
}
