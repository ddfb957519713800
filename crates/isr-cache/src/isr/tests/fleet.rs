//! Instances sharing a second level: each page rendered once by the fleet,
//! kept over restarts, namespaced by build, purged everywhere, and a level
//! that fails costs nothing but the sharing.

use std::sync::atomic::AtomicBool;

use futures_util::future::BoxFuture;

use super::*;
use crate::isr::level2::{Found, LevelError, LevelResult, MemoryLevel, Record, SecondLevel};

/// An instance of build `build` over `level`, sharing `origin` and `clock`
/// with the rest of the fleet.
fn instance(
    level: Arc<dyn SecondLevel>,
    origin: &Origin,
    clock: &ManualClock,
    build: &str,
) -> Harness {
    let config = IsrConfig::new()
        .canonical_host("example.com")
        .visitors(visitors())
        .second_level(level)
        .build(build);
    harness_on(config, origin.clone(), clock.clone())
}

struct Fleet {
    level: MemoryLevel,
    origin: Origin,
    clock: ManualClock,
}

impl Fleet {
    fn new() -> Self {
        let clock = ManualClock::new();
        Self { level: MemoryLevel::new(Arc::new(clock.clone())), origin: Origin::new(), clock }
    }

    fn instance(&self, build: &str) -> Harness {
        instance(Arc::new(self.level.clone()), &self.origin, &self.clock, build)
    }
}

#[tokio::test]
async fn a_page_one_instance_rendered_is_a_hit_on_another() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    let miss = a.get("/blog/a").await;
    assert_eq!(miss.x_cache(), "MISS");
    a.cache.idle().await; // the write to the second level comes after the response
    fleet.clock.advance(10 * SECOND);
    let hit = b.get("/blog/a").await;
    assert_eq!((hit.x_cache(), hit.cache_status()), ("HIT", "isr; hit; ttl=50; detail=shared"));
    assert_eq!(
        (hit.body.as_str(), &hit.headers[AGE]),
        (miss.body.as_str(), &"10".parse().expect("v"))
    );
    assert_eq!(fleet.origin.renders(), 1);
    let metrics = b.cache.metrics();
    assert_eq!((metrics.level2_hits.get(), metrics.regenerations.get()), (1, 0));
    assert_eq!(b.get("/blog/a").await.cache_status(), "isr; hit; ttl=50", "now in memory");
}

#[tokio::test]
async fn a_restart_serves_the_page_stored_before_it_as_a_hit_with_its_age() {
    let fleet = Fleet::new();
    let before = fleet.instance("1");
    let miss = before.get("/blog/a").await;
    before.cache.idle().await;
    drop(before);
    fleet.clock.advance(42 * SECOND);
    let after = fleet.instance("1");
    let hit = after.get("/blog/a").await;
    assert_eq!((hit.x_cache(), hit.headers[AGE].to_str().expect("ascii")), ("HIT", "42"));
    assert_eq!(hit.body, miss.body);
    assert_eq!(fleet.origin.renders(), 1);
}

#[tokio::test]
async fn a_new_build_never_serves_a_page_an_old_one_rendered() {
    let fleet = Fleet::new();
    let old = fleet.instance("old");
    old.get("/blog/a").await;
    old.cache.idle().await;
    let new = fleet.instance("new");
    let got = new.get("/blog/a").await;
    assert_eq!(got.x_cache(), "MISS");
    assert!(got.body.starts_with("body-2"), "rendered by the new build");
    new.cache.idle().await;
    assert_eq!(fleet.instance("new").get("/blog/a").await.x_cache(), "HIT", "and shared in it");
}

#[tokio::test]
async fn a_hundred_requests_across_two_instances_render_a_cold_key_once() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    // The render is held until the other instance is waiting for it.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *fleet.origin.gate.lock().expect("lock") = Some(gate.clone());
    let requests = (0..100).map(|i| {
        let service = if i % 2 == 0 { a.service.clone() } else { b.service.clone() };
        tokio::spawn(async move {
            let response =
                service.oneshot(Request::get("/blog/a").body(()).expect("request")).await;
            let (parts, body) = response.expect("infallible").into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            (parts.status, body)
        })
    });
    let responses = futures_util::future::join_all(requests);
    let waiting = async {
        while a.cache.metrics().lease_waits.get() + b.cache.metrics().lease_waits.get() == 0 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(1);
    };
    let (responses, ()) = futures_util::future::join(responses, waiting).await;
    assert_eq!(fleet.origin.renders(), 1, "one render in the whole fleet");
    for response in responses {
        let (status, body) = response.expect("joined");
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with(b"body-1"));
    }
    let shared = a.cache.metrics().level2_hits.get() + b.cache.metrics().level2_hits.get();
    assert_eq!(shared, 1, "the instance without the lease got the holder's page");
}

#[tokio::test]
async fn a_hundred_requests_across_two_instances_regenerate_a_stale_key_once() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    a.get("/blog/a").await;
    a.cache.idle().await;
    b.get("/blog/a").await;
    fleet.clock.advance(61 * SECOND);
    let requests = (0..100).map(|i| if i % 2 == 0 { a.get("/blog/a") } else { b.get("/blog/a") });
    let responses = futures_util::future::join_all(requests).await;
    assert!(responses.iter().all(|r| r.x_cache() == "STALE" && r.body.starts_with("body-1")));
    a.cache.idle().await;
    b.cache.idle().await;
    assert_eq!(fleet.origin.renders(), 2, "one regeneration in the whole fleet");
    for instance in [&a, &b] {
        let fresh = instance.get("/blog/a").await;
        assert_eq!(fresh.x_cache(), "HIT");
        assert!(fresh.body.starts_with("body-2"), "both have the new page");
    }
}

#[tokio::test]
async fn a_purge_that_overtakes_a_render_on_another_instance_wins() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *fleet.origin.gate.lock().expect("lock") = Some(gate.clone());
    let rendering = tokio::spawn({
        let service = b.service.clone();
        async move { service.oneshot(Request::get("/blog/a").body(()).expect("request")).await }
    });
    while fleet.origin.entered.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // Mid-render on B (its lease taken, its generation read), A purges.
    a.cache.purge(&Purge::tags(["posts"], PurgeMode::Hard)).await;
    *fleet.origin.gate.lock().expect("lock") = None;
    gate.add_permits(1);
    rendering.await.expect("joined").expect("infallible");
    b.cache.idle().await;
    assert_eq!(b.cache.metrics().level2_writes.get(), 1, "B wrote its page");

    let c = fleet.instance("1");
    let got = c.get("/blog/a").await;
    assert_eq!(got.x_cache(), "MISS", "the page B wrote after the purge is not served");
    assert!(got.body.starts_with("body-2"));
}

#[tokio::test]
async fn purges_reach_the_second_level_soft_and_hard() {
    let fleet = Fleet::new();
    let a = fleet.instance("1");
    a.get("/blog/a").await;
    a.get("/blog/b").await;
    a.cache.idle().await;
    a.cache.purge(&Purge { paths: vec!["/blog/a".into()], ..Purge::default() }).await;
    let c = fleet.instance("1");
    let soft = c.get("/blog/a").await;
    assert_eq!(soft.x_cache(), "STALE", "soft: the old page at once");
    c.cache.idle().await;
    assert_eq!(fleet.origin.renders(), 3, "and a new one rendered");
    assert_eq!(c.get("/blog/b").await.x_cache(), "HIT", "another path is untouched");

    let prefix =
        Purge { prefixes: vec!["/blog/".into()], mode: PurgeMode::Hard, ..Purge::default() };
    a.cache.purge(&prefix).await;
    assert_eq!(a.get("/blog/b").await.x_cache(), "MISS", "hard, in memory");
    let d = fleet.instance("1");
    assert_eq!(d.get("/blog/a").await.x_cache(), "MISS", "hard, in the second level");
}

#[tokio::test]
async fn varied_pages_are_shared_per_variant() {
    let fleet = Fleet::new();
    fleet.origin.set(Behaviour::PageWith(ISR, &[("vary", "accept-language")]));
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    let en = a.get_with("/blog/a", &[("accept-language", "en")]).await;
    let fr = a.get_with("/blog/a", &[("accept-language", "fr")]).await;
    a.cache.idle().await;
    let shared_en = b.get_with("/blog/a", &[("accept-language", "en")]).await;
    let shared_fr = b.get_with("/blog/a", &[("accept-language", "fr")]).await;
    assert_eq!((shared_en.x_cache(), shared_fr.x_cache()), ("HIT", "HIT"));
    assert_eq!((shared_en.body, shared_fr.body), (en.body, fr.body));
    assert_eq!(fleet.origin.renders(), 2);
}

#[tokio::test]
async fn a_lease_holder_that_died_is_waited_for_a_bounded_time_then_replaced() {
    let fleet = Fleet::new();
    let config = IsrConfig::new()
        .canonical_host("example.com")
        .second_level(Arc::new(fleet.level.clone()))
        .build("1")
        .lease(Duration::from_millis(30));
    let a = harness_on(config.clone(), fleet.origin.clone(), fleet.clock.clone());
    // A holder that took the lease and died.
    let taken = fleet.level.lease("1|example.com/blog/a", "dead", Duration::from_millis(30)).await;
    assert_eq!(taken.expect("lease"), Some(0));
    let got = a.get("/blog/a").await;
    assert_eq!((got.status, fleet.origin.renders()), (StatusCode::OK, 1), "rendered after waiting");
    assert_eq!(a.cache.metrics().level2_writes.get(), 0, "without the lease, nothing shared");

    // Once the lease has run out, the next render takes it and shares its page.
    fleet.clock.advance(SECOND);
    let b = harness_on(config, fleet.origin.clone(), fleet.clock.clone());
    b.get("/blog/a").await;
    b.cache.idle().await;
    assert_eq!(b.cache.metrics().level2_writes.get(), 1);
    assert_eq!(fleet.instance("1").get("/blog/a").await.x_cache(), "HIT");
}

#[tokio::test]
async fn corrupt_records_are_skipped_and_overwritten() {
    let fleet = Fleet::new();
    let record = Record {
        bytes: Bytes::from_static(b"ISR1 not a page"),
        path: "/blog/a".into(),
        tags: Vec::new(),
        generation: 0,
        ttl: Duration::from_secs(60),
    };
    fleet.level.put("1|example.com/blog/a", record).await.expect("put");
    let a = fleet.instance("1");
    let got = a.get("/blog/a").await;
    assert_eq!(got.x_cache(), "MISS");
    assert!(got.body.starts_with("body-1"), "rendered, not the corrupt record");
    assert_eq!(a.cache.metrics().level2_skipped.get(), 2, "read before the lease, and after");
    a.cache.idle().await;
    assert_eq!(fleet.instance("1").get("/blog/a").await.x_cache(), "HIT", "overwritten");
}

#[tokio::test]
async fn request_counts_make_the_top_pages() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance("1"), fleet.instance("1"));
    for _ in 0..3 {
        a.get("/blog/a").await;
    }
    b.get("/blog/b?utm_source=x").await;
    for _ in 0..4 {
        b.get("/blog/b").await;
    }
    a.cache.flush_requests().await;
    b.cache.flush_requests().await;
    assert_eq!(a.cache.top_pages(10).await, ["/blog/b", "/blog/a"]);
    b.cache.flush_requests().await;
    assert_eq!(a.cache.top_pages(1).await, ["/blog/b"], "counts are taken once");
}

/// A [`MemoryLevel`] that can be made to fail or to hang.
#[derive(Clone)]
struct Flaky {
    level: MemoryLevel,
    down: Arc<AtomicBool>,
    slow: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> BoxFuture<'static, LevelResult<()>> {
        let (down, slow) = (self.down.load(Ordering::SeqCst), self.slow.load(Ordering::SeqCst));
        Box::pin(async move {
            if slow {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if down { Err(LevelError::msg("connection refused")) } else { Ok(()) }
        })
    }
}

macro_rules! flaky {
    ($self:ident, $call:expr) => {{
        let check = $self.check();
        Box::pin(async move {
            check.await?;
            $call.await
        })
    }};
}

impl SecondLevel for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, LevelResult<Option<Found>>> {
        flaky!(self, self.level.get(key))
    }
    fn put<'a>(&'a self, key: &'a str, record: Record) -> BoxFuture<'a, LevelResult<()>> {
        flaky!(self, self.level.put(key, record))
    }
    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, LevelResult<Option<u64>>> {
        flaky!(self, self.level.lease(key, holder, ttl))
    }
    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, LevelResult<()>> {
        flaky!(self, self.level.release(key, holder))
    }
    fn generation(&self) -> BoxFuture<'_, LevelResult<u64>> {
        flaky!(self, self.level.generation())
    }
    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, LevelResult<u64>> {
        flaky!(self, self.level.purge(purge))
    }
    fn count_requests<'a>(&'a self, counts: &'a [(String, u64)]) -> BoxFuture<'a, LevelResult<()>> {
        flaky!(self, self.level.count_requests(counts))
    }
    fn top_pages(&self, limit: usize) -> BoxFuture<'_, LevelResult<Vec<String>>> {
        flaky!(self, self.level.top_pages(limit))
    }
}

#[tokio::test]
async fn a_second_level_that_fails_or_hangs_costs_only_the_sharing() {
    let fleet = Fleet::new();
    let flaky = Flaky { level: fleet.level.clone(), down: Arc::default(), slow: Arc::default() };
    let config = IsrConfig::new()
        .canonical_host("example.com")
        .second_level(Arc::new(flaky.clone()))
        .build("1")
        .level2_timeout(Duration::from_millis(20))
        .level2_pause(Duration::ZERO);
    let a = harness_on(config, fleet.origin.clone(), fleet.clock.clone());
    a.get("/blog/a").await;
    a.cache.idle().await;

    flaky.down.store(true, Ordering::SeqCst);
    assert_eq!(a.get("/blog/a").await.x_cache(), "HIT", "memory keeps serving");
    let miss = a.get("/blog/b").await;
    assert_eq!((miss.status, miss.x_cache()), (StatusCode::OK, "MISS"), "rendered alone");
    flaky.down.store(false, Ordering::SeqCst);
    flaky.slow.store(true, Ordering::SeqCst);
    a.cache.idle().await;
    let slow = a.get("/blog/c").await;
    a.cache.idle().await;
    assert_eq!(
        (slow.status, slow.x_cache()),
        (StatusCode::OK, "MISS"),
        "a hanging level times out"
    );
    assert!(a.cache.metrics().level2_errors.get() >= 2, "failures are counted");
    assert_eq!(a.cache.metrics().level2_writes.get(), 1, "only /blog/a was shared");

    flaky.slow.store(false, Ordering::SeqCst);
    a.get("/blog/d").await;
    a.cache.idle().await;
    assert_eq!(a.cache.metrics().level2_writes.get(), 2, "back to sharing once it answers");
    assert_eq!(fleet.instance("1").get("/blog/d").await.x_cache(), "HIT");
}
