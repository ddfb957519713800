//! The tower layer that gives every response its final cache headers.
//!
//! For each request it takes the route's default (from a [`RouteTable`], or
//! one fixed policy for a group of routes, as TanStack Start's cache
//! middleware does), merges it with whatever the handler already wrote (a
//! loader that tightened the policy, an API handler that returned one), then
//! applies the rules no route can override, and writes the result with
//! [`CachePolicy::apply`]. The rules, in [`decide`]:
//!
//! 1. Only `GET` and `HEAD` are cacheable: everything else (mutations, form
//!    posts) is `no-store`.
//! 2. Fail closed: a path the table does not list is `private, no-store`,
//!    and logged once as a warning naming it, whatever its handler wrote;
//!    unless a [`CachePolicyLayer::fixed`] nearer the handler decided its
//!    policy (static files, the not-found page). Forgetting a route in the
//!    table must cost a render, never a page stored for all.
//! 3. Statuses: 200, 203, 300, 301, 304 and 308 keep the policy; 404 and 410 are
//!    capped by the error policy (briefly, shared caches only, by default);
//!    anything else (redirects to sign-in, 4xx, every 5xx) is `no-store`.
//! 4. A response that sets a cookie is never shared: `private, no-store`.
//! 5. A personal request (a signed-in visitor or a preview, by the layer's
//!    [`Visitors`], or any request with `Authorization`: see
//!    [`Visitor::is_personal`](crate::Visitor::is_personal)) gets
//!    `private, no-store`, unless its route is an [asset route](Scope::Asset),
//!    whose bytes cannot depend on who asks.
//!
//! Merging is the most restrictive (see [`CachePolicy::merge`]), so the route
//! table is a ceiling: a handler can only tighten what its route allows.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::{CachePolicy, RouteTable, Scope, Visitors};

/// Unlisted paths warned about, at most: a flood of made-up URLs must not
/// grow the set (or the log) without bound.
const MAX_WARNED: usize = 1024;

/// Marks a response whose policy a [`CachePolicyLayer::fixed`] decided, so
/// that a table layer further out counts its path as listed.
#[derive(Debug, Clone, Copy)]
struct Decided;

#[derive(Clone)]
enum Defaults {
    Table(Arc<RouteTable>),
    Fixed(CachePolicy),
}

/// Applies a site's cache policy to every response. See the [module docs](self).
#[derive(Clone)]
pub struct CachePolicyLayer {
    defaults: Defaults,
    visitors: Visitors,
    not_found: CachePolicy,
    /// Unlisted paths already logged.
    warned: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for CachePolicyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachePolicyLayer")
            .field("visitors", &self.visitors)
            .field("not_found", &self.not_found)
            .finish_non_exhaustive()
    }
}

/// How long shared caches may keep a 404 or 410 by default: long enough to
/// absorb a burst of requests for a missing page, short enough that a page
/// created later shows up soon even without a purge.
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(60);

impl CachePolicyLayer {
    /// Defaults from a route table (the whole site).
    pub fn new(table: impl Into<Arc<RouteTable>>) -> Self {
        Self::with_defaults(Defaults::Table(table.into()))
    }

    /// One default for every route the layer wraps (a group of routes).
    pub fn fixed(policy: CachePolicy) -> Self {
        Self::with_defaults(Defaults::Fixed(policy))
    }

    fn with_defaults(defaults: Defaults) -> Self {
        Self {
            defaults,
            visitors: Visitors::anonymous(),
            not_found: CachePolicy::public(Duration::ZERO).s_maxage(NOT_FOUND_TTL),
            warned: Arc::default(),
        }
    }

    /// Who is asking: requests from signed-in visitors and previews get
    /// `private, no-store`. Give the [`IsrLayer`](crate::IsrLayer) the same.
    #[must_use]
    pub fn visitors(mut self, visitors: Visitors) -> Self {
        self.visitors = visitors;
        self
    }

    /// The most a 404 or 410 may be cached: merged into their policy. Defaults
    /// to `public, max-age=0, s-maxage=60` ([`NOT_FOUND_TTL`]).
    #[must_use]
    pub fn not_found_policy(mut self, policy: CachePolicy) -> Self {
        self.not_found = policy;
        self
    }

    fn facts<B>(&self, request: &Request<B>) -> RequestFacts {
        let (default, scope) = match &self.defaults {
            Defaults::Table(table) => table
                .resolve(request.uri().path(), request.uri().query())
                .map_or((None, Scope::Dynamic), |resolved| (Some(resolved.policy), resolved.scope)),
            Defaults::Fixed(policy) => (Some(policy.clone()), Scope::Dynamic),
        };
        let headers = request.headers();
        RequestFacts {
            method: request.method().clone(),
            listed: default.is_some(),
            default,
            scope,
            personal: self.visitors.classify(headers).is_personal(headers),
        }
    }

    /// Logs `path` as missing from the table, once.
    fn warn_unlisted(&self, path: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        if warned.len() < MAX_WARNED && warned.insert(path.to_owned()) {
            tracing::warn!(
                path,
                "no cache policy: the route table does not list this path, so it is \
                 answered private, no-store; add it to the table"
            );
        }
    }
}

impl<S> Layer<S> for CachePolicyLayer {
    type Service = CachePolicyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CachePolicyService { inner, layer: self.clone() }
    }
}

/// The service of [`CachePolicyLayer`].
#[derive(Clone, Debug)]
pub struct CachePolicyService<S> {
    inner: S,
    layer: CachePolicyLayer,
}

impl<S, B, ResBody> Service<Request<B>> for CachePolicyService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut facts = self.layer.facts(&request);
        let fixed = matches!(self.layer.defaults, Defaults::Fixed(_));
        let path = (!facts.listed).then(|| request.uri().path().to_owned());
        let layer = self.layer.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            // A fixed layer nearer the handler decided: its path is listed.
            facts.listed |= response.extensions().get::<Decided>().is_some();
            if let Some(path) = path.filter(|_| !facts.listed) {
                layer.warn_unlisted(&path);
            }
            let policy = decide(&facts, response.status(), response.headers(), &layer.not_found);
            policy.apply(response.headers_mut());
            if fixed {
                response.extensions_mut().insert(Decided);
            }
            Ok(response)
        })
    }
}

/// What the layer knows about a request before it is handled.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// The request method.
    pub method: Method,
    /// The route's default policy, if it has one.
    pub default: Option<CachePolicy>,
    /// Whether a table (or a fixed layer) lists the route: an unlisted one
    /// is answered `private, no-store` whatever its handler wrote.
    pub listed: bool,
    /// Whether the signed-in rule applies to the route.
    pub scope: Scope,
    /// Whether the request is personal: a signed-in visitor's, a preview's,
    /// or one with `Authorization` ([`crate::Visitor::is_personal`]).
    pub personal: bool,
}

/// The final policy of a response: the route's default merged with what the
/// handler wrote into `headers`, then the rules of the [module docs](self).
/// `not_found` caps 404 and 410 responses.
pub fn decide(
    request: &RequestFacts,
    status: StatusCode,
    headers: &HeaderMap,
    not_found: &CachePolicy,
) -> CachePolicy {
    if request.method != Method::GET && request.method != Method::HEAD {
        return CachePolicy::no_store();
    }
    if !request.listed {
        return CachePolicy::private();
    }
    let own = CachePolicy::from_headers(headers);
    let Some(mut policy) = CachePolicy::merge_all(request.default.clone().into_iter().chain(own))
    else {
        return CachePolicy::no_store();
    };
    match status.as_u16() {
        200 | 203 | 300 | 301 | 304 | 308 => {}
        404 | 410 => policy = policy.merge(not_found.clone()),
        _ => return CachePolicy::no_store(),
    }
    if headers.contains_key(SET_COOKIE) || (request.personal && request.scope == Scope::Dynamic) {
        policy = policy.merge(CachePolicy::private());
    }
    policy
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::HeaderValue;
    use http::header::{CACHE_CONTROL, COOKIE, VARY};

    use super::*;
    use crate::{SURROGATE_KEY, Visitor};

    const MINUTE: Duration = Duration::from_secs(60);

    fn facts(method: Method, default: Option<CachePolicy>, personal: bool) -> RequestFacts {
        RequestFacts { method, listed: default.is_some(), default, scope: Scope::Dynamic, personal }
    }

    fn isr() -> CachePolicy {
        CachePolicy::isr(MINUTE * 5, MINUTE * 60).tag("posts")
    }

    fn not_found() -> CachePolicy {
        CachePolicy::public(Duration::ZERO).s_maxage(NOT_FOUND_TTL)
    }

    fn decide_for(facts: &RequestFacts, status: u16, headers: &HeaderMap) -> String {
        let status = StatusCode::from_u16(status).expect("status");
        decide(facts, status, headers, &not_found()).to_string()
    }

    #[test]
    fn the_route_default_applies_to_gets_and_heads() {
        for method in [Method::GET, Method::HEAD] {
            let facts = facts(method, Some(isr()), false);
            assert_eq!(
                decide_for(&facts, 200, &HeaderMap::new()),
                "public, max-age=0, s-maxage=300, stale-while-revalidate=3600"
            );
        }
    }

    #[test]
    fn other_methods_are_never_stored() {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let facts = facts(method, Some(isr()), false);
            assert_eq!(decide_for(&facts, 200, &HeaderMap::new()), "no-store");
        }
    }

    #[test]
    fn unlisted_routes_fail_closed() {
        let mut headers = HeaderMap::new();
        CachePolicy::public(MINUTE).apply(&mut headers);
        for own in [HeaderMap::new(), headers] {
            assert_eq!(
                decide_for(&facts(Method::GET, None, false), 200, &own),
                "private, no-store",
                "whatever the handler wrote"
            );
        }
    }

    #[test]
    fn a_listed_route_without_a_default_is_not_stored() {
        let listed = RequestFacts { listed: true, ..facts(Method::GET, None, false) };
        assert_eq!(decide_for(&listed, 200, &HeaderMap::new()), "no-store");
    }

    #[test]
    fn handlers_tighten_but_never_loosen() {
        let mut headers = HeaderMap::new();
        CachePolicy::isr(Duration::from_secs(10), MINUTE).tag("product:1").apply(&mut headers);
        let policy =
            decide(&facts(Method::GET, Some(isr()), false), StatusCode::OK, &headers, &not_found());
        assert_eq!(policy.to_string(), "public, max-age=0, s-maxage=10, stale-while-revalidate=60");
        assert_eq!(policy.tag_set().len(), 2, "tags are unioned: {policy:?}");

        let mut looser = HeaderMap::new();
        CachePolicy::static_content().apply(&mut looser);
        assert_eq!(
            decide_for(&facts(Method::GET, Some(isr()), false), 200, &looser),
            "public, max-age=0, s-maxage=300, stale-while-revalidate=3600"
        );
    }

    #[test]
    fn a_handler_policy_stands_alone_without_a_default() {
        let mut headers = HeaderMap::new();
        CachePolicy::public(MINUTE).apply(&mut headers);
        let listed = RequestFacts { listed: true, ..facts(Method::GET, None, false) };
        assert_eq!(decide_for(&listed, 200, &headers), "public, max-age=60");
    }

    #[test]
    fn not_found_is_cached_briefly_and_keeps_its_tags() {
        let policy = decide(
            &facts(Method::GET, Some(isr()), false),
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            &not_found(),
        );
        assert_eq!(policy.to_string(), "public, max-age=0, s-maxage=60");
        assert!(policy.tag_set().contains("posts"), "a purge of the tag reaches the 404 too");
        let gone = decide_for(&facts(Method::GET, Some(isr()), false), 410, &HeaderMap::new());
        assert_eq!(gone, "public, max-age=0, s-maxage=60");
    }

    #[test]
    fn errors_and_redirects_to_elsewhere_are_never_stored() {
        for status in [302, 303, 307, 400, 401, 403, 408, 429, 500, 502, 503, 504, 204] {
            let facts = facts(Method::GET, Some(isr()), false);
            assert_eq!(
                decide_for(&facts, status, &HeaderMap::new()),
                "no-store",
                "status {status}"
            );
        }
        for status in [200, 203, 301, 308, 304] {
            let facts = facts(Method::GET, Some(isr()), false);
            assert_ne!(
                decide_for(&facts, status, &HeaderMap::new()),
                "no-store",
                "status {status}"
            );
        }
    }

    #[test]
    fn set_cookie_is_never_shared() {
        let mut headers = HeaderMap::new();
        headers.insert(SET_COOKIE, HeaderValue::from_static("a=b"));
        assert_eq!(
            decide_for(&facts(Method::GET, Some(isr()), false), 200, &headers),
            "private, no-store"
        );
    }

    #[test]
    fn signed_in_visitors_get_private_no_store_except_on_assets() {
        let personal = facts(Method::GET, Some(CachePolicy::static_content()), true);
        assert_eq!(decide_for(&personal, 200, &HeaderMap::new()), "private, no-store");
        let browser_only = facts(Method::GET, Some(CachePolicy::private().max_age(MINUTE)), true);
        assert_eq!(decide_for(&browser_only, 200, &HeaderMap::new()), "private, no-store");
        let asset = RequestFacts {
            scope: Scope::Asset,
            ..facts(Method::GET, Some(CachePolicy::immutable()), true)
        };
        assert_eq!(
            decide_for(&asset, 200, &HeaderMap::new()),
            "public, max-age=31536000, immutable"
        );
    }

    /// The layer end to end over a tower service: headers replaced, tags gone
    /// when the result is not shared, `Vary` kept.
    #[tokio::test]
    async fn the_layer_writes_the_decision() {
        use tower::ServiceExt as _;

        let table = RouteTable::new()
            .route("/blog/{slug}", |r| isr().tag(format!("post:{}", r.param("slug"))));
        let layer = CachePolicyLayer::new(table).visitors(Visitors::new(|headers| {
            if headers.get(COOKIE).is_some_and(|c| c.as_bytes().starts_with(b"sid=")) {
                Visitor::Personal
            } else {
                Visitor::Anonymous
            }
        }));
        let service = layer.layer(tower::service_fn(|_request: Request<()>| async {
            let mut response = Response::new(());
            response.headers_mut().insert(VARY, HeaderValue::from_static("accept-encoding"));
            Ok::<_, Infallible>(response)
        }));

        let anonymous = Request::get("/blog/hello").body(()).expect("request");
        let response = service.clone().oneshot(anonymous).await.expect("infallible");
        assert_eq!(
            response.headers()[CACHE_CONTROL],
            "public, max-age=0, s-maxage=300, stale-while-revalidate=3600"
        );
        assert_eq!(response.headers()[SURROGATE_KEY], "post:hello posts");
        assert_eq!(response.headers()[VARY], "accept-encoding");

        let signed_in =
            Request::get("/blog/hello").header(COOKIE, "sid=1").body(()).expect("request");
        let response = service.clone().oneshot(signed_in).await.expect("infallible");
        assert_eq!(response.headers()[CACHE_CONTROL], "private, no-store");
        assert!(response.headers().get(SURROGATE_KEY).is_none());

        let unknown = Request::get("/elsewhere").body(()).expect("request");
        let response = service.oneshot(unknown).await.expect("infallible");
        assert_eq!(response.headers()[CACHE_CONTROL], "private, no-store");
    }

    /// Files and the not-found page, behind a fixed layer, keep its policy
    /// under a table layer that does not list them; other paths fail closed.
    #[tokio::test]
    async fn a_fixed_layer_inside_a_table_counts_as_listed() {
        use tower::ServiceExt as _;

        let inner = tower::service_fn(|request: Request<()>| async move {
            let mut response = Response::new(());
            if request.uri().path() == "/open" {
                // A handler that would like to be cached: not listed, so not.
                CachePolicy::static_content().apply(response.headers_mut());
            }
            Ok::<_, Infallible>(response)
        });
        let files = CachePolicyLayer::fixed(CachePolicy::public(MINUTE)).layer(inner);
        let table = CachePolicyLayer::new(RouteTable::new().route("/", |_| isr()));
        let through_files = table.layer(files);
        let response = through_files
            .clone()
            .oneshot(Request::get("/favicon.ico").body(()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=60");

        let plain = table.layer(inner);
        let response =
            plain.oneshot(Request::get("/open").body(()).expect("request")).await.expect("ok");
        assert_eq!(response.headers()[CACHE_CONTROL], "private, no-store");
    }

    #[tokio::test]
    async fn a_fixed_policy_covers_a_group_of_routes() {
        use tower::ServiceExt as _;

        let service =
            CachePolicyLayer::fixed(CachePolicy::public(MINUTE)).layer(tower::service_fn(
                |_request: Request<()>| async { Ok::<_, Infallible>(Response::new(())) },
            ));
        let response = service.oneshot(Request::get("/any").body(()).expect("request")).await;
        assert_eq!(response.expect("infallible").headers()[CACHE_CONTROL], "public, max-age=60");
    }
}
