//! The client tier: every page loads its data through a [`Query`], a
//! leptos-fetch query over the page's GET server function, so the browser
//! keeps the data for a while (TanStack Query's `staleTime` and `gcTime`).
//!
//! - On the server the query runs inside the render and its value is
//!   serialized into the page; hydration puts it in the browser's query cache,
//!   so loading a page makes no data request of its own.
//! - Navigating back to a page within its stale time reuses the data with no
//!   request. After it, the data is shown at once and refetched in the
//!   background: one GET to the data function, which shared caches may answer.
//! - Unused data is dropped after its gc time.
//! - A write returns what it [`Changed`], by cache tag. The server purges
//!   those tags from the shared caches; the browser invalidates the queries
//!   whose data carries one of them ([`invalidate_after`]). A query's tags are
//!   its page's cache policy's tags ([`Query::tagged`]), so the two tiers
//!   cannot disagree about what a tag covers.
//! - Signing in empties the query cache ([`clear_on`]), signing out reloads
//!   the page: the same tab must never show one visitor's private data to
//!   the next.
//!
//! Stale times count from when the data was *loaded*. leptos-fetch stamps
//! hydrated data with the moment it hydrates, so data from a page that a
//! shared cache kept for an hour would count as brand new. Each value carries
//! the time it was loaded ([`Loaded::loaded_at`]; the server's clock for data
//! rendered into the page), and a page whose hydrated data is already older
//! than its stale time refetches it at once, in the background. The clocks of
//! server and browser are assumed to agree within seconds: a browser clock
//! hours ahead only makes hydrated data look stale (one extra request), never
//! fresh.
//!
//! Errors are not reused: a page mounted over a cached error fetches again.

use std::any::TypeId;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use leptos::prelude::*;
use leptos_fetch::{QueryClient, QueryOptions, QueryScope};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::app::cache::ClientCache;

/// A query's value: what the data function returned, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded<T> {
    /// The data function's answer.
    pub result: Result<T, AppError>,
    /// When it was loaded, in milliseconds since the Unix epoch.
    pub loaded_at: i64,
    /// Loaded on the server, inside a page render (and hydrated from there),
    /// rather than fetched by the browser.
    pub rendered: bool,
}

impl<T> Loaded<T> {
    /// Loaded now; in a static export's render, at the export's time (every
    /// page of one export shares it, see [`crate::app::export`]).
    fn now(result: Result<T, AppError>) -> Self {
        #[cfg(feature = "ssr")]
        let loaded_at = crate::app::export::current().map_or_else(now_millis, |e| e.loaded_at);
        #[cfg(not(feature = "ssr"))]
        let loaded_at = now_millis();
        Self { result, loaded_at, rendered: cfg!(feature = "ssr") }
    }

    /// How old the data is by this machine's clock (zero if it seems to come
    /// from the future).
    pub fn age(&self) -> Duration {
        Duration::from_millis(u64::try_from(now_millis() - self.loaded_at).unwrap_or(0))
    }
}

pub use crate::tags::Changed;

/// One kind of page data: a data function, how long the browser keeps its
/// answers, and the cache tags each answer carries.
pub struct Query<K: 'static, T: 'static> {
    id: TypeId,
    scope: QueryScope<K, Loaded<T>>,
    stale: Duration,
    tags: fn(&K) -> Vec<String>,
}

impl<K: 'static, T: 'static> Clone for Query<K, T> {
    fn clone(&self) -> Self {
        Self { id: self.id, scope: self.scope.clone(), stale: self.stale, tags: self.tags }
    }
}

impl<K, T> Query<K, T>
where
    K: Clone + PartialEq + Hash + Send + Sync + 'static,
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The answers of `fetch` (a GET server function, or a closure around
    /// one), kept as `keep` says, untagged until [`tagged`](Self::tagged).
    #[track_caller]
    pub fn new<F, Fut>(fetch: F, keep: ClientCache) -> Self
    where
        F: Fn(K) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let keep = keep.capped(cache_cap());
        let options = QueryOptions::new().with_stale_time(keep.stale).with_gc_time(keep.gc);
        let scope = QueryScope::new(move |key: K| async move { Loaded::now(fetch(key).await) })
            .with_options(options);
        Self { id: TypeId::of::<F>(), scope, stale: keep.stale, tags: |_| Vec::new() }
    }

    /// Tags each answer with `tags(key)`: for public data, the tags of the
    /// cache policy of the page it belongs to (`tags_of(cache::post(slug))`),
    /// so that the purge of a tag on the server and its invalidation in the
    /// browser reach the same data.
    pub fn tagged(mut self, tags: fn(&K) -> Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// A resource for the data at `key` (reactive), served from the browser's
    /// query cache while fresh. Pages render with `SsrMode::Async`, so the
    /// response waits for it and whatever status or cache policy it sets.
    #[track_caller]
    pub fn resource(&self, key: impl Fn() -> K + Send + Sync + 'static) -> Resource<Loaded<T>> {
        let client: QueryClient = expect_context();
        self.register(&client);
        let key = Arc::new(key);
        let resource = client.resource(self.scope.clone(), {
            let key = Arc::clone(&key);
            move || key()
        });
        #[cfg(feature = "hydrate")]
        self.refetch_when_old(client, key);
        resource
    }

    /// Lets [`invalidate_tags`] find this query's cached data (in the
    /// browser; on the server there is no index to register with).
    fn register(&self, client: &QueryClient) {
        let Some(registry) = use_context::<TaggedQueries>() else { return };
        let (scope, tags, client) = (self.scope.clone(), self.tags, *client);
        let invalidate = move |changed: &BTreeSet<String>| {
            client.invalidate_queries_with_predicate(scope.clone(), |key| {
                tags(key).iter().any(|tag| changed.contains(tag))
            });
        };
        registry
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.id, Arc::new(invalidate));
    }

    /// Each time the page shows the data at a key, refetches it in the
    /// background if it is an error, or if it came with the page and is older
    /// than the stale time (see the module's doc).
    #[cfg(feature = "hydrate")]
    fn refetch_when_old(&self, client: QueryClient, key: Arc<dyn Fn() -> K + Send + Sync>) {
        let hydrating =
            Owner::current_shared_context().is_some_and(|context| context.during_hydration());
        let (scope, stale) = (self.scope.clone(), self.stale);
        Effect::new(move |previous: Option<()>| {
            let key = key();
            untrack(|| {
                let Some(cached) = client.get_cached_query(scope.clone(), &key) else { return };
                let first_render = hydrating && previous.is_none();
                let old = match &cached.result {
                    // The error the server just rendered is the page; refetch
                    // errors only when coming back to them.
                    Err(_) => !first_render,
                    Ok(_) => cached.rendered && cached.age() >= stale,
                };
                let fetching = client.subscribe_is_fetching(scope.clone(), {
                    let key = key.clone();
                    move || key.clone()
                });
                if old && !fetching.get_untracked() {
                    client.invalidate_query(scope.clone(), &key);
                }
            });
        });
    }
}

/// Calls the GET data function whose arguments are `arguments`
/// (`GetPost { slug }` for `get_post(slug)`): its body on the server, a
/// request from the browser, as calling the function itself does. Queries
/// load through this rather than the function, so that a static export
/// knows which answers its pages need ([`crate::app::export::record`]).
pub async fn call<F>(arguments: F) -> Result<F::Output, AppError>
where
    F: server_fn::ServerFn<Error = AppError> + Serialize,
{
    #[cfg(feature = "ssr")]
    {
        crate::app::export::record(F::PATH, &arguments);
        arguments.run_body().await
    }
    #[cfg(not(feature = "ssr"))]
    arguments.run_on_client().await
}

/// Every query used so far, by data function, with how to invalidate its
/// cached data by tag.
#[derive(Clone, Default)]
struct TaggedQueries(Arc<Mutex<HashMap<TypeId, Invalidate>>>);

type Invalidate = Arc<dyn Fn(&BTreeSet<String>) + Send + Sync>;

/// Provides the query client to the whole app, and in the browser the tag
/// index writes invalidate through. (A server render never invalidates: its
/// query cache lives for one request, so indexing its queries is wasted work.)
pub fn provide_query_client() {
    QueryClient::new().provide();
    #[cfg(not(feature = "ssr"))]
    provide_context(TaggedQueries::default());
}

/// Invalidates every cached query whose data carries one of `tags`: shown
/// data refetches in the background, the rest on its next use.
pub fn invalidate_tags(tags: &[String]) {
    let Some(registry) = use_context::<TaggedQueries>() else { return };
    let tags: BTreeSet<String> = tags.iter().cloned().collect();
    let queries: Vec<Invalidate> =
        registry.0.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
    for invalidate in queries {
        invalidate(&tags);
    }
}

/// When `action` (a write) succeeds, invalidates what it [`Changed`].
pub fn invalidate_after<A>(action: ServerAction<A>)
where
    A: server_fn::ServerFn<Output = Changed, Error = AppError> + Clone + Send + Sync + 'static,
{
    Effect::new(move || {
        if let Some(Ok(changed)) = action.value().get() {
            invalidate_tags(&changed.tags);
        }
    });
}

/// Empties the query cache when `action` (signing in) starts: whoever signs
/// in must not see, even for a moment, data loaded by whoever was here before.
pub fn clear_on<A>(action: ServerAction<A>)
where
    A: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
{
    let client: QueryClient = expect_context();
    Effect::new(move || {
        if action.pending().get() {
            client.clear();
        }
    });
}

/// A tag list from a cache policy, for [`Query::tagged`].
pub fn tags_of(policy: isr_cache::CachePolicy) -> Vec<String> {
    policy.tag_set().iter().cloned().collect()
}

/// `CLIENT_CACHE_MAX_SECS`: from the configuration on the server, from the
/// page's `<meta name="client-cache-max-secs">` (see [`ClientCacheCap`]) in
/// the browser.
fn cache_cap() -> Option<Duration> {
    #[cfg(feature = "ssr")]
    return use_context::<crate::state::AppState>().and_then(|state| state.config.client_cache_max);
    #[cfg(not(feature = "ssr"))]
    {
        use std::sync::OnceLock;
        static CAP: OnceLock<Option<Duration>> = OnceLock::new();
        *CAP.get_or_init(|| {
            let meta = document().query_selector("meta[name=client-cache-max-secs]").ok()??;
            meta.get_attribute("content")?.parse().ok().map(Duration::from_secs)
        })
    }
}

/// The server's `CLIENT_CACHE_MAX_SECS`, as a `<meta>` the browser reads;
/// nothing when it is unset. For the document's `<head>`.
#[component]
pub fn ClientCacheCap() -> impl IntoView {
    cache_cap().map(
        |cap| view! { <meta name="client-cache-max-secs" content=cap.as_secs().to_string() /> },
    )
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_from_the_stamp_and_never_goes_negative() {
        let old = Loaded { result: Ok(()), loaded_at: now_millis() - 90_000, rendered: true };
        assert!((90..95).contains(&old.age().as_secs()), "{:?}", old.age());
        let ahead = Loaded { result: Ok(()), loaded_at: now_millis() + 60_000, rendered: true };
        assert_eq!(ahead.age(), Duration::ZERO);
    }

    #[test]
    fn tags_come_from_the_page_policy() {
        let policy = isr_cache::CachePolicy::isr(Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(tags_of(policy.clone().tags(["post:hello", "posts"])), ["post:hello", "posts"]);
        assert!(tags_of(policy).is_empty());
    }
}
