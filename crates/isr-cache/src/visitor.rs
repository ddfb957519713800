//! Who is asking, as far as a shared cache is concerned: the one
//! classification, and the one predicate ([`Visitor::is_personal`]), that
//! both [`crate::CachePolicyLayer`] and [`crate::IsrLayer`] use, so the two
//! can never disagree about which requests are personal.
//!
//! Only the application can tell a real session from a made-up cookie, so it
//! supplies the classification; it must be cheap and must not touch a
//! database (it runs on every request, hits included): a signed cookie
//! checked with an HMAC is the model.
//!
//! | visitor | served from a shared cache | stored |
//! |---|---|---|
//! | [`Visitor::Anonymous`] | yes | yes |
//! | [`Visitor::Personal`] | never | never |
//! | [`Visitor::Preview`] | never: a fresh render | never, replaces nothing |

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// What kind of visitor a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visitor {
    /// Anyone: no session, or a cookie that proves none (a forged or stale
    /// one), whatever other headers the request carries.
    Anonymous,
    /// A signed-in visitor: their pages may name them.
    Personal,
    /// Someone allowed to see the site uncached (an editor, `curl` with the
    /// preview token): every request renders afresh.
    Preview,
}

impl Visitor {
    /// Whether the response to this visitor's request, which carries
    /// `headers`, may be about who sent it: a signed-in visitor's, a
    /// preview's, or any request with `Authorization` (RFC 9111 section 3.5).
    /// Such a response is `private, no-store` ([`crate::CachePolicyLayer`]),
    /// and such a request is answered from a shared cache only with a page
    /// that says it is shared anyway ([`crate::IsrLayer`]; signed-in visitors
    /// and previews never are).
    pub fn is_personal(self, headers: &HeaderMap) -> bool {
        self != Self::Anonymous || headers.contains_key(AUTHORIZATION)
    }
}

type Classify = Arc<dyn Fn(&HeaderMap) -> Visitor + Send + Sync>;

/// The application's classification of requests. Cheap to clone.
#[derive(Clone)]
pub struct Visitors(Classify);

impl Visitors {
    /// Classifies requests with `classify`.
    pub fn new(classify: impl Fn(&HeaderMap) -> Visitor + Send + Sync + 'static) -> Self {
        Self(Arc::new(classify))
    }

    /// Every request is anonymous (a site with no sessions).
    pub fn anonymous() -> Self {
        Self::new(|_| Visitor::Anonymous)
    }

    /// The visitor a request with these headers comes from.
    pub fn classify(&self, headers: &HeaderMap) -> Visitor {
        (self.0)(headers)
    }
}

impl Default for Visitors {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl fmt::Debug for Visitors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Visitors(..)")
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn sessions_previews_and_credentials_are_personal() {
        let plain = HeaderMap::new();
        let mut authorized = HeaderMap::new();
        authorized.insert(AUTHORIZATION, HeaderValue::from_static("Bearer token"));

        assert!(!Visitor::Anonymous.is_personal(&plain));
        assert!(Visitor::Anonymous.is_personal(&authorized), "credentials make it personal");
        for visitor in [Visitor::Personal, Visitor::Preview] {
            assert!(visitor.is_personal(&plain), "{visitor:?}");
            assert!(visitor.is_personal(&authorized), "{visitor:?}");
        }
    }
}
