//! Invalidation by unsafe methods (RFC 9111 section 4.4): after a successful
//! `POST`, `PUT`, `DELETE` (or any method but `GET`, `HEAD`, `OPTIONS` and
//! `TRACE`), the stored responses for its URL, and for the same-origin URLs
//! its response's `Location` and `Content-Location` name, are dropped, every
//! variant of them. On with [`IsrConfig::unsafe_methods_invalidate`](super::IsrConfig).
//!
//! Memory only: a second level keeps its copy until it expires or is purged
//! (the app purges by tag after its writes, which reaches every level).

use http::header::{CONTENT_LOCATION, LOCATION};
use http::{HeaderMap, Method, StatusCode, Uri};

use super::{IsrCache, key};

/// Whether a request with `method` that ends in `status` invalidates.
pub fn invalidates(method: &Method, status: StatusCode) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    !safe && (status.is_success() || status.is_redirection())
}

impl IsrCache {
    /// Drops what is stored for `uri`, and for the `Location` and
    /// `Content-Location` of `response` that are on this host.
    pub(super) fn invalidate_after_unsafe(&self, uri: &Uri, response: &HeaderMap) {
        let mut targets = vec![(uri.path().to_owned(), uri.query().map(str::to_owned))];
        for name in [LOCATION, CONTENT_LOCATION] {
            let resolved =
                response.get(name).and_then(|value| value.to_str().ok()).and_then(|value| {
                    same_origin_target(uri, value, &self.shared.config.canonical_host)
                });
            targets.extend(resolved);
        }
        for (path, query) in targets {
            let query = self.key_query(&path, query.as_deref());
            self.invalidate_primary(&key::primary_of(
                &self.shared.config.canonical_host,
                &path,
                &query,
            ));
        }
    }

    /// Drops every variant stored under `primary` from memory. (Not a purge:
    /// the purge epoch, which would mark every render in flight stale, is
    /// left alone.)
    fn invalidate_primary(&self, primary: &str) {
        let shared = &self.shared;
        let variant = format!("{primary}\n");
        // A walk over the store: variants are keyed by the request headers
        // they vary on, whose values the cache cannot list otherwise.
        for (key, _) in &shared.store {
            if key.as_str() == primary || key.starts_with(&variant) {
                shared.store.invalidate(key.as_str());
            }
        }
        shared.passes.invalidate(primary);
    }
}

/// `reference` (a `Location` value) resolved against `base`, as a path and
/// query, when it names this host: a relative reference, or an absolute one
/// whose authority is `base`'s or `host` (RFC 9111 section 4.4: never
/// another origin's URLs).
fn same_origin_target(base: &Uri, reference: &str, host: &str) -> Option<(String, Option<String>)> {
    let reference = reference.trim();
    // `http::Uri` would read a bare `name` as an authority: only references
    // with a scheme are parsed as URIs; the rest are paths.
    let (path, query) = if reference.contains("://") {
        let uri: Uri = reference.parse().ok()?;
        let authority = uri.authority()?;
        let ours = base.authority().is_some_and(|a| a == authority) || authority.as_str() == host;
        if !ours {
            return None;
        }
        (uri.path().to_owned(), uri.query().map(str::to_owned))
    } else if reference.starts_with("//") {
        return None; // another host, scheme-relative
    } else {
        let (path, query) =
            reference.split_once('?').map_or((reference, None), |(p, q)| (p, Some(q)));
        (path.to_owned(), query.map(str::to_owned))
    };
    if path.starts_with('/') {
        return Some((path, query));
    }
    // Relative: beside the last segment of the base path.
    let base_path = base.path();
    let directory = &base_path[..=base_path.rfind('/').unwrap_or(0)];
    Some((format!("{directory}{path}"), query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successful_unsafe_methods_invalidate() {
        for method in ["POST", "PUT", "DELETE", "PATCH", "M-SEARCH"] {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            assert!(invalidates(&method, StatusCode::OK), "{method}");
            assert!(invalidates(&method, StatusCode::SEE_OTHER), "{method}");
            assert!(!invalidates(&method, StatusCode::INTERNAL_SERVER_ERROR), "{method}");
            assert!(!invalidates(&method, StatusCode::NOT_FOUND), "{method}");
        }
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!invalidates(&method, StatusCode::OK), "{method}");
        }
    }

    #[test]
    fn locations_on_this_host_resolve_and_others_are_ignored() {
        let base: Uri = "/blog/post?x=1".parse().expect("uri");
        let target = |reference: &str| same_origin_target(&base, reference, "example.com");
        assert_eq!(target("other"), Some(("/blog/other".into(), None)));
        assert_eq!(target("/a?b=c"), Some(("/a".into(), Some("b=c".into()))));
        assert_eq!(target("http://example.com/a"), Some(("/a".into(), None)));
        assert_eq!(target("http://elsewhere.test/a"), None);
        assert_eq!(target("//elsewhere.test/a"), None);
    }
}
