//! The route table: every route of a site with its default cache policy, in
//! one place (Nuxt's `routeRules`), so a reader sees the whole site's caching
//! at a glance.
//!
//! Patterns use axum's syntax (`/blog/{slug}`, `/pkg/{*file}`), matched with
//! `matchit`, the router axum itself uses: a static segment beats a parameter,
//! which beats a catch-all, whatever the order of the entries. A policy is a
//! function of the match, so a tag can name the thing a URL shows
//! (`post:{slug}`), from a path parameter or, for data endpoints such as GET
//! server functions, from the query string.
//!
//! # Invariants
//!
//! - A path matches at most one entry (or the fallback): a request has exactly
//!   one default policy, never a guess between two.
//! - Parameters reach the policy percent-decoded, so `/blog/hello%2Disr` and
//!   `/blog/hello-isr` carry the same tag and one purge reaches both.
//! - Each route declares the query parameters its responses read
//!   ([`RouteTable::query`]); a route that declares none ignores the query.
//!   The ISR cache keys a page on those alone and renders it with those alone,
//!   so no stored page can depend on a parameter a client made up
//!   (`?x=1`, `?x=2`, … would otherwise each be a new entry and a new render).
//!   A path no route matches keeps no parameters.
//! - Each route says whether static generation writes its pages out
//!   ([`RouteTable::prerender`]); none does unless it says so, so a new route
//!   is never exported by accident (a signed-in page written to a static host
//!   would be served to everyone).
//! - The table only states defaults. What a response finally gets (merged with
//!   what the handler says, tightened for errors and signed-in visitors) is
//!   decided by [`crate::CachePolicyLayer`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::CachePolicy;

/// The function that gives a route's policy for one request.
type PolicyFn = Arc<dyn Fn(&RouteMatch<'_>) -> CachePolicy + Send + Sync>;

/// Who a route's responses are the same for, which decides whether the
/// signed-in rule applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Rendered per request (pages, data functions, API routes): a request from
    /// a signed-in visitor, or with `Authorization`, is answered `private,
    /// no-store` whatever the table says.
    Dynamic,
    /// Bytes that are identical for every visitor and cannot depend on who
    /// asks (content-hashed bundles): cacheable even when the request carries
    /// a session cookie, which browsers send with every same-origin request.
    Asset,
}

#[derive(Clone)]
struct Entry {
    pattern: Arc<str>,
    scope: Scope,
    policy: PolicyFn,
    /// The query parameters the route reads, sorted.
    query: Arc<[Box<str>]>,
    /// Whether static generation writes its pages out.
    prerender: bool,
}

/// Every route with its default [`CachePolicy`]. Build it once at start-up.
#[derive(Clone, Default)]
pub struct RouteTable {
    router: matchit::Router<usize>,
    entries: Vec<Entry>,
    fallback: Option<Entry>,
}

impl fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteTable")
            .field("patterns", &self.entries.iter().map(|e| &*e.pattern).collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

/// The table's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The default policy.
    pub policy: CachePolicy,
    /// Whether the signed-in rule applies.
    pub scope: Scope,
    /// The pattern that matched (`None` for the fallback).
    pub pattern: Option<Arc<str>>,
}

impl RouteTable {
    /// An empty table: every path is unmatched (and so `no-store`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route rendered per request ([`Scope::Dynamic`]).
    ///
    /// # Panics
    ///
    /// If `pattern` is not a valid axum pattern or conflicts with an earlier
    /// one: the table is built once at start-up, and a wrong table must stop
    /// the server there, not cache the wrong thing later.
    #[must_use]
    pub fn route(
        self,
        pattern: &str,
        policy: impl Fn(&RouteMatch<'_>) -> CachePolicy + Send + Sync + 'static,
    ) -> Self {
        self.insert(pattern, Scope::Dynamic, Arc::new(policy))
    }

    /// Adds a route of static assets that are the same for everyone ([`Scope::Asset`]).
    ///
    /// # Panics
    ///
    /// As [`route`](Self::route).
    #[must_use]
    pub fn assets(
        self,
        pattern: &str,
        policy: impl Fn(&RouteMatch<'_>) -> CachePolicy + Send + Sync + 'static,
    ) -> Self {
        self.insert(pattern, Scope::Asset, Arc::new(policy))
    }

    /// The policy of every path no pattern matches (static files, unknown
    /// paths). Without one, such paths get no default and so `no-store`.
    #[must_use]
    pub fn fallback(
        mut self,
        policy: impl Fn(&RouteMatch<'_>) -> CachePolicy + Send + Sync + 'static,
    ) -> Self {
        self.fallback = Some(Entry {
            pattern: Arc::from("*"),
            scope: Scope::Dynamic,
            policy: Arc::new(policy),
            query: Arc::from([]),
            prerender: false,
        });
        self
    }

    /// Declares the query parameters the route added last reads (`page` of
    /// `/blog?page=2`, the arguments of a GET data endpoint). Every other
    /// parameter is left out of its cache key and of the requests that
    /// render it for a shared cache.
    ///
    /// # Panics
    ///
    /// If no route was added yet: like a conflicting pattern, a table that
    /// cannot mean what it says stops the server at start-up.
    #[must_use]
    pub fn query<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let Some(entry) = self.entries.last_mut() else {
            panic!("cache route table: query parameters declared before any route");
        };
        let mut names: Vec<Box<str>> =
            names.into_iter().map(|name| name.into().into_boxed_str()).collect();
        names.sort();
        names.dedup();
        entry.query = Arc::from(names);
        self
    }

    /// Marks the route added last as prerendered: static generation writes
    /// its pages out (the path itself for a route without parameters; for
    /// one with, the paths its site lists and the links its pages follow).
    /// Only for pages the same for every visitor: never a signed-in one.
    ///
    /// # Panics
    ///
    /// If no route was added yet, as [`query`](Self::query).
    #[must_use]
    pub fn prerender(mut self) -> Self {
        let Some(entry) = self.entries.last_mut() else {
            panic!("cache route table: prerender declared before any route");
        };
        entry.prerender = true;
        self
    }

    /// Whether static generation writes out the page at `path`: its route
    /// says so ([`prerender`](Self::prerender)). A path no route matches is
    /// never prerendered.
    pub fn is_prerendered(&self, path: &str) -> bool {
        self.router.at(path).is_ok_and(|found| self.entries[*found.value].prerender)
    }

    /// The patterns of the prerendered routes, in the order they were added.
    pub fn prerendered(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter(|entry| entry.prerender).map(|entry| &*entry.pattern)
    }

    /// The query parameters the route of `path` reads (sorted), and none for a
    /// path no route matches.
    pub fn declared_query(&self, path: &str) -> &[Box<str>] {
        self.router.at(path).map_or(&[], |found| &self.entries[*found.value].query)
    }

    fn insert(mut self, pattern: &str, scope: Scope, policy: PolicyFn) -> Self {
        if let Err(error) = self.router.insert(pattern, self.entries.len()) {
            panic!("cache route table: cannot add {pattern:?}: {error}");
        }
        self.entries.push(Entry {
            pattern: Arc::from(pattern),
            scope,
            policy,
            query: Arc::from([]),
            prerender: false,
        });
        self
    }

    /// The patterns in the table, in the order they were added.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| &*entry.pattern)
    }

    /// The default policy for a request to `path` with the (raw) `query`, or
    /// `None` when neither a pattern nor a fallback matches.
    pub fn resolve(&self, path: &str, query: Option<&str>) -> Option<Resolved> {
        let (entry, params, pattern) = match self.router.at(path) {
            Ok(found) => {
                let entry = &self.entries[*found.value];
                let params = found.params.iter().map(|(k, v)| (k, decode(v))).collect();
                (entry, params, Some(entry.pattern.clone()))
            }
            Err(_) => (self.fallback.as_ref()?, Vec::new(), None),
        };
        let query = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).collect::<Vec<_>>())
            .unwrap_or_default();
        let route = RouteMatch { path, params, query };
        Some(Resolved { policy: (entry.policy)(&route), scope: entry.scope, pattern })
    }
}

/// What a policy function knows about the request: the path, its parameters
/// and its query, all percent-decoded.
#[derive(Debug)]
pub struct RouteMatch<'a> {
    path: &'a str,
    params: Vec<(&'a str, Cow<'a, str>)>,
    query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl RouteMatch<'_> {
    /// The request path as sent (not decoded).
    pub fn path(&self) -> &str {
        self.path
    }

    /// A path parameter of the pattern (`slug` in `/blog/{slug}`); empty if the
    /// pattern has none of that name.
    pub fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(key, _)| *key == name).map_or("", |(_, value)| value)
    }

    /// The first value of a query parameter, if present.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| &**value)
    }

    /// Every query parameter, in order, decoded: for policies that read the
    /// query as a whole (a server function's typed arguments).
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(key, value)| (&**key, &**value))
    }
}

fn decode(raw: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn table() -> RouteTable {
        RouteTable::new()
            .route("/", |_| CachePolicy::static_content().tag("home"))
            .route("/blog/{slug}", |r| {
                CachePolicy::isr(Duration::from_secs(60), Duration::from_secs(600))
                    .tag(format!("post:{}", r.param("slug")))
            })
            .route("/blog/new", |_| CachePolicy::no_store())
            .route("/api/get_post", |r| {
                CachePolicy::frequent().tags(r.query("slug").map(|slug| format!("post:{slug}")))
            })
            .query(["slug", "lang", "slug"])
            .assets("/pkg/{*file}", |_| CachePolicy::immutable())
    }

    fn tags(resolved: &Resolved) -> Vec<&str> {
        resolved.policy.tag_set().iter().map(String::as_str).collect()
    }

    #[test]
    fn static_segments_beat_parameters_whatever_the_order() {
        let table = table();
        let new = table.resolve("/blog/new", None).expect("match");
        assert_eq!(new.policy, CachePolicy::no_store());
        assert_eq!(new.pattern.as_deref(), Some("/blog/new"));
        let post = table.resolve("/blog/hello", None).expect("match");
        assert_eq!(tags(&post), ["post:hello"]);
        assert_eq!(post.pattern.as_deref(), Some("/blog/{slug}"));
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let resolved = table().resolve("/blog/hello%2Disr", None).expect("match");
        assert_eq!(tags(&resolved), ["post:hello-isr"]);
    }

    #[test]
    fn query_parameters_reach_the_policy() {
        let resolved = table().resolve("/api/get_post", Some("slug=a%2Db&x=1")).expect("match");
        assert_eq!(tags(&resolved), ["post:a-b"]);
        let missing = table().resolve("/api/get_post", None).expect("match");
        assert!(tags(&missing).is_empty(), "{missing:?}");
    }

    #[test]
    fn scopes_and_unmatched_paths() {
        let table = table();
        assert_eq!(table.resolve("/pkg/app.abc.wasm", None).map(|r| r.scope), Some(Scope::Asset));
        assert_eq!(table.resolve("/", None).map(|r| r.scope), Some(Scope::Dynamic));
        assert_eq!(table.resolve("/nowhere", None), None);
        let with_fallback = table.fallback(|_| CachePolicy::public(Duration::from_secs(60)));
        let resolved = with_fallback.resolve("/nowhere", None).expect("fallback");
        assert_eq!(resolved.policy, CachePolicy::public(Duration::from_secs(60)));
        assert_eq!(resolved.pattern, None);
    }

    #[test]
    fn routes_declare_the_query_they_read() {
        let table = table();
        let declared: Vec<&str> =
            table.declared_query("/api/get_post").iter().map(|n| &**n).collect();
        assert_eq!(declared, ["lang", "slug"], "sorted, once each");
        assert!(table.declared_query("/blog/hello").is_empty(), "none declared: none kept");
        assert!(table.declared_query("/nowhere").is_empty(), "unmatched: none kept");
    }

    #[test]
    fn only_routes_that_say_so_are_prerendered() {
        let table = RouteTable::new()
            .route("/", |_| CachePolicy::static_content())
            .prerender()
            .route("/blog/{slug}", |_| CachePolicy::static_content())
            .prerender()
            .route("/dashboard", |_| CachePolicy::private());
        assert!(table.is_prerendered("/"));
        assert!(table.is_prerendered("/blog/hello"));
        assert!(!table.is_prerendered("/dashboard"), "not said: not exported");
        assert!(!table.is_prerendered("/nowhere"), "unmatched: never");
        assert_eq!(table.prerendered().collect::<Vec<_>>(), ["/", "/blog/{slug}"]);
    }

    #[test]
    #[should_panic(expected = "before any route")]
    fn query_parameters_need_a_route() {
        let _ = RouteTable::new().query(["page"]);
    }

    #[test]
    fn patterns_are_listed_in_order() {
        let patterns: Vec<_> = table().patterns().map(str::to_owned).collect();
        assert_eq!(patterns, ["/", "/blog/{slug}", "/blog/new", "/api/get_post", "/pkg/{*file}"]);
    }

    #[test]
    #[should_panic(expected = "cannot add")]
    fn conflicting_patterns_stop_start_up() {
        let _ = RouteTable::new()
            .route("/blog/{slug}", |_| CachePolicy::no_store())
            .route("/blog/{id}", |_| CachePolicy::no_store());
    }
}
