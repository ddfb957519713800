//! The store: [`IsrCache`], the byte-bounded moka cache of rendered pages
//! and its bookkeeping (`Vary` per key, "hit for pass" markers, the purge
//! epoch, recent purges, metrics and history).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::HeaderName;

use super::clock::{Clock, SystemClock};
use super::entry::Entry;
use super::flights::Flight;
use super::history::{self, Sample};
use super::metrics::Metrics;
use super::tier::Tier;
use super::{IsrConfig, Purge, PurgeMode, PurgeRecord};

/// How long a response that may not be stored sends its key's requests
/// straight through.
const PASS_TTL: Duration = Duration::from_secs(30);

/// The bytes the maps beside the store may hold each: the `Vary` names of
/// keys and the keys marked pass.
const SIDE_MAP_BYTES: u64 = 16 << 20;

/// A side map entry's weight: its bytes, and what moka keeps for any entry.
fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes.saturating_add(64)).unwrap_or(u32::MAX)
}
/// Recent purges kept for display.
const RECENT_PURGES: usize = 20;

/// The cache: cheap to clone, shared by the layer, the purge endpoint and the
/// code that edits content.
#[derive(Clone)]
pub struct IsrCache {
    pub(super) shared: Arc<SharedState>,
}

pub(super) struct SharedState {
    pub(super) config: IsrConfig,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) store: moka::sync::Cache<String, Arc<Entry>>,
    /// Primary key → the request headers its responses vary on.
    pub(super) vary: moka::sync::Cache<String, Arc<[HeaderName]>>,
    /// Keys whose responses may not be stored ("hit for pass").
    pub(super) passes: moka::sync::Cache<String, ()>,
    pub(super) flights: Mutex<HashMap<String, Flight>>,
    /// Bumped by every purge: a render that started before one stores its
    /// result as already stale, since it may hold the purged data.
    pub(super) epoch: AtomicU64,
    pub(super) metrics: Arc<Metrics>,
    pub(super) recent: Mutex<VecDeque<PurgeRecord>>,
    pub(super) history: Mutex<history::History>,
    pub(super) renderer: Option<RenderRuntime>,
    /// Writes to the second level under way (see `IsrCache::write_behind`).
    pub(super) writes: (std::sync::atomic::AtomicUsize, tokio::sync::Notify),
    /// The second level, when configured (or attached later).
    pub(super) tier: std::sync::OnceLock<Tier>,
}

/// The runtime renders run on (see [`IsrConfig::render_threads`]).
pub(super) struct RenderRuntime(pub(super) Option<tokio::runtime::Runtime>);

impl Drop for RenderRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which async code (a test's end) forbids.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Entries live in the store until their last stale window closes (plus a
/// margin), or until the byte bound evicts them.
struct Lifetime;

impl moka::Expiry<String, Arc<Entry>> for Lifetime {
    fn expire_after_create(
        &self,
        _: &String,
        entry: &Arc<Entry>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        let window = entry.ttl.saturating_add(entry.swr.max(entry.sie));
        Some(Duration::from_millis(window).saturating_add(Duration::from_secs(60)))
    }
}

impl std::fmt::Debug for IsrCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IsrCache").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl IsrCache {
    /// A cache with the real clock.
    pub fn new(config: IsrConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock::default()))
    }

    /// A cache reading time from `clock` (tests move a [`ManualClock`](super::clock::ManualClock)).
    pub fn with_clock(config: IsrConfig, clock: Arc<dyn Clock>) -> Self {
        let metrics = Arc::new(Metrics::default());
        let evictions = metrics.evictions.clone();
        let store = moka::sync::Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|key: &String, entry: &Arc<Entry>| {
                entry.weight().saturating_add(u32::try_from(key.len()).unwrap_or(u32::MAX))
            })
            .expire_after(Lifetime)
            .eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    evictions.inc();
                }
            })
            .build();
        let renderer = (config.render_threads > 0).then(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.render_threads)
                .thread_name("isr-render")
                .enable_all()
                .build();
            // Without it renders run on the caller's runtime, as with 0 threads.
            RenderRuntime(runtime.ok())
        });
        let tier = std::sync::OnceLock::new();
        if let Some(level) = &config.second_level {
            let _ = tier.set(Tier::new(level.0.clone()));
        }
        Self {
            shared: Arc::new(SharedState {
                tier,
                writes: Default::default(),
                renderer,
                store,
                // Both keyed by what requests ask for: bounded by the bytes of
                // their keys, not by their number (a key can be 64 KiB long).
                vary: moka::sync::Cache::builder()
                    .max_capacity(SIDE_MAP_BYTES)
                    .weigher(|key: &String, names: &Arc<[HeaderName]>| {
                        weight(
                            key.len() + names.iter().map(|name| name.as_str().len()).sum::<usize>(),
                        )
                    })
                    .build(),
                passes: moka::sync::Cache::builder()
                    .max_capacity(SIDE_MAP_BYTES)
                    .weigher(|key: &String, (): &()| weight(key.len()))
                    .time_to_live(PASS_TTL)
                    .build(),
                flights: Mutex::new(HashMap::new()),
                epoch: AtomicU64::new(0),
                metrics,
                recent: Mutex::new(VecDeque::new()),
                history: Mutex::default(),
                clock,
                config,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &IsrConfig {
        &self.shared.config
    }

    /// The counters, with the entry and byte gauges brought up to date.
    pub fn metrics(&self) -> &Metrics {
        let store = &self.shared.store;
        store.run_pending_tasks();
        let metrics = &self.shared.metrics;
        metrics.entries.set(i64::try_from(store.entry_count()).unwrap_or(i64::MAX));
        metrics.bytes.set(i64::try_from(store.weighted_size()).unwrap_or(i64::MAX));
        metrics
    }

    /// Invalidates what `purge` matches in this instance's memory alone;
    /// returns how many entries it touched. What an instance does with a
    /// purge another made (which purged the second level already); for your
    /// own purges, [`purge`](Self::purge).
    pub fn purge_here(&self, purge: &Purge) -> usize {
        let shared = &self.shared;
        shared.epoch.fetch_add(1, Ordering::AcqRel);
        let mut matched = 0;
        for (key, entry) in &shared.store {
            if purge.matches(&entry) {
                matched += 1;
                match purge.mode {
                    PurgeMode::Soft => entry.forced_stale.store(true, Ordering::Release),
                    PurgeMode::Hard => shared.store.invalidate(key.as_str()),
                }
            }
        }
        // Pass markers may hide a page that is storable now: forget them all.
        shared.passes.invalidate_all();
        shared.metrics.purged.inc_by(matched as u64);
        let record = PurgeRecord { purge: purge.clone(), matched, at: shared.clock.now_millis() };
        let mut recent = shared.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == RECENT_PURGES {
            recent.pop_front();
        }
        recent.push_back(record);
        matched
    }

    /// Resolves when every render in flight (background regenerations
    /// included) has finished, and every write to the second level: for
    /// tests, and for a shutdown that lets them land.
    pub async fn idle(&self) {
        self.idle_renders().await;
        let (pending, done) = &self.shared.writes;
        loop {
            let notified = done.notified();
            if pending.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    async fn idle_renders(&self) {
        loop {
            let flights: Vec<Flight> = self
                .shared
                .flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect();
            if flights.is_empty() {
                return;
            }
            futures_util::future::join_all(flights).await;
        }
    }

    /// The latest purges, oldest first.
    pub fn recent_purges(&self) -> Vec<PurgeRecord> {
        self.shared.recent.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Records what the cache did since the last call (hits, stale serves,
    /// misses) as a [`Sample`] of its history. Call it at a fixed interval.
    pub fn sample_history(&self) {
        let at = self.shared.clock.now_millis();
        let mut history = self.shared.history.lock().unwrap_or_else(PoisonError::into_inner);
        history.sample(&self.shared.metrics, at);
    }

    /// The last [`HISTORY_SAMPLES`](super::HISTORY_SAMPLES) samples, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.shared.history.lock().unwrap_or_else(PoisonError::into_inner).samples()
    }

    /// Runs `task` on the render runtime ([`IsrConfig::render_threads`]),
    /// or on the caller's when there is none: renders, and the writes to the
    /// second level that follow them.
    pub(super) fn spawn<T: Send + 'static>(
        &self,
        task: impl std::future::Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        match self.shared.renderer.as_ref().and_then(|r| r.0.as_ref()) {
            Some(runtime) => runtime.spawn(task),
            None => tokio::spawn(task),
        }
    }

    /// The cache's clock, in milliseconds (what [`PurgeRecord::at`] counts in).
    pub fn now_millis(&self) -> u64 {
        self.shared.clock.now_millis()
    }

    pub(super) fn now(&self) -> u64 {
        self.now_millis()
    }

    /// The query of the key for `path` and the `raw` query a request sent:
    /// normalised ([`key::query`](super::key::query)) or, without
    /// [`IsrConfig::normalise_query`], as it was sent.
    pub(super) fn key_query(&self, path: &str, raw: Option<&str>) -> String {
        if self.shared.config.normalise_query {
            super::key::query(raw, self.declared_query(path))
        } else {
            raw.unwrap_or_default().to_owned()
        }
    }

    /// The query parameters the route of `path` reads; `None`: all of them.
    pub(super) fn declared_query(&self, path: &str) -> Option<&[Box<str>]> {
        self.shared.config.routes.as_deref().map(|routes| routes.declared_query(path))
    }
}
