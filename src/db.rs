//! The database: one `sqlx::AnyPool` over SQLite (the default, a file created on
//! first run) or PostgreSQL (`DATABASE_URL=postgres://…`).
//!
//! Invariants: feature queries are written once, in SQL that both backends run
//! (`$1` placeholders, BIGINT unix-second timestamps, BIGINT cents), and bind
//! only `i64` and strings, the types the Any driver carries on both. The schema
//! differs only where SQL does (identity columns), so each backend has its own
//! migrations folder with the same tables.

use std::path::Path;

use anyhow::Context as _;
use sqlx::any::{AnyPoolOptions, install_default_drivers};

/// The connection pool every query goes through.
pub type Db = sqlx::AnyPool;

/// Connects, creating the SQLite file and its folder when needed, and applies
/// the migrations.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        create_sqlite_folder(url)?;
    }
    let pool = AnyPoolOptions::new()
        // SQLite serialises writers anyway; a few connections serve concurrent readers.
        .max_connections(if sqlite { 8 } else { 16 })
        // A query waits this long for a connection at most (sqlx's default is
        // 30 s): past it the request fails with a 500 rather than join a
        // queue that only grows while the database cannot keep up.
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await
        .context("cannot connect to DATABASE_URL")?;
    if sqlite {
        // WAL lets readers run while a writer commits; the setting persists in the file.
        sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        migrations(sqlx::migrate!("migrations/sqlite"))
            .run(&pool)
            .await
            .context("applying SQLite migrations")?;
    } else {
        migrations(sqlx::migrate!("migrations/postgres"))
            .run(&pool)
            .await
            .context("applying PostgreSQL migrations")?;
    }
    Ok(pool)
}

/// The database's own random id, made by the first instance that asks (see
/// the `data_id` migration): the same for every instance on this database,
/// and new for a database made afresh.
pub async fn data_id(db: &Db) -> anyhow::Result<String> {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO data_id (one, id) VALUES (1, $1) ON CONFLICT DO NOTHING")
        .bind(&id)
        .execute(db)
        .await
        .context("writing the database's id")?;
    let id: String = sqlx::query_scalar("SELECT id FROM data_id WHERE one = 1")
        .fetch_one(db)
        .await
        .context("reading the database's id")?;
    Ok(id)
}

/// The migrations of one backend (one file per feature), tolerating files
/// that were applied once and are gone: a feature removed from the app (see
/// the README's "Remove the demo") leaves its tables behind rather than
/// stopping every start-up.
fn migrations(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    migrator.set_ignore_missing(true);
    migrator
}

/// `sqlite://data/app.db?mode=rwc` needs `data/` to exist before SQLite can create the file.
fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the database folder {}", parent.display()))?;
    }
    Ok(())
}

/// Now, in unix seconds, as stored in every timestamp column.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Unix seconds as the site shows dates: `5 March 2026`.
pub fn format_date(unix_seconds: i64) -> String {
    use time::macros::format_description;
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(format_description!("[day padding:none] [month repr:long] [year]")).ok()
        })
        .unwrap_or_default()
}

/// Whether `slug` is kebab-case (`hello-isr`): what every slug of the demo
/// data is, as its URL. For the features' seed tests.
#[cfg(test)]
pub(crate) fn is_kebab_case(slug: &str) -> bool {
    !slug.is_empty()
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A date-time in a demo data file, such as `published = 2025-01-06T09:00:00Z`
/// in TOML, read as the unix seconds every timestamp column holds. The offset is
/// required (without one the date would not name a single instant), and so are
/// the seconds, which RFC 3339 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixSeconds(pub i64);

impl<'de> serde::Deserialize<'de> for UnixSeconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        use time::format_description::well_known::Rfc3339;
        // TOML date-times are a type of their own, not strings: read one as
        // TOML's, then let `time` check it through its RFC 3339 form.
        let datetime = <toml::value::Datetime as serde::Deserialize>::deserialize(deserializer)?;
        time::OffsetDateTime::parse(&datetime.to_string(), &Rfc3339)
            .map(|instant| Self(instant.unix_timestamp()))
            .map_err(|_| {
                D::Error::custom(format!(
                    "{datetime}: expected a date and a time with seconds and an offset, \
                     such as 2025-01-06T09:00:00Z"
                ))
            })
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally in `LIKE … ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_dates() {
        assert_eq!(format_date(1_772_668_800), "5 March 2026");
    }

    #[derive(serde::Deserialize)]
    struct Dated {
        at: UnixSeconds,
    }

    fn unix_seconds(toml: &str) -> Result<i64, toml::de::Error> {
        toml::from_str::<Dated>(toml).map(|dated| dated.at.0)
    }

    #[test]
    fn data_file_dates_are_instants() {
        assert_eq!(unix_seconds("at = 2025-01-06T09:00:00Z"), Ok(1_736_154_000));
        assert_eq!(unix_seconds("at = 2025-01-06 10:00:00+01:00"), Ok(1_736_154_000));
        for vague in ["at = 2025-01-06T09:00:00", "at = 2025-01-06", "at = 2025-01-06T09:00Z"] {
            let error = unix_seconds(vague).expect_err(vague).to_string();
            assert!(error.contains("such as 2025-01-06T09:00:00Z"), "{vague}: {error}");
        }
        assert!(unix_seconds("at = \"2025-01-06T09:00:00Z\"").is_err(), "a string is not a date");
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("Rust"), "%rust%");
    }
}
