//! Preview: a fresh render of any page for editors and `curl` debugging,
//! behind a token (Next.js' draft mode, without a vendor).
//!
//! A request is a preview ([`is_preview`]) when it carries
//! `Authorization: Bearer $PREVIEW_TOKEN`, or a valid preview cookie that
//! `POST /api/preview` (a form: `token=…&path=…`) set in the browser (and
//! `GET /api/preview/exit?path=…` clears). The cache layers render previews
//! fresh and never store them; this module only says which requests they are.
//!
//! Invariants:
//! - No `PREVIEW_TOKEN`, no previews: [`is_preview`] answers false and
//!   `/api/preview` 404s.
//! - The cookie is `isr_preview={expires}.{mac}`: the expiry (unix seconds, at
//!   most [`PREVIEW_TTL`] ahead) and its HMAC under the [`SessionKey`] for the
//!   purpose `preview`, over the expiry and the token. Changing or removing
//!   `PREVIEW_TOKEN` (or `SESSION_SECRET`) ends every preview at once; a
//!   session cookie's MAC never passes for a preview one.
//! - A wrong or missing token is "not a preview", never an error, for the cache
//!   layers: junk costs nothing and cannot panic. The endpoint answers it with
//!   a 401 and logs a warning, without the token.
//! - `/api/preview` redirects only to an absolute path on this site, so it
//!   cannot be used as an open redirect.
//! - Every answer of the two endpoints is `Cache-Control: no-store`.
//!
//! The token travels in the body of a `POST` (the dashboard's preview form,
//! or `curl -d`), never in a URL, where access logs, proxies and browser
//! history would keep it: `GET /api/preview` answers `405` and says so.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cookie::Cookie;
use http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use subtle::ConstantTimeEq as _;

use super::bearer::bearer_matches;
use super::session::{SessionKey, cookie_values, site_cookie};
use crate::AppError;
use crate::config::Config;
use crate::state::AppState;

/// The preview cookie's name.
pub const PREVIEW_COOKIE: &str = "isr_preview";

/// How long a preview cookie lasts: an editing session, not a login.
pub const PREVIEW_TTL: Duration = Duration::from_secs(60 * 60);

/// The purpose the preview cookie's MAC is computed for.
const PREVIEW_PURPOSE: &str = "preview";

/// Longest cookie value worth checking: ours are under 60 bytes.
const MAX_COOKIE_VALUE: usize = 128;

/// Longest path `/api/preview` redirects to.
const MAX_PATH_BYTES: usize = 2048;

/// Whether the request asks for a preview: `Authorization: Bearer
/// $PREVIEW_TOKEN` (compared in constant time), or a valid, unexpired preview
/// cookie. Always false when `PREVIEW_TOKEN` is unset. Needs no database.
pub fn is_preview(headers: &HeaderMap, config: &Config) -> bool {
    let Some(token) = config.preview_token.as_deref() else { return false };
    bearer_matches(headers, Some(token))
        || cookie_values(headers, PREVIEW_COOKIE)
            .any(|value| cookie_verifies(value, &config.session_key, token, unix_now()))
}

/// The preview routes: `POST /api/preview` and `GET /api/preview/exit`, both
/// `no-store` (their entries in `app::cache::route_table` say so too).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/preview", post(enter).get(token_in_url))
        .route("/api/preview/exit", get(exit))
}

/// `POST /api/preview` with the form `token=…&path=…`: with the right token,
/// sets the preview cookie and sends the browser to `path` (default `/`)
/// with `303 See Other`.
async fn enter(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let params = Params::parse(std::str::from_utf8(&body).ok());
    let config = &state.config;
    let Some(token) = config.preview_token.as_deref() else {
        return no_store(json_error(
            StatusCode::NOT_FOUND,
            "preview_disabled",
            "Previews are off: the server has no PREVIEW_TOKEN.",
        ));
    };
    let given = params.token.as_deref().unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        tracing::warn!(
            token_given = !given.is_empty(),
            "preview refused: missing or wrong token (the token is not logged)"
        );
        return no_store(json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing or wrong preview token.",
        ));
    }
    let path = match redirect_target(params.path.as_deref()) {
        Ok(path) => path,
        Err(error) => return no_store(error.into_response()),
    };
    let expires = unix_now().saturating_add(PREVIEW_TTL.as_secs());
    let value = cookie_value(&config.session_key, token, expires);
    tracing::info!(path, "preview started");
    redirect(path, &site_cookie(PREVIEW_COOKIE, value, PREVIEW_TTL, config))
}

/// `GET /api/preview`: the old way, with the token in the URL. Refused
/// (and not checked), so that a token sent there is not worth logging.
async fn token_in_url() -> Response {
    no_store(json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Send the preview token in a POST form body (token=…&path=…), never in a URL.",
    ))
}

/// `GET /api/preview/exit?path=…`: clears the preview cookie and sends the
/// browser to `path` (default `/`) with `303 See Other`.
async fn exit(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let path = match redirect_target(params.path.as_deref()) {
        Ok(path) => path,
        Err(error) => return no_store(error.into_response()),
    };
    redirect(path, &site_cookie(PREVIEW_COOKIE, String::new(), Duration::ZERO, &state.config))
}

/// The query parameters of the two endpoints (the first of each name).
#[derive(Default)]
struct Params {
    token: Option<String>,
    path: Option<String>,
}

impl Params {
    /// Parsed by hand rather than with axum's `Query`: a malformed query must
    /// still reach the checks below, whose answers say what is wrong.
    fn parse(query: Option<&str>) -> Self {
        let mut params = Self::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match &*name {
                "token" => &mut params.token,
                "path" => &mut params.path,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

/// `path` if the browser can only read it as a path on this site: it starts
/// with one `/` (not `//`, which is another host, nor a scheme), has no
/// backslash (which browsers read as `/`), no spaces or control characters
/// (which browsers strip, so `/\t/evil` would become `//evil`), only ASCII, and
/// at most 2 KiB. No path means `/`.
fn redirect_target(path: Option<&str>) -> Result<&str, AppError> {
    let Some(path) = path.filter(|path| !path.is_empty()) else { return Ok("/") };
    let problem = if !path.starts_with('/') {
        "must be an absolute path on this site, starting with /"
    } else if path.starts_with("//") {
        "must not start with // (that names another site)"
    } else if path.contains('\\') {
        "must not contain a backslash"
    } else if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        "must not contain spaces or control characters"
    } else if !path.is_ascii() {
        "must be ASCII (percent-encode other characters)"
    } else if path.len() > MAX_PATH_BYTES {
        "is longer than 2048 bytes"
    } else {
        return Ok(path);
    };
    Err(AppError::BadRequest(format!("path {problem}")))
}

/// A `303 See Other` to `path` that sets `cookie`.
fn redirect(path: &str, cookie: &Cookie<'_>) -> Response {
    match (HeaderValue::from_str(path), HeaderValue::from_str(&cookie.to_string())) {
        (Ok(location), Ok(cookie)) => no_store(
            (StatusCode::SEE_OTHER, [(LOCATION, location), (SET_COOKIE, cookie)]).into_response(),
        ),
        // Unreachable: `redirect_target` lets through only visible ASCII.
        _ => no_store(AppError::BadRequest("path is not a valid URL path".into()).into_response()),
    }
}

/// A JSON error in the API's shape, `{"error": {"code", "message"}}`. Built
/// here rather than from `AppError`: its 401 speaks of a bearer header (here
/// the token is a query parameter), and it has no "feature is off" case.
fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The cookie value for a preview that ends at `expires` (unix seconds).
fn cookie_value(key: &SessionKey, token: &str, expires: u64) -> String {
    format!("{expires}.{}", key.sign(PREVIEW_PURPOSE, &signed_text(token, expires)))
}

/// Whether `value` is a preview cookie signed with `key` for `token` that is
/// still valid at `now`: unexpired, and not set for longer than [`PREVIEW_TTL`].
fn cookie_verifies(value: &str, key: &SessionKey, token: &str, now: u64) -> bool {
    if value.len() > MAX_COOKIE_VALUE {
        return false;
    }
    let Some((expires, mac)) = value.split_once('.') else { return false };
    let Ok(expires) = expires.parse::<u64>() else { return false };
    now < expires
        && expires <= now.saturating_add(PREVIEW_TTL.as_secs())
        && key.verify(PREVIEW_PURPOSE, &signed_text(token, expires), mac)
}

/// What a preview cookie's MAC covers: its expiry and the token, so that a new
/// token ends the previews started with the old one.
fn signed_text(token: &str, expires: u64) -> String {
    format!("{expires}\0{token}")
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use http::header::{AUTHORIZATION, COOKIE};

    use super::*;

    const TOKEN: &str = "preview-token-for-tests";
    const NOW: u64 = 1_800_000_000;

    fn config(token: Option<&str>) -> Config {
        Config::from_lookup(|name| match name {
            "PREVIEW_TOKEN" => token.map(str::to_owned),
            "SESSION_SECRET" => Some("0123456789abcdef0123456789abcdef".to_owned()),
            _ => None,
        })
        .expect("valid")
    }

    fn headers(name: http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("valid header"));
        headers
    }

    #[test]
    fn the_bearer_token_makes_a_preview() {
        let config = config(Some(TOKEN));
        assert!(is_preview(&headers(AUTHORIZATION, &format!("Bearer {TOKEN}")), &config));
        assert!(is_preview(&headers(AUTHORIZATION, &format!("bearer  {TOKEN} ")), &config));
        for junk in [
            "Bearer wrong".to_owned(),
            format!("Bearer {TOKEN}x"),
            format!("Basic {TOKEN}"),
            "Bearer".into(),
            "Bearer ".into(),
            String::new(),
            "\u{7f}".into(),
        ] {
            let Ok(value) = HeaderValue::from_str(&junk) else { continue };
            let mut map = HeaderMap::new();
            map.insert(AUTHORIZATION, value);
            assert!(!is_preview(&map, &config), "{junk:?}");
        }
        assert!(!is_preview(&HeaderMap::new(), &config));
    }

    #[test]
    fn no_token_configured_means_no_previews() {
        let config = config(None);
        assert!(!is_preview(&headers(AUTHORIZATION, "Bearer "), &config));
        assert!(!is_preview(&headers(AUTHORIZATION, &format!("Bearer {TOKEN}")), &config));
        let cookie = cookie_value(&config.session_key, "", unix_now() + 60);
        assert!(!is_preview(&headers(COOKIE, &format!("{PREVIEW_COOKIE}={cookie}")), &config));
    }

    #[test]
    fn a_preview_cookie_lasts_an_hour_and_no_longer() {
        let key = config(Some(TOKEN)).session_key;
        let value = cookie_value(&key, TOKEN, NOW + 3600);
        assert!(cookie_verifies(&value, &key, TOKEN, NOW));
        assert!(cookie_verifies(&value, &key, TOKEN, NOW + 3599));
        assert!(!cookie_verifies(&value, &key, TOKEN, NOW + 3600), "expired");
        let too_long = cookie_value(&key, TOKEN, NOW + 3601);
        assert!(!cookie_verifies(&too_long, &key, TOKEN, NOW), "over an hour ahead");
    }

    #[test]
    fn a_preview_cookie_is_bound_to_its_key_token_and_expiry() {
        let key = config(Some(TOKEN)).session_key;
        let value = cookie_value(&key, TOKEN, NOW + 60);
        assert!(!cookie_verifies(&value, &SessionKey::generate(), TOKEN, NOW), "other key");
        assert!(!cookie_verifies(&value, &key, "a-new-token", NOW), "token rotated");
        let (_, mac) = value.split_once('.').expect("expires.mac");
        let moved = format!("{}.{mac}", NOW + 120);
        assert!(!cookie_verifies(&moved, &key, TOKEN, NOW), "expiry changed");
        // A session cookie's MAC does not pass for a preview's.
        let session_mac = key.sign("session", &signed_text(TOKEN, NOW + 60));
        assert!(!cookie_verifies(&format!("{}.{session_mac}", NOW + 60), &key, TOKEN, NOW));
        for junk in ["", ".", "abc", "1.2", "-5.x", "99999999999999999999999.x", &"9".repeat(500)] {
            assert!(!cookie_verifies(junk, &key, TOKEN, NOW), "{junk:?}");
        }
    }

    #[test]
    fn a_fresh_preview_cookie_is_a_preview() {
        let config = config(Some(TOKEN));
        let value = cookie_value(&config.session_key, TOKEN, unix_now() + 600);
        let cookies = format!("theme=dark; {PREVIEW_COOKIE}={value}; sid=x");
        assert!(is_preview(&headers(COOKIE, &cookies), &config));
        assert!(!is_preview(&headers(COOKIE, &format!("{PREVIEW_COOKIE}=")), &config));
    }

    #[test]
    fn only_paths_on_this_site_are_redirect_targets() {
        for good in ["/", "/blog/hello-isr", "/search?q=rust&page=2", "/a/b#c", "/%2F%2Fx"] {
            assert_eq!(redirect_target(Some(good)).ok(), Some(good));
        }
        assert_eq!(redirect_target(None).ok(), Some("/"));
        assert_eq!(redirect_target(Some("")).ok(), Some("/"));
        for (bad, says) in [
            ("//evil.test", "//"),
            ("https://evil.test", "starting with /"),
            ("javascript:alert(1)", "starting with /"),
            ("evil.test", "starting with /"),
            ("/\\evil.test", "backslash"),
            ("/\t/evil.test", "control"),
            ("/\n/evil.test", "control"),
            ("/ /x", "spaces"),
            ("/caf\u{e9}", "ASCII"),
        ] {
            let error = redirect_target(Some(bad)).expect_err(bad).to_string();
            assert!(error.starts_with("path ") && error.contains(says), "{bad:?}: {error}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert!(redirect_target(Some(&long)).is_err());
    }

    #[test]
    fn query_parameters_are_read_once_and_decoded() {
        let params = Params::parse(Some("path=%2Fblog%3Fpage%3D2&token=a%2Bb&token=second&x=1"));
        assert_eq!(params.path.as_deref(), Some("/blog?page=2"));
        assert_eq!(params.token.as_deref(), Some("a+b"));
        let empty = Params::parse(None);
        assert!(empty.path.is_none() && empty.token.is_none());
    }
}
