//! Typed configuration, read once from the environment at start-up.
//!
//! Every variable the server reads (see also `.env.example`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://data/app.db?mode=rwc` | SQLite file (created on first run) or `postgres://…` |
//! | `PUBLIC_URL` | `http://127.0.0.1:3000` | the site's public origin: writes are accepted only from its pages; `https://` makes the session cookie `__Host-sid; Secure` and adds `Strict-Transport-Security`; with `LEPTOS_ENV=PROD` it must be `https://` (unless loopback) |
//! | `REQUEST_TIMEOUT_SECS` | `30` | a request still running after this many seconds gets 408 |
//! | `SESSION_TTL_HOURS` | `168` | how long a sign-in lasts at most |
//! | `SESSION_IDLE_HOURS` | `24` | a sign-in unused this long ends sooner |
//! | `SESSION_SECRET` | random per start (development); **required** when `LEPTOS_ENV=PROD` | key of the HMAC that signs session and preview cookies, at least 32 bytes; never logged |
//! | `SEED_DEMO` | `false` | insert the demo content (with its public passwords) into an empty database; `scripts/dev` and the tests set it. Accounts of your own: `leptos-isr-starter create-admin EMAIL` |
//! | `PREVIEW_TOKEN` | unset | bearer token of previews (fresh renders that no cache stores) and of `POST /api/preview` (a form, from the dashboard); unset: no previews; never logged |
//! | `ISR_CACHE` | `true` | the built-in ISR cache in front of every page |
//! | `ISR_CACHE_MAX_MB` | `64` | memory the cache may hold, in MiB (bodies in every encoding) |
//! | `ISR_CACHE_MAX_ENTRY_KB` | `1024` | largest page stored, in KiB; larger ones pass through |
//! | `ISR_WARM_PATHS` | `/` | pages rendered into the cache at start-up, with the pages they link to |
//! | `ISR_WARM_LIMIT` | `50` | pages warmed in all, following links from those (the number of paths: no crawl) |
//! | `ISR_STORE_URL` | `sqlite://data/isr/cache.db` | the cache's second level, which outlives restarts and deploys: a SQLite file of its own (`sqlite://path`), `redis://…` (`rediss://` for TLS) shared by every instance, or `memory` for none |
//! | `ISR_STORE_MAX_MB` | `1024` | bound on the second level's file: when full, pages stay in memory until expired ones are pruned (every minute) |
//! | `ISR_STORE_TIMEOUT_MS` | `50` | bound on each read of the second level: past it, the page is rendered here (and the level left alone for a second) |
//! | `ISR_STORE_NAMESPACE` | `isr:` | the prefix of every key the cache writes in Redis: several sites can share one Redis |
//! | `ISR_BUILD_ID` | a hash of the server binary and the `/pkg` bundle | the build's namespace in the second level: a new build never serves a page an old one rendered |
//! | `ISR_WARM_TOP` | `200` | with a second level, the most requested pages (of any build) rendered at start-up before `/healthz/ready` answers 200 |
//! | `ISR_WARM_CONCURRENCY` | `4` | pages those renders run at once |
//! | `ISR_RENDER_THREADS` | cores − 1 (at least 1) | threads the cache renders pages on, apart from those that serve hits: renders of different pages run in parallel up to this many; `0` renders on the serving threads |
//! | `REVALIDATE_TOKEN` | unset | bearer token for `POST /api/revalidate`; unset: the endpoint refuses every call |
//! | `METRICS_TOKEN` | unset; **required** when `LEPTOS_ENV=PROD` | bearer token for `GET /metrics`; without it (development only), only a client on the same host that came through no proxy (no `X-Forwarded-For`, `Forwarded` or `Via`) may read it |
//! | `CDN_VARNISH_URLS` | unset | Varnish servers in front (comma-separated `http://host:port`): purges are sent there as `BAN`s |
//! | `CLOUDFLARE_ZONE_ID`, `CLOUDFLARE_API_TOKEN` | unset | a Cloudflare zone in front: purges call its purge API (both or neither) |
//! | `FASTLY_SERVICE_ID`, `FASTLY_API_TOKEN` | unset | a Fastly service in front: purges call its purge API (both or neither) |
//! | `CLOUDFLARE_API_URL`, `FASTLY_API_URL` | the real APIs | where those APIs are (tests point them elsewhere) |
//! | `CLIENT_CACHE_MAX_SECS` | unset | caps how long browsers keep page data (stale time; 4× for unused data): for tests, which should not wait minutes |
//! | `SIGN_IN_HASH_PERMITS` | the number of cores | password checks that run at once (each fills 19 MiB for ~20 ms of a core); more sign-ins wait for one |
//! | `SIGN_IN_HASH_WAIT_MS` | `250` | how long a sign-in waits for a password check; past it, a fast `429` |
//! | `TRUSTED_PROXY_HOPS` | `0` | proxies in front that append the client's address to `X-Forwarded-For` (a load balancer, nginx: `1`); `0`: the client is the peer of the connection, and `X-Forwarded-For` is ignored |
//! | `MAX_CONNECTIONS` | `1024` | open connections at once; past it, new ones wait in the kernel's queue |
//! | `HEADER_READ_TIMEOUT_SECS` | `10` | a connection that has not sent a whole request head this long after it opened (or after its last response) is closed |
//! | `RUST_LOG` | `info,leptos_isr_starter=debug`; `info` when `LEPTOS_ENV=PROD` | log filter (tracing-subscriber syntax) |
//!
//! Leptos' own `LEPTOS_*` settings (site address, site root, …) are read by
//! `leptos::config::get_configuration`, not here; only `LEPTOS_ENV` is read
//! here too (`DEV` or `PROD`, any case, as Leptos reads it). Production fails
//! safe: with `LEPTOS_ENV=PROD` the server refuses to start without
//! `SESSION_SECRET` and `METRICS_TOKEN`, with any secret or token shorter
//! than 32 bytes, or with an `http://` `PUBLIC_URL` other than loopback.
//!
//! A variable that is set but malformed stops the server at start-up with a
//! message naming it: a typo must never silently fall back to a default.

use std::time::Duration;

use crate::signing::SessionKey;

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
    /// A session unused this long ends (`SESSION_IDLE_HOURS`).
    pub session_idle: Duration,
    /// `LEPTOS_ENV=PROD`: the refusals above held at start-up.
    pub production: bool,
    /// Signs session and preview cookies (`SESSION_SECRET`).
    pub session_key: SessionKey,
    /// Seed the demo content into an empty database.
    pub seed_demo: bool,
    /// The built-in ISR cache.
    pub isr: IsrSettings,
    /// Bearer token of `POST /api/revalidate`.
    pub revalidate_token: Option<String>,
    /// Bearer token of `GET /metrics`.
    pub metrics_token: Option<String>,
    /// Bearer token of previews; `None`: previews are off.
    pub preview_token: Option<String>,
    /// Cap on the client tier's stale times (see `app::cache::ClientCache`).
    pub client_cache_max: Option<Duration>,
    /// The CDNs in front, which purges are sent to.
    pub cdn: CdnSettings,
    /// Password checks at once (`SIGN_IN_HASH_PERMITS`).
    pub sign_in_hash_permits: usize,
    /// How long a sign-in waits for a password check (`SIGN_IN_HASH_WAIT_MS`).
    pub sign_in_hash_wait: Duration,
    /// Proxies in front that append to `X-Forwarded-For` (`TRUSTED_PROXY_HOPS`).
    pub trusted_proxy_hops: usize,
    /// Open connections at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Deadline of a request head (`HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
}

/// Settings of the built-in ISR cache.
#[derive(Debug, Clone)]
pub struct IsrSettings {
    pub enabled: bool,
    pub max_bytes: u64,
    pub max_entry_bytes: usize,
    pub warm_paths: Vec<String>,
    pub warm_limit: usize,
    pub render_threads: usize,
    /// The second level (`ISR_STORE_URL`).
    pub store: IsrStore,
    /// The prefix of the cache's keys in Redis.
    pub store_namespace: String,
    /// Bound on the second level's file, in bytes.
    pub store_max_bytes: u64,
    /// Bound on each read of the second level (`ISR_STORE_TIMEOUT_MS`).
    pub store_timeout: Duration,
    /// `ISR_BUILD_ID`; `None`: computed from the binary and the bundle.
    pub build_id: Option<String>,
    pub warm_top: usize,
    pub warm_concurrency: usize,
}

/// Where the ISR cache's second level is (`ISR_STORE_URL`).
#[derive(Clone, PartialEq, Eq)]
pub enum IsrStore {
    /// A SQLite file of the cache's own.
    Disk(std::path::PathBuf),
    /// A Redis server every instance shares (its URL may hold a password).
    Redis(String),
    /// None: memory alone.
    Memory,
}

impl std::fmt::Debug for IsrStore {
    // By hand so that a password inside the Redis URL never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Disk(path) => write!(f, "Disk({})", path.display()),
            Self::Redis(url) => write!(f, "Redis({})", redact_url(url)),
            Self::Memory => f.write_str("Memory"),
        }
    }
}

impl IsrStore {
    fn parse(raw: Option<&str>) -> Result<Self, ConfigError> {
        let raw = raw.map_or("sqlite://data/isr/cache.db", str::trim);
        let error = |problem: String| ConfigError { name: "ISR_STORE_URL", problem };
        if raw == "memory" {
            Ok(Self::Memory)
        } else if raw.starts_with("redis://") || raw.starts_with("rediss://") {
            Ok(Self::Redis(raw.to_owned()))
        } else if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(error("sqlite:// needs a file path".into()));
            }
            Ok(Self::Disk(path.into()))
        } else {
            Err(error(format!(
                "must be sqlite://<file>, redis://<host>[:port][/db] or memory, got {:?}",
                redact_url(raw)
            )))
        }
    }
}

impl std::fmt::Debug for Config {
    // By hand so that a password inside DATABASE_URL never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("request_timeout", &self.request_timeout)
            .field("session_ttl", &self.session_ttl)
            .field("session_idle", &self.session_idle)
            .field("production", &self.production)
            .field("session_key", &self.session_key)
            .field("seed_demo", &self.seed_demo)
            .field("isr", &self.isr)
            .field("revalidate_token", &self.revalidate_token.as_ref().map(|_| "***"))
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("preview_token", &self.preview_token.as_ref().map(|_| "***"))
            .field("client_cache_max", &self.client_cache_max)
            .field("cdn", &self.cdn)
            .field("sign_in_hash_permits", &self.sign_in_hash_permits)
            .field("sign_in_hash_wait", &self.sign_in_hash_wait)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
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
        let session_idle =
            Duration::from_secs(3600 * parse_number(&get, "SESSION_IDLE_HOURS", 24)?);
        let production = parse_production(&get)?;
        let session_key = parse_session_key(&get, production)?;
        // The demo accounts' passwords are in the README: a database gets
        // them only when asked for (`scripts/dev` and the tests ask).
        let seed_demo = parse_bool(&get, "SEED_DEMO", false)?;
        if production {
            refuse_unsafe_production(&get, &public_url)?;
        }

        let warm_paths = parse_list(&get, "ISR_WARM_PATHS", "/", |path| {
            path.starts_with('/').then_some(path).ok_or("paths must start with /")
        })?;
        let isr = IsrSettings {
            enabled: parse_bool(&get, "ISR_CACHE", true)?,
            max_bytes: parse_number(&get, "ISR_CACHE_MAX_MB", 64)?.saturating_mul(1 << 20),
            max_entry_bytes: usize::try_from(parse_number(&get, "ISR_CACHE_MAX_ENTRY_KB", 1024)?)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 10),
            warm_paths,
            warm_limit: usize::try_from(parse_number(&get, "ISR_WARM_LIMIT", 50)?)
                .unwrap_or(usize::MAX),
            // All cores but the one left to the workers that serve hits: after
            // a purge of everything, renders of different pages run side by
            // side instead of queueing behind one thread (measured on 2 cores:
            // 1 render thread beat 2, and beat rendering on the serving
            // runtime, whose threads then contend with hits). 0: renders run
            // on the runtime that serves requests.
            render_threads: match get("ISR_RENDER_THREADS").as_deref().map(str::trim) {
                Some("0") => 0,
                _ => usize::try_from(parse_number(
                    &get,
                    "ISR_RENDER_THREADS",
                    std::thread::available_parallelism().map_or(1, |n| n.get() as u64 - 1).max(1),
                )?)
                .unwrap_or(1),
            },
            store: IsrStore::parse(get("ISR_STORE_URL").as_deref())?,
            store_namespace: get("ISR_STORE_NAMESPACE").unwrap_or_else(|| "isr:".to_owned()),
            store_max_bytes: parse_number(&get, "ISR_STORE_MAX_MB", 1024)?.saturating_mul(1 << 20),
            store_timeout: Duration::from_millis(parse_number(&get, "ISR_STORE_TIMEOUT_MS", 50)?),
            build_id: get("ISR_BUILD_ID")
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty()),
            warm_top: usize::try_from(parse_number(&get, "ISR_WARM_TOP", 200)?)
                .unwrap_or(usize::MAX),
            warm_concurrency: usize::try_from(parse_number(&get, "ISR_WARM_CONCURRENCY", 4)?)
                .unwrap_or(4),
        };

        let varnish = parse_list(&get, "CDN_VARNISH_URLS", "", |url| {
            url.starts_with("http://")
                .then(|| url.trim_end_matches('/'))
                .ok_or("must be http:// URLs")
        })?;
        let api_url = |name, default: &str| {
            get(name).unwrap_or_else(|| default.to_owned()).trim_end_matches('/').to_owned()
        };
        let cloudflare = parse_pair(&get, "CLOUDFLARE_ZONE_ID", "CLOUDFLARE_API_TOKEN")?.map(
            |(zone_id, token)| Cloudflare {
                api_url: api_url("CLOUDFLARE_API_URL", "https://api.cloudflare.com/client/v4"),
                zone_id,
                token,
                host: host_of(&public_url).to_owned(),
            },
        );
        let fastly = parse_pair(&get, "FASTLY_SERVICE_ID", "FASTLY_API_TOKEN")?.map(
            |(service_id, token)| Fastly {
                api_url: api_url("FASTLY_API_URL", "https://api.fastly.com"),
                service_id,
                token,
            },
        );

        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let count = |name, default| {
            parse_number(&get, name, default).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        Ok(Self {
            cdn: CdnSettings { varnish, cloudflare, fastly },
            sign_in_hash_permits: count("SIGN_IN_HASH_PERMITS", cores)?,
            sign_in_hash_wait: Duration::from_millis(parse_number(
                &get,
                "SIGN_IN_HASH_WAIT_MS",
                250,
            )?),
            // Zero allowed: the default, no proxy trusted.
            trusted_proxy_hops: match get("TRUSTED_PROXY_HOPS").as_deref().map(str::trim) {
                None | Some("0") => 0,
                Some(_) => count("TRUSTED_PROXY_HOPS", 0)?,
            },
            max_connections: count("MAX_CONNECTIONS", 1024)?,
            header_read_timeout: Duration::from_secs(parse_number(
                &get,
                "HEADER_READ_TIMEOUT_SECS",
                10,
            )?),
            database_url,
            public_url,
            request_timeout,
            session_ttl,
            session_idle,
            production,
            session_key,
            seed_demo,
            isr,
            revalidate_token: get("REVALIDATE_TOKEN"),
            metrics_token: get("METRICS_TOKEN"),
            preview_token: get("PREVIEW_TOKEN"),
            client_cache_max: match get("CLIENT_CACHE_MAX_SECS") {
                None => None,
                Some(_) => {
                    Some(Duration::from_secs(parse_number(&get, "CLIENT_CACHE_MAX_SECS", 1)?))
                }
            },
        })
    }

    /// The host part of [`public_url`](Self::public_url): the one host the ISR
    /// cache keys pages by, whatever `Host` a request claims.
    pub fn canonical_host(&self) -> &str {
        host_of(&self.public_url)
    }

    /// Session cookies get `Secure` when the site is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// What `LEPTOS_ENV=PROD` refuses beyond a missing `SESSION_SECRET`: a
/// site others reach over plain http (its cookies and passwords would cross
/// the network in clear), a token a guess could find, and `/metrics` left to
/// whoever reaches the port.
fn refuse_unsafe_production(
    get: &impl Fn(&str) -> Option<String>,
    public_url: &str,
) -> Result<(), ConfigError> {
    let host = host_of(public_url);
    let host = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()));
    let host = host.map_or(host_of(public_url), |(host, _)| host);
    let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
    if public_url.starts_with("http://") && !loopback {
        return Err(ConfigError {
            name: "PUBLIC_URL",
            problem: format!(
                "must be https:// when LEPTOS_ENV=PROD (http:// only on loopback), got {public_url:?}"
            ),
        });
    }
    if get("METRICS_TOKEN").is_none() {
        return Err(ConfigError {
            name: "METRICS_TOKEN",
            problem: "must be set when LEPTOS_ENV=PROD (generate one with `openssl rand -hex 32`)"
                .to_owned(),
        });
    }
    for name in ["METRICS_TOKEN", "REVALIDATE_TOKEN", "PREVIEW_TOKEN"] {
        if let Some(token) = get(name)
            && token.len() < MIN_TOKEN_BYTES
        {
            // The length, never the value.
            return Err(ConfigError {
                name,
                problem: format!(
                    "must be at least {MIN_TOKEN_BYTES} bytes when LEPTOS_ENV=PROD, got {} \
                     (generate one with `openssl rand -hex 32`)",
                    token.len()
                ),
            });
        }
    }
    Ok(())
}

/// The shortest bearer token production accepts.
pub const MIN_TOKEN_BYTES: usize = 32;

/// Whether the process environment's `LEPTOS_ENV` says production (a
/// malformed value is refused later, by [`Config::from_env`]): for the log
/// filter, set before the configuration is read.
pub fn production_from_env() -> bool {
    parse_production(&|name: &str| std::env::var(name).ok()).unwrap_or(false)
}

/// Whether `LEPTOS_ENV` says production: `PROD` or `PRODUCTION` in any case,
/// as Leptos reads it (unset: development).
fn parse_production(get: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match get("LEPTOS_ENV").map(|value| value.trim().to_lowercase()).as_deref() {
        None | Some("dev" | "development") => Ok(false),
        Some("prod" | "production") => Ok(true),
        Some(other) => Err(ConfigError {
            name: "LEPTOS_ENV",
            problem: format!("must be DEV or PROD, got {other:?}"),
        }),
    }
}

/// The key of `SESSION_SECRET`. Unset: a random one in development (sessions
/// then end with the process, and a warning says so); an error in production,
/// where instances must agree and restarts must not sign everyone out.
fn parse_session_key(
    get: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<SessionKey, ConfigError> {
    const NAME: &str = "SESSION_SECRET";
    match get(NAME) {
        // The message gives the length, never the value.
        Some(secret) if secret.len() < SessionKey::MIN_SECRET_BYTES => Err(ConfigError {
            name: NAME,
            problem: format!(
                "must be at least {} bytes, got {} (generate one with `openssl rand -hex 32`)",
                SessionKey::MIN_SECRET_BYTES,
                secret.len()
            ),
        }),
        Some(secret) => Ok(SessionKey::new(secret.as_bytes())),
        None if production => Err(ConfigError {
            name: NAME,
            problem: "must be set when LEPTOS_ENV=PROD, or every restart signs everyone out \
                      (generate one with `openssl rand -hex 32`)"
                .to_owned(),
        }),
        None => {
            tracing::warn!(
                "SESSION_SECRET is not set: session cookies are signed with a random key, \
                 so sign-ins will not survive a restart (set it in .env)"
            );
            Ok(SessionKey::generate())
        }
    }
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => {
            Err(ConfigError { name, problem: format!("must be true or false, got {other:?}") })
        }
    }
}

/// `https://shop.example.com:8443/x` → `shop.example.com:8443`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// Two variables that go together (an id and its token): both or neither.
fn parse_pair(
    get: &impl Fn(&str) -> Option<String>,
    first: &'static str,
    second: &'static str,
) -> Result<Option<(String, String)>, ConfigError> {
    match (get(first), get(second)) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some(_), None) => {
            Err(ConfigError { name: second, problem: format!("must be set with {first}") })
        }
        (None, Some(_)) => {
            Err(ConfigError { name: first, problem: format!("must be set with {second}") })
        }
    }
}

/// A comma-separated list: items trimmed, empty ones dropped, each checked
/// (and normalised) by `item`, whose error says what was expected.
fn parse_list(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    item: impl Fn(&str) -> Result<&str, &'static str>,
) -> Result<Vec<String>, ConfigError> {
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    raw.split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| {
            item(value).map(str::to_owned).map_err(|expected| ConfigError {
                name,
                problem: format!("{expected}, got {value:?}"),
            })
        })
        .collect()
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

/// Where to send purges (from `Config`).
#[derive(Clone, Default)]
pub struct CdnSettings {
    /// Varnish servers' base URLs.
    pub varnish: Vec<String>,
    pub cloudflare: Option<Cloudflare>,
    pub fastly: Option<Fastly>,
}

/// A Cloudflare zone.
#[derive(Clone)]
pub struct Cloudflare {
    /// `https://api.cloudflare.com/client/v4` (another for tests).
    pub api_url: String,
    pub zone_id: String,
    pub token: String,
    /// The site's host, which Cloudflare's prefixes start with.
    pub host: String,
}

/// A Fastly service.
#[derive(Clone)]
pub struct Fastly {
    /// `https://api.fastly.com` (another for tests).
    pub api_url: String,
    pub service_id: String,
    pub token: String,
}

impl std::fmt::Debug for CdnSettings {
    // By hand: the API tokens never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdnSettings")
            .field("varnish", &self.varnish.iter().map(|url| redact_url(url)).collect::<Vec<_>>())
            .field("cloudflare_zone", &self.cloudflare.as_ref().map(|c| &c.zone_id))
            .field("fastly_service", &self.fastly.as_ref().map(|f| &f.service_id))
            .finish()
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
        assert!(!config.seed_demo, "the demo's public passwords only when asked for");
        assert!(!config.production);
        assert_eq!(config.session_idle, Duration::from_secs(24 * 3600));
        assert_eq!(config.client_cache_max, None);
    }

    #[test]
    fn render_threads_leave_a_core_to_the_hits() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = |vars: &[(&str, &str)]| config(vars).map(|c| c.isr.render_threads);
        assert_eq!(threads(&[]).expect("default"), cores.saturating_sub(1).max(1));
        assert_eq!(threads(&[("ISR_RENDER_THREADS", "0")]).expect("valid"), 0);
        assert_eq!(threads(&[("ISR_RENDER_THREADS", "3")]).expect("valid"), 3);
        assert!(threads(&[("ISR_RENDER_THREADS", "-1")]).is_err());
    }

    #[test]
    fn client_cache_cap() {
        let capped = config(&[("CLIENT_CACHE_MAX_SECS", "3")]).expect("valid");
        assert_eq!(capped.client_cache_max, Some(Duration::from_secs(3)));
        let error = config(&[("CLIENT_CACHE_MAX_SECS", "0")]).expect_err("rejected");
        assert!(error.to_string().contains("CLIENT_CACHE_MAX_SECS"), "{error}");
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
    fn isr_settings_and_the_canonical_host() {
        let isr = config(&[
            ("PUBLIC_URL", "https://shop.example.com:8443/"),
            ("ISR_CACHE_MAX_MB", "8"),
            ("ISR_WARM_PATHS", "/, /blog"),
        ])
        .expect("valid");
        assert_eq!(isr.canonical_host(), "shop.example.com:8443");
        assert_eq!(isr.isr.max_bytes, 8 << 20);
        assert_eq!(isr.isr.max_entry_bytes, 1 << 20);
        assert_eq!(isr.isr.warm_paths, ["/", "/blog"]);
        assert!(isr.isr.enabled);
        let error = config(&[("ISR_WARM_PATHS", "blog")]).expect_err("rejected");
        assert!(error.to_string().contains("ISR_WARM_PATHS"), "{error}");
        let error = config(&[("ISR_CACHE", "sometimes")]).expect_err("rejected");
        assert!(error.to_string().contains("ISR_CACHE"), "{error}");
    }

    #[test]
    fn the_second_level_is_a_file_redis_or_nothing() {
        let store = |url: &str| config(&[("ISR_STORE_URL", url)]).map(|c| c.isr.store);
        assert_eq!(
            config(&[]).expect("defaults").isr.store,
            IsrStore::Disk("data/isr/cache.db".into()),
            "a file by default: nothing to configure"
        );
        assert_eq!(
            store("sqlite:///var/cache/isr.db").ok(),
            Some(IsrStore::Disk("/var/cache/isr.db".into()))
        );
        assert_eq!(
            store("redis://cache:6379/2").ok(),
            Some(IsrStore::Redis("redis://cache:6379/2".into()))
        );
        assert_eq!(store("memory").ok(), Some(IsrStore::Memory));
        for bad in ["mysql://x", "sqlite://", "/tmp/cache.db"] {
            let error = store(bad).expect_err("rejected");
            assert!(error.to_string().contains("ISR_STORE_URL"), "{error}");
        }
        let redis = config(&[("ISR_STORE_URL", "redis://:hunter2@cache/0")]).expect("valid");
        assert!(!format!("{redis:?}").contains("hunter2"), "the password is never logged");
    }

    #[test]
    fn tokens_are_never_logged() {
        let config = config(&[
            ("REVALIDATE_TOKEN", "s3cret-token"),
            ("METRICS_TOKEN", "m3trics"),
            ("CLOUDFLARE_ZONE_ID", "zone"),
            ("CLOUDFLARE_API_TOKEN", "cf-t0ken"),
            ("FASTLY_SERVICE_ID", "service"),
            ("FASTLY_API_TOKEN", "f4stly"),
        ])
        .expect("valid");
        let logged = format!("{config:?}");
        for secret in ["s3cret-token", "m3trics", "cf-t0ken", "f4stly"] {
            assert!(!logged.contains(secret), "{logged}");
        }
        assert!(logged.contains("zone") && logged.contains("service"));
    }

    #[test]
    fn cdn_settings_come_in_pairs() {
        let error = config(&[("CLOUDFLARE_ZONE_ID", "zone")]).expect_err("rejected");
        assert!(error.to_string().contains("CLOUDFLARE_API_TOKEN"), "{error}");
        let error = config(&[("FASTLY_API_TOKEN", "t")]).expect_err("rejected");
        assert!(error.to_string().contains("FASTLY_SERVICE_ID"), "{error}");
        let error = config(&[("CDN_VARNISH_URLS", "varnish:6081")]).expect_err("rejected");
        assert!(error.to_string().contains("CDN_VARNISH_URLS"), "{error}");
        let cdn = config(&[
            ("PUBLIC_URL", "https://shop.example.com"),
            ("CDN_VARNISH_URLS", "http://a:6081/, http://b:6081"),
            ("CLOUDFLARE_ZONE_ID", "zone"),
            ("CLOUDFLARE_API_TOKEN", "t"),
        ])
        .expect("valid")
        .cdn;
        assert_eq!(cdn.varnish, ["http://a:6081", "http://b:6081"]);
        let cloudflare = cdn.cloudflare.expect("configured");
        assert_eq!(cloudflare.host, "shop.example.com");
        assert_eq!(cloudflare.api_url, "https://api.cloudflare.com/client/v4");
        assert!(cdn.fastly.is_none());
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef-secret";

    /// What production needs beside what a test sets: a secret, a metrics token.
    const PROD: [(&str, &str); 3] = [
        ("LEPTOS_ENV", "PROD"),
        ("SESSION_SECRET", SECRET),
        ("METRICS_TOKEN", "a-metrics-token-of-at-least-32-bytes"),
    ];

    fn production(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = PROD.to_vec();
        all.retain(|(name, _)| !vars.iter().any(|(set, _)| set == name));
        all.extend_from_slice(vars);
        config(&all)
    }

    #[test]
    fn demo_seeding_is_opt_in_everywhere() {
        assert!(!config(&[]).expect("valid").seed_demo);
        assert!(!config(&[("LEPTOS_ENV", "DEV")]).expect("valid").seed_demo);
        for env in ["PROD", "prod", "Production"] {
            let config = production(&[("LEPTOS_ENV", env)]).expect("valid");
            assert!(!config.seed_demo, "LEPTOS_ENV={env}");
            assert!(config.production, "LEPTOS_ENV={env}");
        }
        assert!(production(&[("SEED_DEMO", "true")]).expect("valid").seed_demo);
        assert!(config(&[("SEED_DEMO", "true")]).expect("valid").seed_demo);
        let error = config(&[("LEPTOS_ENV", "staging")]).expect_err("rejected");
        assert!(error.to_string().contains("LEPTOS_ENV"), "{error}");
    }

    #[test]
    fn production_needs_a_session_secret_of_32_bytes() {
        let error = production(&[("SESSION_SECRET", "")]).expect_err("rejected");
        assert!(error.to_string().contains("SESSION_SECRET"), "{error}");
        let short = "too-short-a-secret";
        let error = config(&[("SESSION_SECRET", short)]).expect_err("rejected in development too");
        assert!(error.to_string().contains("SESSION_SECRET"), "{error}");
        assert!(!error.to_string().contains(short), "the secret is never echoed: {error}");
        assert!(production(&[]).is_ok());
    }

    /// Each refusal of `LEPTOS_ENV=PROD` at start-up, named, and what passes.
    #[test]
    fn production_refuses_what_is_unsafe() {
        let refused = |vars: &[(&str, &str)], name: &str| {
            let error = production(vars).expect_err("refused");
            assert!(error.to_string().contains(name), "{vars:?}: {error}");
            error.to_string()
        };
        refused(&[("PUBLIC_URL", "http://shop.example.com")], "PUBLIC_URL");
        refused(&[("PUBLIC_URL", "http://10.0.0.5:3000")], "PUBLIC_URL");
        refused(&[("METRICS_TOKEN", "")], "METRICS_TOKEN");
        for name in ["METRICS_TOKEN", "REVALIDATE_TOKEN", "PREVIEW_TOKEN"] {
            let message = refused(&[(name, "short-token-1234")], name);
            assert!(!message.contains("short-token-1234"), "never echoed: {message}");
        }
        for url in [
            "https://shop.example.com",
            "http://127.0.0.1:3000",
            "http://localhost:8080",
            "http://[::1]:3000",
        ] {
            assert!(production(&[("PUBLIC_URL", url)]).is_ok(), "{url}");
        }
        let long = "t".repeat(MIN_TOKEN_BYTES);
        assert!(production(&[("REVALIDATE_TOKEN", &long), ("PREVIEW_TOKEN", &long)]).is_ok());
        // Development takes what it is given.
        assert!(config(&[("PUBLIC_URL", "http://10.0.0.5"), ("REVALIDATE_TOKEN", "x")]).is_ok());
    }

    #[test]
    fn the_session_secret_keys_the_cookies() {
        let a = config(&[("SESSION_SECRET", SECRET)]).expect("valid").session_key;
        let b = config(&[("SESSION_SECRET", SECRET)]).expect("valid").session_key;
        let mac = a.sign("session", "id");
        assert!(b.verify("session", "id", &mac), "one secret, one key: instances agree");
        // Without a secret, each start has a key of its own.
        let first = config(&[]).expect("valid").session_key;
        let second = config(&[]).expect("valid").session_key;
        assert!(!second.verify("session", "id", &first.sign("session", "id")));
    }

    #[test]
    fn secrets_are_never_logged() {
        let config = config(&[("SESSION_SECRET", SECRET), ("PREVIEW_TOKEN", "pr3view-t0ken")])
            .expect("valid");
        assert_eq!(config.preview_token.as_deref(), Some("pr3view-t0ken"));
        let logged = format!("{config:?}");
        assert!(!logged.contains(SECRET) && !logged.contains("pr3view-t0ken"), "{logged}");
        assert!(logged.contains("preview_token: Some(\"***\")"), "{logged}");
        assert_eq!(self::config(&[]).expect("valid").preview_token, None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://app:hunter2@db/app"), "postgres://app:***@db/app");
        assert_eq!(redact_url("sqlite://data/app.db"), "sqlite://data/app.db");
        assert_eq!(redact_url("redis://:hunter2@cache:6379/0"), "redis://:***@cache:6379/0");
        let config = config(&[
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("ISR_STORE_URL", "rediss://default:hunter2@cache:6380"),
            ("CDN_VARNISH_URLS", "http://purger:hunter2@varnish:6081"),
        ])
        .expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
    }

    #[test]
    fn the_bounds_under_load_have_defaults_and_refuse_junk() {
        let defaults = config(&[]).expect("valid");
        assert_eq!(defaults.trusted_proxy_hops, 0, "no proxy trusted unless said");
        assert!(defaults.sign_in_hash_permits >= 1);
        assert_eq!(defaults.sign_in_hash_wait, Duration::from_millis(250));
        assert_eq!(defaults.max_connections, 1024);
        assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
        let set = config(&[("TRUSTED_PROXY_HOPS", "2"), ("SIGN_IN_HASH_PERMITS", "3")]);
        let set = set.expect("valid");
        assert_eq!((set.trusted_proxy_hops, set.sign_in_hash_permits), (2, 3));
        assert_eq!(config(&[("TRUSTED_PROXY_HOPS", "0")]).expect("valid").trusted_proxy_hops, 0);
        for name in ["TRUSTED_PROXY_HOPS", "SIGN_IN_HASH_PERMITS", "MAX_CONNECTIONS"] {
            let error = config(&[(name, "many")]).expect_err("rejected");
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
