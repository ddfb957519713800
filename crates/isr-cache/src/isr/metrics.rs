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
