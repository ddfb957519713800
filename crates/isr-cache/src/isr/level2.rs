//! The second level: a store under the in-memory one that outlives the
//! process and that every instance of a fleet shares.
//!
//! The in-memory store stays the first level: hits never leave the process.
//! A first-level miss reads the second level before it renders; every entry
//! the cache stores is written to it. Before rendering, an instance takes the
//! key's *lease*, so a fleet renders each page once per stale window; the
//! others serve stale, or wait for the entry the lease holder writes.
//!
//! # Purges: generations, not deletions
//!
//! A purge does not look for the records it matches. The store keeps a
//! counter, the *purge generation*; a purge increments it and remembers, per
//! path, prefix and tag it names (and per mode), the generation it made.
//! Every record carries the generation read when its render began (from
//! [`SecondLevel::lease`] or [`SecondLevel::generation`]). A record is purged
//! when a purge matching its path, a prefix of its path, or one of its tags
//! has a greater generation than the record's own: [`Found::soft`] and
//! [`Found::hard`] report the greatest such generations, and the cache
//! compares. So a purge costs a few writes however many records it matches,
//! and a purge that overtakes a render on another instance still wins: the
//! render read its generation before the purge, so whenever its record is
//! written, the purge's generation is greater.
//!
//! Records and markers are kept for at most [`PURGE_MEMORY`]: a record never
//! outlives the markers that could purge it.
//!
//! # Implementations
//!
//! [`MemoryLevel`] (one process: tests, and caches that share a process);
//! with the `redis` feature, `RedisLevel` (a fleet); with the `sqlite`
//! feature, `SqliteLevel` (a file on disk: restarts and deploys on one host).
//! The cache bounds every call with a timeout and stops calling a level that
//! fails for a moment (see [`IsrConfig::second_level`](super::IsrConfig)),
//! so an implementation need not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::Purge;
use super::clock::{Clock, SystemClock};
use super::purge::PurgeMode;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "redis")]
pub use self::redis::RedisLevel;
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteLevel;

/// How long a second level remembers purges, and so the longest it keeps a
/// record (the cache caps each record's lifetime at this).
pub const PURGE_MEMORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a second level's call failed with.
#[derive(Debug)]
pub struct LevelError(pub Box<dyn std::error::Error + Send + Sync>);

impl LevelError {
    /// An error with `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self(message.into().into())
    }
}

impl std::fmt::Display for LevelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LevelError {}

/// A second level's result.
pub type LevelResult<T> = Result<T, LevelError>;

/// A record as the cache writes it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Opaque to the store: the cache's own encoding of an entry.
    pub bytes: Bytes,
    /// The page's path, for path and prefix purges.
    pub path: String,
    /// The page's cache tags, for tag purges.
    pub tags: Vec<String>,
    /// The purge generation read when the render began.
    pub generation: u64,
    /// How long to keep it (never more than [`PURGE_MEMORY`]): until its
    /// last stale window closes. The store may drop it sooner (eviction).
    pub ttl: Duration,
}

/// A record as the store gives it back, with the purges that match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub bytes: Bytes,
    /// The record's own generation ([`Record::generation`]).
    pub generation: u64,
    /// The greatest generation of a soft purge matching the record's path, a
    /// prefix of its path, or one of its tags; 0 when none.
    pub soft: u64,
    /// The same for hard purges.
    pub hard: u64,
}

impl Found {
    /// How the purges that came after the record's render treat it, if any
    /// did: hard wins over soft.
    pub fn purged(&self) -> Option<PurgeMode> {
        if self.hard > self.generation {
            Some(PurgeMode::Hard)
        } else if self.soft > self.generation {
            Some(PurgeMode::Soft)
        } else {
            None
        }
    }
}

/// A store under the in-memory one, shared by every instance that uses the
/// same one. Keys are the cache's keys (with the build's namespace); the
/// store may prefix them with its own.
///
/// Object safe (`Arc<dyn SecondLevel>`): each method returns a boxed future.
pub trait SecondLevel: Send + Sync + 'static {
    /// A word for logs and the dashboard: `"redis"`, `"sqlite"`, `"memory"`.
    fn kind(&self) -> &'static str;

    /// The record at `key`, with the purges that match it; `None` when there
    /// is none (or it expired).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, LevelResult<Option<Found>>>;

    /// Writes `record` at `key`, replacing what was there.
    fn put<'a>(&'a self, key: &'a str, record: Record) -> BoxFuture<'a, LevelResult<()>>;

    /// Takes the render lease of `key` for `ttl`, unless another holder has
    /// it (and its `ttl` has not run out). `Some(generation)` when taken,
    /// with the current purge generation; `None` when someone else holds it.
    /// A holder that takes a lease it already holds gets it again.
    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, LevelResult<Option<u64>>>;

    /// Gives the lease of `key` back, if `holder` still holds it.
    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, LevelResult<()>>;

    /// [`put`](Self::put) `record` at `key`, then [`release`](Self::release)
    /// `holder`'s lease of `lease`: what a render that took a lease does when
    /// it is done, on every miss. One call, so that an implementation can make
    /// it one transaction or round trip; by default the two calls.
    fn put_releasing<'a>(
        &'a self,
        key: &'a str,
        record: Record,
        lease: &'a str,
        holder: &'a str,
    ) -> BoxFuture<'a, LevelResult<()>> {
        Box::pin(async move {
            self.put(key, record).await?;
            self.release(lease, holder).await
        })
    }

    /// The current purge generation.
    fn generation(&self) -> BoxFuture<'_, LevelResult<u64>>;

    /// Records `purge`: increments the purge generation and remembers the
    /// new one for each path, prefix and tag it names, under its mode, for
    /// [`PURGE_MEMORY`]. Atomic: two purges at once get two generations, and
    /// each item keeps the greater. Returns the new generation.
    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, LevelResult<u64>>;

    /// Adds request counts per page (path and query, as requested).
    fn count_requests<'a>(&'a self, counts: &'a [(String, u64)]) -> BoxFuture<'a, LevelResult<()>>;

    /// The `limit` pages requested most, most first.
    fn top_pages(&self, limit: usize) -> BoxFuture<'_, LevelResult<Vec<String>>>;
}

/// Which purges match a record: the greatest soft and hard generations of
/// the markers for its path, its path's prefixes and its tags. Shared by the
/// implementations that keep markers in a map.
#[derive(Debug, Default, Clone)]
pub struct Markers {
    paths: HashMap<String, (u64, u64)>,
    prefixes: HashMap<String, (u64, u64)>,
    tags: HashMap<String, (u64, u64)>,
}

impl Markers {
    /// Remembers `purge` under `generation`.
    pub fn record(&mut self, purge: &Purge, generation: u64) {
        let lists = [
            (&mut self.paths, &purge.paths),
            (&mut self.prefixes, &purge.prefixes),
            (&mut self.tags, &purge.tags),
        ];
        for (markers, items) in lists {
            for item in items {
                let (soft, hard) = markers.entry(item.clone()).or_default();
                let slot = match purge.mode {
                    PurgeMode::Soft => soft,
                    PurgeMode::Hard => hard,
                };
                *slot = (*slot).max(generation);
            }
        }
    }

    /// The greatest (soft, hard) generations matching `path` and `tags`.
    pub fn matching(&self, path: &str, tags: &[String]) -> (u64, u64) {
        let path_marker = self.paths.get(path).into_iter();
        let prefix_markers = self
            .prefixes
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, marker)| marker);
        let tag_markers = tags.iter().filter_map(|tag| self.tags.get(tag));
        path_marker
            .chain(prefix_markers)
            .chain(tag_markers)
            .fold((0, 0), |(soft, hard), (s, h)| (soft.max(*s), hard.max(*h)))
    }
}

/// A second level in this process's memory: what two caches in one process
/// share (tests of a fleet), and the reference the other implementations
/// are tested against. Expiry follows `clock`; markers are never forgotten.
#[derive(Clone)]
pub struct MemoryLevel {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Default)]
struct MemoryState {
    records: HashMap<String, (Record, u64)>,
    leases: HashMap<String, (String, u64)>,
    generation: u64,
    markers: Markers,
    requests: HashMap<String, u64>,
}

impl std::fmt::Debug for MemoryLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLevel").finish_non_exhaustive()
    }
}

impl Default for MemoryLevel {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock::default()))
    }
}

impl MemoryLevel {
    /// An empty level whose records and leases expire by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock, state: Arc::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl SecondLevel for MemoryLevel {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, LevelResult<Option<Found>>> {
        let now = self.clock.now_millis();
        let state = self.state();
        let found = state.records.get(key).filter(|(_, until)| *until > now).map(|(record, _)| {
            let (soft, hard) = state.markers.matching(&record.path, &record.tags);
            Found { bytes: record.bytes.clone(), generation: record.generation, soft, hard }
        });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn put<'a>(&'a self, key: &'a str, record: Record) -> BoxFuture<'a, LevelResult<()>> {
        let until = self.clock.now_millis().saturating_add(millis(record.ttl.min(PURGE_MEMORY)));
        self.state().records.insert(key.to_owned(), (record, until));
        Box::pin(std::future::ready(Ok(())))
    }

    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, LevelResult<Option<u64>>> {
        let now = self.clock.now_millis();
        let mut state = self.state();
        let free =
            state.leases.get(key).is_none_or(|(current, until)| *until <= now || current == holder);
        let taken = free.then(|| {
            state
                .leases
                .insert(key.to_owned(), (holder.to_owned(), now.saturating_add(millis(ttl))));
            state.generation
        });
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, LevelResult<()>> {
        let mut state = self.state();
        if state.leases.get(key).is_some_and(|(current, _)| current == holder) {
            state.leases.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn generation(&self) -> BoxFuture<'_, LevelResult<u64>> {
        Box::pin(std::future::ready(Ok(self.state().generation)))
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, LevelResult<u64>> {
        let mut state = self.state();
        state.generation += 1;
        let generation = state.generation;
        state.markers.record(purge, generation);
        Box::pin(std::future::ready(Ok(generation)))
    }

    fn count_requests<'a>(&'a self, counts: &'a [(String, u64)]) -> BoxFuture<'a, LevelResult<()>> {
        let mut state = self.state();
        for (page, count) in counts {
            *state.requests.entry(page.clone()).or_default() += count;
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn top_pages(&self, limit: usize) -> BoxFuture<'_, LevelResult<Vec<String>>> {
        let state = self.state();
        let mut pages: Vec<(&String, &u64)> = state.requests.iter().collect();
        // Most requested first; ties by page, so the order is stable.
        pages.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let top = pages.into_iter().take(limit).map(|(page, _)| page.clone()).collect();
        Box::pin(std::future::ready(Ok(top)))
    }
}

/// What every [`SecondLevel`] must do, as one test each implementation runs:
/// [`check`](conformance::check) panics, saying what, where a level falls
/// short. Public so that a level of your own can be held to it too.
pub mod conformance {
    use std::time::Duration;

    use bytes::Bytes;

    use super::{Found, Record, SecondLevel};
    use crate::{Purge, PurgeMode};

    fn record(ns: &str, page: &str, tags: &[&str], generation: u64) -> Record {
        Record {
            bytes: Bytes::from(format!("body of {page}")),
            path: format!("/{ns}/{page}"),
            tags: tags.iter().map(|tag| format!("{ns}-{tag}")).collect(),
            generation,
            ttl: Duration::from_secs(60),
        }
    }

    async fn get(level: &dyn SecondLevel, key: &str) -> Option<Found> {
        level.get(key).await.expect("get")
    }

    /// Runs every check on `level`. `ns`: a prefix unique to the run, for
    /// keys, paths, tags and pages, so runs can share a store. Expiry is each
    /// implementation's own test.
    #[expect(clippy::missing_panics_doc, reason = "a test: it panics where the level fails")]
    pub async fn check(level: &dyn SecondLevel, ns: &str) {
        let key = |name: &str| format!("{ns}|{name}");

        // Records: written, read back whole, replaced; none where none was written.
        assert_eq!(get(level, &key("none")).await, None);
        let start = level.generation().await.expect("generation");
        level.put(&key("a"), record(ns, "a", &["posts"], start)).await.expect("put");
        let found = get(level, &key("a")).await.expect("stored");
        assert_eq!((found.bytes.as_ref(), found.generation), (&b"body of a"[..], start));
        assert_eq!(found.purged(), None, "no purge since: {found:?}");
        let mut replaced = record(ns, "a", &["posts"], start);
        replaced.bytes = Bytes::from_static(b"new body");
        level.put(&key("a"), replaced).await.expect("put again");
        assert_eq!(get(level, &key("a")).await.expect("stored").bytes.as_ref(), b"new body");

        // Leases: one holder at a time; the holder may take it again; released, free.
        let taken = level.lease(&key("a"), "one", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(taken, Some(start), "taken, with the current generation");
        let other = level.lease(&key("a"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(other, None, "held by one");
        let again = level.lease(&key("a"), "one", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(again, Some(start), "one takes its own lease again");
        level.release(&key("a"), "two").await.expect("release");
        let still = level.lease(&key("a"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(still, None, "only the holder releases");
        level.release(&key("a"), "one").await.expect("release");
        let freed = level.lease(&key("a"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(freed, Some(start));
        level.release(&key("a"), "two").await.expect("release");

        // A render's write gives its lease back with it, and only its own.
        let taken = level.lease(&key("w"), "one", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(taken, Some(start));
        let written = record(ns, "w", &[], start);
        level.put_releasing(&key("w"), written.clone(), &key("w"), "two").await.expect("put");
        let other = level.lease(&key("w"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(other, None, "another holder's write leaves one's lease alone");
        level.put_releasing(&key("w"), written, &key("w"), "one").await.expect("put");
        assert!(get(level, &key("w")).await.is_some(), "written");
        let freed = level.lease(&key("w"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(freed, Some(start), "and the lease is free");
        level.release(&key("w"), "two").await.expect("release");

        // Purges: a generation each; each matches by tag, path or prefix,
        // soft or hard; a record rendered after a purge is not purged by it.
        level.put(&key("b"), record(ns, "b", &["products"], start)).await.expect("put");
        level.put(&key("c"), record(ns, "c", &[], start)).await.expect("put");
        let soft = level
            .purge(&Purge::tags([format!("{ns}-posts")], PurgeMode::Soft))
            .await
            .expect("purge");
        assert!(soft > start, "a purge makes a new generation");
        assert_eq!(level.generation().await.expect("generation"), soft);
        let a = get(level, &key("a")).await.expect("kept");
        assert_eq!((a.soft, a.hard, a.purged()), (soft, 0, Some(PurgeMode::Soft)));
        assert_eq!(get(level, &key("b")).await.expect("kept").purged(), None, "other tag");

        let by_path =
            Purge { paths: vec![format!("/{ns}/b")], mode: PurgeMode::Hard, ..Purge::default() };
        let hard = level.purge(&by_path).await.expect("purge");
        assert!(hard > soft);
        let b = get(level, &key("b")).await.expect("kept");
        assert_eq!((b.hard, b.purged()), (hard, Some(PurgeMode::Hard)));
        assert_eq!(get(level, &key("c")).await.expect("kept").purged(), None, "other path");

        let by_prefix =
            Purge { prefixes: vec![format!("/{ns}/")], mode: PurgeMode::Soft, ..Purge::default() };
        let prefix = level.purge(&by_prefix).await.expect("purge");
        let c = get(level, &key("c")).await.expect("kept");
        assert_eq!((c.soft, c.purged()), (prefix, Some(PurgeMode::Soft)));
        let b = get(level, &key("b")).await.expect("kept");
        assert_eq!(
            (b.soft, b.hard, b.purged()),
            (prefix, hard, Some(PurgeMode::Hard)),
            "hard wins"
        );

        // A render that took its lease before a purge and wrote after it:
        // the purge wins. One that began after it: fresh.
        let before = level.lease(&key("d"), "one", Duration::from_secs(30)).await.expect("lease");
        let before = before.expect("free");
        let tag = Purge::tags([format!("{ns}-race")], PurgeMode::Hard);
        let raced = level.purge(&tag).await.expect("purge");
        level.put(&key("d"), record(ns, "d", &["race"], before)).await.expect("put");
        assert_eq!(get(level, &key("d")).await.expect("kept").purged(), Some(PurgeMode::Hard));
        level.release(&key("d"), "one").await.expect("release");
        let after = level.lease(&key("d"), "two", Duration::from_secs(30)).await.expect("lease");
        assert_eq!(after, Some(raced));
        level.put(&key("d"), record(ns, "d", &["race"], raced)).await.expect("put");
        assert_eq!(get(level, &key("d")).await.expect("kept").purged(), None);

        // Request counts add up; the top pages come most requested first.
        let page = |name: &str| format!("/{ns}/{name}");
        level.count_requests(&[(page("x"), 3), (page("y"), 5)]).await.expect("count");
        level.count_requests(&[(page("x"), 4), (page("z"), 1)]).await.expect("count");
        let top = level.top_pages(1000).await.expect("top");
        let ours: Vec<&String> = top.iter().filter(|p| p.starts_with(&page(""))).collect();
        assert_eq!(ours, [&page("x"), &page("y"), &page("z")]);
        assert!(level.top_pages(2).await.expect("top").len() <= 2, "at most the limit");
    }
}

/// What the shared levels' tests have in common: two of them purging at
/// once, and the latency of `get` (an ignored measurement).
#[cfg(all(test, any(feature = "redis", feature = "sqlite")))]
pub(crate) mod checks {
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use futures_util::future::join_all;

    use super::{Record, SecondLevel};
    use crate::{Purge, PurgeMode};

    /// Sixteen purges of one tag at once, half on each of two levels on the
    /// same store (`ns`: as in [`conformance::check`](super::conformance)):
    /// sixteen generations, and the tag's markers keep the greatest of each
    /// mode.
    pub(crate) async fn concurrent_purges(one: &dyn SecondLevel, two: &dyn SecondLevel, ns: &str) {
        let start = one.generation().await.expect("generation");
        let record = Record {
            bytes: Bytes::from_static(b"x"),
            path: format!("/{ns}/raced"),
            tags: vec![format!("{ns}-raced")],
            generation: start,
            ttl: Duration::from_secs(60),
        };
        one.put(&format!("{ns}|raced"), record).await.expect("put");
        let purges: Vec<(usize, Purge)> = (0..16)
            .map(|n| {
                let mode = if n % 3 == 0 { PurgeMode::Hard } else { PurgeMode::Soft };
                (n, Purge::tags([format!("{ns}-raced")], mode))
            })
            .collect();
        let made = join_all(purges.iter().map(|(n, purge)| async move {
            let level = if n % 2 == 0 { one } else { two };
            (purge.mode, level.purge(purge).await.expect("purge"))
        }))
        .await;
        let mut generations: Vec<u64> = made.iter().map(|(_, generation)| *generation).collect();
        generations.sort_unstable();
        assert_eq!(generations, (start + 1..=start + 16).collect::<Vec<_>>(), "one each");
        let greatest =
            |mode| made.iter().filter(|(m, _)| *m == mode).map(|(_, g)| *g).max().expect("some");
        let found = two.get(&format!("{ns}|raced")).await.expect("get").expect("kept");
        assert_eq!(
            (found.soft, found.hard),
            (greatest(PurgeMode::Soft), greatest(PurgeMode::Hard))
        );
    }

    /// p50 and p99 of 2000 `get`s of a 20 KB record with three tags, under
    /// a few markers.
    pub(crate) async fn get_latency(level: &dyn SecondLevel) -> (Duration, Duration) {
        let record = Record {
            bytes: Bytes::from(vec![b'x'; 20 * 1024]),
            path: "/blog/a-post-of-twenty-kilobytes".into(),
            tags: vec!["posts".into(), "post-1".into(), "authors".into()],
            generation: level.generation().await.expect("generation"),
            ttl: Duration::from_secs(600),
        };
        level.put("latency", record).await.expect("put");
        level.purge(&Purge::tags(["posts"], PurgeMode::Soft)).await.expect("purge");
        let prefix = Purge { prefixes: vec!["/blog/".into()], ..Purge::default() };
        level.purge(&prefix).await.expect("purge");
        let mut took = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let started = Instant::now();
            let found = level.get("latency").await.expect("get");
            took.push(started.elapsed());
            assert!(found.is_some_and(|found| found.bytes.len() == 20 * 1024));
        }
        took.sort();
        (took[took.len() / 2], took[took.len() * 99 / 100])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::isr::clock::ManualClock;

    #[tokio::test]
    async fn memory_level_conforms() {
        let level = MemoryLevel::new(Arc::new(ManualClock::new()));
        conformance::check(&level, "memory").await;
    }

    #[tokio::test]
    async fn memory_records_and_leases_expire() {
        let clock = ManualClock::new();
        let level = MemoryLevel::new(Arc::new(clock.clone()));
        let record = Record {
            bytes: Bytes::from_static(b"x"),
            path: "/x".into(),
            tags: Vec::new(),
            generation: 0,
            ttl: Duration::from_secs(10),
        };
        level.put("k", record).await.expect("put");
        assert_eq!(level.lease("k", "one", Duration::from_secs(5)).await.expect("lease"), Some(0));
        clock.advance(Duration::from_secs(5));
        assert_eq!(
            level.lease("k", "two", Duration::from_secs(5)).await.expect("lease"),
            Some(0),
            "a holder that died is replaced when its lease runs out"
        );
        assert!(level.get("k").await.expect("get").is_some());
        clock.advance(Duration::from_secs(5));
        assert_eq!(level.get("k").await.expect("get"), None, "expired");
    }
}
