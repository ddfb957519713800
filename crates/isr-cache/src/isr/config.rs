//! [`IsrConfig`]: what the cache is given at start-up.

use std::sync::Arc;
use std::time::Duration;

use super::level2::SecondLevel;
use crate::{RouteTable, Visitors};

/// The second level as the settings hold it (`Debug` names its kind).
#[derive(Clone)]
pub struct Level2(pub Arc<dyn SecondLevel>);

impl std::fmt::Debug for Level2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.kind())
    }
}

/// Settings of the cache.
///
/// Built with [`IsrConfig::new`] (the defaults below) and setters named after
/// the fields; the fields stay public for reading. `#[non_exhaustive]`, so a
/// new setting is not a breaking change:
///
/// ```
/// use isr_cache::{IsrConfig, RouteTable, Visitors};
///
/// let config = IsrConfig::new()
///     .canonical_host("example.com")
///     .max_bytes(256 << 20)
///     .visitors(Visitors::anonymous())
///     .routes(RouteTable::new());
/// assert_eq!(config.canonical_host, "example.com");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IsrConfig {
    /// Off: the layer passes everything through untouched. Default: on.
    pub enabled: bool,
    /// Bound on the bytes held (bodies in every encoding, and headers).
    /// Default: 64 MiB.
    pub max_bytes: u64,
    /// Largest body stored; larger responses pass through. Default: 1 MiB.
    pub max_entry_bytes: usize,
    /// The host every key uses, e.g. `example.com`. Default: `localhost`.
    pub canonical_host: String,
    /// Who is asking: personal requests bypass the cache, previews render
    /// afresh and are never stored (the same [`Visitors`] the
    /// [`CachePolicyLayer`](crate::CachePolicyLayer) is given). Default:
    /// everyone is anonymous.
    pub visitors: Visitors,
    /// The site's routes: each key, and each render for the cache, keeps only
    /// the query parameters its route declares ([`RouteTable::query`]).
    /// Without a table (the default) every parameter but tracking ones counts.
    pub routes: Option<Arc<RouteTable>>,
    /// Renders are anonymous: a miss is rendered from a request stripped of
    /// what one visitor sent (cookies, `Authorization`, `X-Forwarded-*`,
    /// encodings, undeclared query parameters) for the canonical host, and a
    /// response that may not be stored is asked for again as the client
    /// sent it. Default: on (an app's pages are the same for everyone, and
    /// nothing a visitor sends may reach a page stored for all). Off
    /// ([`IsrConfig::http_cache`]): a miss forwards the client's request as it
    /// came (conditionals and `Range` aside, which the cache answers), once,
    /// and its response is stored when its headers allow, as RFC 9111
    /// caches do.
    pub anonymous_renders: bool,
    /// The `Accept` an anonymous render sends for a path, whatever the
    /// client sent (with no `Referer` either): a render's answer must not
    /// depend on headers the key does not hold. An app's server functions
    /// answer a form post from a browser (`Accept: text/html` with a
    /// `Referer`) with a redirect, which would otherwise let anyone make a
    /// data function's key a pass. Default: `text/html` for every path.
    pub render_accept: fn(&str) -> &'static str,
    /// Statuses stored: 200, 301, 308, 404 and 410 (false, the default: a
    /// page, a permanent redirect, a page that is not there; never an
    /// error, since a failed render keeps the last good page), or every
    /// final status with an explicit freshness lifetime, errors included,
    /// as RFC 9111 allows (true).
    pub any_status: bool,
    /// Read `CDN-Cache-Control` (RFC 9213) as a CDN does: when a response
    /// has one, it replaces `Cache-Control` and `Expires` for this cache.
    /// Default: off, since the cache in front of an app is the app's own,
    /// and `CDN-Cache-Control` is what the app tells the CDN beyond it (a
    /// longer TTL the app purges by tag).
    pub cdn_cache_control: bool,
    /// After a successful request of an unsafe method (`POST`, `PUT`,
    /// `DELETE`, …), drop what is stored for its URL and for its response's
    /// same-origin `Location` and `Content-Location` (RFC 9111 section 4.4).
    /// Default: off, since an app purges what its writes change by tag, and
    /// an anonymous `POST` to a page must not be a way to make its next
    /// request a render.
    pub unsafe_methods_invalidate: bool,
    /// When a render finds the service unreachable (it errs, or answers
    /// `502` or `504`), answer with the stale entry, unless that says it
    /// must be revalidated (RFC 9111 section 4.2.4). Default: off, since an
    /// app says how long its pages outlive a failure with `stale-if-error`.
    pub stale_if_unreachable: bool,
    /// Honour a request's own `Cache-Control` (RFC 9111 section 5.2.1):
    /// `no-cache` (or `Pragma: no-cache`) and a `max-age` the entry is older
    /// than revalidate it first, `no-store` passes the request through.
    /// Default: off, since nothing a visitor sends may make every request
    /// a render (a browser's reload sends `no-cache`); the app's pages are
    /// regenerated by their own policy and by purges instead.
    pub request_cache_control: bool,
    /// Keys hold the query normalised: parameters sorted, re-encoded,
    /// tracking ones (`utm_*`, `fbclid`, …) dropped, and with a route table
    /// only those the route declares ([`key`](super) docs). Default: on
    /// (one page per query the page reads). Off: the query as sent, as a
    /// cache in front of an origin whose pages it does not know must.
    pub normalise_query: bool,
    /// Threads of a runtime of their own that renders run on, so a render
    /// never holds up a worker that serves hits; 0 (the default) renders on
    /// the caller's runtime.
    pub render_threads: usize,
    /// The most renders in flight at once (each key renders once however
    /// many ask, so this counts keys). A render runs to its end even when
    /// the client that started it leaves, so without a bound a client that
    /// asks for new keys and hangs up would pile up renders. Past it, a miss
    /// is sent to the service as it came, in its own request (cancelled with
    /// it, never stored), and a stale page is served without regenerating.
    pub max_renders: usize,
    /// A store under the in-memory one that outlives the process and that
    /// instances share ([`level2`](super::level2)). Default: none.
    pub second_level: Option<Level2>,
    /// The build this process is: its entries in the second level are its
    /// own, so a new build never serves a page an old one rendered (the
    /// starter hashes its binary and bundle). Default: empty.
    pub build: String,
    /// How long a render's lease in the second level lasts, and so the
    /// longest another instance waits for the page before rendering it
    /// itself (a holder that died is replaced when its lease runs out).
    /// Default: 5 s.
    pub lease: Duration,
    /// Bound on each call to the second level. Default: 50 ms.
    pub level2_timeout: Duration,
    /// After a failed call, how long the second level is left alone.
    /// Default: 1 s.
    pub level2_pause: Duration,
}

impl IsrConfig {
    /// The defaults: on, 64 MiB, entries up to 1 MiB, host `localhost`,
    /// every visitor anonymous, no route table, renders on the caller's
    /// runtime, no second level.
    pub fn new() -> Self {
        Self::default()
    }

    /// On, or off (everything passes through untouched).
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Bound on the bytes held.
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Largest body stored.
    #[must_use]
    pub fn max_entry_bytes(mut self, max_entry_bytes: usize) -> Self {
        self.max_entry_bytes = max_entry_bytes;
        self
    }

    /// The host every key uses.
    #[must_use]
    pub fn canonical_host(mut self, host: impl Into<String>) -> Self {
        self.canonical_host = host.into();
        self
    }

    /// Who is asking (give the [`CachePolicyLayer`](crate::CachePolicyLayer)
    /// the same).
    #[must_use]
    pub fn visitors(mut self, visitors: Visitors) -> Self {
        self.visitors = visitors;
        self
    }

    /// The site's routes, whose declared query parameters make the keys.
    #[must_use]
    pub fn routes(mut self, routes: impl Into<Arc<RouteTable>>) -> Self {
        self.routes = Some(routes.into());
        self
    }

    /// A second level under the in-memory store.
    #[must_use]
    pub fn second_level(mut self, level: Arc<dyn SecondLevel>) -> Self {
        self.second_level = Some(Level2(level));
        self
    }

    /// The build this process is (its namespace in the second level).
    #[must_use]
    pub fn build(mut self, build: impl Into<String>) -> Self {
        self.build = build.into();
        self
    }

    /// How long a render's lease lasts.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Bound on each call to the second level.
    #[must_use]
    pub fn level2_timeout(mut self, timeout: Duration) -> Self {
        self.level2_timeout = timeout;
        self
    }

    /// How long the second level is left alone after a failed call.
    #[must_use]
    pub fn level2_pause(mut self, pause: Duration) -> Self {
        self.level2_pause = pause;
        self
    }

    /// Settings for a standalone HTTP cache in front of any origin (the
    /// `reverse_proxy` example): what RFC 9111 asks of a shared cache where
    /// the defaults, made for an app's own pages, deliberately differ.
    /// Misses are sent as they came ([`anonymous_renders`](Self::anonymous_renders)
    /// off), the query as sent is the key, a client's `Cache-Control` is
    /// honoured, any status with a lifetime is stored, `CDN-Cache-Control`
    /// is obeyed, unsafe methods invalidate, and a stale entry answers while
    /// the origin is unreachable; the rest as [`new`](Self::new).
    pub fn http_cache() -> Self {
        Self {
            anonymous_renders: false,
            any_status: true,
            cdn_cache_control: true,
            unsafe_methods_invalidate: true,
            stale_if_unreachable: true,
            request_cache_control: true,
            normalise_query: false,
            ..Self::default()
        }
    }

    /// Which statuses are stored (see the field).
    #[must_use]
    pub fn any_status(mut self, any: bool) -> Self {
        self.any_status = any;
        self
    }

    /// Whether successful unsafe requests drop what is stored for their URL.
    #[must_use]
    pub fn unsafe_methods_invalidate(mut self, invalidate: bool) -> Self {
        self.unsafe_methods_invalidate = invalidate;
        self
    }

    /// Whether a stale entry answers while the service is unreachable.
    #[must_use]
    pub fn stale_if_unreachable(mut self, stale: bool) -> Self {
        self.stale_if_unreachable = stale;
        self
    }

    /// Whether a request's own `Cache-Control` is honoured.
    #[must_use]
    pub fn request_cache_control(mut self, honour: bool) -> Self {
        self.request_cache_control = honour;
        self
    }

    /// Whether keys hold the query normalised or as sent.
    #[must_use]
    pub fn normalise_query(mut self, normalise: bool) -> Self {
        self.normalise_query = normalise;
        self
    }

    /// Whether `CDN-Cache-Control` replaces `Cache-Control` here.
    #[must_use]
    pub fn cdn_cache_control(mut self, targeted: bool) -> Self {
        self.cdn_cache_control = targeted;
        self
    }

    /// Whether a miss is rendered anonymously (see the field).
    #[must_use]
    pub fn anonymous_renders(mut self, anonymous: bool) -> Self {
        self.anonymous_renders = anonymous;
        self
    }

    /// The `Accept` an anonymous render sends for a path ([`IsrConfig::render_accept`]).
    #[must_use]
    pub fn render_accept(mut self, accept: fn(&str) -> &'static str) -> Self {
        self.render_accept = accept;
        self
    }

    /// Threads of the runtime renders run on; 0 for the caller's.
    #[must_use]
    pub fn render_threads(mut self, threads: usize) -> Self {
        self.render_threads = threads;
        self
    }

    /// The most renders in flight at once ([`IsrConfig::max_renders`]).
    #[must_use]
    pub fn max_renders(mut self, renders: usize) -> Self {
        self.max_renders = renders;
        self
    }
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
            anonymous_renders: true,
            render_accept: |_| "text/html",
            any_status: false,
            cdn_cache_control: false,
            unsafe_methods_invalidate: false,
            stale_if_unreachable: false,
            request_cache_control: false,
            normalise_query: true,
            render_threads: 0,
            max_renders: 256,
            second_level: None,
            build: String::new(),
            lease: Duration::from_secs(5),
            level2_timeout: Duration::from_millis(50),
            level2_pause: Duration::from_secs(1),
        }
    }
}
