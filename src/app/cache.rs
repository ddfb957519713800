//! How every route of the site is cached, in one place.
//!
//! [`route_table`] lists every route (pages, the GET server functions that
//! load their data, the JSON API, static files) with its default
//! [`CachePolicy`]. The policies are named functions below, so a page and its
//! data function share one definition: client-side navigation fetches data a
//! CDN can cache exactly as long as the page.
//!
//! Code that loads data can only make its response *more* restrictive, with
//! [`tighten`]: the product page does when stock runs low. The server's
//! `CachePolicyLayer` (see `server::router`) merges the table's default with
//! what loaders asked for (the smallest TTLs win, `private` and `no-store`
//! dominate, tags are unioned), then applies the rules no route can override:
//! signed-in visitors get `private, no-store`, a response that sets a cookie is
//! never shared, 404s are cached briefly, errors never.
//!
//! | route | default | stale-if-error | tags |
//! |---|---|---|---|
//! | `/` | `s-maxage=86400, swr=604800` | 14 days | `home posts products` |
//! | `/landing/{campaign}` | `s-maxage=86400, swr=604800` | 14 days | `campaign:{c}` |
//! | `/blog` | `s-maxage=300, swr=3600` | 1 day 1 h | `posts` |
//! | `/blog/{slug}` | `s-maxage=3600, swr=604800` | 8 days | `post:{slug}` |
//! | `/products` | `s-maxage=60, swr=600` | 1 day 10 min | `products` |
//! | `/products/{id}` | `max-age=300, s-maxage=300, swr=3600` (low stock: `s-maxage=10, swr=60`) | 1 day 1 h (low stock: 1 day 1 min) | `product:{id}` |
//! | `/search?q=` | `max-age=300`, `Vary: Accept-Encoding` | 1 day | `search` |
//! | `/dashboard`, its editor and their data | `private, no-store` | | |
//! | `/login`, `POST /api/auth/*` | `no-store` | | |
//! | `GET /api/posts` | `s-maxage=300, swr=3600` | 1 day 1 h | `posts` |
//! | `GET /api/products/{id}` | `max-age=300, swr=600`, `CDN-Cache-Control: max-age=3600` | 1 day 10 min | `product:{id}` |
//! | `/pkg/*` | `max-age=31536000, immutable` (when file names are hashed) | | |
//! | other files, the not-found page | `max-age=3600` (404s: `s-maxage=60`) | | |
//! | anything else (a route missing here) | `private, no-store`, and a warning | | |
//!
//! Query parameters: `/blog` and `/products` read `page`, `/search` reads
//! `q`; the GET data functions read their arguments; every other page reads
//! none. Parameters a route does not declare are left out of the built-in
//! cache's keys and of the renders it stores.
//!
//! `stale-if-error` is how long after a page *expires* a shared cache may
//! still serve it when the origin fails (RFC 5861 §4), counted from the same
//! moment as `stale-while-revalidate`, so it only helps when it is longer.
//! Each public page's is its SWR window plus a day (a week for the home and
//! landing pages, which change rarely and matter most): once the SWR window
//! has passed, an outage still serves the last good page that much longer,
//! in the built-in cache and in Varnish alike (`deploy/varnish/default.vcl`).

use std::time::Duration;

use isr_cache::CachePolicy;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The home page: marketing copy that changes rarely, plus the latest posts
/// and products, so edits to either purge it too.
pub fn home() -> CachePolicy {
    // A week past its week of stale-while-revalidate (see the module docs).
    CachePolicy::static_content().stale_if_error(14 * DAY).tags(["home", "posts", "products"])
}

/// A campaign's landing page.
pub fn campaign(slug: &str) -> CachePolicy {
    CachePolicy::static_content().stale_if_error(14 * DAY).tags(named("campaign", slug))
}

/// Lists of posts (the blog index, `GET /api/posts`): new posts should appear
/// within minutes even without a purge.
pub fn posts() -> CachePolicy {
    CachePolicy::isr(5 * MINUTE, HOUR).stale_if_error(HOUR + DAY).tag("posts")
}

/// One post: edits purge it, so it can stay an hour fresh and a week stale.
pub fn post(slug: &str) -> CachePolicy {
    CachePolicy::isr(HOUR, 7 * DAY).stale_if_error(8 * DAY).tags(named("post", slug))
}

/// The catalogue: prices and stock change often.
pub fn products() -> CachePolicy {
    // `frequent()`: ten minutes of stale-while-revalidate.
    CachePolicy::frequent().stale_if_error(10 * MINUTE + DAY).tag("products")
}

/// One product page: browsers may keep it five minutes too.
pub fn product(id: &str) -> CachePolicy {
    CachePolicy::isr(5 * MINUTE, HOUR)
        .max_age(5 * MINUTE)
        .stale_if_error(HOUR + DAY)
        .tags(product_tag(id))
}

/// What a product page tightens to when only a few are left: the count a
/// shopper sees must stay close to the truth, even where no purge reaches.
pub fn low_stock() -> CachePolicy {
    // With its own stale-if-error: a merge keeps one only when both sides have it.
    CachePolicy::isr(Duration::from_secs(10), MINUTE).stale_if_error(MINUTE + DAY)
}

/// `GET /api/products/{id}`: API clients may keep it five minutes; a CDN,
/// which the site purges by tag, an hour.
pub fn product_api(id: &str) -> CachePolicy {
    CachePolicy::public(5 * MINUTE)
        .stale_while_revalidate(10 * MINUTE)
        .stale_if_error(10 * MINUTE + DAY)
        .cdn_max_age(HOUR)
        .tags(product_tag(id))
}

/// Search results: any query may be asked, so no shared TTL beyond the
/// browser's; the purge tag still reaches caches that keep them.
pub fn search() -> CachePolicy {
    CachePolicy::public(5 * MINUTE)
        .stale_if_error(DAY)
        .vary(http::header::ACCEPT_ENCODING)
        .tag("search")
}

/// The client tier: how long the browser keeps a page's data (leptos-fetch
/// queries, see [`crate::app::query`]) before it asks again.
///
/// Chosen together with the shared tiers above:
///
/// - `stale` is how long navigating back to a page reuses its data with no
///   request at all. After it, the page shows the data it has at once and
///   refetches in the background (stale-while-revalidate, in the browser).
///   Shorter than the page's `s-maxage`: the shared caches are purged when
///   data changes, the browsers of other visitors are not.
/// - `gc` is how long data no page shows stays in memory.
///
/// | data | stale | gc | shared tier |
/// |---|---|---|---|
/// | home, landing pages | 1 h | 2 h | `s-maxage=86400` |
/// | blog index, posts, search | 5 min | 30 min | `s-maxage=300` / `3600`, `max-age=300` |
/// | products | 30 s | 10 min | `s-maxage=60` / `300` |
/// | dashboard, editor (private) | 30 s | 5 min | `private, no-store` |
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
    /// Marketing and landing pages: rewritten by hand, rarely.
    pub const LANDING: Self = Self { stale: HOUR, gc: Duration::from_secs(2 * 60 * 60) };
    /// Posts and lists of posts (and search results, which show posts).
    pub const POSTS: Self =
        Self { stale: Duration::from_secs(5 * 60), gc: Duration::from_secs(30 * 60) };
    /// Products: prices and stock change often.
    pub const PRODUCTS: Self =
        Self { stale: Duration::from_secs(30), gc: Duration::from_secs(10 * 60) };
    /// The signed-in area: the visitor's own orders, the admin's editor.
    pub const DASHBOARD: Self =
        Self { stale: Duration::from_secs(30), gc: Duration::from_secs(5 * 60) };

    /// These times, each at most `max` (stale) or `4 × max` (gc): a cap such
    /// as 3 s lets a test see data go stale, then be dropped, in seconds.
    pub fn capped(self, max: Option<Duration>) -> Self {
        match max {
            Some(max) => Self { stale: self.stale.min(max), gc: self.gc.min(max * 4) },
            None => self,
        }
    }
}

/// `tag:name`, or nothing when `name` is empty (no URL names nothing).
fn named(tag: &str, name: &str) -> Option<String> {
    (!name.is_empty()).then(|| format!("{tag}:{name}"))
}

/// `product:{id}` for a well-formed id, in its canonical form (`007` → `7`),
/// so the tag a purge uses always matches.
fn product_tag(id: &str) -> Option<String> {
    id.parse::<i64>().ok().map(|id| format!("product:{id}"))
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

/// Every route of the site with its default policy, and the query
/// parameters each reads (`.query([..])`): every other parameter is left out
/// of the built-in cache's keys and of the renders it stores, so `?x=1`,
/// `?x=2`, … are one page and one render. A route that declares none
/// ignores the query. GET data functions declare their arguments.
///
/// A path the table does not list is answered `private, no-store` (and
/// logged): forgetting a route costs renders, never a page stored for all.
#[cfg(feature = "ssr")]
pub fn route_table() -> isr_cache::RouteTable {
    isr_cache::RouteTable::new()
        // Pages.
        .route("/", |_| home())
        .route("/landing/{campaign}", |r| campaign(r.param("campaign")))
        .route("/blog", |_| posts())
        .query(["page"])
        .route("/blog/{slug}", |r| post(r.param("slug")))
        .route("/products", |_| products())
        .query(["page"])
        .route("/products/{id}", |r| product(r.param("id")))
        .route("/search", |_| search())
        .query(["q"])
        .route("/login", |_| CachePolicy::no_store())
        .route("/dashboard", |_| CachePolicy::private())
        .route("/dashboard/posts/{slug}", |_| CachePolicy::private())
        .route("/dashboard/products/{id}", |_| CachePolicy::private())
        // The GET server functions that load each page's data: the page's
        // policy, and their arguments as declared query parameters.
        .route("/api/home/get_home", |_| home())
        .route("/api/landing/get_campaign", |r| campaign(r.query("slug").unwrap_or_default()))
        .query(["slug"])
        .route("/api/blog/list_posts", |_| posts())
        .query(["page"])
        .route("/api/blog/get_post", |r| post(r.query("slug").unwrap_or_default()))
        .query(["slug"])
        .route("/api/shop/list_products", |_| products())
        .query(["page"])
        .route("/api/shop/get_product", |r| product(r.query("id").unwrap_or_default()))
        .query(["id"])
        .route("/api/search/search", |_| search())
        .query(["q"])
        .route("/api/dashboard/get_dashboard", |_| CachePolicy::private())
        .route("/api/dashboard/get_post_for_edit", |_| CachePolicy::private())
        .query(["slug"])
        .route("/api/dashboard/get_product_for_edit", |_| CachePolicy::private())
        .query(["id"])
        .route("/api/dashboard/update_post", |_| CachePolicy::no_store())
        .route("/api/dashboard/purge_cache", |_| CachePolicy::no_store())
        .route("/api/dashboard/update_product", |_| CachePolicy::no_store())
        .route("/api/shop/place_order", |_| CachePolicy::no_store())
        // Operations: purges from outside, Prometheus, previews.
        .route("/api/revalidate", |_| CachePolicy::no_store())
        .route("/metrics", |_| CachePolicy::no_store())
        .route("/api/preview", |_| CachePolicy::no_store())
        .query(["token", "path"])
        .route("/api/preview/exit", |_| CachePolicy::no_store())
        .query(["path"])
        // Mutations are POST, which the layer never lets a cache keep anyway.
        .route("/api/auth/login", |_| CachePolicy::no_store())
        .route("/api/auth/logout", |_| CachePolicy::no_store())
        .route("/api/auth/demo_accounts", |_| CachePolicy::no_store())
        // The JSON API.
        .route("/api/posts", |_| posts())
        .query(["page", "per_page"])
        .route("/api/products/{id}", |r| product_api(r.param("id")))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn rendered(path: &str, query: Option<&str>) -> (String, Vec<String>) {
        let resolved = route_table().resolve(path, query).expect("every path resolves");
        (resolved.policy.to_string(), resolved.policy.tag_set().iter().cloned().collect())
    }

    /// Every page of `<App/>` and every server function has its own entry: a
    /// route added without one fails here instead of falling back silently.
    #[test]
    fn every_route_and_server_function_is_in_the_table() {
        let table = route_table();
        let pages = crate::server::route_list().into_iter().map(|route| route.path().to_owned());
        let functions = server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned());
        for path in pages.chain(functions) {
            let resolved = table.resolve(&path, None);
            assert!(
                resolved.as_ref().is_some_and(|r| r.pattern.as_deref() == Some(&*path)),
                "{path} has no entry of its own in cache::route_table ({resolved:?})"
            );
        }
    }

    /// Headers a loader sets reach the page only when the response head waits
    /// for the data (leptos issue #3147), and `SsrMode::Static` routes send
    /// their headers once: every page must render with `SsrMode::Async`.
    /// (`tests/http/caching.rs` shows a loader's policy reaching the page.)
    #[test]
    fn every_page_waits_for_its_data_before_sending_headers() {
        for route in crate::server::route_list() {
            assert!(
                matches!(route.mode(), leptos_router::SsrMode::Async),
                "{} must use SsrMode::Async, or policies set while loading are lost",
                route.path()
            );
        }
    }

    #[test]
    fn pages_and_their_data_functions_share_a_policy() {
        assert_eq!(
            rendered("/blog/hello", None),
            rendered("/api/blog/get_post", Some("slug=hello"))
        );
        assert_eq!(rendered("/products/7", None), rendered("/api/shop/get_product", Some("id=7")));
        assert_eq!(
            rendered("/landing/x", None),
            rendered("/api/landing/get_campaign", Some("slug=x"))
        );
        assert_eq!(rendered("/", None), rendered("/api/home/get_home", None));
    }

    #[test]
    fn product_tags_are_canonical_and_only_for_real_ids() {
        assert_eq!(rendered("/products/007", None).1, ["product:7"]);
        assert!(rendered("/products/abc", None).1.is_empty());
    }

    /// The browser never holds data longer than the shared caches hold the
    /// page it belongs to (they are purged on writes, browsers are not), and
    /// keeps unused data at least as long as it counts as fresh.
    #[test]
    fn client_stale_times_fit_inside_the_shared_ones() {
        let pairs = [
            (ClientCache::LANDING, home()),
            (ClientCache::LANDING, campaign("spring-sale")),
            (ClientCache::POSTS, posts()),
            (ClientCache::POSTS, post("hello")),
            (ClientCache::POSTS, search()),
            (ClientCache::PRODUCTS, products()),
            (ClientCache::PRODUCTS, product("7")),
            // Not low stock's 10 s: a visitor's own tab may show a count 30 s
            // old; what new visitors get stays within 10 s.
        ];
        for (keep, policy) in pairs {
            let shared = policy.shared_ttl().expect("public pages have a shared TTL");
            assert!(keep.stale <= shared, "{keep:?} outlives {policy}");
            assert!(keep.stale <= keep.gc, "{keep:?}");
        }
        assert!(ClientCache::DASHBOARD.stale <= ClientCache::DASHBOARD.gc);
    }

    #[test]
    fn the_cap_shortens_client_times_and_keeps_gc_after_stale() {
        let capped = ClientCache::POSTS.capped(Some(Duration::from_secs(3)));
        assert_eq!(
            capped,
            ClientCache { stale: Duration::from_secs(3), gc: Duration::from_secs(12) }
        );
        assert_eq!(ClientCache::POSTS.capped(None), ClientCache::POSTS);
        // A cap above a time leaves it alone.
        let loose = ClientCache::PRODUCTS.capped(Some(HOUR));
        assert_eq!(loose, ClientCache::PRODUCTS);
    }

    #[test]
    fn bundles_are_immutable_only_when_hashed() {
        assert_eq!(bundle(true).to_string(), "public, max-age=31536000, immutable");
        assert_eq!(bundle(false).to_string(), "public, max-age=0, must-revalidate");
    }

    /// Each page's data function declares the arguments the page passes, so
    /// a render for the cache gets them; a page declares what it reads.
    #[test]
    fn data_functions_keep_their_arguments() {
        let table = route_table();
        let declared = |path: &str| -> Vec<String> {
            table.declared_query(path).iter().map(|name| name.to_string()).collect()
        };
        assert_eq!(declared("/api/blog/get_post"), ["slug"]);
        assert_eq!(declared("/api/shop/get_product"), ["id"]);
        assert_eq!(declared("/api/search/search"), ["q"]);
        assert_eq!(declared("/blog"), ["page"]);
        assert_eq!(declared("/search"), ["q"]);
        assert!(declared("/blog/hello").is_empty());
        assert!(declared("/").is_empty());
    }
}
