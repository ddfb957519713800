//! The request path: [`IsrLayer`] and [`IsrService`], which route each
//! request (bypass, preview, cache), answer from the store, and join or start
//! renders.

use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use tokio::sync::oneshot;
use tower_layer::Layer;
use tower_service::Service;

use super::entry::{Encoding, Entry, Freshness};
use super::flights::{Job, Outcome, Template, join_flight};
use super::{IsrCache, invalidation, key};
use crate::body::BufferedBody;
use crate::policy::Directives;
use crate::{CachePolicy, Visitor};

/// `Cache-Status` (RFC 9211).
pub const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");
/// `X-Cache`: the one-word summary people look for in `curl -I`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

impl IsrCache {
    /// How the layer treats a request, before any lookup.
    fn route<B>(&self, request: &Request<B>) -> Route {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            return Route::Bypass;
        }
        let headers = request.headers();
        match self.shared.config.visitors.classify(headers) {
            Visitor::Personal => Route::Bypass,
            Visitor::Preview => Route::Preview,
            visitor @ Visitor::Anonymous => Route::Cache { personal: visitor.is_personal(headers) },
        }
    }
}

/// What a request's own `Cache-Control` asks of the cache (RFC 9111 section
/// 5.2.1), read when [`IsrConfig::request_cache_control`](super::IsrConfig) is on.
struct Asked {
    /// `no-cache` (or `Pragma: no-cache` without `Cache-Control`): a
    /// stored response only once revalidated.
    no_cache: bool,
    /// `max-age=N`: a stored response at most N seconds old.
    max_age: Option<std::time::Duration>,
    /// `no-store`: nothing of this exchange is stored.
    no_store: bool,
}

impl Asked {
    fn of(headers: &HeaderMap) -> Self {
        let directives = Directives::parse(headers, &http::header::CACHE_CONTROL);
        let pragma = !headers.contains_key(http::header::CACHE_CONTROL)
            && headers
                .get_all(http::header::PRAGMA)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-cache")));
        Self {
            no_cache: directives.no_cache || pragma,
            max_age: directives.max_age,
            no_store: directives.no_store,
        }
    }

    /// Whether `entry` may answer as it is at `now`.
    fn takes(&self, entry: &Entry, now: u64) -> bool {
        !self.no_cache
            && self.max_age.is_none_or(|max| u128::from(entry.age_millis(now)) <= max.as_millis())
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Through the cache. Whatever else an anonymous request carries
    /// (`Cache-Control: no-cache`, `Range`, an `Authorization` no page reads)
    /// does not reach a render: a client cannot make every request a render.
    /// `personal` ([`Visitor::is_personal`]): answered only from entries that
    /// say they are shared.
    Cache { personal: bool },
    /// Straight to the service, untouched: other methods, signed-in visitors.
    Bypass,
    /// A fresh render that is never stored: previews.
    Preview,
}

/// What the layer did with a request, as written into the response.
#[derive(Debug, Clone, Copy)]
enum Status {
    /// `shared`: from the second level.
    Hit {
        ttl: i64,
        shared: bool,
    },
    Stale {
        ttl: i64,
        error: Option<StatusCode>,
    },
    Miss {
        stored: bool,
    },
    Bypass,
    Preview,
}

fn mark(headers: &mut HeaderMap, status: Status) {
    let (cache_status, x_cache) = match status {
        Status::Hit { ttl, shared: false } => (format!("isr; hit; ttl={ttl}"), "HIT"),
        Status::Hit { ttl, shared: true } => (format!("isr; hit; ttl={ttl}; detail=shared"), "HIT"),
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
    let personal = match cache.route(&request) {
        Route::Cache { personal } => personal,
        Route::Bypass => {
            shared.metrics.bypasses.inc();
            let invalidating = shared.config.unsafe_methods_invalidate;
            let target = invalidating.then(|| (request.method().clone(), request.uri().clone()));
            let response = forward(ready, request, Status::Bypass).await?;
            if let Some((method, uri)) = target
                && invalidation::invalidates(&method, response.status())
            {
                cache.invalidate_after_unsafe(&uri, response.headers());
            }
            return Ok(response);
        }
        Route::Preview => {
            shared.metrics.bypasses.inc();
            let mut response = forward(ready, request, Status::Preview).await?;
            // Whatever the route says: a preview is for its viewer alone.
            CachePolicy::private().apply(response.headers_mut());
            return Ok(response);
        }
    };
    let head = request.method() == Method::HEAD;
    let query = cache.key_query(request.uri().path(), request.uri().query());
    let primary = key::primary_of(&shared.config.canonical_host, request.uri().path(), &query);
    let vary = shared.vary.get(&primary).unwrap_or_else(|| Arc::from([]));
    let key = key::full(&primary, &vary, request.headers());
    if shared.passes.contains_key(&key) {
        shared.metrics.bypasses.inc();
        return forward(ready, request, Status::Bypass).await;
    }
    // RFC 9111 section 3.5: a personal request (here, one with
    // `Authorization`) may be answered from a stored response only if that
    // response says it is shared anyway.
    let usable = |entry: &Entry| !personal || entry.explicitly_shared;
    // Takes the request rather than borrowing it: the future must stay `Send`
    // without asking request bodies to be `Sync`.
    let template = |request: &Request<ReqBody>| {
        if !shared.config.anonymous_renders {
            return Template::as_sent(request.uri(), request.headers(), request.extensions());
        }
        Template::new(
            &shared.config.canonical_host,
            request.uri(),
            &query,
            request.headers(),
            request.extensions(),
            (shared.config.render_accept)(request.uri().path()),
        )
    };

    let now = cache.now();
    let asked = shared.config.request_cache_control.then(|| Asked::of(request.headers()));
    if asked.as_ref().is_some_and(|asked| asked.no_store) {
        shared.metrics.bypasses.inc();
        return forward(ready, request, Status::Bypass).await;
    }
    let stored = shared.store.get(&key);
    // An entry this request will not take as it is (its `no-cache`, its
    // `max-age`) is revalidated, as a stale one is.
    let taken = stored.as_ref().filter(|entry| asked.as_ref().is_none_or(|a| a.takes(entry, now)));
    if let Some(entry) = taken {
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
                    Status::Hit { ttl: entry.ttl_left(now), shared: false },
                ));
            }
            Freshness::StaleWhileRevalidate => {
                shared.metrics.stale.inc();
                // The template is built only when no render of the key is in flight.
                if may_start_render(&cache, &key) && entry.may_retry(now) {
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
                        Some(entry.clone()),
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
    if !joins_or_may_start_render(&cache, &key) {
        // Every render slot is taken: this one runs in the request, as if
        // there were no cache, and ends with it.
        return forward(ready, request, Status::Miss { stored: false }).await;
    }
    let (reply, replies) = oneshot::channel();
    // The encoding this request asks for is made with the render; others
    // when first asked for.
    let prepare = match Encoding::choose(request.headers(), true) {
        Encoding::Identity => Vec::new(),
        encoding => vec![encoding],
    };
    let job = Job { primary: primary.clone(), template: template(&request), prepare };
    let flight = join_flight(&cache, &key, job, ready.clone(), Some(reply), stored.clone());
    let leader = flight.1;
    match flight.0.await {
        Outcome::Validated(entry) if usable(&entry) => {
            Ok(serve(&entry, request.headers(), cache.now(), head, Status::Miss { stored: false }))
        }
        Outcome::Stored(entry) if usable(&entry) => {
            let now = cache.now();
            Ok(serve(&entry, request.headers(), now, head, Status::Miss { stored: true }))
        }
        Outcome::Loaded(entry) if usable(&entry) => {
            // Another instance's render, or this build's from before a restart.
            let now = cache.now();
            let ttl = entry.ttl_left(now);
            let status = if entry.freshness(now) == Freshness::Fresh {
                shared.metrics.hits.inc();
                Status::Hit { ttl, shared: true }
            } else {
                // Stale: served as it is, and regenerated in the background.
                shared.metrics.stale.inc();
                let key = key::full(&primary, &entry.vary, request.headers());
                if may_start_render(&cache, &key) {
                    let prepare = entry.encodings_made();
                    let job = Job { primary, template: template(&request), prepare };
                    drop(join_flight(&cache, &key, job, ready.clone(), None, Some(entry.clone())));
                }
                Status::Stale { ttl, error: None }
            };
            Ok(serve(&entry, request.headers(), now, head, status))
        }
        Outcome::Failed => {
            let now = cache.now();
            if let Some(entry) = stored.clone().filter(|e| e.freshness(now) != Freshness::Expired) {
                // The last good page, rather than the error.
                return Ok(serve_last_good(&cache, &entry, request.headers(), now, head));
            }
            if leader {
                // The render was this request's own: answer with its error
                // rather than render again for a backend that is failing,
                // or with the stale page if the service could not be reached.
                let reply = replies.await;
                if let Some(entry) = stored.filter(|entry| {
                    shared.config.stale_if_unreachable
                        && unreachable(&reply)
                        && entry.may_serve_stale()
                }) {
                    return Ok(serve_last_good(&cache, &entry, request.headers(), now, head));
                }
                return answer(reply, head);
            }
            forward(ready, request, Status::Miss { stored: false }).await
        }
        // A render sent as this request came: its answer is this request's.
        Outcome::NotStored if leader && !shared.config.anonymous_renders => {
            answer(replies.await, head)
        }
        // Not storable (or stored, but not for a request with `Authorization`):
        // the render was anonymous, asked for the identity encoding and saw
        // only the declared query, so this request is sent as it came, and is
        // answered as it would be without the cache (compressed as it asks,
        // with its own cookies). The key is marked "pass" meanwhile, so that
        // costs one extra render per pass window, not one per request; not
        // after an anonymous redirect or client error, which a client cannot
        // use to switch the cache off for everyone (see `flights`).
        Outcome::Stored(_) | Outcome::Loaded(_) | Outcome::Validated(_) | Outcome::NotStored => {
            forward(ready, request, Status::Miss { stored: false }).await
        }
    }
}

/// Whether a background render of `key` may start: none is in flight for
/// it, and fewer than [`IsrConfig::max_renders`](super::IsrConfig::max_renders)
/// are in flight in all.
fn may_start_render(cache: &IsrCache, key: &str) -> bool {
    let flights = cache.shared.flights.lock().unwrap_or_else(PoisonError::into_inner);
    !flights.contains_key(key) && flights.len() < cache.shared.config.max_renders
}

/// Whether a miss of `key` may wait for a render: one is in flight for it
/// already, or another may start.
fn joins_or_may_start_render(cache: &IsrCache, key: &str) -> bool {
    let flights = cache.shared.flights.lock().unwrap_or_else(PoisonError::into_inner);
    flights.contains_key(key) || flights.len() < cache.shared.config.max_renders
}

/// What the render this request started sent back, because it could not be
/// shared through the store.
type Reply<B, E> = Result<Result<Response<BufferedBody<B>>, E>, oneshot::error::RecvError>;

/// Whether a render's `reply` says the service could not be reached: an
/// error of the service, or a gateway's `502` or `504`.
fn unreachable<B: Body, E>(reply: &Reply<B, E>) -> bool {
    match reply {
        Ok(Ok(response)) => {
            matches!(response.status(), StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT)
        }
        Ok(Err(_)) | Err(_) => true,
    }
}

/// The response of the render this request started, as this request's answer.
fn answer<B, E>(reply: Reply<B, E>, head: bool) -> Result<Response<BufferedBody<B>>, E>
where
    B: Body<Data = Bytes>,
{
    match reply {
        Ok(Ok(mut response)) => {
            mark(response.headers_mut(), Status::Miss { stored: false });
            if head { Ok(response.map(|_| BufferedBody::empty())) } else { Ok(response) }
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Ok(internal_error()),
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
    entry.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
