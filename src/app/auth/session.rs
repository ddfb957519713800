//! Session cookies: creating, signing, reading and clearing them.
//!
//! A session is a random 256-bit id. The browser holds `sid={id}.{mac}`
//! (`__Host-sid` on https, see [`cookie_name`]), where
//! `mac` is the HMAC-SHA256 of the id under `SESSION_SECRET` ([`SessionKey`]),
//! base64url without padding; the `sessions` table holds only the SHA-256 of
//! the id ([`id_hash`]), so a copy of the database signs nobody in.
//!
//! Invariants:
//! - [`verified_id`] is the only way to read the cookie. A cookie whose
//!   signature fails is no session at all, for the pages and for the cache
//!   layers alike ([`is_signed_in`], which needs no database: a forged cookie
//!   can neither sign anyone in nor make a request bypass the shared caches).
//! - A validly signed cookie whose row is gone or expired is signed out by the
//!   pages ([`current_user`]). The cache layers still count it as personal
//!   (they cannot know without a database), which is safe: only the server can
//!   have signed it, and it expires in the browser with the session.
//! - A session ends at its expiry (`SESSION_TTL_HOURS`), after
//!   `SESSION_IDLE_HOURS` unused, at sign-out, at "sign out everywhere", and
//!   when its account's password changes elsewhere. A sign-in replaces the
//!   session the browser had (a new id; the old row is deleted), so an id
//!   planted before sign-in is worth nothing after it.
//! - Every MAC names its purpose, so a value signed for one use (a session id)
//!   never verifies for another (the preview cookie, see `auth::preview`).

use std::fmt::Write as _;
use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use leptos::prelude::*;
use rand_core::{OsRng, RngCore};
use sha2::{Digest as _, Sha256};

use super::{CurrentUser, db};
use crate::AppResult;
use crate::config::Config;
use crate::db::{Db, now};
use crate::state::AppState;

/// The session cookie's name over http (development).
pub const SESSION_COOKIE: &str = "sid";

/// The session cookie's name over https: browsers accept a `__Host-` cookie
/// only with `Secure`, `Path=/` and no `Domain`, so no sibling subdomain
/// (and no page over http) can set or replace it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-sid";

/// The session cookie's name on this site.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies() { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// The purpose a session id's MAC is computed for.
const SESSION_PURPOSE: &str = "session";

/// Longest cookie value worth checking: ours are 108 bytes. A longer one is
/// junk, rejected before it costs an HMAC over kilobytes.
const MAX_SIGNED_VALUE: usize = 256;

pub use crate::signing::SessionKey;

/// The sessions one account may hold (its browsers and devices): the oldest
/// beyond these are signed out by a new sign-in, so the table grows with
/// the accounts, not with the sign-ins.
pub const MAX_SESSIONS_PER_USER: i64 = 10;

/// Starts a session for `user_id`, returning its id (to sign into the cookie
/// with [`set_cookie`]); the database keeps only its hash.
pub async fn create(db: &Db, user_id: i64, ttl: Duration) -> AppResult<String> {
    db::delete_expired_sessions(db).await?;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let id = hex(&bytes);
    let expires_at = now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    db::insert_session(db, &id, user_id, expires_at).await?;
    db::keep_newest_sessions(db, user_id, MAX_SESSIONS_PER_USER).await?;
    Ok(id)
}

/// What the `sessions` table stores for `session_id`: its SHA-256, in
/// lowercase hex.
pub fn id_hash(session_id: &str) -> String {
    hex(&Sha256::digest(session_id.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The `Set-Cookie` value that stores `session_id`, signed, in the browser.
pub fn cookie(session_id: &str, config: &Config) -> String {
    let mac = config.session_key.sign(SESSION_PURPOSE, session_id);
    site_cookie(cookie_name(config), format!("{session_id}.{mac}"), config.session_ttl, config)
        .to_string()
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn expired_cookie(config: &Config) -> String {
    site_cookie(cookie_name(config), String::new(), Duration::ZERO, config).to_string()
}

/// A cookie of this site, as the session and preview cookies are set: for
/// every path, out of scripts' reach (`HttpOnly`), sent from other sites
/// only on top-level navigations (`SameSite=Lax`), `Secure` when the site is
/// on https, and kept for `max_age` (zero deletes it: `Max-Age=0` alone, not
/// [`Cookie::make_removal`], which adds an `Expires` in the past that every
/// browser ignores beside `Max-Age`, RFC 6265 section 5.3).
pub(crate) fn site_cookie(
    name: &'static str,
    value: String,
    max_age: Duration,
    config: &Config,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::try_from(max_age).unwrap_or(cookie::time::Duration::MAX))
        .secure(config.secure_cookies())
        .build()
}

/// Adds the session cookie to the current response.
pub fn set_cookie(session_id: &str, config: &Config) {
    append_set_cookie(&cookie(session_id, config));
}

/// Clears the session cookie in the current response.
pub fn clear_cookie(config: &Config) {
    append_set_cookie(&expired_cookie(config));
}

fn append_set_cookie(value: &str) {
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(value))
    {
        response.append_header(SET_COOKIE, value);
    }
}

/// The non-empty values of the cookies called `name` in the request, in
/// order, from every `Cookie` header (HTTP/2 may split them). Pairs that do
/// not parse are skipped: junk never hides a good cookie after it.
pub(crate) fn cookie_values<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
        // The value borrowed from the header, not from the parsed cookie.
        .filter_map(|cookie| cookie.value_raw())
        .filter(|value| !value.is_empty())
}

/// The session id of the request: present when a cookie called `name`
/// carries an id and its valid signature. `None` for no cookie, an empty or
/// malformed one, or a signature that fails. Needs no database.
pub fn verified_id(headers: &HeaderMap, name: &str, key: &SessionKey) -> Option<String> {
    cookie_values(headers, name).find_map(|value| {
        if value.len() > MAX_SIGNED_VALUE {
            return None;
        }
        let (id, mac) = value.rsplit_once('.')?;
        (!id.is_empty() && key.verify(SESSION_PURPOSE, id, mac)).then(|| id.to_owned())
    })
}

/// Whether the request is personal: it carries a validly signed session
/// cookie. What the cache layers ask before they share anything; a forged
/// cookie is anonymous. Costs one HMAC when a `sid` cookie is present, nothing
/// otherwise.
pub fn is_signed_in(headers: &HeaderMap, config: &Config) -> bool {
    verified_id(headers, cookie_name(config), &config.session_key).is_some()
}

/// The verified session id of the request being handled (page render or
/// server function).
pub async fn id_from_request() -> Option<String> {
    let headers: HeaderMap = leptos_axum::extract().await.ok()?;
    let config = &AppState::current().config;
    verified_id(&headers, cookie_name(config), &config.session_key)
}

/// The signed-in user of the request being handled, if any: a verified
/// cookie whose session row exists, has not expired and was used within
/// `SESSION_IDLE_HOURS`.
pub async fn current_user() -> AppResult<Option<CurrentUser>> {
    match id_from_request().await {
        Some(id) => {
            let state = AppState::current();
            let idle = i64::try_from(state.config.session_idle.as_secs()).unwrap_or(i64::MAX);
            db::find_session_user(&state.db, &id, idle).await
        }
        None => Ok(None),
    }
}

/// The signed-in user of the request being handled, or `Unauthorized`: for
/// server functions that only a signed-in visitor may call.
pub async fn require_user() -> AppResult<CurrentUser> {
    current_user().await?.ok_or(crate::AppError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c0d2b9e8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d";

    fn key() -> SessionKey {
        SessionKey::new(b"0123456789abcdef0123456789abcdef")
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).expect("valid header"));
        headers
    }

    /// `sid=…` as `cookie` writes it, signed with `key`.
    fn signed(key: &SessionKey, id: &str) -> String {
        format!("{SESSION_COOKIE}={id}.{}", key.sign(SESSION_PURPOSE, id))
    }

    #[test]
    fn a_signed_cookie_round_trips() {
        let key = key();
        let cookie = signed(&key, ID);
        assert_eq!(verified_id(&headers(&cookie), SESSION_COOKIE, &key).as_deref(), Some(ID));
        assert!(verified_id(&headers(&cookie), SESSION_COOKIE, &key).is_some());
        assert!(cookie.len() <= SESSION_COOKIE.len() + 1 + MAX_SIGNED_VALUE);
    }

    #[test]
    fn a_tampered_id_fails() {
        let key = key();
        let mac = key.sign(SESSION_PURPOSE, ID);
        let other = ID.replacen('4', "5", 1);
        assert_eq!(
            verified_id(&headers(&format!("sid={other}.{mac}")), SESSION_COOKIE, &key),
            None
        );
        // The unsigned cookies of the previous releases are no session either.
        assert_eq!(verified_id(&headers(&format!("sid={ID}")), SESSION_COOKIE, &key), None);
    }

    #[test]
    fn a_tampered_mac_fails() {
        let key = key();
        let mac = key.sign(SESSION_PURPOSE, ID);
        let flipped: String = mac
            .chars()
            .enumerate()
            .map(|(i, c)| if i == 5 { if c == 'A' { 'B' } else { 'A' } } else { c })
            .collect();
        assert_ne!(flipped, mac);
        for bad in [flipped.as_str(), &mac[..mac.len() - 1], "", "not base64!", &format!("{mac}A")]
        {
            let cookie = format!("sid={ID}.{bad}");
            assert_eq!(verified_id(&headers(&cookie), SESSION_COOKIE, &key), None, "{cookie}");
        }
    }

    #[test]
    fn another_key_or_purpose_fails() {
        let cookie = signed(&key(), ID);
        assert_eq!(verified_id(&headers(&cookie), SESSION_COOKIE, &SessionKey::generate()), None);
        let other = SessionKey::new(b"0123456789abcdef0123456789abcdeF");
        assert_eq!(verified_id(&headers(&cookie), SESSION_COOKIE, &other), None);
        let key = key();
        let preview_mac = key.sign("preview", ID);
        assert_eq!(
            verified_id(&headers(&format!("sid={ID}.{preview_mac}")), SESSION_COOKIE, &key),
            None
        );
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let key = key();
        let cookie = signed(&key, ID);
        let among = headers(&format!("theme=dark; sidebar=1; {cookie}; x=y"));
        assert_eq!(verified_id(&among, SESSION_COOKIE, &key).as_deref(), Some(ID));
        // A forged `sid` before the real one does not hide it.
        let forged_first = headers(&format!("sid=abc.def; {cookie}"));
        assert_eq!(verified_id(&forged_first, SESSION_COOKIE, &key).as_deref(), Some(ID));
        // Cookies may also come in several headers.
        let mut split = headers("theme=dark");
        split.append(COOKIE, HeaderValue::from_str(&cookie).expect("valid"));
        assert_eq!(verified_id(&split, SESSION_COOKIE, &key).as_deref(), Some(ID));
    }

    #[test]
    fn empty_missing_or_junk_cookies_are_no_session() {
        let key = key();
        for cookie in
            ["sid=", "sid=.", "sid=.abc", "sidebar=1", "sid", "sid=abc123", "=", ";;", "sid=a.b.c"]
        {
            assert_eq!(verified_id(&headers(cookie), SESSION_COOKIE, &key), None, "{cookie}");
        }
        assert_eq!(verified_id(&HeaderMap::new(), SESSION_COOKIE, &key), None);
        let huge = format!("sid={}.{}", "a".repeat(10_000), key.sign(SESSION_PURPOSE, "a"));
        assert_eq!(verified_id(&headers(&huge), SESSION_COOKIE, &key), None);
        assert!(verified_id(&HeaderMap::new(), SESSION_COOKIE, &key).is_none());
    }

    #[test]
    fn ids_are_stored_as_their_sha256() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            id_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(id_hash(ID), ID);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let key = SessionKey::new(b"a-very-secret-session-key-of-32-bytes");
        assert_eq!(format!("{key:?}"), "SessionKey(***)");
    }

    #[test]
    fn cookies_are_signed_http_only_and_lax_and_secure_over_https() {
        let config = Config::from_lookup(|_| None).expect("defaults");
        let value = cookie(ID, &config);
        let set = Cookie::parse(value.as_str()).expect("a Set-Cookie value");
        assert_eq!(set.path(), Some("/"), "{value}");
        assert_eq!(set.http_only(), Some(true), "{value}");
        assert_eq!(set.same_site(), Some(SameSite::Lax), "{value}");
        let ttl = i64::try_from(config.session_ttl.as_secs()).expect("a week");
        assert_eq!(set.max_age().map(|age| age.whole_seconds()), Some(ttl), "{value}");
        assert!(!value.contains("Secure"), "{value}");
        let pair = value.split(';').next().expect("a pair");
        assert_eq!(
            verified_id(&headers(pair), SESSION_COOKIE, &config.session_key).as_deref(),
            Some(ID)
        );

        let https = Config::from_lookup(|name| {
            (name == "PUBLIC_URL").then(|| "https://example.com".to_owned())
        })
        .expect("valid");
        let secure = cookie("abc", &https);
        assert_eq!(Cookie::parse(secure.as_str()).expect("parses").secure(), Some(true));
        assert_eq!(Cookie::parse(secure.as_str()).expect("parses").name(), "__Host-sid");
        let pair = secure.split(';').next().expect("a pair");
        assert!(verified_id(&headers(pair), SECURE_SESSION_COOKIE, &https.session_key).is_some());
        // Over https a plain `sid` (a sibling subdomain could set one) is no session.
        let plain = pair.replacen("__Host-sid=", "sid=", 1);
        assert!(!is_signed_in(&headers(&plain), &https));
        assert!(is_signed_in(&headers(pair), &https));
        let expired = expired_cookie(&https);
        let gone = Cookie::parse(expired.as_str()).expect("parses");
        assert_eq!((gone.name(), gone.value()), (SECURE_SESSION_COOKIE, ""), "{expired}");
        assert_eq!(gone.max_age().map(|age| age.whole_seconds()), Some(0), "{expired}");
        assert_eq!(
            (gone.path(), gone.secure(), gone.http_only()),
            (Some("/"), Some(true), Some(true))
        );
        assert!(!expired.contains("Expires"), "Max-Age alone: {expired}");
    }

    /// Exactly these attributes, no more: a change in what the crate writes
    /// shows up here (their order is the crate's, and no browser minds it).
    #[test]
    fn the_set_cookie_line_has_exactly_these_attributes() {
        let https = Config::from_lookup(|name| match name {
            "PUBLIC_URL" => Some("https://example.com".to_owned()),
            "SESSION_TTL_HOURS" => Some("2".to_owned()),
            _ => None,
        })
        .expect("valid");
        let line = cookie("v", &https);
        let mut attributes: Vec<&str> = line.split("; ").skip(1).collect();
        attributes.sort_unstable();
        assert_eq!(attributes, ["HttpOnly", "Max-Age=7200", "Path=/", "SameSite=Lax", "Secure"]);
        assert!(line.starts_with("__Host-sid=v."), "{line}");
    }
}
