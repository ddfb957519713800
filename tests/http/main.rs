//! HTTP tests against the real router on a fresh, seeded database per test.
//!
//! - `fixture`: pages of the tests' own, for rules that hold for any page.
//! - `pages`: every route of the site, its status and what it shows.
//! - `api`: the JSON API, including bad input.
//! - `assets`: the `/pkg` bundle: precompressed copies, never the ISR cache.
//! - `bad_input`: malformed, oversized and odd requests on every route.
//! - `accounts`: session rotation and idle timeout, sign out everywhere, password changes, `create-admin`, production refusals.
//! - `security`: writes only from our own pages, security headers, the hashed CSP, anonymous renders.
//! - `auth`: sign-in, sign-out, the dashboard's guard, cookie attributes.
//! - `caching`: the cache headers of every route, validators, compression.
//! - `hardening`: junk parameters, headers and unlisted routes cannot bust the cache.
//! - `isr`: the built-in ISR cache: hits, purges, the editor, failures, metrics.
//! - `limits`: bounded under load: password checks, the sign-in throttle, the listener.
//! - `cdn`: a real Varnish in front, driven by the app's headers and purges.
//! - `orders`: placing orders: stock, overselling, purges.
//! - `prerender`: static generation: pages, data, `_headers`, crawling, failures.
//! - `store`: the cache's second level: restarts, Redis fleets, builds, faults.
//! - `demo`: the seeded demo content: every table filled, links between
//!   features, a campaign without its product, no second seeding.

mod fixture;
mod helpers;

mod accounts;
mod api;
mod assets;
mod auth;
mod bad_input;
mod caching;
mod cdn;
mod demo;
mod hardening;
mod isr;
mod limits;
mod orders;
mod pages;
mod prerender;
mod security;
mod store;
