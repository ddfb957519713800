//! Caching for Incremental Static Regeneration, independent of any web framework.
//!
//! Today the crate holds the cache policy type, [`CachePolicy`]: how a response
//! may be cached, rendered to and parsed from standard HTTP headers. Later it
//! will also hold the ISR cache itself, as a tower layer any axum app can use.

pub mod policy;

pub use policy::*;
