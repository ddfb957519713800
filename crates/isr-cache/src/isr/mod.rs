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
//! client sends can make every request a render (unless
//! [`IsrConfig::request_cache_control`] says otherwise).
//!
//! # What it stores
//!
//! A response to an anonymous `GET`, with status 200, 301, 308, 404 or 410,
//! whose headers make it shared (none of `private`, `no-store`, `no-cache`)
//! with a freshness lifetime above zero (`s-maxage`, else `max-age`, else
//! `Expires` less `Date`: `storable`), without `Set-Cookie`, without
//! `Vary: *`, and whose body is under the entry cap. Its `ETag`, `Date` and
//! `Content-Encoding` are kept as given; headers of the connection are not.
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
//! Fresh for its lifetime, less the age it arrived with (its `Age`, or how
//! far its `Date` lags), with a correct `Age`. A stale entry is revalidated
//! with the validators it was given (`If-None-Match`, `If-Modified-Since`),
//! and a `304` updates it, body and encodings kept. Then, within
//! `stale-while-revalidate`, the stale page is served at once and regenerated
//! in the background, once per key however many requests arrive; misses on
//! one key are coalesced into one render too. Past that, within
//! `stale-if-error`, the page is regenerated before answering, but served stale
//! if regeneration fails (5xx, panic, error); failed regenerations back off
//! (1 s doubling to 60 s), the last good page is served at once meanwhile,
//! and an error never replaces a stored page.
//!
//! # An app's cache, or any origin's
//!
//! [`IsrConfig::new`] is an app's cache: renders are anonymous, keys hold
//! the query the route reads, a client's `Cache-Control` is ignored, only
//! pages are stored, and writes purge by tag. [`IsrConfig::http_cache`] is
//! RFC 9111's shared cache in front of any origin (the `reverse_proxy`
//! example): misses are sent as they came, any status with a lifetime is
//! stored, `CDN-Cache-Control` is obeyed, unsafe methods invalidate, and a
//! stale entry answers while the origin is unreachable. Each setting is a
//! field of its own (the crate README has the table).
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
//!
//! # Two levels
//!
//! Memory is the first level. With [`IsrConfig::second_level`] (a file:
//! [`level2::SqliteLevel`]; Redis: [`level2::RedisLevel`]; your own: a
//! [`SecondLevel`]), every stored page is written there too (after the
//! response), and a miss in memory reads it before rendering: pages outlive
//! the process, and a fleet shares them. A render takes the key's lease there
//! first, so a fleet renders each page once per stale window; purges reach
//! it as generations ([`level2`]); records are namespaced by
//! [`IsrConfig::build`]. A level that fails or hangs costs the sharing, never
//! a page (`tier`).
//!
//! # Layout
//!
//! [`IsrConfig`] (config), [`Purge`] and its matching (purge), [`IsrCache`]
//! and the store's bookkeeping (store), [`IsrLayer`] and the request path
//! (service), one render per key and the render job (flights); stored
//! entries and their encodings (entry), what may be stored and for how
//! long (storable), invalidation by unsafe methods (invalidation), keys
//! (key), [`warm_up`] and
//! [`warm_pages`] (warm); the second level's contract and implementations
//! ([`level2`]), the cache's side of it (tier) and its records on the wire
//! (wire).

pub mod clock;
mod config;
mod entry;
mod flights;
mod history;
mod invalidation;
mod key;
pub mod level2;
mod metrics;
mod purge;
mod service;
mod storable;
mod store;
mod tier;
mod warm;
mod wire;

pub use self::config::{IsrConfig, Level2};
pub use self::history::{HISTORY_SAMPLES, Sample};
pub use self::level2::{MemoryLevel, SecondLevel};
pub use self::metrics::Metrics;
pub use self::purge::{Purge, PurgeMode, PurgeRecord};
pub use self::service::{CACHE_STATUS, IsrLayer, IsrService, X_CACHE};
pub use self::store::IsrCache;
pub use self::warm::{WarmUp, WarmUpConfig, links, warm_pages, warm_up};

#[cfg(test)]
mod tests;
