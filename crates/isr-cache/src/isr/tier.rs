//! The cache's side of the second level (see [`level2`](super::level2)):
//! every call bounded by a timeout, a level that fails left alone for a
//! moment, records checked before use, leases, request counts.
//!
//! A second level that is down or slow costs the site nothing but the
//! sharing: each call gives up after [`IsrConfig::level2_timeout`], a
//! failure is logged (at most once a minute) and every one is counted, and
//! for [`IsrConfig::level2_pause`] after a failure the cache does not call it
//! at all, serving from memory and rendering on its own.
//!
//! [`IsrConfig::level2_timeout`]: super::IsrConfig::level2_timeout
//! [`IsrConfig::level2_pause`]: super::IsrConfig::level2_pause

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::HeaderMap;

use super::entry::{Entry, Freshness};
use super::level2::{LevelResult, PURGE_MEMORY, Record, SecondLevel};
use super::wire::{self, Decoded};
use super::{IsrCache, Purge, PurgeMode, key};

/// The bound on a write to the second level (see [`IsrCache::save`]).
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The most writes behind responses at once. Each holds its page (up to the
/// entry cap, in every encoding) until the level has it; a level slower than
/// the renders would otherwise hold every page rendered meanwhile. Past it a
/// write is skipped: the page stays in memory, its lease expires on its own,
/// and `isr_cache_level2_writes_dropped_total` counts it.
pub(super) const MAX_WRITES_BEHIND: usize = 128;

/// The second level as the cache holds it.
pub(super) struct Tier {
    pub(super) level: Arc<dyn SecondLevel>,
    /// This instance, as the holder of the leases it takes.
    holder: String,
    /// Whether the last call failed.
    down: AtomicBool,
    /// When a failure was last logged: a level that flaps (timeouts under
    /// load) is logged once a minute, with the failures counted meanwhile.
    warned_at: Mutex<Option<Instant>>,
    /// Until when the level is left alone after a failure.
    paused_until: Mutex<Option<Instant>>,
}

impl Tier {
    pub(super) fn new(level: Arc<dyn SecondLevel>) -> Self {
        let holder = format!("{:016x}", rand_u64());
        Self {
            level,
            holder,
            down: AtomicBool::new(false),
            warned_at: Mutex::new(None),
            paused_until: Mutex::new(None),
        }
    }
}

impl Tier {
    /// Whether the level is left alone after a failure, for a moment still.
    fn paused(&self) -> bool {
        let paused = self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        paused.is_some_and(|until| Instant::now() < until)
    }
}

/// Whether `entry`, from the second level, is what a fill waits for: a
/// render newer than the one memory holds (stored at `have`), still fresh.
pub(super) fn fresher(entry: &Entry, have: Option<u64>, now: u64) -> bool {
    have.is_none_or(|stored_at| entry.stored_at > stored_at)
        && entry.freshness(now) == Freshness::Fresh
}

/// A random id for this instance: the std hasher's per-process random keys,
/// so no RNG crate is needed for one number.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

/// What a lease attempt found.
pub(super) enum Lease {
    /// Ours, at this purge generation.
    Taken(u64),
    /// Another instance renders the key.
    Held,
    /// The second level did not answer: render alone, write nothing to it.
    Unavailable,
}

impl IsrCache {
    fn tier(&self) -> Option<&Tier> {
        self.shared.tier.get()
    }

    /// Gives the cache a second level after it was built (one that could
    /// not be reached at start-up, say). Returns `false`, and changes
    /// nothing, when it has one already.
    pub fn attach_second_level(&self, level: Arc<dyn SecondLevel>) -> bool {
        self.shared.tier.set(Tier::new(level)).is_ok()
    }

    /// The kind of the second level ("redis", "sqlite", …), if any.
    pub fn second_level_kind(&self) -> Option<&'static str> {
        self.tier().map(|tier| tier.level.kind())
    }

    /// Whether a second level is configured.
    pub fn has_second_level(&self) -> bool {
        self.tier().is_some()
    }

    /// Runs `write` (a write to the second level, and the lease's release)
    /// in the background: after the response, but before [`idle`](Self::idle)
    /// resolves.
    pub(super) fn write_behind(&self, write: impl Future<Output = ()> + Send + 'static) {
        let (pending, _) = &self.shared.writes;
        if pending.fetch_add(1, Ordering::AcqRel) >= MAX_WRITES_BEHIND {
            pending.fetch_sub(1, Ordering::AcqRel);
            self.shared.metrics.level2_writes_dropped.inc();
            return;
        }
        let cache = self.clone();
        let task = async move {
            write.await;
            let (pending, done) = &cache.shared.writes;
            pending.fetch_sub(1, Ordering::AcqRel);
            done.notify_waiters();
        };
        drop(self.spawn(task));
    }

    /// Whether the second level may be called (it is not paused after a failure).
    fn level_available(&self) -> bool {
        self.tier().is_some_and(|tier| !tier.paused())
    }

    /// Runs one call on the second level, bounded by the configured timeout;
    /// `None` when there is none, it is paused after a failure, or this call
    /// failed.
    async fn level_call<'a, T, F>(
        &'a self,
        call: impl FnOnce(&'a dyn SecondLevel) -> F,
    ) -> Option<T>
    where
        F: Future<Output = LevelResult<T>>,
    {
        self.level_call_within(self.shared.config.level2_timeout, call).await
    }

    /// [`level_call`](Self::level_call), bounded by `timeout`.
    async fn level_call_within<'a, T, F>(
        &'a self,
        timeout: Duration,
        call: impl FnOnce(&'a dyn SecondLevel) -> F,
    ) -> Option<T>
    where
        F: Future<Output = LevelResult<T>>,
    {
        let tier = self.tier().filter(|tier| !tier.paused())?;
        let config = &self.shared.config;
        let error = match tokio::time::timeout(timeout, call(&*tier.level)).await {
            Ok(Ok(value)) => {
                tier.down.store(false, Ordering::Release);
                return Some(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {timeout:?}"),
        };
        self.shared.metrics.level2_errors.inc();
        let newly_down = !tier.down.swap(true, Ordering::AcqRel);
        let mut warned_at = tier.warned_at.lock().unwrap_or_else(PoisonError::into_inner);
        let quiet = warned_at.is_some_and(|at| at.elapsed() < Duration::from_secs(60));
        if newly_down && !quiet {
            *warned_at = Some(Instant::now());
            tracing::warn!(
                level = tier.level.kind(),
                %error,
                errors = self.shared.metrics.level2_errors.get(),
                "second cache level unavailable: serving from memory and rendering alone until it \
                 answers (logged at most once a minute; isr_cache_level2_errors counts them all)"
            );
        }
        drop(warned_at);
        let until = Instant::now() + config.level2_pause;
        *tier.paused_until.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
        None
    }

    /// The record key of a cache key: in the build's namespace, so a new
    /// build never reads a page an old one rendered.
    fn record_key(&self, key: &str) -> String {
        format!("{}|{key}", self.shared.config.build)
    }

    /// The entry the second level holds for `primary` (following its `Vary`
    /// pointer with `headers`), with the purges since its render applied: a
    /// hard one hides it, a soft one makes it stale. A record that does not
    /// decode is skipped (the next write overwrites it).
    pub(super) async fn load(&self, primary: &str, headers: &HeaderMap) -> Option<Arc<Entry>> {
        let mut key = primary.to_owned();
        for _ in 0..2 {
            let record_key = self.record_key(&key);
            let found = self.level_call(|level| level.get(&record_key)).await??;
            let purged = found.purged();
            match wire::decode(&record_key, &found.bytes) {
                Ok(Decoded::Vary(names)) if key == primary => {
                    key = key::full(primary, &names, headers)
                }
                Ok(Decoded::Vary(_)) => return None,
                Ok(Decoded::Entry(entry)) => {
                    match purged {
                        Some(PurgeMode::Hard) => return None,
                        Some(PurgeMode::Soft) => entry.forced_stale.store(true, Ordering::Release),
                        None => {}
                    }
                    return Some(Arc::from(entry));
                }
                Err(refused) => {
                    tracing::debug!(?refused, "second cache level record skipped");
                    self.shared.metrics.level2_skipped.inc();
                    return None;
                }
            }
        }
        None
    }

    /// Writes `entry` (stored in memory at `key`, under `primary`) to the
    /// second level, with the purge `generation` its render began at, and
    /// gives back the lease of `lease` with the write.
    ///
    /// Off the response path ([`write_behind`](Self::write_behind)), so
    /// bounded by [`WRITE_TIMEOUT`] rather than the configured timeout: a
    /// write that waits for another process's is not a level that is down.
    ///
    /// Not-found pages are not written: any URL can be one, so they are
    /// what a crawler or an attacker floods a cache with, and each costs a
    /// cheap render; memory (bounded) keeps them.
    pub(super) async fn save(
        &self,
        primary: &str,
        key: &str,
        entry: &Entry,
        generation: u64,
        lease: &str,
    ) {
        if entry.status == http::StatusCode::NOT_FOUND {
            self.release(lease).await;
            return;
        }
        let ttl = entry.lifetime().min(PURGE_MEMORY);
        let tags: Vec<String> = entry.tags.iter().cloned().collect();
        let record =
            |bytes| Record { bytes, path: entry.path.clone(), tags: tags.clone(), generation, ttl };
        if !entry.vary.is_empty() {
            let pointer_key = self.record_key(primary);
            let pointer = record(wire::vary(&pointer_key, &entry.vary));
            self.level_call_within(WRITE_TIMEOUT, |level| level.put(&pointer_key, pointer)).await;
        }
        let record_key = self.record_key(key);
        let bytes = wire::entry(&record_key, entry);
        let (lease_key, holder) = (self.record_key(lease), self.holder());
        let written = self
            .level_call_within(WRITE_TIMEOUT, |level| {
                level.put_releasing(&record_key, record(bytes), &lease_key, holder)
            })
            .await;
        if written.is_some() {
            self.shared.metrics.level2_writes.inc();
        }
    }

    /// Tries to take the render lease of `key`.
    pub(super) async fn lease(&self, key: &str) -> Lease {
        let Some(tier) = self.tier() else { return Lease::Unavailable };
        let record_key = self.record_key(key);
        let ttl = self.shared.config.lease;
        match self.level_call(|level| level.lease(&record_key, &tier.holder, ttl)).await {
            Some(Some(generation)) => {
                self.shared.metrics.leases_taken.inc();
                Lease::Taken(generation)
            }
            Some(None) => Lease::Held,
            None => Lease::Unavailable,
        }
    }

    /// This instance, as the holder of the leases it takes ("" without a
    /// second level).
    fn holder(&self) -> &str {
        self.tier().map_or("", |tier| tier.holder.as_str())
    }

    /// Gives the lease of `key` back.
    pub(super) async fn release(&self, key: &str) {
        let Some(tier) = self.tier() else { return };
        let record_key = self.record_key(key);
        self.level_call(|level| level.release(&record_key, &tier.holder)).await;
    }

    /// Invalidates what `purge` matches on every level: first in the second
    /// level, then in this instance's memory (so a page this instance loads
    /// from the second level meanwhile is already purged there). Returns how
    /// many entries it touched in memory. Other instances' memory is the
    /// application's to reach ([`purge_here`](Self::purge_here) there; the
    /// starter publishes purges to them).
    pub async fn purge(&self, purge: &Purge) -> usize {
        self.level_call(|level| level.purge(purge)).await;
        self.purge_here(purge)
    }

    /// Sends the request counts gathered since the last call to the second
    /// level, for [`top_pages`](Self::top_pages). Call it at an interval.
    pub async fn flush_requests(&self) {
        if self.tier().is_none() {
            return;
        }
        let mut counts: HashMap<String, u64> = HashMap::new();
        for (_, entry) in &self.shared.store {
            let count = entry.requests.swap(0, Ordering::AcqRel);
            if count > 0 {
                *counts.entry(entry.target.clone()).or_default() += count;
            }
        }
        if counts.is_empty() {
            return;
        }
        let counts: Vec<(String, u64)> = counts.into_iter().collect();
        self.level_call(|level| level.count_requests(&counts)).await;
    }

    /// The pages requested most, as the second level remembers them (every
    /// build's, and every instance's): what a new build renders before it
    /// says it is ready. Empty without a second level.
    pub async fn top_pages(&self, limit: usize) -> Vec<String> {
        self.level_call(|level| level.top_pages(limit)).await.unwrap_or_default()
    }

    /// Waits for the lease holder's entry for `primary`: a record newer than
    /// `have` that is fresh, for at most the lease's length. `None` when
    /// none came (the holder died or is slow).
    pub(super) async fn await_holder(
        &self,
        primary: &str,
        headers: &HeaderMap,
        have: Option<u64>,
    ) -> Option<Arc<Entry>> {
        self.shared.metrics.lease_waits.inc();
        let deadline = tokio::time::Instant::now() + self.shared.config.lease;
        let mut pause = Duration::from_millis(2);
        // A level that fails meanwhile will not bring the page either.
        while tokio::time::Instant::now() < deadline && self.level_available() {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
            let loaded = self.load(primary, headers).await;
            if let Some(entry) = loaded.filter(|entry| fresher(entry, have, self.now())) {
                return Some(entry);
            }
        }
        None
    }
}
