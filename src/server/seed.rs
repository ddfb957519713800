//! Demo content for a fresh clone: two accounts, a blog about building fast web
//! apps in Rust, a small shop with its campaigns, and a couple of orders, so the
//! site looks real on its first run.
//!
//! Each feature owns its demo data (under its `demo/` folder) and the code that
//! inserts it (its `seed` module, registered in `app::FEATURES`); [`seed_demo`]
//! runs them in the order of `FEATURES`. Removing a feature removes its seed.
//!
//! [`seed_demo`] writes only into an empty database (one with no `users` row) and
//! leaves any other database untouched, so it is safe to call on every start: it
//! never seeds twice and never mixes demo rows into real data. Everything goes in
//! through one transaction, so a failure leaves the database empty and the next
//! start simply tries again. (Two processes seeding the same empty database at
//! once cannot both succeed: the second trips over the unique email and rolls
//! back.)
//!
//! Invariants, which every feature's seed keeps:
//! - Every timestamp is written out in the data, never read from the clock: the
//!   same seed produces the same rows, hence the same pages and the same ETags,
//!   on every machine and in every test run. Only the password hashes differ,
//!   since their salts are random.
//! - The SQL is portable (`$n` placeholders, `RETURNING id`), so it runs
//!   unchanged on SQLite and PostgreSQL through the Any driver.
//!
//! The demo passwords are public (`app::auth::demo`): turn demo seeding off, or
//! change the passwords, before exposing a deployment.

use anyhow::Context as _;
use sqlx::AnyPool;

use crate::app::FEATURES;
use crate::app::auth::demo::{DEMO_ADMIN_EMAIL, DEMO_CUSTOMER_EMAIL};

/// Seeds the demo content when the configuration asks for it (`SEED_DEMO`,
/// which defaults to off when `LEPTOS_ENV=PROD`); what the server does at
/// start-up.
///
/// # Errors
///
/// As [`seed_demo`].
pub async fn seed_if_configured(
    db: &AnyPool,
    config: &crate::server::Config,
) -> anyhow::Result<()> {
    if config.seed_demo {
        seed_demo(db).await
    } else {
        tracing::info!("demo seeding is off (SEED_DEMO)");
        Ok(())
    }
}

/// Fills an empty database with the demo content; does nothing if any user
/// exists.
///
/// Call it after the migrations. Every row is inserted in one transaction, so
/// either all of the content is there or none of it is.
///
/// # Errors
///
/// When a data file is malformed, or a query or a password hash fails; nothing
/// has been written then.
pub async fn seed_demo(db: &AnyPool) -> anyhow::Result<()> {
    let existing_users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
        .context("counting users")?;
    if existing_users > 0 {
        tracing::debug!(existing_users, "the database has users: not seeding demo content");
        return Ok(());
    }

    let mut tx = db.begin().await.context("opening the seed transaction")?;
    // In the order of `FEATURES`: orders need their customer.
    for seed in FEATURES.iter().filter_map(|feature| feature.seed) {
        seed(&mut tx).await?;
    }
    tx.commit().await.context("committing the seed transaction")?;

    tracing::info!(
        admin = DEMO_ADMIN_EMAIL,
        customer = DEMO_CUSTOMER_EMAIL,
        "seeded demo content into the empty database"
    );
    Ok(())
}
