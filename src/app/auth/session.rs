//! Session cookies: creating, reading and clearing them.

use std::fmt::Write as _;
use std::time::Duration;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use leptos::prelude::*;
use rand_core::{OsRng, RngCore};

use super::{CurrentUser, db};
use crate::AppResult;
use crate::server::db::{Db, now};
use crate::server::{AppState, Config};

/// The session cookie's name. Also what a shared cache looks for to bypass.
pub const SESSION_COOKIE: &str = "sid";

/// Starts a session for `user_id`, returning its id (the cookie value).
pub async fn create(db: &Db, user_id: i64, ttl: Duration) -> AppResult<String> {
    db::delete_expired_sessions(db).await?;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let id = bytes.iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    let expires_at = now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    db::insert_session(db, &id, user_id, expires_at).await?;
    Ok(id)
}

/// The `Set-Cookie` value that stores `session_id` in the browser.
pub fn cookie(session_id: &str, config: &Config) -> String {
    let secure = if config.secure_cookies() { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        config.session_ttl.as_secs()
    )
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn expired_cookie(config: &Config) -> String {
    let secure = if config.secure_cookies() { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
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

/// The session id in the request's cookies, if any.
pub fn id_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// The session id of the request being handled (page render or server function).
pub async fn id_from_request() -> Option<String> {
    let headers: HeaderMap = leptos_axum::extract().await.ok()?;
    id_from_headers(&headers)
}

/// The signed-in user of the request being handled, if any.
pub async fn current_user() -> AppResult<Option<CurrentUser>> {
    match id_from_request().await {
        Some(id) => db::find_session_user(&AppState::current().db, &id).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).expect("valid header"));
        headers
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        assert_eq!(id_from_headers(&headers("theme=dark; sid=abc123; x=y")), Some("abc123".into()));
        assert_eq!(id_from_headers(&headers("sidebar=1")), None);
        assert_eq!(id_from_headers(&headers("sid=")), None);
        assert_eq!(id_from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn cookies_are_http_only_and_lax_and_secure_over_https() {
        let config = Config::from_lookup(|_| None).expect("defaults");
        let value = cookie("abc", &config);
        assert!(value.contains("HttpOnly") && value.contains("SameSite=Lax"));
        assert!(!value.contains("Secure"));
        let https = Config::from_lookup(|name| {
            (name == "PUBLIC_URL").then(|| "https://example.com".to_owned())
        })
        .expect("valid");
        assert!(cookie("abc", &https).ends_with("; Secure"));
        assert!(expired_cookie(&https).contains("Max-Age=0"));
    }
}
