//! The browser's query cache: the data of every query the tab has loaded,
//! by key, with TanStack Query's stale-while-revalidate rules (see the
//! parent module's doc).
//!
//! Written here rather than taken from leptos-fetch, which the app used
//! before: leptos-fetch was 33 KB brotli of the wasm every page loads
//! (measured against a build with no cache at all), for what the app uses of
//! it, which is this: a list of answers by key, kept as long as their times
//! say, and the resources on screen to refresh. This file is 5 KB of it;
//! Leptos' own `Resource` does the rest: the fetch, the serialization into
//! the page and the hydration from it. A blog page's first load went from
//! 245 to 218 KB.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use leptos::prelude::*;

use super::{DataKey, Json, Loaded, load, now_millis};
use crate::app::cache::ClientCache;

/// The tab's query cache, provided to the whole app.
#[derive(Clone, Default)]
pub(super) struct Cache(Arc<Mutex<Queries>>);

/// Lists, not maps: a tab holds tens of answers, and each map type would
/// add its code to the wasm every page loads.
#[derive(Default)]
struct Queries {
    answers: Vec<(DataKey, Answer)>,
    /// The resources on screen, by id.
    shown: Vec<(u64, Shown)>,
    next_id: u64,
    /// Keys being fetched: never twice at once.
    fetching: Vec<DataKey>,
}

/// A resource on screen: the key it shows now (none before its first load)
/// and the resource, to give it a fresher answer (none while it is being
/// created: its first load may start before).
#[derive(Default)]
struct Shown {
    key: Option<DataKey>,
    resource: Option<Resource<Loaded<Json>>>,
}

/// A cached answer, and how long to keep it.
struct Answer {
    value: Loaded<Json>,
    keep: ClientCache,
    /// Marked by a write that changed it: no longer fresh.
    invalidated: bool,
    /// When a resource last showed it (ms): the gc time counts from there.
    last_used: i64,
}

impl Answer {
    /// Fresh data is used without asking the server; errors never are.
    fn fresh(&self) -> bool {
        !self.invalidated && self.value.result.is_ok() && self.value.age() < self.keep.stale
    }

    /// No resource has shown it for its gc time (by `now`, in ms).
    fn unused_past_gc(&self, now: i64) -> bool {
        now - self.last_used >= millis(self.keep.gc)
    }
}

/// Whether a resource on screen shows `key`.
fn on_screen(shown: &[(u64, Shown)], key: &DataKey) -> bool {
    shown.iter().any(|(_, shown)| shown.key.as_ref() == Some(key))
}

impl Queries {
    /// The answer for `key`, if it is still kept: unused for its gc time, or
    /// an error, it is dropped.
    fn kept(&mut self, key: &DataKey, now: i64) -> Option<&Answer> {
        let index = self.answers.iter().position(|(cached, _)| cached == key)?;
        let answer = &self.answers[index].1;
        if answer.value.result.is_err()
            || (!on_screen(&self.shown, key) && answer.unused_past_gc(now))
        {
            self.answers.swap_remove(index);
            return None;
        }
        Some(&self.answers[index].1)
    }

    fn shown_mut(&mut self, id: u64) -> Option<&mut Shown> {
        self.shown.iter_mut().find(|(shown, _)| *shown == id).map(|(_, shown)| shown)
    }

    fn store(&mut self, key: DataKey, value: Loaded<Json>, keep: ClientCache) {
        let now = now_millis();
        // Drop what has outlived its gc time, and the answer replaced, so the
        // list does not grow forever.
        let Self { answers, shown, .. } = self;
        answers.retain(|(cached, answer)| {
            *cached != key && (on_screen(shown, cached) || !answer.unused_past_gc(now))
        });
        answers.push((key, Answer { value, keep, invalidated: false, last_used: now }));
    }
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Queries> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A resource over the data at `key`, served from this cache while fresh.
    /// With the page's data when hydrating: kept, and refreshed at once if it
    /// is already older than its stale time (loaded before a shared cache
    /// kept the page).
    pub(super) fn resource(
        &self,
        key: Arc<dyn Fn() -> DataKey + Send + Sync>,
        keep: ClientCache,
    ) -> Resource<Loaded<Json>> {
        let id = {
            let mut queries = self.lock();
            queries.next_id += 1;
            let id = queries.next_id;
            queries.shown.push((id, Shown::default()));
            id
        };
        let resource = Resource::new(
            {
                let key = Arc::clone(&key);
                move || key()
            },
            {
                let cache = self.clone();
                move |key| {
                    let cache = cache.clone();
                    async move { cache.get(id, key, keep).await }
                }
            },
        );
        if let Some(shown) = self.lock().shown_mut(id) {
            shown.resource = Some(resource);
        }
        let cache = self.clone();
        on_cleanup(move || cache.hide(id));

        let hydrating =
            Owner::current_shared_context().is_some_and(|context| context.during_hydration());
        if hydrating {
            let cache = self.clone();
            // Once: it reads nothing it tracks.
            Effect::new(move || {
                let Some(value) = resource.get_untracked() else { return };
                let key = untrack(|| key());
                // The error the server just rendered is the page; it is
                // refetched when a page shows it again.
                let old = value.result.is_ok() && value.age() >= keep.stale;
                {
                    let mut queries = cache.lock();
                    if let Some(shown) = queries.shown_mut(id) {
                        shown.key = Some(key.clone());
                    }
                    queries.store(key.clone(), value, keep);
                }
                if old {
                    cache.refresh(key, keep);
                }
            });
        }
        resource
    }

    /// What the resource `id` shows for `key`: the cached answer if it is
    /// fresh; if it is stale, the same at once, and the fresh one when the
    /// background refetch brings it ([`Cache::refresh`]); else a fetch.
    async fn get(&self, id: u64, key: DataKey, keep: ClientCache) -> Loaded<Json> {
        let cached = {
            let mut queries = self.lock();
            let cached = queries
                .kept(&key, now_millis())
                .map(|answer| (answer.value.clone(), answer.fresh()));
            if let Some(shown) = queries.shown_mut(id) {
                shown.key = Some(key.clone());
            }
            cached
        };
        match cached {
            Some((value, true)) => value,
            Some((value, false)) => {
                self.refresh(key, keep);
                value
            }
            None => {
                self.claim(&key);
                self.fetch(key, keep).await
            }
        }
    }

    /// Notes that `key` is being fetched; false if it already was.
    fn claim(&self, key: &DataKey) -> bool {
        let mut queries = self.lock();
        if queries.fetching.contains(key) {
            return false;
        }
        queries.fetching.push(key.clone());
        true
    }

    /// Loads `key` (claimed) and keeps the answer.
    async fn fetch(&self, key: DataKey, keep: ClientCache) -> Loaded<Json> {
        let value = load(key.clone()).await;
        let mut queries = self.lock();
        queries.fetching.retain(|fetching| *fetching != key);
        queries.store(key, value.clone(), keep);
        value
    }

    /// Fetches `key` in the background, unless a fetch of it is on its way,
    /// and gives the answer to the resources showing it.
    fn refresh(&self, key: DataKey, keep: ClientCache) {
        if !self.claim(&key) {
            return;
        }
        let cache = self.clone();
        leptos::task::spawn_local(async move {
            let value = cache.fetch(key.clone(), keep).await;
            let showing: Vec<Resource<Loaded<Json>>> = cache
                .lock()
                .shown
                .iter()
                .filter(|(_, shown)| shown.key.as_ref() == Some(&key))
                .filter_map(|(_, shown)| shown.resource)
                .collect();
            // Outside the lock: setting a resource runs the effects that
            // read it.
            for resource in showing {
                resource.set(Some(value.clone()));
            }
        });
    }

    /// The resource `id` left the page: its data's gc time starts.
    fn hide(&self, id: u64) {
        let mut queries = self.lock();
        let Some(index) = queries.shown.iter().position(|(shown, _)| *shown == id) else { return };
        let (_, Shown { key, .. }) = queries.shown.swap_remove(index);
        if let Some((_, answer)) =
            queries.answers.iter_mut().find(|(cached, _)| Some(cached) == key.as_ref())
        {
            answer.last_used = now_millis();
        }
    }

    /// Marks the answers tagged with any of `tags` stale, and refetches those
    /// on screen; the others refetch when a page shows them again.
    pub(super) fn invalidate(&self, tags: &[String]) {
        let tagged = |key: &DataKey| key.tags.iter().any(|tag| tags.contains(tag));
        let refetch: Vec<(DataKey, ClientCache)> = {
            let mut queries = self.lock();
            let Queries { answers, shown, .. } = &mut *queries;
            let mut refetch = vec![];
            for (key, answer) in answers.iter_mut().filter(|(key, _)| tagged(key)) {
                answer.invalidated = true;
                if on_screen(shown, key) {
                    refetch.push((key.clone(), answer.keep));
                }
            }
            refetch
        };
        for (key, keep) in refetch {
            self.refresh(key, keep);
        }
    }

    /// Forgets every answer.
    pub(super) fn clear(&self) {
        self.lock().answers.clear();
    }
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
