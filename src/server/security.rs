//! The security headers of every response, and a Content-Security-Policy
//! without `unsafe-inline` that survives a shared cache.
//!
//! Two layers (see `server::router_with`):
//!
//! - [`hash_scripts`], inside the ISR cache and outside compression: an HTML
//!   response gets a policy whose `script-src` lists the SHA-256 of each
//!   inline script the app wrote into it. The header is stored with the body
//!   it describes, so a hit serves both, to every visitor alike. A per-request
//!   nonce cannot do this: every visitor gets the same cached bytes.
//! - [`add_headers`], outermost: every response, the bundle, hits and
//!   refusals included, gets the fixed headers, and the policy without
//!   hashes where the response has none (JSON, files, errors).
//!
//! Which scripts are the app's: Leptos writes the hydration bootstrap (and,
//! under `cargo leptos watch`, the reload script) in `<head>`, and an
//! `SsrMode::Async` page's resolved data after `</html>`, as
//! `<script>` chunks. Only those two places are hashed, never a script inside
//! `<body>`: text there is escaped by the view, and a page that writes raw
//! HTML (`inner_html`) from its content must not get its content's scripts
//! allowed. Leptos escapes `</script>` inside the data it serialises, so the
//! data cannot end its script early. Hashing the head per render, rather
//! than once per build, costs microseconds and cannot drift from what the
//! page holds (the static export's head has a script of its own).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, StatusCode};
use sha2::{Digest as _, Sha256};

/// The headers every response carries, and the pieces of its policy.
#[derive(Debug)]
pub struct SecurityHeaders {
    /// Each fixed header: its name as written in files, as sent, its value.
    fixed: Vec<(&'static str, HeaderName, HeaderValue)>,
    /// The policy before `script-src`'s hashes: `…; script-src 'self' 'wasm-unsafe-eval'`.
    script_src: String,
    /// The directives after `script-src`.
    rest: String,
}

impl SecurityHeaders {
    /// The headers of a site served at `public_url`; `reload_port` is
    /// `cargo leptos watch`'s WebSocket (`Some` only while it watches).
    pub fn new(public_url: &str, reload_port: Option<u32>) -> Arc<Self> {
        let mut fixed = vec![
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            // frame-ancestors says the same to browsers that read CSP.
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            // Every powerful feature off: the site uses none of them.
            (
                "Permissions-Policy",
                "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), \
                 display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), \
                 microphone=(), midi=(), payment=(), publickey-credentials-get=(), \
                 screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()",
            ),
        ];
        if public_url.starts_with("https://") {
            // Two years, as the preload list asks; `preload` is the site's
            // own decision (it cannot be undone quickly), so not here.
            fixed.push(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"));
        }
        let fixed = fixed
            .into_iter()
            .map(|(title, value)| {
                let name = HeaderName::from_bytes(title.as_bytes()).expect("a header name");
                (title, name, HeaderValue::from_static(value))
            })
            .collect();
        let connect = match reload_port {
            // The reload script connects to the page's host on this port.
            Some(port) => format!("connect-src 'self' ws://*:{port} wss://*:{port}; "),
            None => String::new(),
        };
        Arc::new(Self {
            fixed,
            script_src: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'".to_owned(),
            rest: format!(
                "; style-src 'self'; img-src 'self' data:; {connect}object-src 'none'; \
                 base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
        })
    }

    /// The policy allowing the scripts whose hashes are `hashes` (`sha256-…`).
    pub fn policy(&self, hashes: &[String]) -> String {
        let mut policy = self.script_src.clone();
        for hash in hashes {
            policy.push_str(" '");
            policy.push_str(hash);
            policy.push('\'');
        }
        policy.push_str(&self.rest);
        policy
    }

    /// The fixed headers, names as files write them, for the static export.
    pub fn fixed(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.fixed.iter().map(|(title, _, value)| (*title, value.to_str().unwrap_or_default()))
    }
}

/// The middleware that gives an HTML response the policy of its own scripts
/// (`from_fn_with_state(headers, hash_scripts)`), inside the ISR cache.
///
/// The whole page is read before it is sent: an `SsrMode::Async` render
/// holds it in memory whole anyway, and the header must come first.
pub async fn hash_scripts(
    State(headers): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if !html || response.headers().contains_key(CONTENT_SECURITY_POLICY) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "a page's body failed while it was read for its scripts");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let policy = headers.policy(&app_script_hashes(&String::from_utf8_lossy(&bytes)));
    if let Ok(value) = HeaderValue::try_from(policy) {
        parts.headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The middleware that gives every response the fixed headers, and the
/// policy without hashes if it has none (`from_fn_with_state(headers, add_headers)`).
///
/// One middleware rather than a tower-http `SetResponseHeaderLayer` per
/// header: the list is data, built once from the configuration.
pub async fn add_headers(
    State(headers): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let sent = response.headers_mut();
    for (_, name, value) in &headers.fixed {
        sent.insert(name.clone(), value.clone());
    }
    if !sent.contains_key(CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::try_from(headers.policy(&[]))
    {
        sent.insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `sha256-…` of each inline script Leptos wrote into `html`: those in
/// `<head>` and those after `</html>` (see the module's documentation), in
/// order, without repeats.
pub fn app_script_hashes(html: &str) -> Vec<String> {
    let head = html.find("</head>").map_or("", |end| &html[..end]);
    let tail = html.rfind("</html>").map_or("", |end| &html[end..]);
    let mut hashes = Vec::new();
    for script in inline_scripts(head).chain(inline_scripts(tail)) {
        let digest = Sha256::digest(script.as_bytes());
        let hash = format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest));
        if !hashes.contains(&hash) {
            hashes.push(hash);
        }
    }
    hashes
}

/// The text of each `<script>` without `src` in `html`, as Leptos writes
/// them (lower-case tags, no `>` inside attribute values). Not an HTML
/// parser: it reads only markup the app's own views wrote.
fn inline_scripts(mut html: &str) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        loop {
            let start = html.find("<script")?;
            let rest = &html[start + "<script".len()..];
            let open_end = rest.find('>')?;
            let (attributes, after) = (&rest[..open_end], &rest[open_end + 1..]);
            let close = after.find("</script>")?;
            html = &after[close + "</script>".len()..];
            // `<scripts>` is no script; a script with `src` has no inline text.
            let is_script = attributes.is_empty() || attributes.starts_with([' ', '\t', '\n']);
            if is_script && !attributes.split_whitespace().any(|a| a.starts_with("src=")) {
                return Some(&after[..close]);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(text: &str) -> String {
        let digest = Sha256::digest(text.as_bytes());
        format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest))
    }

    #[test]
    fn head_and_tail_scripts_are_hashed_and_the_body_is_not() {
        let html = r#"<!DOCTYPE html><html><head><script type="module" nonce="">boot()</script><script src="/pkg/a.js"></script></head><body><main><script>content()</script></main></body></html><script nonce="">data(1)</script><script nonce="">data(1)</script><script>data(2)</script>"#;
        assert_eq!(app_script_hashes(html), [sha("boot()"), sha("data(1)"), sha("data(2)")]);
    }

    #[test]
    fn a_known_hash() {
        // `echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64`
        assert_eq!(sha("alert(1)"), "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=");
        assert_eq!(app_script_hashes("<html><head></head></html>"), Vec::<String>::new());
    }

    #[test]
    fn the_policy_lists_hashes_in_script_src() {
        let headers = SecurityHeaders::new("https://example.com", None);
        assert_eq!(
            headers.policy(&["sha256-x".to_owned()]),
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-x'; \
             style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        );
        assert!(headers.fixed().any(|(name, _)| name == "Strict-Transport-Security"));
        let plain = SecurityHeaders::new("http://127.0.0.1:3000", Some(3001));
        assert!(!plain.fixed().any(|(name, _)| name == "Strict-Transport-Security"));
        assert!(plain.policy(&[]).contains("connect-src 'self' ws://*:3001 wss://*:3001;"));
    }
}
