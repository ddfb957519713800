//! Bearer tokens: `Authorization: Bearer <token>`, the one way operators'
//! tools authenticate (previews, `POST /api/revalidate`, `/metrics`).

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq as _;

/// Whether an `Authorization: Bearer <token>` header (the scheme in any case,
/// RFC 9110 section 11.1) carries `expected`, compared in constant time. No
/// expected token: nothing matches. Shared by the revalidate API, `/metrics`
/// and previews (`preview`).
pub fn bearer_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|token| !token.is_empty()) else { return false };
    headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .any(|(_, given)| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("value"));
            headers
        };
        assert!(bearer_matches(&headers("Bearer s3cret"), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cre"), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cret!"), Some("s3cret")));
        assert!(!bearer_matches(&headers("s3cret"), Some("s3cret")));
        assert!(
            !bearer_matches(&headers("Bearer "), Some("")),
            "no token configured means no access"
        );
        assert!(!bearer_matches(&HeaderMap::new(), Some("s3cret")));
        assert!(!bearer_matches(&headers("Bearer s3cret"), None));
    }
}
