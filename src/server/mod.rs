//! The composition root: builds the app from the layers below and serves it.
//! Nothing imports this module (see `layers_read_top_down` in `lib.rs`).
//!
//! [`run`] is what `main` calls; [`router`] builds the whole application for a
//! given [`AppState`], so the HTTP tests exercise exactly what production serves.

pub mod admin;
pub mod assets;
pub mod cache;
pub mod cdn;
pub mod fanout;
pub mod guard;
pub mod listen;
pub mod origin;
pub mod prerender;
pub mod security;
pub mod seed;

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::handler::Handler as _;
use isr_cache::{CachePolicyLayer, ETagLayer, IsrLayer};
use leptos::prelude::*;
use leptos_axum::LeptosRoutes;
use tower::Layer as _;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::{route_list, shell};
pub use crate::config::Config;
use crate::db;
use crate::purge::Purger;
pub use crate::state::AppState;

/// Starts the server: reads configuration, migrates and seeds the database,
/// serves until SIGTERM or Ctrl-C, then drains in-flight requests.
pub async fn run() -> anyhow::Result<()> {
    // A `.env` file is optional; real environment variables win over it.
    let _ = dotenvy::dotenv();
    // Production logs what an operator acts on; development, what the app does.
    init_tracing(if crate::config::production_from_env() {
        "info"
    } else {
        "info,leptos_isr_starter=debug,tower_http=info"
    });

    let config = Config::from_env()?;
    let leptos_options = leptos_options()?;
    let addr = leptos_options.site_addr;
    tracing::info!(?config, "starting");

    // Off the async workers and in parallel with start-up: the first failed
    // sign-in must not be the one that pays for computing the dummy hash.
    tokio::task::spawn_blocking(crate::password::warm_up);

    let db = db::connect(&config.database_url).await?;
    seed::seed_if_configured(&db, &config).await.context("seeding the demo content")?;

    let isr = cache::build(&config, &leptos_options, &db).await?;
    cache::sample_and_count_requests(isr.clone());
    let fanout = fanout::Fanout::new(&config.database_url, &db);
    let purger = Purger::new(isr).cdn(cdn::Cdn::new(config.cdn.clone())).others(fanout.clone());
    if fanout.listen(&config.database_url, purger.clone()).await?.is_some() {
        tracing::info!(channel = fanout::CHANNEL, "purges fan out to every instance");
    }
    let config = Arc::new(config);
    let ready = if config.isr.enabled {
        crate::state::Readiness::new()
    } else {
        crate::state::Readiness::ready()
    };
    let sign_in = crate::state::SignIn::from_config(&config);
    let state = AppState {
        leptos_options,
        db,
        config: config.clone(),
        purger,
        ready: ready.clone(),
        sign_in,
    };
    let app = router(state.clone());

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let limits = listen::Limits {
        max_connections: config.max_connections,
        header_read_timeout: config.header_read_timeout,
    };
    tracing::info!("listening on http://{addr}");
    if config.isr.enabled {
        // After the listener is up: `/healthz/live` answers at once,
        // `/healthz/ready` once this is done.
        let (app, isr) = (app.clone(), state.purger.isr().clone());
        tokio::spawn(async move { cache::warm(app, &config, &isr, &ready).await });
    }
    listen::serve(listener, app, limits, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The whole application: pages, server functions, JSON API, static files, layers.
///
/// The layers, from the outside in (a response passes them in reverse):
/// tracing; the security headers of every response; the bad-input guard;
/// the refusal of writes from other sites; the sign-in throttle; the ISR
/// cache (hits never go further); `ETag`/`304` on the bytes actually sent;
/// compression (br, gzip, with `Vary: Accept-Encoding`); each page's
/// Content-Security-Policy, from its own scripts; the cache policy of every
/// response (route table, merged with what loaders asked for, then the
/// safety rules); the request timeout, whose 408 the policy layer marks
/// `no-store`. The ISR cache renders with `Accept-Encoding: identity` and
/// keeps its own br and gzip copies, made once per render; what it passes
/// through is compressed per request.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`], with `extra` routes of your own (plain axum handlers) merged
/// in among the app's: behind the same layers, so each needs an entry in the
/// route table to be cached (without one it is answered `private, no-store`,
/// and a warning names it).
///
/// The table is the one the ISR cache in `state` was built with
/// ([`isr_cache::IsrConfig::routes`], normally `app::cache::route_table`):
/// one table decides both a response's policy and its cache key, so a test
/// can add routes of its own by building its cache with a longer table.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let routes = route_list();
    let timeout = state.config.request_timeout;
    let isr = state.purger.isr().clone();
    let visitors = cache::visitors(&state.config);
    let bundle = assets::static_files(&state.leptos_options);
    let table =
        isr.config().routes.clone().unwrap_or_else(|| Arc::new(crate::app::cache::route_table()));
    let cache_policy = CachePolicyLayer::new(table).visitors(visitors.clone());
    // `cargo leptos watch` sets LEPTOS_WATCH, and then Leptos adds its reload script.
    let reload_port = std::env::var_os("LEPTOS_WATCH").map(|_| {
        let options = &state.leptos_options;
        options.reload_external_port.unwrap_or(options.reload_port)
    });
    let security = security::SecurityHeaders::new(&state.config.public_url, reload_port);
    // Files from `public/` (favicon, …), else the app's 404 page: listed by a
    // fixed policy of their own, as the table lists routes.
    let files = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        shared_render_context,
        shell,
    )
    .layer(CachePolicyLayer::fixed(crate::app::cache::files()).visitors(visitors));

    let app = Router::new()
        .merge(extra)
        .merge(crate::app::api_routes())
        .merge(cache::routes())
        .leptos_routes_with_context(&state, routes, shared_render_context, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(files)
        .layer(TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(cache_policy)
        // Inside the cache, so a page's policy is stored with it (see `security`).
        .layer(axum::middleware::from_fn_with_state(security.clone(), security::hash_scripts))
        // Level 5: most of brotli's gain on HTML for a fraction of the CPU of its
        // default (11), which would cost milliseconds on every uncached page.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
        .layer(ETagLayer::new())
        .with_state(state.clone());

    // The ISR cache goes around the routed app, not inside it: a hit never
    // reaches routing, and each render is routed afresh. The /pkg bundle is
    // routed beside it, from precompressed files on disk (see `assets`).
    Router::new()
        .merge(bundle)
        .fallback_service(IsrLayer::new(isr).layer(app))
        // A sign-in from an address that must wait is refused before it costs anything.
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), <crate::app::auth::Login as server_fn::ServerFn>::PATH),
            crate::throttle::refuse_blocked,
        ))
        // A write from another site is refused before anything else reads it (see `origin`).
        .layer(axum::middleware::from_fn_with_state(
            origin::Origin::of(&state.config.public_url),
            origin::refuse_cross_origin,
        ))
        // Bad input is refused before the cache and the bundle see it (see `guard`).
        .layer(axum::middleware::from_fn(guard::reject_bad_input))
        // Every response, refusals and hits included (see `security`).
        .layer(axum::middleware::from_fn_with_state(security, security::add_headers))
        // The path only, never the query: a token in a URL stays out of the logs.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            tracing::debug_span!("request", method = %request.method(), path = request.uri().path())
        }))
}

/// Context for every render, making a page the same bytes for every visitor.
///
/// leptos_axum gives each render a random nonce, written into every
/// `<script>`; a page stored in a shared cache would then be served with
/// one visitor's nonce to all, which defeats a CSP nonce anyway, and no two
/// renders of unchanged data would share an `ETag`. A fixed empty nonce makes
/// renders reproducible. (A site that wants a CSP on cached pages should use
/// script hashes, which survive caching.)
fn shared_render_context() {
    provide_context(leptos::nonce::Nonce::from_value(""));
}

/// Leptos' settings (`Cargo.toml`'s `[package.metadata.leptos]`, `LEPTOS_*`).
fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let mut leptos_options =
        get_configuration(None).context("reading Leptos settings")?.leptos_options;
    if leptos_options.output_name.is_empty() {
        // Built without cargo-leptos (plain `cargo build`, as the test script does).
        leptos_options.output_name = env!("CARGO_PKG_NAME").into();
    }
    Ok(leptos_options)
}

/// Logs as `RUST_LOG` says, else as `default` does.
fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // `try_init`: a second call (as in tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
