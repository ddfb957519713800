//! The built-in ISR cache, wired into the app: built from [`Config`], purged
//! from outside by `POST /api/revalidate` and from inside by [`purge`] (the
//! editor's saves), read by Prometheus at `GET /metrics`, and warmed at
//! start-up.
//!
//! `POST /api/revalidate` takes a JSON body, an [`isr_cache::Purge`] as its
//! `serde` feature reads it, and a bearer token (`REVALIDATE_TOKEN`, compared
//! in constant time):
//!
//! ```json
//! {"paths": ["/blog/hello-isr"], "prefixes": ["/blog/"], "tags": ["posts"], "mode": "soft"}
//! ```
//!
//! Missing lists are empty, unknown fields an error. `mode` is `soft` (the
//! default: the next visitor gets the old page at once while a new one
//! renders) or `hard` (the next visitor waits for a new one).
//! A missing or wrong token is 401, a malformed body 400, another method 405,
//! each with a JSON error; every call is logged.
//!
//! Every item is checked before anything is purged ([`check_tag`],
//! [`check_path`]; at most 256 in all), and a bad one is a 400 naming it and
//! why: tags are what the app emits (1 to 128 of `A-Z a-z 0-9 . _ : -`),
//! paths and prefixes are paths as requested (from `/`, at most 2048 bytes,
//! visible ASCII, no `*` and no `..` segment). Items reach the CDN's ban
//! expressions too, where they are matched literally (see `cdn`).
//!
//! `GET /metrics` is for the bearer of `METRICS_TOKEN`, and for a direct
//! loopback peer (a Prometheus on the same host): one whose request carries
//! no `X-Forwarded-For`, `Forwarded` or `Via`. A proxy on the same host, such
//! as the repo's own Varnish, is a loopback peer for every visitor, and says
//! so in those headers.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::header::{CONTENT_TYPE, FORWARDED, VIA};
use http::{HeaderMap, HeaderName};
use isr_cache::isr::level2::{RedisLevel, SqliteLevel};
use isr_cache::isr::{WarmUp, WarmUpConfig, warm_pages, warm_up};
use isr_cache::{IsrCache, IsrConfig, Purge, Visitor, Visitors};
use leptos::config::LeptosOptions;

use super::{AppState, Config};
use crate::app::auth::bearer::bearer_matches;
use crate::app::auth::preview::is_preview;
use crate::app::auth::session::is_signed_in;
use crate::config::IsrStore;
use crate::state::Readiness;
use crate::{AppError, AppResult};

/// The cache the configuration asks for, with its second level.
pub async fn build(
    config: &Config,
    leptos_options: &LeptosOptions,
    db: &crate::db::Db,
) -> anyhow::Result<IsrCache> {
    let data = crate::db::data_id(db).await?;
    let isr = IsrCache::new(isr_config(config, leptos_options, &data));
    open_second_level(config, &isr).await;
    Ok(isr)
}

/// Opens the second level `ISR_STORE_URL` names and gives it to `isr`. A
/// file that cannot be opened leaves the cache in memory (logged); a Redis
/// that does not answer is tried again every few seconds in the background,
/// meanwhile the instance serves from memory.
pub async fn open_second_level(config: &Config, isr: &IsrCache) {
    match &config.isr.store {
        IsrStore::Memory => {
            tracing::info!("cache pages kept in memory only (ISR_STORE_URL=memory)")
        }
        IsrStore::Disk(path) => {
            match SqliteLevel::open_bounded(path, Some(config.isr.store_max_bytes)).await {
                Ok(level) => {
                    // One host, builds one after the other (`cargo leptos
                    // watch` makes one per save): earlier builds' pages go at
                    // once rather than when they expire.
                    let namespace = format!("{}|", isr.config().build);
                    match level.retain_prefix(&namespace).await {
                        Ok(0) => {}
                        Ok(dropped) => tracing::info!(dropped, "earlier builds' pages dropped"),
                        Err(error) => tracing::warn!(%error, "cannot drop earlier builds' pages"),
                    }
                    let level = Arc::new(level);
                    isr.attach_second_level(level.clone());
                    prune_every_minute(level);
                    tracing::info!(path = %path.display(), "cache pages kept on disk too");
                }
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    %error,
                    "cannot open the cache's file: pages kept in memory only"
                ),
            }
        }
        IsrStore::Redis(url) => {
            let namespace = &config.isr.store_namespace;
            if let Err(error) = connect_redis(url, namespace, isr).await {
                tracing::warn!(%error, "Redis does not answer: serving from memory, trying again every 5 s");
                let (url, namespace, isr) = (url.clone(), namespace.clone(), isr.clone());
                tokio::spawn(async move {
                    let mut tries = tokio::time::interval(Duration::from_secs(5));
                    tries.tick().await;
                    loop {
                        tries.tick().await;
                        if connect_redis(&url, &namespace, &isr).await.is_ok() {
                            break;
                        }
                    }
                });
            }
        }
    }
}

async fn connect_redis(
    url: &str,
    namespace: &str,
    isr: &IsrCache,
) -> Result<(), isr_cache::isr::level2::LevelError> {
    let level = RedisLevel::connect(url, namespace).await?;
    isr.attach_second_level(Arc::new(level));
    tracing::info!("cache pages shared in Redis");
    Ok(())
}

/// Drops the disk store's expired pages, purge markers and leases every
/// minute: short-lived pages (a 404, a search) leave room at once.
fn prune_every_minute(level: Arc<SqliteLevel>) {
    tokio::spawn(async move {
        let mut minutes = tokio::time::interval(Duration::from_secs(60));
        loop {
            minutes.tick().await;
            if let Err(error) = level.prune().await {
                tracing::warn!(%error, "cannot prune the cache's file");
            }
        }
    });
}

/// The build this process is, as the second level namespaces its pages:
/// `ISR_BUILD_ID`, else a hash of the server binary and every file of the
/// `/pkg` bundle, so that a new build (of either half) never serves a page
/// an old one rendered, which would link the old bundle. Computed once.
pub fn build_id(config: &Config, leptos_options: &LeptosOptions) -> String {
    if let Some(id) = &config.isr.build_id {
        return id.clone();
    }
    static COMPUTED: OnceLock<String> = OnceLock::new();
    COMPUTED
        .get_or_init(|| {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            if let Ok(binary) = std::env::current_exe().and_then(std::fs::read) {
                hasher.update(&binary);
            }
            let pkg = std::path::Path::new(leptos_options.site_root.as_ref())
                .join(leptos_options.site_pkg_dir.as_ref());
            let mut files: Vec<_> = std::fs::read_dir(&pkg)
                .map(|dir| dir.filter_map(Result::ok).map(|entry| entry.path()).collect())
                .unwrap_or_default();
            files.sort();
            for file in files {
                hasher.update(file.to_string_lossy().as_bytes());
                if let Ok(bytes) = std::fs::read(&file) {
                    hasher.update(&bytes);
                }
            }
            format!("{:016x}", hasher.digest())
        })
        .clone()
}

/// The cache's settings from the app's configuration. Its namespace in the
/// second level is the build's ([`build_id`]) and the database's
/// ([`data_id`](crate::db::data_id)): a page is served only by the build
/// that rendered it, from the database it was rendered from.
pub fn isr_config(config: &Config, leptos_options: &LeptosOptions, data_id: &str) -> IsrConfig {
    IsrConfig::new()
        .build(format!("{}.{data_id}", build_id(config, leptos_options)))
        .level2_timeout(config.isr.store_timeout)
        .enabled(config.isr.enabled)
        .max_bytes(config.isr.max_bytes)
        .max_entry_bytes(config.isr.max_entry_bytes)
        .canonical_host(config.canonical_host())
        .visitors(visitors(config))
        .routes(crate::app::cache::route_table())
        .render_threads(config.isr.render_threads)
        // Data functions answer JSON; everything else is a page.
        .render_accept(
            |path| if path.starts_with("/api/") { "application/json" } else { "text/html" },
        )
}

/// Who is asking, for both cache layers (the ISR cache and the policy of
/// every response): a preview (the `PREVIEW_TOKEN` bearer, or its signed
/// cookie), a signed-in visitor (a session cookie whose signature checks),
/// or anyone else. Checked on every request, hits included, so it never
/// touches the database: a forged `sid` cookie is anonymous, and is served
/// from the cache.
pub fn visitors(config: &Config) -> Visitors {
    let config = config.clone();
    Visitors::new(move |headers| {
        if is_preview(headers, &config) {
            Visitor::Preview
        } else if is_signed_in(headers, &config) {
            Visitor::Personal
        } else {
            Visitor::Anonymous
        }
    })
}

/// `POST /api/revalidate`, `GET /metrics`, and the health checks:
/// `GET /healthz/live` (200 as soon as the server answers) and
/// `GET /healthz/ready` (503 until the cache is warm, then 200), for a load
/// balancer to send a new instance traffic only once it is ready.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz/live", get(|| async { axum::Json(serde_json::json!({ "live": true })) }))
        .route("/healthz/ready", get(ready))
        .route(
            "/api/revalidate",
            post(revalidate).fallback(|| async {
                AppError::MethodNotAllowed("use POST with a JSON body".into())
            }),
        )
        .route("/metrics", get(metrics))
}

/// Samples the cache's hit rate once a minute, for the dashboard's graph,
/// and sends its request counts to the second level every 10 s, for the
/// next build's warm-up.
pub fn sample_and_count_requests(isr: IsrCache) {
    tokio::spawn({
        let isr = isr.clone();
        async move {
            let mut minutes = tokio::time::interval(Duration::from_secs(60));
            minutes.tick().await; // The first tick is immediate: nothing to count yet.
            loop {
                minutes.tick().await;
                isr.sample_history();
            }
        }
    });
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(10));
        loop {
            ticks.tick().await;
            isr.flush_requests().await;
        }
    });
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let ready = state.ready.is_ready();
    let status = if ready { http::StatusCode::OK } else { http::StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(serde_json::json!({ "ready": ready })))
}

async fn revalidate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<axum::Json<serde_json::Value>> {
    if !bearer_matches(&headers, state.config.revalidate_token.as_deref()) {
        tracing::warn!("revalidation refused: missing or wrong token");
        return Err(AppError::InvalidToken);
    }
    let purge_request: Purge = serde_json::from_slice(&body)
        .map_err(|error| AppError::BadRequest(format!("invalid revalidation request: {error}")))?;
    check(&purge_request).map_err(AppError::BadRequest)?;
    let matched = state.purger.purge(&purge_request, "api").await;
    Ok(axum::Json(serde_json::json!({ "purged": matched, "mode": purge_request.mode })))
}

/// `GET /metrics`: for the bearer of `METRICS_TOKEN` alone when there is
/// one (production requires it: a proxy on this host that adds no
/// `X-Forwarded-For` would make every visitor a direct loopback peer), else,
/// in development, for a direct loopback peer (see [`direct_from_loopback`]).
/// Refused with 401 when a token could be given, 403 when none is configured.
async fn metrics(State(state): State<AppState>, request: Request) -> AppResult<impl IntoResponse> {
    let token = state.config.metrics_token.as_deref();
    let allowed = match token {
        Some(_) => bearer_matches(request.headers(), token),
        None => direct_from_loopback(&request),
    };
    if !allowed {
        tracing::debug!("metrics refused: no token, or not a direct loopback peer");
        return Err(if token.is_some() { AppError::InvalidToken } else { AppError::Forbidden });
    }
    let body = state.purger.isr().metrics().render();
    Ok(([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body))
}

/// `X-Forwarded-For`, which `http` has no constant for.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Whether `request` comes straight from a client on this host: its peer is
/// a loopback address and no proxy says it forwarded it. A proxy on this host
/// (the repo's Varnish) is a loopback peer for every visitor, so its word is
/// what tells them apart; a client cannot forge its way in by sending those
/// headers, only out. (The ISR cache's anonymous render of `/metrics` sees
/// no proxy headers, but its answer is `no-store`, so the cache discards it
/// and sends the client's own request, headers and all.)
fn direct_from_loopback(request: &Request) -> bool {
    let headers = request.headers();
    let forwarded = [X_FORWARDED_FOR, FORWARDED, VIA].iter().any(|name| headers.contains_key(name));
    !forwarded
        && request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback())
}

/// The most paths, prefixes and tags one revalidation may name, in all.
pub const MAX_PURGE_ITEMS: usize = 256;
/// The longest path or prefix a revalidation may name, in bytes.
pub const MAX_PURGE_PATH: usize = 2048;

/// [`check_path`] or [`check_tag`].
type ItemCheck = fn(&str) -> Result<(), &'static str>;

/// Checks every item of a revalidation; the message names the first bad one
/// and why.
fn check(purge: &Purge) -> Result<(), String> {
    let count = purge.paths.len() + purge.prefixes.len() + purge.tags.len();
    if count == 0 {
        return Err("nothing to purge: give paths, prefixes or tags".into());
    }
    if count > MAX_PURGE_ITEMS {
        return Err(format!(
            "{count} items to purge; the limit is {MAX_PURGE_ITEMS} paths, prefixes and tags in all"
        ));
    }
    let lists: [(&str, &[String], ItemCheck); 3] = [
        ("paths", &purge.paths, check_path),
        ("prefixes", &purge.prefixes, check_path),
        ("tags", &purge.tags, check_tag),
    ];
    for (field, items, check) in lists {
        for (index, item) in items.iter().enumerate() {
            check(item).map_err(|why| format!("{field}[{index}] {}: {why}", quoted(item)))?;
        }
    }
    Ok(())
}

/// `item` quoted for an error message, cut short: the message names it, it
/// need not echo a megabyte back.
fn quoted(item: &str) -> String {
    const SHOWN: usize = 64;
    match item.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}...", &item[..end]),
        None => format!("{item:?}"),
    }
}

/// Why `tag` cannot be purged, if it cannot: a tag is 1 to 128 of
/// `A-Z a-z 0-9 . _ : -`, which covers every tag the app emits (`posts`,
/// `post:{slug}`, `product:{id}`, ...) and nothing a ban expression or a
/// CDN's API could read as more than the tag.
pub fn check_tag(tag: &str) -> Result<(), &'static str> {
    if tag.is_empty() || tag.len() > isr_cache::MAX_TAG_LEN {
        return Err("a tag is 1 to 128 characters long");
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    if !tag.bytes().all(allowed) {
        return Err("a tag holds only A-Z, a-z, 0-9 and . _ : -");
    }
    Ok(())
}

/// Why `path` (a path, or a prefix of paths) cannot be purged, if it cannot:
/// it starts with `/`, is at most 2048 bytes of visible ASCII (percent-encoded
/// as in the URL, which is what caches store), and holds no `*` (prefixes
/// purge many pages; there are no wildcards) and no `..` segment.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("must start with /");
    }
    if path.len() > MAX_PURGE_PATH {
        return Err("longer than 2048 bytes");
    }
    if let Some(ch) = path.chars().find(|ch| !ch.is_ascii_graphic()) {
        return Err(if ch.is_control() {
            "holds a control character"
        } else if ch.is_whitespace() {
            "holds a space"
        } else {
            "holds a character that is not visible ASCII: percent-encode it, as in the URL"
        });
    }
    if path.contains('*') {
        return Err("holds *: there are no wildcards (a prefix purges every path under it)");
    }
    if path.contains('"') {
        return Err("holds a quote: percent-encode it, as in the URL");
    }
    let dot_dot = |segment: &str| segment.to_ascii_lowercase().replace("%2e", ".") == "..";
    if path.split(['/', '?']).any(dot_dot) {
        return Err("holds a .. segment");
    }
    Ok(())
}

/// Renders the configured pages (and what they link to) into the cache,
/// through the whole app, after the server is ready. Links into the bundle
/// (`/pkg/`) and the APIs (`/api/`: server functions, revalidation) are not
/// pages, and are not followed.
pub async fn warm(app: Router, config: &Config, isr: &IsrCache, ready: &Readiness) -> WarmUp {
    let settings = &config.isr;
    // The pages visitors asked for most (of any build: a new build's first),
    // several at a time. Those this build stored before a restart come from
    // the second level, without a render.
    let top = isr.top_pages(settings.warm_top).await;
    let started = std::time::Instant::now();
    let popular =
        warm_pages::<_, axum::body::Body, _>(app.clone(), &top, settings.warm_concurrency).await;
    if popular.requested > 0 {
        tracing::info!(
            requested = popular.requested,
            ok = popular.ok,
            elapsed = ?started.elapsed(),
            "most requested pages warmed"
        );
    }
    let plan = WarmUpConfig::new(settings.warm_paths.iter().cloned())
        .limit(settings.warm_limit)
        .skip_prefixes(["/pkg/", "/api/"]);
    let report = warm_up::<_, axum::body::Body, _>(app, &plan).await;
    tracing::info!(requested = report.requested, ok = report.ok, "cache warmed: ready");
    ready.set_ready();
    WarmUp { requested: popular.requested + report.requested, ok: popular.ok + report.ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tags the app emits can all be purged from outside.
    #[test]
    fn every_tag_the_app_emits_is_valid() {
        let samples = crate::app::cache::route_samples();
        let tags: Vec<String> = samples.iter().flat_map(|s| s.policy.tag_set().clone()).collect();
        assert!(!tags.is_empty());
        for tag in tags {
            assert_eq!(check_tag(&tag), Ok(()), "{tag}");
        }
    }

    #[test]
    fn tags_are_short_and_plain() {
        for tag in ["posts", "post:hello-isr", "product:7", "a.b_c-d:e", &"x".repeat(128)] {
            assert_eq!(check_tag(tag), Ok(()), "{tag}");
        }
        for tag in ["", ".*", "a|b", "a b", "a,b", "(x)", "caf\u{e9}", "a\"b", &"x".repeat(129)] {
            assert!(check_tag(tag).is_err(), "{tag}");
        }
    }

    #[test]
    fn paths_are_paths_as_requested() {
        let long = format!("/{}", "x".repeat(MAX_PURGE_PATH - 1));
        for path in
            ["/", "/blog/hello-isr", "/blog/a.b+c(1)", "/search?q=x&page=2", "/caf%C3%A9", &long]
        {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
        let cases = [
            ("blog", "start with /"),
            ("", "start with /"),
            (&format!("{long}x"), "2048"),
            ("/a\nb", "control"),
            ("/a\u{7f}", "control"),
            ("/a b", "space"),
            ("/a\tb", "control"),
            ("/caf\u{e9}", "percent-encode"),
            ("/blog/*", "wildcards"),
            ("/a\"b", "quote"),
            ("/blog/../admin", ".."),
            ("/blog/%2E%2e/admin", ".."),
            ("/..", ".."),
        ];
        for (path, why) in cases {
            let error = check_path(path).expect_err(path);
            assert!(error.contains(why), "{path}: {error}");
        }
    }

    #[test]
    fn a_revalidation_names_its_first_bad_item_and_has_a_limit() {
        let request = |paths: &[&str], tags: &[&str]| Purge {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Purge::default()
        };
        assert_eq!(check(&request(&["/a"], &["posts"])), Ok(()));
        let error = check(&request(&["/a"], &["posts", "a|b"])).expect_err("bad tag");
        assert!(error.starts_with(r#"tags[1] "a|b": "#), "{error}");
        let error = check(&request(&[&"/x".repeat(2000)], &[])).expect_err("too long");
        assert!(error.starts_with(r#"paths[0] "/x/x"#) && error.contains("...:"), "{error}");
        let many: Vec<String> = (0..=MAX_PURGE_ITEMS).map(|i| format!("product:{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let error = check(&request(&[], &many)).expect_err("too many");
        assert!(error.contains("257 items") && error.contains("256"), "{error}");
        assert_eq!(check(&request(&[], &many[..MAX_PURGE_ITEMS])), Ok(()));
    }
}
