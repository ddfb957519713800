//! The `/pkg` bundle (JS, wasm, CSS), served from disk beside the ISR cache,
//! never through it.
//!
//! Invariants:
//!
//! - The ISR layer never sees `/pkg`: [`static_files`] is routed before it in
//!   `server::router`. The bundle is the same bytes for everyone and already on
//!   disk; storing it would only copy it, and the wasm is larger than a cache
//!   entry may be, which once made every visitor download it uncompressed.
//! - Nothing leaves uncompressed when the client accepts br or gzip: the
//!   `.br` (quality 11) and `.gz` (best) copies that `scripts/precompress`
//!   writes beside each file are sent as they are (`ServeDir`'s precompressed
//!   support); a file without them (a build that skipped the step, or
//!   `cargo leptos watch`, see `scripts/dev`) is compressed per request at
//!   the level the pages use.
//! - Every answer says `Vary: Accept-Encoding`, and carries the bundle's
//!   policy (`crate::app::cache::bundle`) as an asset route: `immutable` when
//!   file names are hashed, whoever asks (a session cookie changes nothing).
//! - A missing file, a bad path (`..`, invalid UTF-8, a name too long for the
//!   file system) is a plain `404`, and another method a `405`, each with a
//!   short text body: never the app's 404 page, never a 5xx.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{ACCEPT_ENCODING, ALLOW, VARY};
use http::{HeaderValue, StatusCode};
use isr_cache::{CachePolicyLayer, RouteTable};
use leptos::config::LeptosOptions;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// The bundle's extensions: those `scripts/precompress` compresses.
const BUNDLE_EXTENSIONS: [&str; 3] = ["js", "wasm", "css"];

/// The router of the bundle: `/{site_pkg_dir}/{*file}` from
/// `{site_root}/{site_pkg_dir}`. Merge it into the outer router, beside (not
/// under) the ISR layer.
pub fn static_files(options: &LeptosOptions) -> Router {
    let site_root = PathBuf::from(&*options.site_root);
    let pkg = options.site_pkg_dir.trim_matches('/');
    if !cfg!(debug_assertions) {
        warn_unless_precompressed(&site_root.join(pkg));
    }
    // The path is not stripped: ServeDir looks for `{site_root}/pkg/…`, and the
    // policy layer resolves the request's own path in the route table.
    let dir = ServeDir::new(site_root).precompressed_br().precompressed_gzip();
    let serve = move |request: Request| {
        let mut dir = dir.clone();
        async move { serve_file(&mut dir, request).await }
    };
    Router::new()
        .route(&format!("/{pkg}/{{*file}}"), get(serve).fallback(method_not_allowed))
        // Only where no precompressed copy exists (it skips responses that
        // already have a `Content-Encoding`, and ranges); level 5 as for pages.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
        .layer(CachePolicyLayer::new(RouteTable::new().assets(&format!("/{pkg}/{{*file}}"), {
            let bundle = crate::app::cache::bundle(options.hash_files);
            move |_| bundle.clone()
        })))
        .layer(axum::middleware::map_response(vary_on_accept_encoding))
}

async fn serve_file(dir: &mut ServeDir, request: Request) -> Response {
    match dir.try_call(request).await {
        Ok(response) if response.status() == StatusCode::NOT_FOUND => not_found(),
        Ok(response) => response.map(Body::new),
        // A name longer than the file system allows (ENAMETOOLONG): no such
        // file, and a client's doing, so not a 500.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidFilename => not_found(),
        Err(error) => {
            tracing::error!(%error, "cannot read a bundle file");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

async fn method_not_allowed() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, [(ALLOW, "GET, HEAD")], "Method not allowed").into_response()
}

/// Which copy is sent depends on `Accept-Encoding`, whether or not this file
/// has copies: a shared cache must key on it.
async fn vary_on_accept_encoding(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let already = headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case(ACCEPT_ENCODING.as_str()));
    if !already {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Warns, once at start-up, about bundle files whose `.br` or `.gz` is missing
/// or older than the file: `scripts/precompress` was not run after the build.
/// Release builds only: a debug build under `cargo leptos watch` is
/// compressed per request on purpose (see `scripts/dev`).
fn warn_unless_precompressed(pkg: &Path) {
    let Ok(entries) = std::fs::read_dir(pkg) else {
        return;
    };
    let stale: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_bundle_file(path))
        .filter(|path| ["br", "gz"].iter().any(|encoding| !is_fresh(path, encoding)))
        .map(|path| path.display().to_string())
        .collect();
    if !stale.is_empty() {
        tracing::warn!(
            files = ?stale,
            "bundle files without up-to-date .br/.gz copies: run `scripts/precompress` after \
             the build; until then they are compressed on every request"
        );
    }
}

fn is_bundle_file(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| BUNDLE_EXTENSIONS.contains(&extension))
}

/// Whether `path.{encoding}` exists and is at least as new as `path`.
fn is_fresh(path: &Path, encoding: &str) -> bool {
    let mut copy = path.as_os_str().to_owned();
    copy.push(".");
    copy.push(encoding);
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match (modified(path), modified(Path::new(&copy))) {
        (Some(file), Some(copy)) => copy >= file,
        _ => false,
    }
}
