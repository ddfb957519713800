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

#[derive(sqlx::FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    last_seen_at: i64,
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
        "INSERT INTO sessions (id_hash, user_id, expires_at, created_at_ms, last_seen_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash(id))
    .bind(user_id)
    .bind(expires_at)
    .bind(created_at_ms)
    .bind(now())
    .execute(db)
    .await?;
    Ok(())
}

/// How stale `last_seen_at` may get before a request writes it again: one
/// write a minute per session at most, not one per request.
const SEEN_EVERY_SECS: i64 = 60;

/// The user of the session `session_id`, unexpired and used within the last
/// `idle_secs`; marks it used.
pub async fn find_session_user(
    db: &Db,
    session_id: &str,
    idle_secs: i64,
) -> AppResult<Option<CurrentUser>> {
    let now = now();
    let hash = id_hash(session_id);
    let row: Option<SessionUserRow> = sqlx::query_as(
        "SELECT users.id, users.email, users.name, users.role, sessions.last_seen_at
         FROM sessions JOIN users ON users.id = sessions.user_id
         WHERE sessions.id_hash = $1 AND sessions.expires_at > $2 AND sessions.last_seen_at > $3",
    )
    .bind(&hash)
    .bind(now)
    .bind(now.saturating_sub(idle_secs))
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.last_seen_at < now - SEEN_EVERY_SECS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(db)
            .await?;
    }
    Ok(Some(row.user.into()))
}

/// Ends every session of `user_id` but `keep` (its id, if any).
pub async fn delete_sessions_of(db: &Db, user_id: i64, keep: Option<&str>) -> AppResult<u64> {
    let keep = keep.map(id_hash).unwrap_or_default();
    let deleted = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected())
}

/// Replaces the password hash of `user_id`.
pub async fn set_password_hash(db: &Db, user_id: i64, hash: &str) -> AppResult<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
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

/// The stored password hash of each of `emails` (lower-cased) that belongs
/// to an account, as (email, hash).
pub async fn password_hashes(db: &Db, emails: &[&str]) -> AppResult<Vec<(String, String)>> {
    let mut existing = Vec::with_capacity(emails.len());
    for email in emails {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT email, password_hash FROM users WHERE email = $1")
                .bind(*email)
                .fetch_optional(db)
                .await?;
        existing.extend(found);
    }
    Ok(existing)
}
