//! Cache keys: what makes two requests "the same page".
//!
//! A key is the configured canonical host (never the request's `Host` or
//! `X-Forwarded-Host`, which a client controls), the path, the query with its
//! parameters sorted, tracking parameters (`utm_*`, `fbclid`, `gclid`, …)
//! dropped and, where the route declares the parameters it reads, every other
//! one dropped too, and the values of the request headers the response varies
//! on, normalised.
//!
//! The query is normalised by decoding and re-encoding it
//! (`application/x-www-form-urlencoded`), so `a%20b` and `a+b` are one key.
//! A render for a shared cache is sent that same normalised query
//! ([`query`]), never the one the client wrote: a page can then only depend
//! on what its key holds. `Accept-Encoding` is not part of it: an entry holds every
//! encoding, chosen per request (unless the origin encoded the body itself
//! and varies on it: then it is a header like any other).

#[cfg(test)]
use http::Uri;
use http::{HeaderMap, HeaderName};

/// Query parameters that only say where a visitor came from: they never change
/// the page, and keeping them would give every campaign link its own entry.
const TRACKING: &[&str] = &["fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga"];

/// `host` + path + normalised query: the key before `Vary` is known.
/// `declared` lists the parameters the route reads (`None`: all of them).
#[cfg(test)]
pub fn primary(host: &str, uri: &Uri, declared: Option<&[Box<str>]>) -> String {
    primary_of(host, uri.path(), &query(uri.query(), declared))
}

/// `host` + `path` + the already normalised `query` (see [`query`]).
pub fn primary_of(host: &str, path: &str, query: &str) -> String {
    let mut key = String::with_capacity(host.len() + path.len() + 1 + query.len());
    key.push_str(host);
    key.push_str(path);
    if !query.is_empty() {
        key.push('?');
        key.push_str(query);
    }
    key
}

/// The normalised query: parameters the route reads (all when `declared` is
/// `None`), tracking parameters left out, sorted, re-encoded. Empty when none
/// are left.
pub fn query(raw: Option<&str>, declared: Option<&[Box<str>]>) -> String {
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else { return String::new() };
    if declared.is_some_and(<[Box<str>]>::is_empty) {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .filter(|(name, _)| !is_tracking(name))
        .filter(|(name, _)| declared.is_none_or(|declared| declared.iter().any(|d| **d == **name)))
        .collect();
    pairs.sort();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn is_tracking(name: &str) -> bool {
    name.starts_with("utm_") || TRACKING.contains(&name)
}

/// The full key: `primary` plus the normalised values of the `vary` headers
/// in `request` (lower-cased, whitespace collapsed, several values joined).
pub fn full(primary: &str, vary: &[HeaderName], request: &HeaderMap) -> String {
    let mut key = primary.to_owned();
    for name in vary {
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
        let a = primary("example.com", &uri("/blog?page=2&utm_source=x&b=1&fbclid=abc"), None);
        let b = primary("example.com", &uri("/blog?b=1&page=2"), None);
        assert_eq!(a, b);
        assert_eq!(a, "example.com/blog?b=1&page=2");
        assert_eq!(primary("example.com", &uri("/blog?utm_medium=m"), None), "example.com/blog");
        assert_ne!(
            primary("example.com", &uri("/blog?page=2"), None),
            primary("example.com", &uri("/blog?page=3"), None)
        );
    }

    #[test]
    fn only_declared_parameters_count() {
        let page: &[Box<str>] = &["page".into()];
        let key = |u: &str| primary("h", &uri(u), Some(page));
        assert_eq!(key("/blog?page=2&x=1&utm_source=y"), "h/blog?page=2");
        assert_eq!(key("/blog?x=1"), "h/blog");
        assert_eq!(key("/blog?x=1"), key("/blog?x=2"));
        assert_ne!(key("/blog?page=1"), key("/blog?page=2"));
        // Declaring nothing ignores the query altogether.
        assert_eq!(primary("h", &uri("/?a=1&b=2"), Some(&[])), "h/");
        assert_eq!(query(Some("x=1&page=2"), Some(page)), "page=2");
    }

    #[test]
    fn the_host_is_the_configured_one() {
        // The request URI's own authority (as in a proxy request) is ignored.
        assert_eq!(primary("example.com", &uri("http://evil.test/blog"), None), "example.com/blog");
    }

    #[test]
    fn encoding_of_the_query_is_normalised() {
        assert_eq!(
            primary("h", &uri("/search?q=a%20b"), None),
            primary("h", &uri("/search?q=a+b"), None)
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        const DECLARED: [&str; 2] = ["page", "q"];

        fn declared() -> Vec<Box<str>> {
            DECLARED.iter().map(|d| Box::<str>::from(*d)).collect()
        }

        /// A value written the ways clients write it: as is where it can be,
        /// `+` or `%20` for a space, any byte percent-encoded, hex in either case.
        fn spell(value: &str, style: u8) -> String {
            let mut out = String::new();
            for byte in value.bytes() {
                match (byte, style % 4) {
                    (b' ', 0 | 2) => out.push('+'),
                    (b' ', _) => out.push_str("%20"),
                    (b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9', 0 | 1) => out.push(byte as char),
                    (_, 3) => out.push_str(&format!("%{byte:02x}")),
                    _ => out.push_str(&format!("%{byte:02X}")),
                }
            }
            out
        }

        fn url(pairs: &[(String, String)], style: u8) -> String {
            let query: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, (k, v))| format!("{k}={}", spell(v, style.wrapping_add(i as u8))))
                .collect();
            format!("/search?{}", query.join("&"))
        }

        fn params() -> impl Strategy<Value = Vec<(String, String)>> {
            let name = prop_oneof![
                Just("page".to_owned()),
                Just("q".to_owned()),
                Just("x".to_owned()),
                Just("utm_source".to_owned()),
                Just("fbclid".to_owned()),
                "[a-z]{1,6}",
            ];
            prop::collection::vec((name, "[ -~\\u{e9}\\u{4e2d}]{0,8}"), 0..6)
        }

        proptest! {
            /// Order, undeclared and tracking parameters, and how a value is
            /// percent-encoded never make a new key.
            #[test]
            fn one_key_per_declared_query(pairs in params(), shuffle in any::<u64>(), a in any::<u8>(), b in any::<u8>()) {
                let declared = declared();
                let kept: Vec<(String, String)> =
                    pairs.iter().filter(|(k, _)| DECLARED.contains(&k.as_str())).cloned().collect();
                let mut reordered = pairs.clone();
                reordered.reverse();
                let len = reordered.len().max(1);
                reordered.rotate_left((shuffle as usize) % len);
                let one = primary("h", &uri(&url(&pairs, a)), Some(&declared));
                let two = primary("h", &uri(&url(&reordered, b)), Some(&declared));
                let bare = primary("h", &uri(&url(&kept, b)), Some(&declared));
                prop_assert_eq!(&one, &two);
                prop_assert_eq!(&one, &bare);
            }

            /// Different declared values are different pages.
            #[test]
            fn declared_values_never_share_a_key(v in "[ -~\\u{e9}]{0,8}", w in "[ -~\\u{e9}]{0,8}", a in any::<u8>(), b in any::<u8>()) {
                prop_assume!(v != w);
                let declared = declared();
                let one = primary("h", &uri(&url(&[("q".into(), v)], a)), Some(&declared));
                let two = primary("h", &uri(&url(&[("q".into(), w)], b)), Some(&declared));
                prop_assert_ne!(one, two);
            }
        }
    }

    #[test]
    fn varied_headers_are_normalised() {
        let mut one = HeaderMap::new();
        one.insert("accept-language", HeaderValue::from_static("EN,  fr"));
        one.insert("accept-encoding", HeaderValue::from_static("br"));
        let mut two = HeaderMap::new();
        two.insert("accept-language", HeaderValue::from_static("en, fr"));
        // `Accept-Encoding` is named only for bodies the origin encoded (see `Entry::new`).
        let vary = [HeaderName::from_static("accept-language")];
        assert_eq!(full("h/", &vary, &one), full("h/", &vary, &two));
        let mut other = HeaderMap::new();
        other.insert("accept-language", HeaderValue::from_static("de"));
        assert_ne!(full("h/", &vary, &one), full("h/", &vary, &other));
    }
}
