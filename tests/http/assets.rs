//! The `/pkg` bundle, from a site root of our own (`TestApp::start_with_site`).
//!
//! The policy (`src/server/assets.rs`):
//!
//! - A `.br` or `.gz` copy beside a file is sent as it is to a client that
//!   accepts it (`Content-Encoding`, the copy's bytes); identity gets the file.
//! - A file without copies is still compressed for a client that accepts it.
//! - Every answer says `Vary: Accept-Encoding` and has the route table's
//!   `/pkg` policy, session cookie or not.
//! - The ISR layer never sees `/pkg`: no `Cache-Status`, no `X-Cache`, ever.
//! - A missing file or an impossible name is a plain `404` (not the app's
//!   404 page), `..` or invalid UTF-8 a `400`, another method a `405`.

use http::{Method, StatusCode};

use crate::helpers::{TestApp, TestResponse};

const WASM: &str = "/pkg/leptos-isr-starter.0a1b2c3d.wasm";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Stand-ins for the compressed copies: the server must send them byte for
/// byte, never decode or re-encode them, so they need not be real brotli.
const RAW: &str = "(module) raw wasm bytes";
const BROTLI: &str = "brotli copy";
const GZIP: &str = "gzip copy";

/// A site root holding `files` (path, content).
fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    for (file, content) in files {
        let path = root.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    root
}

/// The bundle's wasm with both copies beside it, and a favicon outside `/pkg`.
async fn precompressed_site() -> (tempfile::TempDir, TestApp) {
    let wasm = &WASM[1..];
    let br = format!("{wasm}.br");
    let gz = format!("{wasm}.gz");
    let root = site(&[(wasm, RAW), (&br, BROTLI), (&gz, GZIP), ("favicon.svg", "<svg/>")]);
    let app = TestApp::start_with_site(root.path(), true).await;
    (root, app)
}

/// Headers every `/pkg` answer has: it never passed through the ISR layer.
#[track_caller]
fn assert_not_from_the_isr_cache(what: &str, response: &TestResponse) {
    assert_eq!(response.header("cache-status"), None, "{what}: Cache-Status");
    assert_eq!(response.header("x-cache"), None, "{what}: X-Cache");
}

#[track_caller]
fn assert_bundle(what: &str, response: &TestResponse, encoding: Option<&str>, body: &str) {
    assert_eq!(response.status, StatusCode::OK, "{what}");
    assert_eq!(response.header("content-encoding"), encoding, "{what}: Content-Encoding");
    assert_eq!(response.body, body, "{what}: body");
    assert_eq!(response.header("content-type"), Some("application/wasm"), "{what}: type");
    assert_eq!(response.header("vary"), Some("accept-encoding"), "{what}: Vary");
    assert_eq!(response.header("cache-control"), Some(IMMUTABLE), "{what}: Cache-Control");
    assert_not_from_the_isr_cache(what, response);
}

#[tokio::test]
async fn precompressed_copies_are_sent_as_they_are() {
    let (_root, app) = precompressed_site().await;
    for _ in 0..2 {
        // Twice: the second is no more a cache hit than the first.
        let brotli = app.get_with(WASM, &[("accept-encoding", "gzip, deflate, br")]).await;
        assert_bundle("br", &brotli, Some("br"), BROTLI);
    }
    let gzip = app.get_with(WASM, &[("accept-encoding", "gzip")]).await;
    assert_bundle("gzip", &gzip, Some("gzip"), GZIP);
    let identity = app.get_with(WASM, &[("accept-encoding", "identity")]).await;
    assert_bundle("identity", &identity, None, RAW);
    let none = app.get_with(WASM, &[]).await;
    assert_bundle("no Accept-Encoding", &none, None, RAW);

    let head = app.send_with(Method::HEAD, WASM, &[("accept-encoding", "br")]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-encoding"), Some("br"));
    assert_eq!(head.header("content-length"), Some(&*BROTLI.len().to_string()));
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn the_bundle_is_immutable_for_signed_in_visitors_too() {
    let (_root, app) = precompressed_site().await;
    let cookie = app.sign_in_customer().await;
    let signed_in = app.get_with(WASM, &[("accept-encoding", "br"), ("cookie", &cookie)]).await;
    assert_bundle("signed in", &signed_in, Some("br"), BROTLI);
    let authorization =
        app.get_with(WASM, &[("accept-encoding", "br"), ("authorization", "Bearer x")]).await;
    assert_bundle("Authorization", &authorization, Some("br"), BROTLI);
}

#[tokio::test]
async fn a_file_without_copies_is_compressed_per_request() {
    let raw = "(module (func $f (result i32) i32.const 42)) ".repeat(40);
    let root = site(&[(&WASM[1..], &raw)]);
    let app = TestApp::start_with_site(root.path(), true).await;
    let brotli = app.get_with(WASM, &[("accept-encoding", "br")]).await;
    assert_eq!(brotli.status, StatusCode::OK);
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    assert!(brotli.body.len() * 3 < raw.len(), "{} of {} bytes", brotli.body.len(), raw.len());
    assert_eq!(brotli.header("vary"), Some("accept-encoding"));
    assert_eq!(brotli.header("cache-control"), Some(IMMUTABLE));
    assert_not_from_the_isr_cache("compressed per request", &brotli);
    let identity = app.get_with(WASM, &[("accept-encoding", "identity")]).await;
    assert_eq!(identity.body, raw);
}

#[tokio::test]
async fn unhashed_bundles_are_revalidated_and_vary() {
    let root =
        site(&[("pkg/leptos-isr-starter.css", "body {}"), ("pkg/leptos-isr-starter.css.br", "b")]);
    let app = TestApp::start_with_site(root.path(), false).await;
    let response = app.get_with("/pkg/leptos-isr-starter.css", &[("accept-encoding", "br")]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!((response.header("content-encoding"), &*response.body), (Some("br"), "b"));
    assert_eq!(response.header("cache-control"), Some("public, max-age=0, must-revalidate"));
    assert_eq!(response.header("vary"), Some("accept-encoding"));
    assert_not_from_the_isr_cache("unhashed", &response);
}

#[tokio::test]
async fn missing_files_are_plain_404s_and_bad_paths_400s() {
    let (_root, app) = precompressed_site().await;
    let long_name = format!("/pkg/{}.js", "a".repeat(300));
    let missing = ["/pkg/leptos-isr-starter.ffffffff.js", "/pkg/nested/missing.css", &long_name];
    // Refused before routing (`server::guard`): never ServeDir's to resolve.
    let bad = [
        "/pkg/../favicon.svg",
        "/pkg/%2e%2e/favicon.svg",
        "/pkg/..%2f..%2fCargo.toml",
        "/pkg/%FF.js",
    ];
    for (paths, status) in
        [(&missing[..], StatusCode::NOT_FOUND), (&bad[..], StatusCode::BAD_REQUEST)]
    {
        for path in paths {
            for _ in 0..2 {
                let response = app.get_with(path, &[("accept-encoding", "br")]).await;
                assert_eq!(response.status, status, "{path}: {}", response.body);
                assert!(!response.body.is_empty(), "{path}: a message");
                assert!(!response.body.contains("<html"), "{path}: text, not the app's page");
                assert_not_from_the_isr_cache(path, &response);
            }
        }
    }
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let (_root, app) = precompressed_site().await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "PROPFIND", "FOO"] {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let response = app.send_with(method.clone(), WASM, &[]).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
        assert_eq!(response.header("cache-control"), Some("no-store"), "{method}");
        assert!(!response.body.is_empty(), "{method}: a message");
        assert_not_from_the_isr_cache(method.as_str(), &response);
    }
}
