//! The cache's counters, exported in the Prometheus text format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Counters and gauges of one cache. Cheap to update from any thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub hits: Counter,
    pub misses: Counter,
    pub stale: Counter,
    pub bypasses: Counter,
    pub regenerations: Counter,
    pub regeneration_errors: Counter,
    pub evictions: Counter,
    pub purged: Counter,
    pub level2_hits: Counter,
    pub level2_misses: Counter,
    pub level2_writes: Counter,
    pub level2_errors: Counter,
    pub level2_skipped: Counter,
    pub level2_writes_dropped: Counter,
    pub leases_taken: Counter,
    pub lease_waits: Counter,
    pub entries: Gauge,
    pub bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("isr_cache");
        let metrics = Self {
            hits: Counter::default(),
            misses: Counter::default(),
            stale: Counter::default(),
            bypasses: Counter::default(),
            regenerations: Counter::default(),
            regeneration_errors: Counter::default(),
            evictions: Counter::default(),
            purged: Counter::default(),
            level2_hits: Counter::default(),
            level2_misses: Counter::default(),
            level2_writes: Counter::default(),
            level2_errors: Counter::default(),
            level2_skipped: Counter::default(),
            level2_writes_dropped: Counter::default(),
            leases_taken: Counter::default(),
            lease_waits: Counter::default(),
            entries: Gauge::default(),
            bytes: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("hits", "Requests answered from a fresh entry", metrics.hits.clone());
        registry.register(
            "misses",
            "Requests that had to render (no usable entry)",
            metrics.misses.clone(),
        );
        registry.register("stale", "Requests answered from a stale entry", metrics.stale.clone());
        registry.register(
            "bypasses",
            "Requests the cache did not handle (method, session, policy)",
            metrics.bypasses.clone(),
        );
        registry.register(
            "regenerations",
            "Renders started to fill or refresh an entry",
            metrics.regenerations.clone(),
        );
        registry.register(
            "regeneration_errors",
            "Renders that failed (5xx, panic, error)",
            metrics.regeneration_errors.clone(),
        );
        registry.register(
            "evictions",
            "Entries evicted to keep within the byte bound",
            metrics.evictions.clone(),
        );
        registry.register(
            "purged",
            "Entries dropped or marked stale by invalidation",
            metrics.purged.clone(),
        );
        registry.register(
            "level2_hits",
            "Requests answered from the second level (a first-level miss that needed no render)",
            metrics.level2_hits.clone(),
        );
        registry.register(
            "level2_misses",
            "First-level misses the second level had no usable entry for",
            metrics.level2_misses.clone(),
        );
        registry.register(
            "level2_writes",
            "Entries written to the second level",
            metrics.level2_writes.clone(),
        );
        registry.register(
            "level2_errors",
            "Second-level calls that failed or timed out",
            metrics.level2_errors.clone(),
        );
        registry.register(
            "level2_skipped",
            "Second-level records skipped as corrupt or foreign",
            metrics.level2_skipped.clone(),
        );
        registry.register(
            "level2_writes_dropped",
            "Writes to the second level not made: too many were under way already",
            metrics.level2_writes_dropped.clone(),
        );
        registry.register(
            "leases_taken",
            "Render leases taken in the second level",
            metrics.leases_taken.clone(),
        );
        registry.register(
            "lease_waits",
            "Times another instance held the lease and this one waited for its page",
            metrics.lease_waits.clone(),
        );
        registry.register("entries", "Entries held", metrics.entries.clone());
        registry.register(
            "bytes",
            "Bytes held (bodies in every encoding, and headers)",
            metrics.bytes.clone(),
        );
        Self { registry, ..metrics }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
