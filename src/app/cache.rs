//! How the site is cached: what every feature shares.
//!
//! Each feature declares its own caching next to its pages, in its
//! `cache.rs`: its tags (`blog::tags::post(slug)`), its pages' and GET data
//! functions' default policies, and how long browsers keep its data
//! ([`ClientCache`]). [`route_table`] composes those declarations with the
//! operational routes into the one [`isr_cache::RouteTable`] the server's
//! layers read; `docs/CACHING.md` prints the whole table.
//!
//! Code that loads data can only make its response *more* restrictive, with
//! [`tighten`]: the product page does when stock runs low. The server's
//! `CachePolicyLayer` (see `server::router`) merges the table's default with
//! what loaders asked for (the smallest TTLs win, `private` and `no-store`
//! dominate, tags are unioned), then applies the rules no route can override:
//! signed-in visitors get `private, no-store`, a response that sets a cookie is
//! never shared, 404s are cached briefly, errors never. A path the table does
//! not list is answered `private, no-store` and logged.
//!
//! Query parameters: each route declares the ones it reads (`.query([..])`),
//! and a GET data function's are its arguments ([`DataFunctions::data`]);
//! parameters a route does not declare are left out of the built-in cache's
//! keys and of the renders it stores.
//!
//! `stale-if-error` is how long after a page *expires* a shared cache may
//! still serve it when the origin fails (RFC 5861 §4), counted from the same
//! moment as `stale-while-revalidate`, so it only helps when it is longer.
//! The demo's public pages use their SWR window plus a day (a week for the
//! home and landing pages, which change rarely and matter most): once the SWR
//! window has passed, an outage still serves the last good page that much
//! longer, in the built-in cache and in Varnish alike
//! (`deploy/varnish/default.vcl`).

use std::time::Duration;

use isr_cache::CachePolicy;

/// A minute, an hour, a day: the units of every policy.
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(60 * 60);
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// `n` minutes, for constants (`5 * MINUTE` is not const).
pub const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// The client tier: how long the browser keeps a page's data (its queries,
/// see [`crate::app::query`]) before it asks again.
///
/// Each feature picks its own (`blog::cache::CLIENT`), together with its
/// shared tiers:
///
/// - `stale` is how long navigating back to a page reuses its data with no
///   request at all. After it, the page shows the data it has at once and
///   refetches in the background (stale-while-revalidate, in the browser).
///   Shorter than the page's `s-maxage`: the shared caches are purged when
///   data changes, the browsers of other visitors are not (each feature's
///   tests check it with [`assert_client_fits`]).
/// - `gc` is how long data no page shows stays in memory.
///
/// `CLIENT_CACHE_MAX_SECS` caps them all (see [`ClientCache::capped`]) so
/// that tests need not wait minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCache {
    /// Data younger than this is used without asking the server.
    pub stale: Duration,
    /// Data no page has used for this long is dropped.
    pub gc: Duration,
}

impl ClientCache {
    /// Keeps data `stale` before asking again, and unused data `gc`.
    pub const fn new(stale: Duration, gc: Duration) -> Self {
        Self { stale, gc }
    }

    /// These times, each at most `max` (stale) or `4 × max` (gc): a cap such
    /// as 3 s lets a test see data go stale, then be dropped, in seconds.
    pub fn capped(self, max: Option<Duration>) -> Self {
        match max {
            Some(max) => Self { stale: self.stale.min(max), gc: self.gc.min(max * 4) },
            None => self,
        }
    }
}

/// Tightens the cache policy of the response being produced: merged, most
/// restrictive first, with what other loaders of the same response asked for
/// and, in the server's `CachePolicyLayer`, with the route's default.
///
/// Call it from a server function: it works both when the function runs
/// inside a page render (the page must use `SsrMode::Async`, or the headers
/// are sent before the data loads; leptos issue #3147) and when the browser
/// calls it over HTTP. In the browser it does nothing.
pub fn tighten(policy: CachePolicy) {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        let mut parts = response.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let merged = match CachePolicy::from_headers(&parts.headers) {
            Some(current) => current.merge(policy),
            None => policy,
        };
        merged.apply(&mut parts.headers);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = policy;
}

/// The JS, wasm and CSS bundle under `/pkg`, the same bytes for everyone.
/// `hashed` says whether its file names carry a content hash (cargo-leptos
/// `hash-files`, `LEPTOS_HASH_FILES`): only then may they be cached forever.
pub fn bundle(hashed: bool) -> CachePolicy {
    if hashed {
        CachePolicy::immutable()
    } else {
        // Same name, new bytes after every build: browsers must ask again.
        CachePolicy::public(Duration::ZERO).must_revalidate()
    }
}

/// Files from `public/` (favicon, robots.txt) and the not-found page of
/// paths no route matches: they are served by the router's fallback, under a
/// fixed policy of their own (`server::router`), not from this table.
pub fn files() -> CachePolicy {
    CachePolicy::public(HOUR)
}

/// Every route of the site with its default policy: each feature's own
/// declarations (see [`super::FEATURES`]), then the operational routes,
/// which belong to no feature.
///
/// A path the table does not list is answered `private, no-store` (and
/// logged): forgetting a route costs renders, never a page stored for all.
/// `every_route_and_server_function_is_in_the_table` (below) fails first.
#[cfg(feature = "ssr")]
pub fn route_table() -> isr_cache::RouteTable {
    super::FEATURES
        .iter()
        .fold(isr_cache::RouteTable::new(), |table, feature| (feature.cache)(table))
        // Operations: purges from outside, Prometheus (see `server::cache`).
        .route("/api/revalidate", |_| CachePolicy::no_store())
        .route("/metrics", |_| CachePolicy::no_store())
        .route("/healthz/live", |_| CachePolicy::no_store())
        .route("/healthz/ready", |_| CachePolicy::no_store())
}

/// GET server functions in the route table, keyed by the function itself.
#[cfg(feature = "ssr")]
pub trait DataFunctions {
    /// Adds the GET server function `F` (the struct `#[server]` generates:
    /// `GetPost` for `get_post`) at its own `F::PATH`, its arguments declared
    /// as the query parameters it reads, and its policy a function of those
    /// arguments, parsed as the function itself parses them. Renaming an
    /// argument or the endpoint cannot leave a stale string behind.
    ///
    /// Arguments that do not parse get `no-store`: the function answers them
    /// with a 400, which no cache keeps anyway.
    #[must_use]
    fn data<F>(self, policy: impl Fn(&F) -> CachePolicy + Send + Sync + 'static) -> Self
    where
        F: server_fn::ServerFn + serde::de::DeserializeOwned + 'static;

    /// Adds the server function `F` that writes (a POST): `no-store`, which
    /// the layer would enforce for a POST anyway; listed so that the table
    /// names every route.
    #[must_use]
    fn write<F: server_fn::ServerFn>(self) -> Self;
}

#[cfg(feature = "ssr")]
impl DataFunctions for isr_cache::RouteTable {
    fn data<F>(self, policy: impl Fn(&F) -> CachePolicy + Send + Sync + 'static) -> Self
    where
        F: server_fn::ServerFn + serde::de::DeserializeOwned + 'static,
    {
        self.route(F::PATH, move |route| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.extend_pairs(route.query_pairs());
            match serde_qs::from_str::<F>(&query.finish()) {
                Ok(arguments) => policy(&arguments),
                Err(_) => CachePolicy::no_store(),
            }
        })
        .query(serde_aux::serde_introspection::serde_introspect::<F>().iter().copied())
    }

    fn write<F: server_fn::ServerFn>(self) -> Self {
        self.route(F::PATH, |_| CachePolicy::no_store())
    }
}

/// A feature's client tier fits inside its shared one: the browser never
/// holds data longer than the shared caches hold the page it belongs to
/// (they are purged on writes, browsers are not), and keeps unused data at
/// least as long as it counts as fresh. For each feature's tests.
#[cfg(feature = "ssr")]
pub fn assert_client_fits(keep: ClientCache, policy: &CachePolicy) {
    let shared = policy.shared_ttl().expect("public pages have a shared TTL");
    assert!(keep.stale <= shared, "{keep:?} outlives {policy}");
    assert!(keep.stale <= keep.gc, "{keep:?}");
}

/// The default policy and tags of `path?query`, for tests.
#[cfg(feature = "ssr")]
pub fn resolved(path: &str, query: Option<&str>) -> (String, Vec<String>) {
    let resolved = route_table().resolve(path, query).expect("every path resolves");
    (resolved.policy.to_string(), resolved.policy.tag_set().iter().cloned().collect())
}

/// One request per entry of the route table, with what it resolves to: for
/// the generated table in `docs/CACHING.md` and for tests that check every
/// route (`server::cache` checks every tag can be purged).
#[cfg(feature = "ssr")]
pub struct RouteSample {
    /// The pattern and its declared query, `{name}` for each parameter.
    pub route: String,
    /// Its default policy.
    pub policy: CachePolicy,
    /// Its tags, with `{name}` for the parameter a tag names.
    pub tags: Vec<String>,
}

/// A [`RouteSample`] of each entry, in the table's order. Each parameter gets
/// a sample value that a tag may carry and a typed argument parses
/// (`x-slug-x`, `7`), written back as `{slug}`, `{id}` in the tags.
#[cfg(feature = "ssr")]
pub fn route_samples() -> Vec<RouteSample> {
    let table = route_table();
    let sample = |name: &str| match name {
        "id" => "7".to_owned(),
        "page" | "per_page" => "1".to_owned(),
        other => format!("x-{other}-x"),
    };
    let unsample = |tag: &str| {
        let tag = tag.replace(":7", ":{id}");
        match (tag.find("x-"), tag.rfind("-x")) {
            (Some(a), Some(b)) if a < b => format!("{}{{{}}}", &tag[..a], &tag[a + 2..b]),
            _ => tag,
        }
    };
    table
        .patterns()
        .map(|pattern| {
            let path = pattern.replace("{*", "{");
            let declared = table.declared_query(&path);
            let names = declared.iter().map(|name| format!("{name}={{{name}}}"));
            let names = names.collect::<Vec<_>>().join("&");
            let route = if names.is_empty() { path.clone() } else { format!("{path}?{names}") };
            let query = declared.iter().map(|name| format!("{name}={}", sample(name)));
            let query = query.collect::<Vec<_>>().join("&");
            let mut sample_path = path.clone();
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                sample_path =
                    sample_path.replace(segment, &sample(segment.trim_matches(['{', '}'])));
            }
            let resolved = table
                .resolve(&sample_path, (!query.is_empty()).then_some(&*query))
                .expect("every pattern resolves");
            let tags = resolved.policy.tag_set().iter().map(|tag| unsample(tag)).collect();
            RouteSample { route, policy: resolved.policy, tags }
        })
        .collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// Every page of `<App/>` and every server function has its own entry: a
    /// route added without one fails here instead of falling back silently.
    #[test]
    fn every_route_and_server_function_is_in_the_table() {
        let table = route_table();
        let pages = crate::app::route_list().into_iter().map(|route| route.path().to_owned());
        let functions = server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned());
        for path in pages.chain(functions) {
            let resolved = table.resolve(&path, None);
            assert!(
                resolved.as_ref().is_some_and(|r| r.pattern.as_deref() == Some(&*path)),
                "{path} has no entry of its own in its feature's cache::routes ({resolved:?})"
            );
        }
    }

    /// Static generation writes out the public pages, never the signed-in
    /// area, search or data endpoints; and only pages every visitor shares:
    /// a page on a static host is served to everyone.
    #[test]
    fn public_pages_are_prerendered_and_no_other() {
        let table = route_table();
        for path in ["/", "/blog", "/blog/x", "/products", "/products/7", "/landing/x"] {
            assert!(table.is_prerendered(path), "{path} is prerendered");
        }
        for path in ["/dashboard", "/dashboard/posts/x", "/login", "/search", "/api/blog/get_post"]
        {
            assert!(!table.is_prerendered(path), "{path} is never prerendered");
        }
        for sample in route_samples() {
            let path = sample.route.split('?').next().unwrap_or_default().replace(['{', '}'], "");
            if table.is_prerendered(&path) {
                assert!(
                    sample.policy.is_shared(),
                    "{} is prerendered but {}",
                    sample.route,
                    sample.policy
                );
            }
        }
    }

    /// Headers a loader sets reach the page only when the response head waits
    /// for the data (leptos issue #3147), and `SsrMode::Static` routes send
    /// their headers once: every page must render with `SsrMode::Async`.
    /// (`tests/http/caching.rs` shows a loader's policy reaching the page.)
    #[test]
    fn every_page_waits_for_its_data_before_sending_headers() {
        for route in crate::app::route_list() {
            assert!(
                matches!(route.mode(), leptos_router::SsrMode::Async),
                "{} must use SsrMode::Async, or policies set while loading are lost",
                route.path()
            );
        }
    }

    /// A data function's declared parameters are its arguments, and its
    /// policy sees them typed.
    #[test]
    fn data_functions_read_their_arguments_as_typed() {
        let table = route_table();
        let declared = |path: &str| -> Vec<String> {
            table.declared_query(path).iter().map(|name| name.to_string()).collect()
        };
        // The dashboard's own data function has no arguments; the features'
        // tests check theirs (e.g. `blog::cache`).
        assert!(declared("/api/dashboard/get_dashboard").is_empty());
    }

    #[test]
    fn the_cap_shortens_client_times_and_keeps_gc_after_stale() {
        let posts = ClientCache::new(5 * MINUTE, 30 * MINUTE);
        let capped = posts.capped(Some(Duration::from_secs(3)));
        assert_eq!(capped, ClientCache::new(Duration::from_secs(3), Duration::from_secs(12)));
        assert_eq!(posts.capped(None), posts);
        // A cap above a time leaves it alone.
        assert_eq!(posts.capped(Some(DAY)), posts);
    }

    #[test]
    fn bundles_are_immutable_only_when_hashed() {
        assert_eq!(bundle(true).to_string(), "public, max-age=31536000, immutable");
        assert_eq!(bundle(false).to_string(), "public, max-age=0, must-revalidate");
    }

    /// `docs/CACHING.md`'s route table is generated from [`route_table`]:
    /// the one copy of it people read cannot drift from the one the server
    /// runs. On a difference this fails and prints the table; run
    /// `UPDATE_DOCS=1 cargo test --features ssr --lib route_table_doc` to
    /// write it.
    #[test]
    fn route_table_doc_is_current() {
        const START: &str = "<!-- route-table: generated by app::cache::tests, do not edit -->\n";
        const END: &str = "<!-- route-table end -->";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CACHING.md");
        let doc = std::fs::read_to_string(&path).expect("docs/CACHING.md");
        let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
            panic!("docs/CACHING.md has no route table markers");
        };
        let current = &doc[start + START.len()..end];
        let generated = route_table_markdown();
        if current == generated {
            return;
        }
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{generated}{}", &doc[..start + START.len()], &doc[end..]);
            std::fs::write(&path, updated).expect("docs/CACHING.md written");
            return;
        }
        panic!("docs/CACHING.md's route table is out of date; it should read:\n{generated}");
    }

    /// One row per entry of the route table.
    fn route_table_markdown() -> String {
        let table = route_table();
        let mut rows =
            String::from("| route | default policy | tags | prerendered |\n|---|---|---|---|\n");
        for sample in route_samples() {
            let tags = sample.tags.join(" ");
            let pattern = sample.route.split('?').next().unwrap_or_default();
            let prerendered = table.prerendered().any(|p| p.replace("{*", "{") == pattern);
            let prerendered = if prerendered { "yes" } else { "" };
            rows.push_str(&format!(
                "| `{}` | `{}` | {tags} | {prerendered} |\n",
                sample.route, sample.policy
            ));
        }
        rows
    }
}
