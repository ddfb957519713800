//! Cache keys: what makes two requests "the same page".
//!
//! A key is the configured canonical host (never the request's `Host` or
//! `X-Forwarded-Host`, which a client controls), the path, the query with its
//! parameters sorted and tracking parameters (`utm_*`, `fbclid`, `gclid`, …)
//! dropped, and the values of the request headers the response varies on,
//! normalised. `Accept-Encoding` is not part of it: an entry holds every
//! encoding, chosen per request.

use http::header::ACCEPT_ENCODING;
use http::{HeaderMap, HeaderName, Uri};

/// Query parameters that only say where a visitor came from: they never change
/// the page, and keeping them would give every campaign link its own entry.
const TRACKING: &[&str] = &["fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga"];

/// `host` + path + normalised query: the key before `Vary` is known.
pub fn primary(host: &str, uri: &Uri) -> String {
    let mut key = String::with_capacity(host.len() + uri.path().len() + 16);
    key.push_str(host);
    key.push_str(uri.path());
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .map(|query| form_urlencoded::parse(query.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    pairs.retain(|(name, _)| !is_tracking(name));
    if !pairs.is_empty() {
        pairs.sort();
        key.push('?');
        key.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish());
    }
    key
}

fn is_tracking(name: &str) -> bool {
    name.starts_with("utm_") || TRACKING.contains(&name)
}

/// The full key: `primary` plus the normalised values of the `vary` headers
/// in `request` (lower-cased, whitespace collapsed, several values joined).
pub fn full(primary: &str, vary: &[HeaderName], request: &HeaderMap) -> String {
    let mut key = primary.to_owned();
    for name in vary.iter().filter(|name| **name != ACCEPT_ENCODING) {
        key.push('\n');
        key.push_str(name.as_str());
        key.push(':');
        let values = request.get_all(name).iter().filter_map(|v| v.to_str().ok());
        let joined = values.collect::<Vec<_>>().join(",");
        key.push_str(&joined.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase());
    }
    key
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn query_is_sorted_and_tracking_dropped() {
        let a = primary("example.com", &uri("/blog?page=2&utm_source=x&b=1&fbclid=abc"));
        let b = primary("example.com", &uri("/blog?b=1&page=2"));
        assert_eq!(a, b);
        assert_eq!(a, "example.com/blog?b=1&page=2");
        assert_eq!(primary("example.com", &uri("/blog?utm_medium=m")), "example.com/blog");
        assert_ne!(
            primary("example.com", &uri("/blog?page=2")),
            primary("example.com", &uri("/blog?page=3"))
        );
    }

    #[test]
    fn the_host_is_the_configured_one() {
        // The request URI's own authority (as in a proxy request) is ignored.
        assert_eq!(primary("example.com", &uri("http://evil.test/blog")), "example.com/blog");
    }

    #[test]
    fn encoding_of_the_query_is_normalised() {
        assert_eq!(primary("h", &uri("/search?q=a%20b")), primary("h", &uri("/search?q=a+b")),);
    }

    #[test]
    fn varied_headers_are_normalised_and_accept_encoding_ignored() {
        let mut one = HeaderMap::new();
        one.insert("accept-language", HeaderValue::from_static("EN,  fr"));
        one.insert("accept-encoding", HeaderValue::from_static("br"));
        let mut two = HeaderMap::new();
        two.insert("accept-language", HeaderValue::from_static("en, fr"));
        let vary = [HeaderName::from_static("accept-language"), ACCEPT_ENCODING];
        assert_eq!(full("h/", &vary, &one), full("h/", &vary, &two));
        let mut other = HeaderMap::new();
        other.insert("accept-language", HeaderValue::from_static("de"));
        assert_ne!(full("h/", &vary, &one), full("h/", &vary, &other));
    }
}
