//! Only our own pages may change anything: a request that can write (any
//! method but `GET`, `HEAD` and `OPTIONS`) sent by a browser from another
//! site is refused before it reaches a handler.
//!
//! The rule is Go's `net/http` `CrossOriginProtection` (Go 1.25), with the
//! site's origin taken from `PUBLIC_URL` rather than the `Host` a request
//! claims:
//!
//! - `Sec-Fetch-Site: same-origin` or `none` (typed in the address bar, a
//!   bookmark): allowed; any other value (`same-site`: a sibling subdomain,
//!   `cross-site`): refused.
//! - No `Sec-Fetch-Site` (browsers before 2023, or not a browser): allowed if
//!   `Origin` is absent or is `PUBLIC_URL`'s origin, refused otherwise.
//! - Neither header: allowed. Every browser sends one of them on a request
//!   that can write, so this is a client such as `curl` or a caller of
//!   `POST /api/revalidate`, which carries no visitor's cookie.
//!
//! `SameSite=Lax` alone leaves sign-in CSRF (an attacker's form signs the
//! visitor into the attacker's account) and every sibling subdomain open.
//! Tokens in forms would work too, but a page stored in a shared cache
//! cannot carry one visitor's token; the browser's own headers need no state.
//!
//! Written here, not taken from a crate: it is these few lines, and the
//! crates on offer (CSRF tokens in cookies, double submit) need per-visitor
//! state in the page.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, Method, StatusCode};

/// The site's origin (`scheme://host[:port]`), as browsers write it in `Origin`.
#[derive(Clone, Debug)]
pub struct Origin(String);

impl Origin {
    /// The origin of `public_url` (`https://example.com/base` → `https://example.com`).
    pub fn of(public_url: &str) -> Self {
        let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
        let host = rest.split('/').next().unwrap_or(rest);
        Self(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    }
}

/// The middleware (`axum::middleware::from_fn_with_state(origin, refuse_cross_origin)`).
pub async fn refuse_cross_origin(
    State(origin): State<Origin>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(why) = check(request.method(), request.headers(), &origin) {
        tracing::info!(method = %request.method(), path = request.uri().path(), why, "cross-origin write refused");
        let api = request.uri().path().starts_with("/api/");
        return super::guard::error(api, StatusCode::FORBIDDEN, "cross_origin", why);
    }
    next.run(request).await
}

/// Whether a request with `method` and `headers` may go on; if not, why.
fn check(method: &Method, headers: &HeaderMap, origin: &Origin) -> Result<(), &'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    match headers.get("sec-fetch-site").map(http::HeaderValue::as_bytes) {
        Some(b"same-origin" | b"none") => return Ok(()),
        Some(_) => {
            return Err("This request came from another site (Sec-Fetch-Site); \
                        only the site's own pages may change anything.");
        }
        None => {}
    }
    match headers.get(http::header::ORIGIN) {
        None => Ok(()),
        Some(sent) if sent.as_bytes().eq_ignore_ascii_case(origin.0.as_bytes()) => Ok(()),
        Some(_) => Err("This request came from another origin (Origin); \
                        only the site's own pages may change anything."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(method: Method, pairs: &[(&'static str, &'static str)]) -> Result<(), &'static str> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, http::HeaderValue::from_static(value));
        }
        check(&method, &headers, &Origin::of("https://Shop.example.com/"))
    }

    #[test]
    fn reads_pass_whatever_they_say() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            let foreign = [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")];
            assert!(verdict(method, &foreign).is_ok());
        }
    }

    #[test]
    fn sec_fetch_site_decides_when_sent() {
        assert!(verdict(Method::POST, &[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(verdict(Method::POST, &[("sec-fetch-site", "none")]).is_ok());
        assert!(verdict(Method::POST, &[("sec-fetch-site", "same-site")]).is_err());
        assert!(verdict(Method::DELETE, &[("sec-fetch-site", "cross-site")]).is_err());
        // It wins over a matching Origin: a sibling subdomain cannot claim ours.
        let sibling = [("sec-fetch-site", "same-site"), ("origin", "https://shop.example.com")];
        assert!(verdict(Method::POST, &sibling).is_err());
    }

    #[test]
    fn without_it_origin_must_be_ours_or_absent() {
        assert!(verdict(Method::POST, &[("origin", "https://shop.example.com")]).is_ok());
        assert!(verdict(Method::POST, &[("origin", "https://SHOP.example.com")]).is_ok());
        assert!(verdict(Method::POST, &[("origin", "http://shop.example.com")]).is_err());
        assert!(verdict(Method::POST, &[("origin", "https://shop.example.com:8443")]).is_err());
        assert!(verdict(Method::POST, &[("origin", "null")]).is_err());
        assert!(verdict(Method::POST, &[]).is_ok(), "curl sends neither");
    }

    #[test]
    fn the_origin_is_scheme_and_host() {
        assert_eq!(Origin::of("https://a.example/x/y").0, "https://a.example");
        assert_eq!(Origin::of("http://127.0.0.1:3000").0, "http://127.0.0.1:3000");
    }
}
