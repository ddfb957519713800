// The README is the crate's front page, and its example (a plain axum app) a
// doc test. The example needs the `axum` feature; without it, the front page
// is one line and the guide below.
#![cfg_attr(feature = "axum", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "axum"),
    doc = "Caching for Incremental Static Regeneration, independent of any web framework."
)]
//!
//! # Guide
//!
//! - [`CachePolicy`]: how a response may be cached, rendered to and parsed
//!   from standard HTTP headers. Always available (the wasm client can use it).
//! - With the `server` feature: [`RouteTable`], every route of a site with its
//!   default policy; [`CachePolicyLayer`], the tower layer that gives each
//!   response its final headers; [`ETagLayer`], strong validators and `304`;
//!   [`IsrLayer`], the built-in shared cache (see the [`isr`] module);
//!   [`Visitors`], the one classification of requests (anonymous, personal,
//!   preview) both layers share, and [`Visitor::is_personal`], the one test
//!   of whether a response may be about who asked.
//! - With the `axum` feature: a `CachePolicy` is an axum response part, so a
//!   handler can return `(policy, Json(data))`.
//! - With the `serde` feature: [`Purge`] and [`PurgeMode`] are `Serialize`
//!   and `Deserialize`, for a purge endpoint and for messages between
//!   instances.
//! - With the `sqlite` or `redis` feature: a second level under the ISR
//!   cache's memory, in a file or in Redis (see [`isr`], "Two levels").
//!
//! Settings a user builds ([`IsrConfig`], [`isr::WarmUpConfig`]) are
//! `#[non_exhaustive]`: start from `new()` and chain the setters named after
//! their fields.

#[cfg(feature = "server")]
pub mod body;
#[cfg(feature = "server")]
pub mod conditional;
#[cfg(feature = "server")]
pub mod isr;
#[cfg(feature = "server")]
pub mod layer;
pub mod policy;
#[cfg(feature = "server")]
pub mod rules;
#[cfg(feature = "server")]
pub mod visitor;

#[cfg(feature = "server")]
pub use body::BufferedBody;
#[cfg(feature = "server")]
pub use conditional::{ETagLayer, ETagService};
#[cfg(feature = "server")]
pub use isr::{IsrCache, IsrConfig, IsrLayer, IsrService, Purge, PurgeMode};
#[cfg(feature = "server")]
pub use layer::{CachePolicyLayer, CachePolicyService};
pub use policy::*;
#[cfg(feature = "server")]
pub use rules::{Resolved, RouteMatch, RouteTable, Scope};
#[cfg(feature = "server")]
pub use visitor::{Visitor, Visitors};

/// The share of requests a cache answered itself (fresh `hits` or `stale`
/// serves, against `misses`), in whole percent; `None` when there were none.
/// Always available: dashboards in the browser compute it too.
pub fn hit_rate(hits: u64, stale: u64, misses: u64) -> Option<u64> {
    let served = hits + stale;
    let total = served + misses;
    (total > 0).then(|| served * 100 / total)
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponseParts for CachePolicy {
    type Error = std::convert::Infallible;

    /// Writes the policy's headers, as [`CachePolicy::apply`] does. Behind a
    /// [`CachePolicyLayer`], it is merged with the route's default.
    fn into_response_parts(
        self,
        mut parts: axum_core::response::ResponseParts,
    ) -> Result<axum_core::response::ResponseParts, Self::Error> {
        self.apply(parts.headers_mut());
        Ok(parts)
    }
}
