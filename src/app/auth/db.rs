//! User and session queries.
//!
//! Session functions take the session id as the cookie carries it and hash it
//! here ([`id_hash`]): the `sessions` table only ever sees hashes.

use super::CurrentUser;
use super::session::id_hash;
use crate::AppResult;
use crate::db::{Db, now};

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

/// Stores a new session under the hash of `id`.
pub async fn insert_session(db: &Db, id: &str, user_id: i64, expires_at: i64) -> AppResult<()> {
    let created_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX));
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, expires_at, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(id_hash(id))
    .bind(user_id)
    .bind(expires_at)
    .bind(created_at_ms)
        .execute(db)
        .await?;
    Ok(())
}

/// The user of the unexpired session `session_id`.
pub async fn find_session_user(db: &Db, session_id: &str) -> AppResult<Option<CurrentUser>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT users.id, users.email, users.name, users.role
         FROM sessions JOIN users ON users.id = sessions.user_id
         WHERE sessions.id_hash = $1 AND sessions.expires_at > $2",
    )
    .bind(id_hash(session_id))
    .bind(now())
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Ends the session `session_id`.
pub async fn delete_session(db: &Db, session_id: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash(session_id))
        .execute(db)
        .await?;
    Ok(())
}

/// Ends all but the `keep` latest sessions of `user_id`.
pub async fn keep_newest_sessions(db: &Db, user_id: i64, keep: i64) -> AppResult<()> {
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash NOT IN
           (SELECT id_hash FROM sessions WHERE user_id = $1 ORDER BY created_at_ms DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(keep)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes expired sessions; called on each sign-in, so the table stays small
/// without a background job.
pub async fn delete_expired_sessions(db: &Db) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now()).execute(db).await?;
    Ok(())
}

/// Which of `emails` (lower-cased) belong to an account.
pub async fn existing_emails(db: &Db, emails: &[&str]) -> AppResult<Vec<String>> {
    let mut existing = Vec::with_capacity(emails.len());
    for email in emails {
        let found: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE email = $1")
            .bind(*email)
            .fetch_optional(db)
            .await?;
        existing.extend(found);
    }
    Ok(existing)
}
