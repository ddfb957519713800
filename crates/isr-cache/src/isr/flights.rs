//! Single flight: one render per key at a time, however many requests ask,
//! and the render job itself (the anonymous request it sends, and storing
//! what comes back).

use std::sync::Arc;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, COOKIE, FORWARDED, HOST, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE, REFERER,
};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use tokio::sync::oneshot;
use tower_service::Service;

use super::entry::{Encoding, Entry, Freshness};
use super::storable::storable;
use super::tier::{Lease, fresher};
use super::{IsrCache, key};
use crate::body::{BufferedBody, Collected, collect};

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The render of one key in flight: every request for the key awaits the same one.
pub(super) type Flight = Shared<BoxFuture<'static, Outcome>>;

/// How a render ended.
#[derive(Clone)]
pub(super) enum Outcome {
    Stored(Arc<Entry>),
    /// No render: the second level had the page (another instance's
    /// render, or this build's from before a restart).
    Loaded(Arc<Entry>),
    NotStored,
    /// Revalidated by a `304` that no longer lets it be stored: it answers
    /// the requests that waited for it, and nothing else.
    Validated(Arc<Entry>),
    Failed,
}

/// How the request that started a render (the leader) gets its response
/// when the response cannot be shared through the store.
pub(super) type LeaderReply<B, E> = oneshot::Sender<Result<Response<B>, E>>;

/// The request a render sends: `GET` of the same URI, as an anonymous client
/// asking for the identity encoding, unconditionally.
#[derive(Clone)]
pub(super) struct Template {
    uri: Uri,
    headers: HeaderMap,
    /// What lower layers attached (a peer address, …), so a response that
    /// turns out not to be storable is the one the client would have got.
    extensions: http::Extensions,
}

impl Template {
    /// The render of `uri`'s path with the normalised `query` (see
    /// [`key::query`]), asking for `accept`.
    pub(super) fn new(
        host: &str,
        uri: &Uri,
        query: &str,
        headers: &HeaderMap,
        extensions: &http::Extensions,
        accept: &'static str,
    ) -> Self {
        let mut headers = Self::unconditional(headers);
        for name in [COOKIE, AUTHORIZATION, REFERER] {
            headers.remove(name);
        }
        // The same answer whatever the client accepts: the key holds no
        // `Accept`, and the client's could turn a page into a redirect.
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
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

    /// The request as the client sent it (`IsrConfig::anonymous_renders`
    /// off), but unconditional and whole: the cache answers conditionals and
    /// ranges from what it stores.
    pub(super) fn as_sent(uri: &Uri, headers: &HeaderMap, extensions: &http::Extensions) -> Self {
        let headers = Self::unconditional(headers);
        Self { uri: uri.clone(), headers, extensions: extensions.clone() }
    }

    fn unconditional(headers: &HeaderMap) -> HeaderMap {
        let mut headers = headers.clone();
        for name in
            [IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_MATCH, IF_UNMODIFIED_SINCE, IF_RANGE, RANGE]
        {
            headers.remove(name);
        }
        headers
    }

    fn request<B: Default>(&self) -> Request<B> {
        let mut request = Request::new(B::default());
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        *request.extensions_mut() = self.extensions.clone();
        request
    }
}

/// What to render for a key, and how to store it.
pub(super) struct Job {
    /// The key before `Vary` is known.
    pub(super) primary: String,
    pub(super) template: Template,
    /// Encodings to make with the render (the rest are made when asked for).
    pub(super) prepare: Vec<Encoding>,
}

/// Joins the render of `key` in flight, or starts one (`have`: the entry
/// memory holds for it, if any). Returns the flight and whether this caller
/// started it (and so will get the response through `reply` when it cannot
/// be shared).
pub(super) fn join_flight<S, ReqBody, ResBody>(
    cache: &IsrCache,
    key: &str,
    job: Job,
    service: S,
    reply: Option<LeaderReply<BufferedBody<ResBody>, S::Error>>,
    have: Option<Arc<Entry>>,
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
        let render = fill(cache.clone(), key.clone(), job, service, reply, epoch, have);
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
    let task = cache.spawn(task);
    let flight = async move { task.await.unwrap_or(Outcome::Failed) }.boxed().shared();
    flights.insert(key.to_owned(), flight.clone());
    (flight, true)
}

/// Fills `key`: from the second level when it has a page newer than `have`
/// that is fresh, or stale but servable (the caller then regenerates it in
/// the background); else by a render under the key's lease. When another
/// instance holds the lease, waits (at most the lease's length) for the
/// holder's page, and only then renders itself.
async fn fill<S, ReqBody, ResBody>(
    cache: IsrCache,
    key: String,
    job: Job,
    service: S,
    reply: Option<LeaderReply<BufferedBody<ResBody>, S::Error>>,
    epoch: u64,
    have: Option<Arc<Entry>>,
) -> Outcome
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    if !cache.has_second_level() {
        return render(cache, key, job, service, reply, epoch, have).await;
    }
    let metrics = &cache.shared.metrics;
    let stale = have.clone();
    let have = have.map(|entry| entry.stored_at);
    let headers = &job.template.headers;
    let loaded = cache.load(&job.primary, headers).await;
    let now = cache.now();
    let newer = |entry: &Entry| have.is_none_or(|stored_at| entry.stored_at > stored_at);
    if let Some(entry) = loaded.filter(|entry| newer(entry)) {
        // Fresh, or stale but servable: the caller serves a stale one at once
        // and regenerates it in the background (by whichever instance takes
        // the lease).
        if matches!(entry.freshness(now), Freshness::Fresh | Freshness::StaleWhileRevalidate) {
            metrics.level2_hits.inc();
            return Outcome::Loaded(store_here(&cache, &job.primary, headers, entry, epoch));
        }
    }
    metrics.level2_misses.inc();
    let generation = match cache.lease(&key).await {
        Lease::Taken(generation) => {
            // The holder before us may have written its page and let go of
            // the lease between our read and our lease (a whole render, on a
            // busy machine): look again before rendering the page a second
            // time. A read more per render; a render more per page without it
            // (seen: two instances, 100 requests, two renders).
            let again = cache.load(&job.primary, headers).await;
            if let Some(entry) = again.filter(|entry| fresher(entry, have, cache.now())) {
                let releaser = cache.clone();
                cache.write_behind(async move { releaser.release(&key).await });
                metrics.level2_hits.inc();
                return Outcome::Loaded(store_here(&cache, &job.primary, headers, entry, epoch));
            }
            Some(generation)
        }
        Lease::Unavailable => None,
        Lease::Held => {
            if let Some(entry) = cache.await_holder(&job.primary, headers, have).await {
                metrics.level2_hits.inc();
                return Outcome::Loaded(store_here(&cache, &job.primary, headers, entry, epoch));
            }
            // The holder died or is slow: its lease has run out by now.
            match cache.lease(&key).await {
                Lease::Taken(generation) => Some(generation),
                Lease::Held | Lease::Unavailable => None,
            }
        }
    };
    let (primary, headers) = (job.primary.clone(), job.template.headers.clone());
    let outcome = render(cache.clone(), key.clone(), job, service, reply, epoch, stale).await;
    if let Some(generation) = generation {
        // After the response: nobody waits for the write but the other
        // instances, which poll for it. The lease goes back once it is done.
        let stored = match &outcome {
            Outcome::Stored(entry) => Some(entry.clone()),
            _ => None,
        };
        let writer = cache.clone();
        cache.write_behind(async move {
            match stored {
                Some(entry) => {
                    let full = key::full(&primary, &entry.vary, &headers);
                    writer.save(&primary, &full, &entry, generation, &key).await;
                }
                None => writer.release(&key).await,
            }
        });
    }
    outcome
}

/// `request` through `service`, once it is ready.
async fn call<S, ReqBody, ResBody>(
    service: &mut S,
    request: Request<ReqBody>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}

/// Stores `entry` in memory under the key its `Vary` asks for (which later
/// requests compute from `headers`), stale at once if a purge came since the
/// flight began (`epoch`): it may hold the purged data.
fn store_here(
    cache: &IsrCache,
    primary: &str,
    headers: &HeaderMap,
    entry: Arc<Entry>,
    epoch: u64,
) -> Arc<Entry> {
    let shared = &cache.shared;
    if shared.epoch.load(Ordering::Acquire) != epoch {
        entry.forced_stale.store(true, Ordering::Release);
    }
    let key = key::full(primary, &entry.vary, headers);
    if entry.vary.is_empty() {
        shared.vary.invalidate(primary);
    } else {
        shared.vary.insert(primary.to_owned(), Arc::from(entry.vary.clone()));
    }
    shared.store.insert(key, entry.clone());
    entry
}

/// Stores an entry a `304` updated ([`Entry::updated`]), when it may still
/// be stored; when not, it answers the requests waiting for it (the `304`
/// said it is current), and the stale copy goes.
fn store_updated(
    cache: &IsrCache,
    key: &str,
    (primary, headers): (&str, &HeaderMap),
    (updated, storable): (Entry, bool),
    epoch: u64,
) -> Outcome {
    if storable {
        return Outcome::Stored(store_here(cache, primary, headers, Arc::new(updated), epoch));
    }
    cache.shared.store.invalidate(key);
    Outcome::Validated(Arc::new(updated))
}

/// Renders `template` through `service`, stores the result in memory if it
/// may be stored, and hands the response to the leader when it may not.
/// With the entry held for the key (`have`), the render is conditional on
/// its validators, and a `304` updates it rather than replacing it: a
/// service that can tell "unchanged" sends no body, and the encodings made
/// of it are kept.
async fn render<S, ReqBody, ResBody>(
    cache: IsrCache,
    key: String,
    job: Job,
    mut service: S,
    reply: Option<LeaderReply<BufferedBody<ResBody>, S::Error>>,
    epoch: u64,
    have: Option<Arc<Entry>>,
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
    shared.metrics.regenerations.inc();
    let Job { primary, template, prepare } = job;
    let send = |reply: Option<LeaderReply<_, _>>, response| {
        if let Some(reply) = reply {
            let _ = reply.send(response);
        }
    };
    let validators = have.as_deref().map(Entry::validators).filter(|v| !v.is_empty());
    let mut request = template.request();
    request.headers_mut().extend(validators.clone().unwrap_or_default());
    let response = call(&mut service, request).await;
    if let (Ok(not_modified), Some(entry)) = (&response, &have)
        && not_modified.status() == StatusCode::NOT_MODIFIED
        && validators.is_some()
    {
        let updated = entry.updated(not_modified.headers(), &shared.config, cache.now());
        return store_updated(&cache, &key, (&primary, &template.headers), updated, epoch);
    }
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            send(reply, Err(error));
            return Outcome::Failed;
        }
    };
    let (parts, body) = response.into_parts();
    let now = cache.now();
    // A response to a request with `Authorization` (sent as it came) is
    // stored only if it says it is shared (RFC 9111 section 3.5).
    let authorized = template.headers.contains_key(AUTHORIZATION);
    let storable = storable(parts.status, &parts.headers, &shared.config, now)
        .filter(|storable| storable.explicitly_shared || !authorized);
    // An error fails the render (the last good page is served instead),
    // unless it is one the configuration stores.
    if parts.status.is_server_error() && storable.is_none() {
        send(reply, Ok(Response::from_parts(parts, BufferedBody::inner(body))));
        return Outcome::Failed;
    }
    // Requests for a key that may not be stored go straight through for a
    // while ("hit for pass"), each answered as it asked (see `handle`); a
    // render sent as the client asked is that client's answer.
    let as_sent = !shared.config.anonymous_renders;
    let Some(storable) = storable else {
        // An anonymous render's redirect or client error says nothing about
        // what the key's visitors may be sent (it is the same for all of
        // them): each is asked for as it came, and the key is not a pass.
        let anonymous_refusal =
            !as_sent && (parts.status.is_redirection() || parts.status.is_client_error());
        if !anonymous_refusal {
            shared.passes.insert(key, ());
        }
        if as_sent {
            send(reply, Ok(Response::from_parts(parts, BufferedBody::inner(body))));
        }
        return Outcome::NotStored;
    };
    let body = match collect(Box::pin(body), shared.config.max_entry_bytes).await {
        Collected::Whole(bytes, _) => bytes,
        Collected::TooLarge(prefix, rest) => {
            shared.passes.insert(key, ());
            if as_sent {
                send(reply, Ok(Response::from_parts(parts, BufferedBody::prefixed(prefix, rest))));
            }
            return Outcome::NotStored;
        }
        Collected::Failed(prefix, error) => {
            send(reply, Ok(Response::from_parts(parts, BufferedBody::failed(prefix, error))));
            return Outcome::Failed;
        }
    };
    let path = template.uri.path().to_owned();
    let target = template.uri.to_string();
    let entry_needs_compressing = !prepare.is_empty();
    let build = move || {
        let entry =
            Entry::new(parts.status, parts.headers, body, &storable, path, now).with_target(target);
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
    Outcome::Stored(store_here(&cache, &primary, &template.headers, entry, epoch))
}
