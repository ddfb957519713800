//! Purging: how a write tells every cache that data changed.
//!
//! One [`Purger`] per process holds the built-in ISR cache and where else a
//! purge must go: the CDN in front and the other instances of the app. Both
//! are [`PurgeSink`]s that `server` plugs in (`server::cdn`,
//! `server::fanout`), so features purge through `state.purger` without
//! knowing what is deployed around them.

use std::future::Future;
use std::sync::Arc;

use isr_cache::{IsrCache, Purge, PurgeMode};
use tokio::sync::Semaphore;

use crate::tags::{Changed, Tag};

/// Somewhere a purge must reach besides the built-in cache.
pub trait PurgeSink: Send + Sync + 'static {
    /// Sends `purge` on, in the background: it has been applied here already.
    fn purge(&self, purge: &Purge);
}

/// The most purges a sink sends at once (see [`Sending`]).
pub const MAX_SENDING: usize = 64;

/// A sink's purges under way, at most [`MAX_SENDING`]. Each is bounded in
/// time (a CDN request's timeout, a database query's), but purges can arrive
/// faster than a slow or unreachable CDN answers: past the bound a purge is
/// not sent, and a warning says so, rather than holding a task and its
/// requests for every purge meanwhile. Cheap to clone; clones share the bound.
#[derive(Clone)]
pub struct Sending {
    permits: Arc<Semaphore>,
    /// Where the purges go, for the warning.
    to: &'static str,
}

impl Sending {
    pub fn new(to: &'static str) -> Self {
        Self { permits: Arc::new(Semaphore::new(MAX_SENDING)), to }
    }

    /// Runs `send` in the background, if fewer than [`MAX_SENDING`] are.
    pub fn spawn(&self, send: impl Future<Output = ()> + Send + 'static) {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    send.await;
                    drop(permit);
                });
            }
            Err(_) => tracing::warn!(
                to = self.to,
                "a purge was not sent: {MAX_SENDING} are under way already"
            ),
        }
    }
}

/// The one path every purge takes: the app's writes ([`Purger::changed`]),
/// `POST /api/revalidate` and the dashboard's cache panel ([`Purger::purge`]),
/// and purges heard from other instances ([`Purger::purge_here`]). Cheap to
/// clone.
#[derive(Clone)]
pub struct Purger {
    isr: IsrCache,
    /// The CDN in front: told by every instance (see `server::cdn`).
    cdn: Option<Arc<dyn PurgeSink>>,
    /// The other instances (see `server::fanout`).
    others: Option<Arc<dyn PurgeSink>>,
}

impl Purger {
    /// Purges `isr` alone, until [`cdn`](Self::cdn) and
    /// [`others`](Self::others) add more.
    pub fn new(isr: IsrCache) -> Self {
        Self { isr, cdn: None, others: None }
    }

    /// Also purges the CDN in front.
    #[must_use]
    pub fn cdn(mut self, cdn: impl PurgeSink) -> Self {
        self.cdn = Some(Arc::new(cdn));
        self
    }

    /// Also tells the other instances.
    #[must_use]
    pub fn others(mut self, others: impl PurgeSink) -> Self {
        self.others = Some(Arc::new(others));
        self
    }

    /// The built-in cache, for its statistics.
    pub fn isr(&self) -> &IsrCache {
        &self.isr
    }

    /// What a write changed: purges `tags` everywhere (hard, so the next
    /// visitor waits for a fresh render rather than seeing the old page once
    /// more) and returns them, with `browser_only` ones and
    /// [`ANY_WRITE`](crate::tags::ANY_WRITE), for the browser to invalidate
    /// its own copies (`app::query::invalidate_after`).
    pub async fn changed(
        &self,
        source: &str,
        tags: impl IntoIterator<Item = Tag>,
        browser_only: &[&'static str],
    ) -> Changed {
        let tags: Vec<String> = tags.into_iter().map(String::from).collect();
        self.purge(&Purge::tags(tags.clone(), PurgeMode::Hard), source).await;
        let browser_only = browser_only.iter().chain([&crate::tags::ANY_WRITE]);
        Changed { tags: tags.into_iter().chain(browser_only.map(|&t| t.into())).collect() }
    }

    /// Invalidates what `purge` names in the cache's second level (shared
    /// by every instance, and kept over restarts), here, in the CDN and on
    /// every other instance, and logs who asked (`source`). Returns how many
    /// pages it matched here.
    ///
    /// The second level is purged first and awaited: an instance that hears
    /// of the purge and loads the page from there must find it purged.
    pub async fn purge(&self, purge: &Purge, source: &str) -> usize {
        let matched = self.isr.purge(purge).await;
        self.told(purge, source, matched);
        if let Some(others) = &self.others {
            others.purge(purge);
        }
        matched
    }

    /// Invalidates what `purge` names in this instance's memory and in the
    /// CDN in front of it, and logs it: what an instance does with a purge it
    /// hears of from another (which purged the second level already).
    pub fn purge_here(&self, purge: &Purge, source: &str) -> usize {
        let matched = self.isr.purge_here(purge);
        self.told(purge, source, matched);
        matched
    }

    /// Sends `purge` on to the CDN and logs it.
    fn told(&self, purge: &Purge, source: &str, matched: usize) {
        if let Some(cdn) = &self.cdn {
            cdn.purge(purge);
        }
        tracing::info!(
            source,
            mode = ?purge.mode,
            paths = ?purge.paths,
            prefixes = ?purge.prefixes,
            tags = ?purge.tags,
            matched,
            "cache purged"
        );
    }
}
