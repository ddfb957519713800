//! What every handler, page render and server function shares: the database,
//! the configuration and the purger. Below the features, which read it with
//! [`AppState::current`]; built once by `server::run` (or a test).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::config::LeptosOptions;
use leptos::prelude::*;

use crate::config::Config;
use crate::db::Db;
use crate::purge::Purger;

/// Everything a handler or server function needs. Cheap to clone.
///
/// leptos_axum provides the router state to every page render and server
/// function call, so server functions get it with [`AppState::current`].
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    /// Leptos' settings: site root, bundle name, address.
    pub leptos_options: LeptosOptions,
    /// The database pool.
    pub db: Db,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// Purges the built-in cache, the CDN in front and the other instances.
    pub purger: Purger,
    /// Whether the instance has warmed its cache (`/healthz/ready`).
    pub ready: Readiness,
    /// Sign-in's bounds: password checks, the throttle (`app::auth`).
    pub sign_in: SignIn,
}

/// Whether an instance is ready for traffic: set once its cache is warm.
/// Cheap to clone; every clone sees the same flag.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ready from the start (an instance with nothing to warm).
    pub fn ready() -> Self {
        let readiness = Self::new();
        readiness.set_ready();
        readiness
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Sign-in's bounds, one per instance: password checks at once, and the
/// throttle's mirror of waits (see `password` and `throttle`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub hashing: crate::password::Hashing,
    pub throttle: crate::throttle::Throttle,
}

impl SignIn {
    /// As the configuration says (`SIGN_IN_HASH_PERMITS`, `SIGN_IN_HASH_WAIT_MS`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            hashing: crate::password::Hashing::from_config(config),
            throttle: crate::throttle::Throttle::default(),
        }
    }
}

impl AppState {
    /// The state of the current request, inside a server function or page render.
    pub fn current() -> Self {
        expect_context::<Self>()
    }
}
