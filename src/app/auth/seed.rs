//! Seeds the demo accounts of [`super::demo`].

use anyhow::Context as _;
use sqlx::AnyConnection;

use super::demo::DEMO_USERS;

/// Creates the demo accounts.
///
/// # Errors
///
/// When a password hash or an insert fails (an existing email, for one).
pub async fn seed(conn: &mut AnyConnection) -> anyhow::Result<()> {
    // Argon2 is slow on purpose: hash the passwords side by side on tokio's
    // blocking pool, and all of them before the first write, so that no write
    // lock waits on a hash and no async worker is held by one.
    let hashing = DEMO_USERS
        .map(|user| tokio::task::spawn_blocking(move || crate::password::hash(user.password)));
    let mut hashes = Vec::with_capacity(hashing.len());
    for hash in hashing {
        hashes.push(hash.await.context("the password hashing task failed")??);
    }
    for (user, hash) in DEMO_USERS.iter().zip(hashes) {
        sqlx::query(
            "INSERT INTO users (email, name, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.email)
        .bind(user.name)
        .bind(hash)
        .bind(user.role)
        .bind(user.created_at)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting the user {}", user.email))?;
    }
    Ok(())
}
