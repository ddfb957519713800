//! The client tier: every page loads its data through a [`Query`] over the
//! page's GET server function, kept in the tab's query cache for a while
//! (TanStack Query's `staleTime` and `gcTime`; `browser.rs`).
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
//! Stale times count from when the data was *loaded*, not from when it
//! reached the tab: each value carries the time it was loaded
//! ([`Loaded::loaded_at`]; the server's clock for data rendered into the
//! page), so a page that a shared cache kept for an hour hydrates with data
//! an hour old, which it refetches at once, in the background. The clocks of
//! server and browser are assumed to agree within seconds: a browser clock
//! hours ahead only makes hydrated data look stale (one extra request), never
//! fresh.
//!
//! Errors are not reused: a page mounted over a cached error fetches again.

#[cfg(feature = "hydrate")]
mod browser;

use std::future::IntoFuture;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

/// What every query keeps: a data function's answer as the JSON it sends,
/// decoded by the page that shows it ([`Data`]).
///
/// Why not the typed answer: a cache generic over its value type is
/// compiled into the wasm once per type. Over one key type ([`DataKey`]) and
/// one value type, it is compiled once, and the data functions' own client
/// code (a typed request and response for each) not at all: queries fetch
/// through one function ([`get`]). (leptos-fetch, which the app used before,
/// compiled its cache, resource and hydration code once per query type.)
type Json = Arc<RawValue>;

/// What a query's key asks its data function for.
pub enum Call<A> {
    /// Call it with these arguments: a GET whose query string is their
    /// `serde_qs` encoding, as the function's own client sends it.
    Get(A),
    /// Answer `None` (JSON `null`) without a request: a key that cannot
    /// name anything, such as a product id that is not a number.
    Null,
    /// Answer this error without a request: a key that is bad input.
    Fail(AppError),
}

/// One kind of page data: a data function, how long the browser keeps its
/// answers, and the cache tags each answer carries.
pub struct Query<K: 'static, T: 'static> {
    path: &'static str,
    args: Arc<dyn Fn(K) -> Args + Send + Sync>,
    #[cfg(feature = "ssr")]
    run: Run,
    keep: ClientCache,
    tags: fn(&K) -> Vec<String>,
    value: std::marker::PhantomData<fn() -> T>,
}

impl<K: 'static, T: 'static> Clone for Query<K, T> {
    fn clone(&self) -> Self {
        Self {
            path: self.path,
            args: Arc::clone(&self.args),
            #[cfg(feature = "ssr")]
            run: self.run,
            keep: self.keep,
            tags: self.tags,
            value: self.value,
        }
    }
}

impl<K, T> Query<K, T>
where
    K: Send + Sync + 'static,
    T: DeserializeOwned + 'static,
{
    /// The answers of the GET data function whose arguments `call` makes of
    /// a key (`|slug| Call::Get(GetPost { slug })` for `get_post(slug)`),
    /// kept as `keep` says, untagged until [`tagged`](Self::tagged).
    pub fn new<A>(call: impl Fn(K) -> Call<A> + Send + Sync + 'static, keep: ClientCache) -> Self
    where
        A: server_fn::ServerFn<Error = AppError, Output = T>
            + Serialize
            + DeserializeOwned
            + 'static,
        T: Serialize,
    {
        let args = move |key: K| match call(key) {
            Call::Get(arguments) => match serde_qs::to_string(&arguments) {
                Ok(query) => Args::Get(query.into()),
                Err(error) => Args::Fail(AppError::Transport(error.to_string())),
            },
            Call::Null => Args::Null,
            Call::Fail(error) => Args::Fail(error),
        };
        Self {
            path: A::PATH,
            args: Arc::new(args),
            #[cfg(feature = "ssr")]
            run: run::<A>,
            keep,
            tags: |_| Vec::new(),
            value: std::marker::PhantomData,
        }
    }

    /// Tags each answer with `tags(key)`: for public data, the tags of the
    /// cache policy of the page it belongs to (`tags_of(cache::post(slug))`),
    /// so that the purge of a tag on the server and its invalidation in the
    /// browser reach the same data.
    pub fn tagged(mut self, tags: fn(&K) -> Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// The data at `key` (reactive), served from the browser's query cache
    /// while fresh: await it for the decoded [`Loaded`]. Pages render with
    /// `SsrMode::Async`, so the response waits for it and whatever status
    /// or cache policy it sets.
    #[track_caller]
    pub fn resource(&self, key: impl Fn() -> K + Send + Sync + 'static) -> Data<T> {
        let query = self.clone();
        let key = move || {
            let key = key();
            DataKey {
                path: query.path,
                tags: (query.tags)(&key).into(),
                args: (query.args)(key),
                #[cfg(feature = "ssr")]
                run: query.run,
            }
        };
        Data { resource: resource(Arc::new(key), self.keep), value: std::marker::PhantomData }
    }
}

/// The data a page shows: await it for the data function's answer,
/// decoded.
pub struct Data<T> {
    resource: Resource<Loaded<Json>>,
    value: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for Data<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Data<T> {}

impl<T: DeserializeOwned + 'static> IntoFuture for Data<T> {
    type Output = Loaded<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Loaded<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let resource = self.resource;
        Box::pin(async move {
            let Loaded { result, loaded_at, rendered } = resource.await;
            let result = result.and_then(|json| {
                serde_json::from_str(json.get())
                    .map_err(|error| AppError::Transport(error.to_string()))
            });
            Loaded { result, loaded_at, rendered }
        })
    }
}

/// A query's key: the data function and its encoded arguments (the URL the
/// browser fetches), with the tags of the answer. Equal and hashed by the
/// URL alone.
#[derive(Clone)]
struct DataKey {
    path: &'static str,
    args: Args,
    /// What invalidates the answer, in the browser's cache (a server render
    /// keeps nothing to invalidate).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    tags: Arc<[String]>,
    /// The data function's body, for the server's render.
    #[cfg(feature = "ssr")]
    run: Run,
}

#[derive(Clone, PartialEq, Eq)]
enum Args {
    Get(Arc<str>),
    Null,
    Fail(AppError),
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.args == other.args
    }
}

impl Eq for DataKey {}

impl Hash for DataKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.path.hash(state);
        match &self.args {
            Args::Get(query) => query.hash(state),
            Args::Null => state.write_u8(0),
            Args::Fail(error) => error.to_string().hash(state),
        }
    }
}

/// What every query runs: the data function, unless its key answers itself.
async fn load(key: DataKey) -> Loaded<Json> {
    let result = match key.args {
        #[cfg(feature = "ssr")]
        Args::Get(query) => (key.run)(key.path, query).await,
        #[cfg(not(feature = "ssr"))]
        Args::Get(query) => get(key.path, &query).await,
        Args::Null => Ok(RawValue::NULL.to_owned().into()),
        Args::Fail(error) => Err(error),
    };
    Loaded::now(result)
}

/// A data function's body, run in the server's render on the arguments its
/// client would send (decoded as its server decodes them), its answer
/// encoded as its server encodes it.
#[cfg(feature = "ssr")]
type Run =
    fn(&'static str, Arc<str>) -> Pin<Box<dyn Future<Output = Result<Json, AppError>> + Send>>;

#[cfg(feature = "ssr")]
fn run<A>(
    path: &'static str,
    query: Arc<str>,
) -> Pin<Box<dyn Future<Output = Result<Json, AppError>> + Send>>
where
    A: server_fn::ServerFn<Error = AppError> + Serialize + DeserializeOwned,
    A::Output: Serialize,
{
    Box::pin(async move {
        let arguments: A = serde_qs::Config::new(5, false)
            .deserialize_str(&query)
            .map_err(|error| AppError::BadRequest(error.to_string()))?;
        // The export learns which answers its pages need.
        crate::app::export::record(path, &arguments);
        let output = arguments.run_body().await?;
        serde_json::value::to_raw_value(&output).map(Json::from).map_err(AppError::internal)
    })
}

/// `GET path?query` from the browser, as a GET data function's own client
/// sends it (server_fn's `GetUrl` and `Json` codecs): an error status is the
/// function's error, encoded as its server encodes it ([`AppError::from_json`]).
///
/// Straight through the browser's `fetch`, not server_fn's browser client:
/// that client's request builder, streaming bodies and abort handling were
/// 3 KB brotli of every page's wasm, for one plain GET. (A fetch whose query
/// is dropped runs to its end, unread.)
#[cfg(not(feature = "ssr"))]
async fn get(path: &'static str, query: &str) -> Result<Json, AppError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    // The browser's futures are not `Send`; a resource's must be (one thread here).
    let text = send_wrapper::SendWrapper::new(async move {
        // A network error (the browser's `TypeError`) says no more than this.
        let failed = |_| AppError::Transport("no answer from the server".to_owned());
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        let headers = web_sys::Headers::new().map_err(failed)?;
        headers.set("Accept", "application/json").map_err(failed)?;
        init.set_headers(&headers);
        let url = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let response =
            JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(&url, &init))
                .await
                .map_err(failed)?
                .unchecked_into::<web_sys::Response>();
        let text = JsFuture::from(response.text().map_err(failed)?).await.map_err(failed)?;
        let text = text.as_string().unwrap_or_default();
        if (400..=599).contains(&response.status()) {
            return Err(AppError::from_json(&text));
        }
        Ok(text)
    })
    .await?;
    RawValue::from_string(text)
        .map(Json::from)
        .map_err(|error| AppError::Transport(error.to_string()))
}

/// A resource over the data at `key`: in the browser, through its query
/// cache ([`browser::Cache`]); on the server, loaded by the render. Not
/// generic: compiled once for every query.
#[track_caller]
fn resource(
    key: Arc<dyn Fn() -> DataKey + Send + Sync>,
    keep: ClientCache,
) -> Resource<Loaded<Json>> {
    #[cfg(feature = "hydrate")]
    return use_context::<browser::Cache>()
        .unwrap_or_default()
        .resource(key, keep.capped(cache_cap()));
    // A server render keeps nothing past itself: no times to apply.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = keep;
        server_resource(key)
    }
}

#[cfg(not(feature = "hydrate"))]
use leptos::reactive::computed::ScopedFuture;

/// A resource that loads its data in the server's render (or, in a crate
/// built for neither half, nowhere).
#[cfg(not(feature = "hydrate"))]
fn server_resource(key: Arc<dyn Fn() -> DataKey + Send + Sync>) -> Resource<Loaded<Json>> {
    // On the server, the render's answers: Leptos renders an async page's
    // views again once their data is in, and the resources created again
    // must find it rather than load it twice (or, nested in another
    // resource's view, after the request has ended).
    let answers = use_context::<RenderAnswers>();
    Resource::new(
        move || key(),
        move |key| {
            let answers = answers.clone();
            let owner = answers.as_ref().and_then(|answers| answers.owner.upgrade());
            let load = async move {
                let cached = answers.as_ref().and_then(|answers| answers.get(&key));
                if let Some(value) = cached {
                    return value;
                }
                let value = load(key.clone()).await;
                if let Some(answers) = answers {
                    answers.put(key, value.clone());
                }
                value
            };
            // Under the app's owner: a resource nested in another's view may
            // be created by a render pass whose owner is gone before it loads,
            // and the data function reads the request from context.
            match owner {
                Some(owner) => owner.with(|| ScopedFuture::new_untracked(load)),
                None => ScopedFuture::new_untracked(load),
            }
        },
    )
}

/// The answers a server render has loaded, by key.
#[cfg(not(feature = "hydrate"))]
#[derive(Clone)]
struct RenderAnswers {
    answers: Arc<std::sync::Mutex<std::collections::HashMap<DataKey, Loaded<Json>>>>,
    /// The app's owner, under which every load runs. Weak: these answers
    /// live in that owner's own context, and a strong reference there would
    /// be a cycle that keeps the render's whole reactive tree (every signal,
    /// resource and context of the page, about 13 KB a render) alive after
    /// the response, for ever.
    owner: WeakOwner,
}

#[cfg(not(feature = "hydrate"))]
impl RenderAnswers {
    fn get(&self, key: &DataKey) -> Option<Loaded<Json>> {
        self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    fn put(&self, key: DataKey, value: Loaded<Json>) {
        self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, value);
    }
}

/// Keeps the query tier in the main wasm module. Every page's data goes
/// through [`resource`], but only the areas' lazily loaded views call it
/// (`app::lazy`), so wasm-split would put it (the query cache, the fetch,
/// the JSON decoding) in a chunk of its own that every area loads: one
/// request more, and, compressed apart, more bytes (7 KB when the cache was
/// leptos-fetch). A reference from the entry point keeps it in the main
/// module.
#[cfg(all(feature = "hydrate", feature = "split"))]
pub fn keep_in_main_module() {
    std::hint::black_box(resource as fn(_, _) -> _);
}

/// Provides the query cache to the whole app: the tab's in the browser, the
/// render's answers on the server.
pub fn provide_query_client() {
    #[cfg(feature = "hydrate")]
    provide_context(browser::Cache::default());
    #[cfg(not(feature = "hydrate"))]
    provide_context(RenderAnswers {
        answers: Arc::default(),
        owner: Owner::current().unwrap_or_default().downgrade(),
    });
}

/// Invalidates every cached query whose data carries one of `tags`: shown
/// data refetches in the background, the rest on its next use.
pub fn invalidate_tags(tags: &[String]) {
    #[cfg(feature = "hydrate")]
    if let Some(cache) = use_context::<browser::Cache>() {
        cache.invalidate(tags);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tags;
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
    #[cfg(feature = "hydrate")]
    if let Some(cache) = use_context::<browser::Cache>() {
        Effect::new(move || {
            if action.pending().get() {
                cache.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = action;
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

/// The wall clock, in milliseconds since the Unix epoch.
fn now_millis() -> i64 {
    #[cfg(feature = "ssr")]
    return chrono::Utc::now().timestamp_millis();
    // The browser's `Date.now()`: chrono's clock is that, wrapped in 1 KB of wasm.
    #[cfg(not(feature = "ssr"))]
    return js_sys::Date::now() as i64;
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
