//! The built-in ISR cache, wired into the app: built from [`Config`], purged
//! from outside by `POST /api/revalidate` and from inside by [`purge`] (the
//! editor's saves), read by Prometheus at `GET /metrics`, and warmed at
//! start-up.
//!
//! `POST /api/revalidate` takes a JSON body and a bearer token
//! (`REVALIDATE_TOKEN`, compared in constant time):
//!
//! ```json
//! {"paths": ["/blog/hello-isr"], "prefixes": ["/blog/"], "tags": ["posts"], "mode": "soft"}
//! ```
//!
//! `mode` is `soft` (the default: the next visitor gets the old page at once
//! while a new one renders) or `hard` (the next visitor waits for a new one).
//! A missing or wrong token is 401, a malformed body 400, another method 405,
//! each with a JSON error; every call is logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::HeaderMap;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use isr_cache::isr::{WarmUp, warm_up};
use isr_cache::{IsrCache, IsrConfig, Purge, PurgeMode, Visitor, Visitors};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::cdn::Cdn;
use super::{AppState, Config};
use crate::app::auth::preview::is_preview;
use crate::app::auth::session::is_signed_in;
use crate::app::query::Changed;
use crate::{AppError, AppResult};

/// The cache the configuration asks for.
pub fn build(config: &Config) -> IsrCache {
    IsrCache::new(isr_config(config))
}

/// The cache's settings from the app's configuration.
pub fn isr_config(config: &Config) -> IsrConfig {
    IsrConfig {
        enabled: config.isr.enabled,
        max_bytes: config.isr.max_bytes,
        max_entry_bytes: config.isr.max_entry_bytes,
        canonical_host: config.canonical_host().to_owned(),
        visitors: visitors(config),
        routes: Some(Arc::new(crate::app::cache::route_table())),
        render_threads: config.isr.render_threads,
    }
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
        } else if is_signed_in(headers, &config.session_key) {
            Visitor::Personal
        } else {
            Visitor::Anonymous
        }
    })
}

/// `POST /api/revalidate` and `GET /metrics`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/revalidate",
            post(revalidate).fallback(|| async {
                AppError::MethodNotAllowed("use POST with a JSON body".into())
            }),
        )
        .route("/metrics", get(metrics))
}

/// What a write inside the app changed, by tag: purged here (hard, so the
/// next visitor waits for a fresh render rather than seeing the old page once
/// more), and returned for the browser to invalidate its own copies
/// (`app::query::invalidate_after`).
pub fn changed(tags: Vec<String>, source: &str) -> Changed {
    purge(&AppState::current(), &Purge::tags(tags.clone(), PurgeMode::Hard), source);
    Changed { tags }
}

/// Samples the cache's hit rate once a minute, for the dashboard's graph.
pub fn sample_every_minute(isr: IsrCache) {
    tokio::spawn(async move {
        let mut minutes = tokio::time::interval(std::time::Duration::from_secs(60));
        minutes.tick().await; // The first tick is immediate: nothing to count yet.
        loop {
            minutes.tick().await;
            isr.sample_history();
        }
    });
}

/// Invalidates what `purge` names, here and on every other instance of the
/// app (see `fanout`), and logs who asked (`source`). The one path every
/// purge takes, from the HTTP endpoint or from the app's writes. Returns how
/// many pages it matched here.
pub fn purge(state: &AppState, purge: &Purge, source: &str) -> usize {
    let matched = purge_here(&state.isr, &state.cdn, purge, source);
    state.fanout.publish(purge);
    matched
}

/// Invalidates what `purge` names in this instance's cache and in the CDN in
/// front of it (see `cdn`), and logs it.
pub fn purge_here(cache: &IsrCache, cdn: &Cdn, purge: &Purge, source: &str) -> usize {
    let matched = cache.purge(purge);
    cdn.purge(purge);
    tracing::info!(
        source,
        mode = ?purge.mode,
        paths = ?purge.paths,
        prefixes = ?purge.prefixes,
        tags = ?purge.tags,
        matched,
        "cache purged"
    );
    matched
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevalidateRequest {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    mode: Mode,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Soft,
    Hard,
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
    let request: RevalidateRequest = serde_json::from_slice(&body)
        .map_err(|error| AppError::BadRequest(format!("invalid revalidation request: {error}")))?;
    if request.paths.is_empty() && request.prefixes.is_empty() && request.tags.is_empty() {
        return Err(AppError::BadRequest("nothing to purge: give paths, prefixes or tags".into()));
    }
    if let Some(bad) = request.paths.iter().chain(&request.prefixes).find(|p| !p.starts_with('/')) {
        return Err(AppError::BadRequest(format!("paths and prefixes start with /, got {bad:?}")));
    }
    let mode = match request.mode {
        Mode::Soft => PurgeMode::Soft,
        Mode::Hard => PurgeMode::Hard,
    };
    let purge_request =
        Purge { paths: request.paths, prefixes: request.prefixes, tags: request.tags, mode };
    let matched = purge(&state, &purge_request, "api");
    let mode = if mode == PurgeMode::Hard { "hard" } else { "soft" };
    Ok(axum::Json(serde_json::json!({ "purged": matched, "mode": mode })))
}

/// `GET /metrics`: with `METRICS_TOKEN` set, for its bearer; otherwise for
/// clients on the loopback interface only (a Prometheus on the same host).
async fn metrics(State(state): State<AppState>, request: Request) -> AppResult<impl IntoResponse> {
    let allowed = match state.config.metrics_token.as_deref() {
        Some(token) => bearer_matches(request.headers(), Some(token)),
        None => request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback()),
    };
    if !allowed {
        return Err(if state.config.metrics_token.is_some() {
            AppError::InvalidToken
        } else {
            AppError::Forbidden
        });
    }
    let body = state.isr.metrics().render();
    Ok(([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body))
}

/// Whether `Authorization: Bearer <token>` carries `expected`, compared in
/// constant time. No expected token: nothing matches.
fn bearer_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|token| !token.is_empty()) else { return false };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Renders the configured pages (and what they link to) into the cache,
/// through the whole app, after the server is ready.
pub async fn warm(app: Router, config: &Config) -> WarmUp {
    let settings = &config.isr;
    let report =
        warm_up::<_, axum::body::Body, _>(app, &settings.warm_paths, settings.warm_limit).await;
    tracing::info!(requested = report.requested, ok = report.ok, "cache warmed");
    report
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("value"));
            headers
        };
        assert!(bearer_matches(&headers("Bearer s3cret"), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cre"), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cret!"), Some("s3cret")));
        assert!(!bearer_matches(&headers("s3cret"), Some("s3cret")));
        assert!(
            !bearer_matches(&headers("Bearer "), Some("")),
            "no token configured means no access"
        );
        assert!(!bearer_matches(&HeaderMap::new(), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cret"), None));
    }
}
