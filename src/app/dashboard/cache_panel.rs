//! The dashboard's cache panel, for admins: what the built-in ISR cache has
//! done since start-up, its hit rate minute by minute over the last hour, its
//! latest purges, and a button that purges it all.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::app::query::{Changed, invalidate_after};

/// The cache's counters and latest purges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub enabled: bool,
    pub hits: u64,
    pub stale: u64,
    pub misses: u64,
    pub regenerations: u64,
    pub regeneration_errors: u64,
    pub evictions: u64,
    pub entries: i64,
    pub bytes: i64,
    /// The second level, when there is one.
    pub level2: Option<Level2Stats>,
    /// Newest first.
    pub purges: Vec<PurgeSummary>,
    /// The hit rate of each minute sampled (oldest first; `None`: no requests).
    pub history: Vec<Option<u64>>,
}

/// What the cache's second level (disk or Redis) did since start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level2Stats {
    /// "sqlite" (disk) or "redis".
    pub kind: String,
    /// Misses in memory answered from it, without a render.
    pub hits: u64,
    pub misses: u64,
    pub writes: u64,
    /// Calls that failed or timed out.
    pub errors: u64,
    /// Render leases this instance took, and times it waited on another's.
    pub leases: u64,
    pub waits: u64,
}

/// The browser-only tag of the panel's data: a purge from the panel changes
/// no data, only what the panel shows.
pub const PURGED: &str = "cache";

/// One purge, as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeSummary {
    pub seconds_ago: u64,
    /// What it named: paths, prefixes (`/blog/*`) and tags (`#posts`).
    pub what: String,
    pub hard: bool,
    pub matched: usize,
}

impl CacheStats {
    /// Requests answered from the cache (fresh or stale), in percent.
    pub fn hit_rate(&self) -> Option<u64> {
        isr_cache::hit_rate(self.hits, self.stale, self.misses)
    }
}

/// The panel's data, from the running cache.
#[cfg(feature = "ssr")]
pub fn cache_stats(cache: &isr_cache::IsrCache) -> CacheStats {
    let metrics = cache.metrics();
    let now = cache.now_millis();
    let purges = cache
        .recent_purges()
        .into_iter()
        .rev()
        .map(|record| {
            let purge = &record.purge;
            let what = purge
                .paths
                .iter()
                .cloned()
                .chain(purge.prefixes.iter().map(|prefix| format!("{prefix}*")))
                .chain(purge.tags.iter().map(|tag| format!("#{tag}")))
                .collect::<Vec<_>>()
                .join(" ");
            PurgeSummary {
                seconds_ago: now.saturating_sub(record.at) / 1000,
                what,
                hard: purge.mode == isr_cache::PurgeMode::Hard,
                matched: record.matched,
            }
        })
        .collect();
    CacheStats {
        enabled: cache.config().enabled,
        hits: metrics.hits.get(),
        stale: metrics.stale.get(),
        misses: metrics.misses.get(),
        regenerations: metrics.regenerations.get(),
        regeneration_errors: metrics.regeneration_errors.get(),
        evictions: metrics.evictions.get(),
        entries: metrics.entries.get(),
        bytes: metrics.bytes.get(),
        level2: cache.second_level_kind().map(|kind| Level2Stats {
            kind: kind.to_owned(),
            hits: metrics.level2_hits.get(),
            misses: metrics.level2_misses.get(),
            writes: metrics.level2_writes.get(),
            errors: metrics.level2_errors.get(),
            leases: metrics.leases_taken.get(),
            waits: metrics.lease_waits.get(),
        }),
        purges,
        history: cache.history().iter().map(isr_cache::isr::Sample::hit_rate).collect(),
    }
}

/// Drops every stored page (hard purge of every path) and reloads the
/// dashboard. No data changed, only the cache the panel shows (tag `cache`).
#[server(endpoint = "dashboard/purge_cache")]
pub async fn purge_cache() -> Result<Changed, AppError> {
    let user = super::require_admin().await?;
    let purge = isr_cache::Purge {
        prefixes: vec!["/".into()],
        mode: isr_cache::PurgeMode::Hard,
        ..isr_cache::Purge::default()
    };
    let state = crate::state::AppState::current();
    state.purger.purge(&purge, &format!("dashboard (user {})", user.id)).await;
    leptos_axum::redirect("/dashboard");
    Ok(Changed { tags: vec![PURGED.into()] })
}

/// The panel.
#[component]
pub fn CachePanel(stats: CacheStats) -> impl IntoView {
    let purge = ServerAction::<PurgeCache>::new();
    invalidate_after(purge);
    let hit_rate = stats.hit_rate().map_or_else(|| "–".to_owned(), |rate| format!("{rate}%"));
    let stat = |value: String, label: &'static str| {
        view! { <li class="card stat"><span class="stat-value">{value}</span> " " {label}</li> }
    };
    view! {
        <section class="section" data-testid="cache-panel">
            <h2>"Cache"</h2>
            {(!stats.enabled).then(|| view! { <p class="muted">"The built-in cache is off (ISR_CACHE=false)."</p> })}
            <ul class="stats">
                {stat(hit_rate, "hit rate")}
                {stat(stats.hits.to_string(), "hits")}
                {stat(stats.stale.to_string(), "stale serves")}
                {stat(stats.misses.to_string(), "misses")}
                {stat(stats.regenerations.to_string(), "renders")}
                {stat(stats.regeneration_errors.to_string(), "failed renders")}
                {stat(stats.entries.to_string(), "pages stored")}
                {stat(format!("{} KiB", stats.bytes / 1024), "held")}
            </ul>
            {stats.level2.map(|level| {
                let store = if level.kind == "redis" { "Redis, shared by every instance" } else { "disk" };
                view! {
                    <h3>"Second level: " {store}</h3>
                    <ul class="stats" data-testid="level2">
                        {stat(level.hits.to_string(), "hits")}
                        {stat(level.misses.to_string(), "misses")}
                        {stat(level.writes.to_string(), "pages written")}
                        {stat(level.errors.to_string(), "errors")}
                        {stat(level.leases.to_string(), "render leases")}
                        {stat(level.waits.to_string(), "waits on another instance")}
                    </ul>
                }
            })}
            <HitRateGraph history=stats.history />
            <h3>"Latest purges"</h3>
            {if stats.purges.is_empty() {
                view! { <p class="muted">"None since the server started."</p> }.into_any()
            } else {
                view! {
                    <ul class="editor-list">
                        {stats.purges.into_iter().map(|p| view! {
                            <li>
                                <span>{p.what}</span>
                                <span class="muted">
                                    {if p.hard { "hard" } else { "soft" }} " · " {p.matched} " pages · "
                                    {p.seconds_ago} " s ago"
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=purge>
                <button type="submit" class="button secondary">"Purge every page"</button>
            </ActionForm>
            // A fresh render that no cache stores, for the bearer of
            // PREVIEW_TOKEN: posted, so the token never sits in a URL.
            <h3>"Preview"</h3>
            <form method="post" action="/api/preview" class="stack preview-form">
                <label>
                    "Page"
                    <input name="path" value="/" />
                </label>
                <label>
                    "Preview token"
                    <input type="password" name="token" autocomplete="off" required />
                </label>
                <button type="submit" class="button secondary">"Preview"</button>
            </form>
        </section>
    }
}

/// Minutes the graph spans: as many as the cache keeps samples of (on the
/// server, `isr_cache::isr::HISTORY_SAMPLES`; a test keeps them equal).
const GRAPH_MINUTES: usize = 60;

/// The hit rate of each sampled minute as a line (a gap where a minute had
/// no requests), scaled from 0 % (bottom) to 100 % (top).
#[component]
fn HitRateGraph(history: Vec<Option<u64>>) -> impl IntoView {
    const WIDTH: usize = 300;
    const HEIGHT: u64 = 60;
    if history.is_empty() {
        return view! { <p class="muted">"The hit rate over time appears after the first minute."</p> }
            .into_any();
    }
    let step = WIDTH / (GRAPH_MINUTES - 1);
    let point = |(i, rate): (usize, u64)| format!("{},{}", i * step, HEIGHT - rate * HEIGHT / 100);
    // One polyline per run of minutes that had requests.
    let runs: Vec<String> = history
        .iter()
        .enumerate()
        .collect::<Vec<_>>()
        .split(|(_, rate)| rate.is_none())
        .filter(|run| !run.is_empty())
        .map(|run| {
            run.iter()
                .filter_map(|(i, rate)| rate.map(|rate| point((*i, rate))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let last = history.iter().rev().find_map(|rate| *rate);
    let label = match last {
        Some(rate) => format!("Hit rate, one point a minute; last: {rate}%"),
        None => "Hit rate, one point a minute; no requests lately".to_owned(),
    };
    view! {
        <figure class="hit-rate" data-testid="hit-rate-graph">
            <svg viewBox=format!("-2 -2 {} {}", WIDTH + 4, HEIGHT + 4) role="img" aria-label=label.clone()>
                <line x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT class="axis" />
                {runs.into_iter().map(|points| view! { <polyline points=points /> }).collect_view()}
            </svg>
            <figcaption class="muted">{label}</figcaption>
        </figure>
    }
    .into_any()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn the_graph_spans_the_history_the_cache_keeps() {
        assert_eq!(super::GRAPH_MINUTES, isr_cache::isr::HISTORY_SAMPLES);
    }
}
