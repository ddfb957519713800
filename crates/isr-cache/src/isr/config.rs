//! [`IsrConfig`]: what the cache is given at start-up.

use std::sync::Arc;

use crate::{RouteTable, Visitors};

/// Settings of the cache.
#[derive(Debug, Clone)]
pub struct IsrConfig {
    /// Off: the layer passes everything through untouched.
    pub enabled: bool,
    /// Bound on the bytes held (bodies in every encoding, and headers).
    pub max_bytes: u64,
    /// Largest body stored; larger responses pass through.
    pub max_entry_bytes: usize,
    /// The host every key uses, e.g. `example.com`.
    pub canonical_host: String,
    /// Who is asking: personal requests bypass the cache, previews render
    /// afresh and are never stored (the same [`Visitors`] the
    /// [`CachePolicyLayer`](crate::CachePolicyLayer) is given).
    pub visitors: Visitors,
    /// The site's routes: each key, and each render for the cache, keeps only
    /// the query parameters its route declares ([`RouteTable::query`]).
    /// Without a table every parameter but tracking ones counts.
    pub routes: Option<Arc<RouteTable>>,
    /// Threads of a runtime of their own that renders run on, so a render
    /// never holds up a worker that serves hits; 0 renders on the caller's
    /// runtime.
    pub render_threads: usize,
}

impl Default for IsrConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 64 << 20,
            max_entry_bytes: 1 << 20,
            canonical_host: "localhost".to_owned(),
            visitors: Visitors::anonymous(),
            routes: None,
            render_threads: 0,
        }
    }
}
