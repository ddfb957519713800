//! Typed configuration, read once from the environment at start-up.
//!
//! Every variable the server reads (see also `.env.example`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://data/app.db?mode=rwc` | SQLite file (created on first run) or `postgres://…` |
//! | `PUBLIC_URL` | `http://127.0.0.1:3000` | the site's public origin; `https://` makes session cookies `Secure` |
//! | `REQUEST_TIMEOUT_SECS` | `30` | a request still running after this many seconds gets 408 |
//! | `SESSION_TTL_HOURS` | `168` | how long a sign-in lasts |
//! | `SEED_DEMO` | `true` | insert the demo content into an empty database |
//! | `RUST_LOG` | `info,leptos_isr_starter=debug` | log filter (tracing-subscriber syntax) |
//!
//! Leptos' own `LEPTOS_*` settings (site address, site root, …) are read by
//! `leptos::config::get_configuration`, not here.
//!
//! A variable that is set but malformed stops the server at start-up with a
//! message naming it: a typo must never silently fall back to a default.

use std::time::Duration;

/// The server's configuration. Build it with [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    /// Where the data lives: `sqlite:…` or `postgres://…`.
    pub database_url: String,
    /// The public origin, e.g. `https://shop.example.com`.
    pub public_url: String,
    /// Longest time a request may run.
    pub request_timeout: Duration,
    /// Lifetime of a session cookie and its row.
    pub session_ttl: Duration,
    /// Seed the demo content into an empty database.
    pub seed_demo: bool,
}

impl std::fmt::Debug for Config {
    // By hand so that a password inside DATABASE_URL never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("request_timeout", &self.request_timeout)
            .field("session_ttl", &self.session_ttl)
            .field("seed_demo", &self.seed_demo)
            .finish()
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    name: &'static str,
    problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/app.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(ConfigError {
                name: "DATABASE_URL",
                problem: format!(
                    "must start with sqlite: or postgres://, got {}",
                    redact_url(&database_url)
                ),
            });
        }

        let public_url = get("PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                name: "PUBLIC_URL",
                problem: format!("must start with http:// or https://, got {public_url:?}"),
            });
        }

        let request_timeout = Duration::from_secs(parse_number(&get, "REQUEST_TIMEOUT_SECS", 30)?);
        let session_ttl = Duration::from_secs(3600 * parse_number(&get, "SESSION_TTL_HOURS", 168)?);
        let seed_demo = match get("SEED_DEMO").as_deref() {
            None | Some("1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(other) => {
                return Err(ConfigError {
                    name: "SEED_DEMO",
                    problem: format!("must be true or false, got {other:?}"),
                });
            }
        };

        Ok(Self { database_url, public_url, request_timeout, session_ttl, seed_demo })
    }

    /// Session cookies get `Secure` when the site is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(ConfigError {
                name,
                problem: format!("must be a positive whole number, got {raw:?}"),
            }),
        },
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_nothing() {
        let config = config(&[]).expect("defaults are valid");
        assert!(config.database_url.starts_with("sqlite:"));
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert!(!config.secure_cookies());
        assert!(config.seed_demo);
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let error = config(&[("REQUEST_TIMEOUT_SECS", "soon")]).expect_err("rejected");
        assert!(error.to_string().contains("REQUEST_TIMEOUT_SECS"), "{error}");
        let error = config(&[("DATABASE_URL", "mysql://x")]).expect_err("rejected");
        assert!(error.to_string().contains("DATABASE_URL"), "{error}");
        let error = config(&[("SEED_DEMO", "maybe")]).expect_err("rejected");
        assert!(error.to_string().contains("SEED_DEMO"), "{error}");
    }

    #[test]
    fn https_makes_cookies_secure() {
        let config = config(&[("PUBLIC_URL", "https://example.com/")]).expect("valid");
        assert!(config.secure_cookies());
        assert_eq!(config.public_url, "https://example.com");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://app:hunter2@db/app"), "postgres://app:***@db/app");
        assert_eq!(redact_url("sqlite://data/app.db"), "sqlite://data/app.db");
        let config = config(&[("DATABASE_URL", "postgres://app:hunter2@db/app")]).expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
