//! `leptos-isr-starter create-admin EMAIL`: the way to an administrator on a
//! database without the demo's public accounts.
//!
//! The password comes from `ADMIN_PASSWORD`, else from the first line of
//! standard input (a prompt that does not echo it when that is a terminal),
//! never from the command
//! line, where `ps` and shell history would keep it; it is hashed with
//! argon2 and never logged. An existing account with that email gets the
//! new password and the admin role, and its sessions end: the same command
//! resets a lost admin password.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::Context as _;

use crate::app::auth::account::check_new_password;
use crate::db::{Db, now};

/// What [`create_admin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New(i64),
    /// An account with that email existed: now an admin, with the new password.
    Updated(i64),
}

/// The subcommand: `args` are those after `create-admin`.
pub async fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> anyhow::Result<()> {
    let mut args = args.into_iter();
    let (Some(email), None) = (args.next(), args.next()) else {
        anyhow::bail!(
            "usage: leptos-isr-starter create-admin EMAIL \
             (the password from ADMIN_PASSWORD or standard input)"
        );
    };
    let email = email.into_string().map_err(|_| anyhow::anyhow!("the email is not UTF-8"))?;
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => read_password()?,
    };
    let config = crate::config::Config::from_env()?;
    let db = crate::db::connect(&config.database_url).await?;
    match create_admin(&db, &email, &password).await? {
        Created::New(id) => println!("created the admin {email} (user {id})"),
        Created::Updated(id) => {
            println!("{email} (user {id}) is an admin with the new password; its sessions ended");
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // Not echoed (the terminal's echo is off while it is typed).
        return rpassword::prompt_password("Password for the admin (at least 12 characters): ")
            .context("reading the password from the terminal");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Makes `email` an admin with `password`: a new account, or the existing
/// one with the new password (its sessions end).
pub async fn create_admin(db: &Db, email: &str, password: &str) -> anyhow::Result<Created> {
    let email = email.trim().to_lowercase();
    anyhow::ensure!(
        email.len() <= 254
            && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()),
        "{email:?} is not an email address"
    );
    check_new_password(password).map_err(|error| anyhow::anyhow!("{error}"))?;
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || crate::password::hash(&owned)).await??;
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(db)
        .await?;
    if let Some(id) = existing {
        sqlx::query("UPDATE users SET password_hash = $1, role = 'admin' WHERE id = $2")
            .bind(&hash)
            .bind(id)
            .execute(db)
            .await?;
        crate::app::auth::db::delete_sessions_of(db, id, None).await?;
        tracing::info!(user_id = id, "admin password set by create-admin");
        return Ok(Created::Updated(id));
    }
    let name = email.split('@').next().unwrap_or(&email).to_owned();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, 'admin', $4) RETURNING id",
    )
    .bind(&email)
    .bind(name)
    .bind(hash)
    .bind(now())
    .fetch_one(db)
    .await?;
    tracing::info!(user_id = id, "admin created by create-admin");
    Ok(Created::New(id))
}
