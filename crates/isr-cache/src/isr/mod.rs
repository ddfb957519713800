//! The built-in ISR cache: a tower layer in front of every GET and HEAD route
//! that serves stored pages instantly, serves them stale while it regenerates
//! them in the background, keeps the last good page when regeneration fails,
//! and forgets them the moment they are purged.
//!
//! # Who it serves
//!
//! [`IsrConfig::visitors`] classifies each request. Personal ones (a real
//! session) go straight to the service and are never stored; previews are
//! rendered afresh, answered `private, no-store`, and replace nothing.
//! Everyone else is anonymous and served from the cache, whatever else the
//! request carries: `Cache-Control: no-cache`, `Pragma`, a `Range` (a `206`
//! sliced from the stored body), or an `Authorization` (answered from entries
//! that are `public` or have `s-maxage`, RFC 9111 section 3.5). Nothing a
//! client sends can make every request a render.
//!
//! # What it stores
//!
//! A response to an anonymous `GET`, with status 200, 301, 308, 404 or 410,
//! whose headers make it shared (`public`, or `s-maxage`/`max-age` with none
//! of `private`, `no-store`, `no-cache`) with a TTL above zero, without
//! `Set-Cookie`, without `Vary: *`, and whose body is under the entry cap.
//! `HEAD` is answered from the `GET` entry. A response that may not be stored
//! is remembered for 30 s ("hit for pass", as Varnish says), so the next
//! requests go straight through; the request that found out is sent through
//! too, as it came, so it is answered as it asked (its cookies, its
//! compression).
//!
//! Renders are anonymous: the request a render sends has no `Cookie`, no
//! `Authorization`, no `X-Forwarded-*`, no conditional or range headers, only
//! the query parameters its route declares, and its `Host` is the canonical
//! host, so nothing one visitor sent can end up in a page stored for all.
//!
//! # Keys
//!
//! The configured canonical host (never `Host` or `X-Forwarded-Host` as a
//! client sent them), the path, the query parameters the route declares
//! ([`IsrConfig::routes`]) sorted and without tracking parameters, and the
//! values of the request headers the stored response `Vary`s on. Each entry
//! holds the identity body, and gzip and brotli copies made the first time a
//! client asks for them, each with its own strong `ETag`; a request gets the
//! best one its `Accept-Encoding` allows, or `304` when its `If-None-Match`
//! matches.
//!
//! # Time
//!
//! Fresh for `s-maxage` (else `max-age`), with a correct `Age`. Then, within
//! `stale-while-revalidate`, the stale page is served at once and regenerated
//! in the background, once per key however many requests arrive; misses on
//! one key are coalesced into one render too. Past that, within
//! `stale-if-error`, the page is regenerated before answering, but served stale
//! if regeneration fails (5xx, panic, error); failed regenerations back off
//! (1 s doubling to 60 s), the last good page is served at once meanwhile,
//! and an error never replaces a stored page.
//!
//! # Status
//!
//! Every response the layer handles says what happened, in RFC 9211
//! `Cache-Status` (`isr; hit; ttl=N`, `isr; fwd=uri-miss; stored`,
//! `isr; fwd=stale; ttl=-N`, `isr; fwd=bypass`, `isr; fwd=bypass; detail=preview`;
//! never the key) and in
//! `X-Cache: HIT | MISS | STALE | BYPASS`.
//!
//! Regeneration runs on tokio (`tokio::spawn`), so a render outlives a client
//! that hung up, and a panicking render becomes a failure, not a lost worker.

pub mod clock;
mod entry;
mod history;
mod key;
mod metrics;
mod warm;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, COOKIE, FORWARDED, HOST, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use tokio::sync::oneshot;
use tower_layer::Layer;
use tower_service::Service;

use self::clock::{Clock, SystemClock};
use self::entry::{Encoding, Entry, Freshness};
pub use self::history::{HISTORY_SAMPLES, Sample};
pub use self::metrics::Metrics;
pub use self::warm::{WarmUp, warm_up};
use crate::body::{BufferedBody, Collected, collect};
use crate::{CachePolicy, RouteTable, Visitor, Visitors};

/// `Cache-Status` (RFC 9211).
pub const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Cache`: the one-word summary people look for in `curl -I`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// How long a response that may not be stored sends its key's requests
/// straight through.
const PASS_TTL: Duration = Duration::from_secs(30);
/// Recent purges kept for display.
const RECENT_PURGES: usize = 20;

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

/// How a purge treats what it matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PurgeMode {
    /// Mark stale: the next request gets the old page at once and a fresh one
    /// is rendered in the background (if the page allows serving stale).
    #[default]
    Soft,
    /// Drop: the next request renders afresh.
    Hard,
}

/// What to invalidate. Paths match whatever the query; prefixes match the
/// start of the path; tags match the entry's `Surrogate-Key` tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    pub paths: Vec<String>,
    pub prefixes: Vec<String>,
    pub tags: Vec<String>,
    pub mode: PurgeMode,
}

impl Purge {
    /// A purge of `tags`.
    pub fn tags<I: IntoIterator<Item = T>, T: Into<String>>(tags: I, mode: PurgeMode) -> Self {
        Self { tags: tags.into_iter().map(Into::into).collect(), mode, ..Self::default() }
    }

    fn matches(&self, entry: &Entry) -> bool {
        self.paths.contains(&entry.path)
            || self.prefixes.iter().any(|prefix| entry.path.starts_with(prefix.as_str()))
            || self.tags.iter().any(|tag| entry.tags.contains(tag))
    }
}

/// A purge that happened, for the dashboard.
#[derive(Debug, Clone)]
pub struct PurgeRecord {
    pub purge: Purge,
    pub matched: usize,
    /// Clock milliseconds.
    pub at: u64,
}

/// The cache: cheap to clone, shared by the layer, the purge endpoint and the
/// code that edits content.
#[derive(Clone)]
pub struct IsrCache {
    shared: Arc<SharedState>,
}

struct SharedState {
    config: IsrConfig,
    clock: Arc<dyn Clock>,
    store: moka::sync::Cache<String, Arc<Entry>>,
    /// Primary key → the request headers its responses vary on.
    vary: moka::sync::Cache<String, Arc<[HeaderName]>>,
    /// Keys whose responses may not be stored ("hit for pass").
    passes: moka::sync::Cache<String, ()>,
    flights: Mutex<HashMap<String, Flight>>,
    /// Bumped by every purge: a render that started before one stores its
    /// result as already stale, since it may hold the purged data.
    epoch: AtomicU64,
    metrics: Arc<Metrics>,
    recent: Mutex<VecDeque<PurgeRecord>>,
    history: Mutex<history::History>,
    renderer: Option<RenderRuntime>,
}

/// The runtime renders run on (see [`IsrConfig::render_threads`]).
struct RenderRuntime(Option<tokio::runtime::Runtime>);

impl Drop for RenderRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which async code (a test's end) forbids.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

type Flight = Shared<BoxFuture<'static, Outcome>>;

#[derive(Clone)]
enum Outcome {
    Stored(Arc<Entry>),
    NotStored,
    Failed,
}

/// Entries live in the store until their last stale window closes (plus a
/// margin), or until the byte bound evicts them.
struct Lifetime;

impl moka::Expiry<String, Arc<Entry>> for Lifetime {
    fn expire_after_create(
        &self,
        _: &String,
        entry: &Arc<Entry>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        let window = entry.ttl.saturating_add(entry.swr.max(entry.sie));
        Some(Duration::from_millis(window).saturating_add(Duration::from_secs(60)))
    }
}

impl std::fmt::Debug for IsrCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IsrCache").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl IsrCache {
    /// A cache with the real clock.
    pub fn new(config: IsrConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock::default()))
    }

    /// A cache reading time from `clock` (tests move a [`clock::ManualClock`]).
    pub fn with_clock(config: IsrConfig, clock: Arc<dyn Clock>) -> Self {
        let metrics = Arc::new(Metrics::default());
        let evictions = metrics.evictions.clone();
        let store = moka::sync::Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|_: &String, entry: &Arc<Entry>| entry.weight())
            .expire_after(Lifetime)
            .eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    evictions.inc();
                }
            })
            .build();
        let renderer = (config.render_threads > 0).then(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.render_threads)
                .thread_name("isr-render")
                .enable_all()
                .build();
            // Without it renders run on the caller's runtime, as with 0 threads.
            RenderRuntime(runtime.ok())
        });
        Self {
            shared: Arc::new(SharedState {
                renderer,
                store,
                vary: moka::sync::Cache::builder().max_capacity(100_000).build(),
                passes: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(PASS_TTL)
                    .build(),
                flights: Mutex::new(HashMap::new()),
                epoch: AtomicU64::new(0),
                metrics,
                recent: Mutex::new(VecDeque::new()),
                history: Mutex::default(),
                clock,
                config,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &IsrConfig {
        &self.shared.config
    }

    /// The counters, with the entry and byte gauges brought up to date.
    pub fn metrics(&self) -> &Metrics {
        let store = &self.shared.store;
        store.run_pending_tasks();
        let metrics = &self.shared.metrics;
        metrics.entries.set(i64::try_from(store.entry_count()).unwrap_or(i64::MAX));
        metrics.bytes.set(i64::try_from(store.weighted_size()).unwrap_or(i64::MAX));
        metrics
    }

    /// Invalidates what `purge` matches; returns how many entries it touched.
    pub fn purge(&self, purge: &Purge) -> usize {
        let shared = &self.shared;
        shared.epoch.fetch_add(1, Ordering::AcqRel);
        let mut matched = 0;
        for (key, entry) in &shared.store {
            if purge.matches(&entry) {
                matched += 1;
                match purge.mode {
                    PurgeMode::Soft => entry.forced_stale.store(true, Ordering::Release),
                    PurgeMode::Hard => shared.store.invalidate(key.as_str()),
                }
            }
        }
        // Pass markers may hide a page that is storable now: forget them all.
        shared.passes.invalidate_all();
        shared.metrics.purged.inc_by(matched as u64);
        let record = PurgeRecord { purge: purge.clone(), matched, at: shared.clock.now_millis() };
        let mut recent = shared.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == RECENT_PURGES {
            recent.pop_front();
        }
        recent.push_back(record);
        matched
    }

    /// Resolves when every render in flight (background regenerations
    /// included) has finished: for tests, and for a shutdown that lets them land.
    pub async fn idle(&self) {
        loop {
            let flights: Vec<Flight> = self
                .shared
                .flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect();
            if flights.is_empty() {
                return;
            }
            futures_util::future::join_all(flights).await;
        }
    }

    /// The latest purges, oldest first.
    pub fn recent_purges(&self) -> Vec<PurgeRecord> {
        self.shared.recent.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Records what the cache did since the last call (hits, stale serves,
    /// misses) as a [`Sample`] of its history. Call it at a fixed interval.
    pub fn sample_history(&self) {
        let at = self.shared.clock.now_millis();
        let mut history = self.shared.history.lock().unwrap_or_else(PoisonError::into_inner);
        history.sample(&self.shared.metrics, at);
    }

    /// The last [`HISTORY_SAMPLES`] samples, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.shared.history.lock().unwrap_or_else(PoisonError::into_inner).samples()
    }

    /// The cache's clock, in milliseconds (what [`PurgeRecord::at`] counts in).
    pub fn now_millis(&self) -> u64 {
        self.shared.clock.now_millis()
    }

    fn now(&self) -> u64 {
        self.now_millis()
    }

    /// How the layer treats a request, before any lookup.
    fn route<B>(&self, request: &Request<B>) -> Route {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            return Route::Bypass;
        }
        match self.shared.config.visitors.classify(request.headers()) {
            Visitor::Personal => Route::Bypass,
            Visitor::Preview => Route::Preview,
            Visitor::Anonymous => Route::Cache,
        }
    }

    /// The query parameters the route of `path` reads; `None`: all of them.
    fn declared_query(&self, path: &str) -> Option<&[Box<str>]> {
        self.shared.config.routes.as_deref().map(|routes| routes.declared_query(path))
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Through the cache. Whatever else an anonymous request carries
    /// (`Cache-Control: no-cache`, `Range`, an `Authorization` no page reads)
    /// does not reach a render: a client cannot make every request a render.
    Cache,
    /// Straight to the service, untouched: other methods, signed-in visitors.
    Bypass,
    /// A fresh render that is never stored: previews.
    Preview,
}

/// What the layer did with a request, as written into the response.
#[derive(Debug, Clone, Copy)]
enum Status {
    Hit { ttl: i64 },
    Stale { ttl: i64, error: Option<StatusCode> },
    Miss { stored: bool },
    Bypass,
    Preview,
}

fn mark(headers: &mut HeaderMap, status: Status) {
    let (cache_status, x_cache) = match status {
        Status::Hit { ttl } => (format!("isr; hit; ttl={ttl}"), "HIT"),
        Status::Stale { ttl, error: None } => (format!("isr; fwd=stale; ttl={ttl}"), "STALE"),
        Status::Stale { ttl, error: Some(code) } => {
            (format!("isr; fwd=stale; fwd-status={}; ttl={ttl}", code.as_u16()), "STALE")
        }
        Status::Miss { stored: true } => ("isr; fwd=uri-miss; stored".to_owned(), "MISS"),
        Status::Miss { stored: false } => ("isr; fwd=uri-miss".to_owned(), "MISS"),
        Status::Bypass => ("isr; fwd=bypass".to_owned(), "BYPASS"),
        Status::Preview => ("isr; fwd=bypass; detail=preview".to_owned(), "BYPASS"),
    };
    if let Ok(value) = HeaderValue::try_from(cache_status) {
        headers.insert(CACHE_STATUS, value);
    }
    headers.insert(X_CACHE, HeaderValue::from_static(x_cache));
}

/// The request a render sends: `GET` of the same URI, as an anonymous client
/// asking for the identity encoding, unconditionally.
#[derive(Clone)]
struct Template {
    uri: Uri,
    headers: HeaderMap,
    /// What lower layers attached (a peer address, …), so a response that
    /// turns out not to be storable is the one the client would have got.
    extensions: http::Extensions,
}

impl Template {
    /// The render of `uri`'s path with the normalised `query` (see [`key::query`]).
    fn new(
        host: &str,
        uri: &Uri,
        query: &str,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Self {
        let mut headers = headers.clone();
        for name in [
            COOKIE,
            AUTHORIZATION,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_MATCH,
            IF_UNMODIFIED_SINCE,
            IF_RANGE,
            RANGE,
        ] {
            headers.remove(name);
        }
        // What a client says about the host must not reach a page stored for
        // everyone (cache poisoning): the render sees the canonical host only.
        for name in [FORWARDED, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_FORWARDED_FOR] {
            headers.remove(name);
        }
        if let Ok(host) = HeaderValue::from_str(host) {
            headers.insert(HOST, host);
        }
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        // The path and the query the key holds, nothing else: an absolute
        // request URI names a host too, and a parameter the route does not
        // declare must not reach a page stored for every value of it.
        let path_and_query = if query.is_empty() {
            uri.path().to_owned()
        } else {
            format!("{}?{query}", uri.path())
        };
        // The normalised query is re-encoded, so it always parses; were it
        // not to, the request's own path and query are still this page.
        let uri = Uri::try_from(path_and_query).unwrap_or_else(|_| {
            uri.path_and_query()
                .and_then(|pq| Uri::try_from(pq.as_str()).ok())
                .unwrap_or_else(|| uri.clone())
        });
        Self { uri, headers, extensions: extensions.clone() }
    }

    fn request<B: Default>(&self) -> Request<B> {
        let mut request = Request::new(B::default());
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        *request.extensions_mut() = self.extensions.clone();
        request
    }
}

/// Adds the [`IsrCache`] in front of a service.
#[derive(Debug, Clone)]
pub struct IsrLayer {
    cache: IsrCache,
}

impl IsrLayer {
    /// The layer over `cache`.
    pub fn new(cache: IsrCache) -> Self {
        Self { cache }
    }
}

impl<S> Layer<S> for IsrLayer {
    type Service = IsrService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IsrService { inner, cache: self.cache.clone() }
    }
}

/// The service of [`IsrLayer`].
#[derive(Debug, Clone)]
pub struct IsrService<S> {
    inner: S,
    cache: IsrCache,
}

type LeaderReply<B, E> = oneshot::Sender<Result<Response<B>, E>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for IsrService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    type Response = Response<BufferedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready answers this request; renders use clones.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let cache = self.cache.clone();
        if !cache.shared.config.enabled {
            let future = {
                let mut ready = ready;
                ready.call(request)
            };
            return Box::pin(async move { Ok(future.await?.map(BufferedBody::inner)) });
        }
        Box::pin(handle(cache, ready, request))
    }
}

async fn handle<S, ReqBody, ResBody>(
    cache: IsrCache,
    ready: S,
    request: Request<ReqBody>,
) -> Result<Response<BufferedBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    let shared = &cache.shared;
    match cache.route(&request) {
        Route::Cache => {}
        Route::Bypass => {
            shared.metrics.bypasses.inc();
            return forward(ready, request, Status::Bypass).await;
        }
        Route::Preview => {
            shared.metrics.bypasses.inc();
            let mut response = forward(ready, request, Status::Preview).await?;
            // Whatever the route says: a preview is for its viewer alone.
            CachePolicy::private().apply(response.headers_mut());
            return Ok(response);
        }
    }
    let head = request.method() == Method::HEAD;
    let query = key::query(request.uri().query(), cache.declared_query(request.uri().path()));
    let primary = key::primary_of(&shared.config.canonical_host, request.uri().path(), &query);
    let vary = shared.vary.get(&primary).unwrap_or_else(|| Arc::from([]));
    let key = key::full(&primary, &vary, request.headers());
    if shared.passes.contains_key(&key) {
        shared.metrics.bypasses.inc();
        return forward(ready, request, Status::Bypass).await;
    }
    // RFC 9111 section 3.5: a request with `Authorization` may be answered
    // from a stored response only if that response says it is shared anyway.
    let authorized = request.headers().contains_key(AUTHORIZATION);
    let usable = |entry: &Entry| !authorized || entry.explicitly_shared;
    // Takes the request rather than borrowing it: the future must stay `Send`
    // without asking request bodies to be `Sync`.
    let template = |request: &Request<ReqBody>| {
        Template::new(
            &shared.config.canonical_host,
            request.uri(),
            &query,
            request.headers(),
            request.extensions(),
        )
    };

    let now = cache.now();
    let stored = shared.store.get(&key);
    if let Some(entry) = &stored {
        if !usable(entry) {
            shared.metrics.bypasses.inc();
            return forward(ready, request, Status::Bypass).await;
        }
        match entry.freshness(now) {
            Freshness::Fresh => {
                shared.metrics.hits.inc();
                return Ok(serve(
                    entry,
                    request.headers(),
                    now,
                    head,
                    Status::Hit { ttl: entry.ttl_left(now) },
                ));
            }
            Freshness::StaleWhileRevalidate => {
                shared.metrics.stale.inc();
                // The template is built only when no render of the key is in flight.
                let in_flight = shared
                    .flights
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(&key);
                if !in_flight && entry.may_retry(now) {
                    let job = Job {
                        primary,
                        template: template(&request),
                        prepare: entry.encodings_made(),
                    };
                    drop(join_flight::<S, ReqBody, ResBody>(
                        &cache,
                        &key,
                        job,
                        ready.clone(),
                        None,
                    ));
                }
                let status = Status::Stale { ttl: entry.ttl_left(now), error: None };
                return Ok(serve(entry, request.headers(), now, head, status));
            }
            Freshness::StaleIfError if !entry.may_retry(now) => {
                // Renders failed a moment ago and are backing off: the last
                // good page at once, rather than another render that fails.
                return Ok(serve_last_good(&cache, entry, request.headers(), now, head));
            }
            Freshness::StaleIfError | Freshness::Expired => {}
        }
    }

    shared.metrics.misses.inc();
    let (reply, replies) = oneshot::channel();
    // The encoding this request asks for is made with the render; others
    // when first asked for.
    let prepare = match Encoding::choose(request.headers(), true) {
        Encoding::Identity => Vec::new(),
        encoding => vec![encoding],
    };
    let job = Job { primary, template: template(&request), prepare };
    let flight = join_flight(&cache, &key, job, ready.clone(), Some(reply));
    let leader = flight.1;
    match flight.0.await {
        Outcome::Stored(entry) if usable(&entry) => {
            let now = cache.now();
            Ok(serve(&entry, request.headers(), now, head, Status::Miss { stored: true }))
        }
        Outcome::Failed => {
            let now = cache.now();
            if let Some(entry) = stored.filter(|e| e.freshness(now) != Freshness::Expired) {
                // The last good page, rather than the error.
                return Ok(serve_last_good(&cache, &entry, request.headers(), now, head));
            }
            if leader {
                // The render was this request's own: answer with its error
                // rather than render again for a backend that is failing.
                return match replies.await {
                    Ok(Ok(mut response)) => {
                        mark(response.headers_mut(), Status::Miss { stored: false });
                        if head {
                            Ok(response.map(|_| BufferedBody::empty()))
                        } else {
                            Ok(response.map(|body| body))
                        }
                    }
                    Ok(Err(error)) => Err(error),
                    Err(_) => Ok(internal_error()),
                };
            }
            forward(ready, request, Status::Miss { stored: false }).await
        }
        // Not storable (or stored, but not for a request with `Authorization`):
        // the render was anonymous, asked for the identity encoding and saw
        // only the declared query, so this request is sent as it came, and is
        // answered as it would be without the cache (compressed as it asks,
        // with its own cookies). The key is marked "pass" meanwhile, so that
        // costs one extra render per pass window, not one per request.
        Outcome::Stored(_) | Outcome::NotStored => {
            forward(ready, request, Status::Miss { stored: false }).await
        }
    }
}

/// Passes `request` to the service, marking the response with `status`.
async fn forward<S, ReqBody, ResBody>(
    mut ready: S,
    request: Request<ReqBody>,
    status: Status,
) -> Result<Response<BufferedBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
{
    let mut response = ready.call(request).await?.map(BufferedBody::inner);
    mark(response.headers_mut(), status);
    Ok(response)
}

fn serve<B: Body>(
    entry: &Entry,
    request: &HeaderMap,
    now: u64,
    head: bool,
    status: Status,
) -> Response<BufferedBody<B>> {
    let (code, mut headers, body) = entry.respond(request, now, head);
    mark(&mut headers, status);
    let mut response =
        Response::new(body.map_or_else(BufferedBody::empty, |body| BufferedBody::full(body, None)));
    *response.status_mut() = code;
    *response.headers_mut() = headers;
    response
}

/// The last good page, served because renders of it fail (stale-if-error).
fn serve_last_good<B: Body>(
    cache: &IsrCache,
    entry: &Entry,
    request: &HeaderMap,
    now: u64,
    head: bool,
) -> Response<BufferedBody<B>> {
    cache.shared.metrics.stale.inc();
    let status =
        Status::Stale { ttl: entry.ttl_left(now), error: Some(StatusCode::INTERNAL_SERVER_ERROR) };
    serve(entry, request, now, head, status)
}

fn internal_error<B: Body>() -> Response<BufferedBody<B>> {
    let mut response =
        Response::new(BufferedBody::full(Bytes::from_static(b"Internal Server Error"), None));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    mark(response.headers_mut(), Status::Miss { stored: false });
    response
}

/// What to render for a key, and how to store it.
struct Job {
    /// The key before `Vary` is known.
    primary: String,
    template: Template,
    /// Encodings to make with the render (the rest are made when asked for).
    prepare: Vec<Encoding>,
}

/// Joins the render of `key` in flight, or starts one. Returns the flight and
/// whether this caller started it (and so will get the response through
/// `reply` when it cannot be shared).
fn join_flight<S, ReqBody, ResBody>(
    cache: &IsrCache,
    key: &str,
    job: Job,
    service: S,
    reply: Option<LeaderReply<BufferedBody<ResBody>, S::Error>>,
) -> (Flight, bool)
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    let mut flights = cache.shared.flights.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(flight) = flights.get(key) {
        return (flight.clone(), false);
    }
    cache.shared.metrics.regenerations.inc();
    // Read now, not when the task starts: a purge in between must count.
    let epoch = cache.shared.epoch.load(Ordering::Acquire);
    // One task renders and then does the flight's bookkeeping, so that runs
    // when the render ends even if nobody awaits the flight (a background
    // regeneration); a panicking render is caught and becomes a failure. (Two
    // tasks, a render and one awaiting it, cost a cross-thread wake-up more on
    // every miss.)
    let task = {
        let cache = cache.clone();
        let key = key.to_owned();
        let render = render(cache.clone(), key.clone(), job, service, reply, epoch);
        async move {
            let outcome = std::panic::AssertUnwindSafe(render)
                .catch_unwind()
                .await
                .unwrap_or(Outcome::Failed);
            if matches!(outcome, Outcome::Failed) {
                cache.shared.metrics.regeneration_errors.inc();
                if let Some(entry) = cache.shared.store.get(&key) {
                    entry.record_failure(cache.now());
                }
            }
            // Waits, if need be, for `join_flight` to have inserted the flight.
            cache.shared.flights.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
            outcome
        }
    };
    let task = match cache.shared.renderer.as_ref().and_then(|r| r.0.as_ref()) {
        Some(runtime) => runtime.spawn(task),
        None => tokio::spawn(task),
    };
    let flight = async move { task.await.unwrap_or(Outcome::Failed) }.boxed().shared();
    flights.insert(key.to_owned(), flight.clone());
    (flight, true)
}

/// Renders `template` through `service`, stores the result if it may be
/// stored, and hands the response to the leader when it may not.
async fn render<S, ReqBody, ResBody>(
    cache: IsrCache,
    key: String,
    job: Job,
    mut service: S,
    reply: Option<LeaderReply<BufferedBody<ResBody>, S::Error>>,
    epoch: u64,
) -> Outcome
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    let shared = &cache.shared;
    let Job { primary, template, prepare } = job;
    let send = |reply: Option<LeaderReply<_, _>>, response| {
        if let Some(reply) = reply {
            let _ = reply.send(response);
        }
    };
    if let Err(error) = std::future::poll_fn(|cx| service.poll_ready(cx)).await {
        send(reply, Err(error));
        return Outcome::Failed;
    }
    let response = match service.call(template.request()).await {
        Ok(response) => response,
        Err(error) => {
            send(reply, Err(error));
            return Outcome::Failed;
        }
    };
    let (parts, body) = response.into_parts();
    if parts.status.is_server_error() {
        send(reply, Ok(Response::from_parts(parts, BufferedBody::inner(body))));
        return Outcome::Failed;
    }
    // Requests for a key that may not be stored go straight through for a
    // while ("hit for pass"), each answered as it asked (see `handle`).
    let Some(policy) = entry::storable(parts.status, &parts.headers) else {
        shared.passes.insert(key, ());
        return Outcome::NotStored;
    };
    let body = match collect(Box::pin(body), shared.config.max_entry_bytes).await {
        Collected::Whole(bytes, _) => bytes,
        Collected::TooLarge(..) => {
            shared.passes.insert(key, ());
            return Outcome::NotStored;
        }
        Collected::Failed(prefix, error) => {
            send(reply, Ok(Response::from_parts(parts, BufferedBody::failed(prefix, error))));
            return Outcome::Failed;
        }
    };
    let path = template.uri.path().to_owned();
    let now = cache.now();
    let entry_needs_compressing = !prepare.is_empty();
    let build = move || {
        let entry = Entry::new(parts.status, parts.headers, body, &policy, path, now);
        for encoding in prepare {
            entry.variant(encoding);
        }
        Arc::new(entry)
    };
    let entry = if entry_needs_compressing {
        // Compressing is CPU-bound for a millisecond or so: off the workers.
        match tokio::task::spawn_blocking(build).await {
            Ok(entry) => entry,
            Err(_) => return Outcome::Failed,
        }
    } else {
        build()
    };
    if shared.epoch.load(Ordering::Acquire) != epoch {
        // Purged while rendering: this may hold the old data.
        entry.forced_stale.store(true, Ordering::Release);
    }
    // Stored under the key its `Vary` asks for, which later requests compute.
    let key = key::full(&primary, &entry.vary, &template.headers);
    if entry.vary.is_empty() {
        shared.vary.invalidate(&primary);
    } else {
        shared.vary.insert(primary, Arc::from(entry.vary.clone()));
    }
    shared.store.insert(key, entry.clone());
    Outcome::Stored(entry)
}

#[cfg(test)]
mod tests;
