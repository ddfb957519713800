//! What the cache may store, and for how long: RFC 9111 sections 3 (storing
//! responses) and 4.2 (freshness), within the rules [`IsrConfig`] sets.
//!
//! A response is stored when its status is one the configuration stores, it
//! has none of `no-store`, `private` or `no-cache`, no `Set-Cookie`, no
//! `Vary: *`, and an explicit freshness lifetime: `s-maxage`, else `max-age`,
//! else `Expires` less `Date`. There are no heuristics: a response that says
//! nothing about its freshness is not stored. Its age on arrival (its `Age`,
//! or how far its `Date` lags behind the cache's clock, whichever is larger)
//! counts against that lifetime, so a response that spent an hour in caches
//! upstream is an hour older here too.
//!
//! As a targeted cache ([`IsrConfig::cdn_cache_control`]), a response's
//! `CDN-Cache-Control` (RFC 9213), when it has one, takes the place of its
//! `Cache-Control` and `Expires` altogether.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use http::header::{AGE, CACHE_CONTROL, DATE, EXPIRES, SET_COOKIE};
use http::{HeaderMap, StatusCode};

use super::IsrConfig;
use super::entry::vary_names;
use crate::policy::{CDN_CACHE_CONTROL, Directives, tags_of};

/// The largest age a cache states (RFC 9111 section 1.2.2: 2^31 seconds);
/// a larger one, or one that overflows, is this.
const MAX_AGE_SECS: u64 = 1 << 31;

/// The statuses stored by default: a page, a permanent redirect, a page that
/// is not (or no longer) there. Never an error: a render that fails keeps the
/// last good page instead.
const PAGE_STATUSES: [u16; 5] = [200, 301, 308, 404, 410];

/// How a response may be stored (the default: expired at once, unshared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storable {
    /// How long it is fresh, counted from when it was generated.
    pub ttl: Duration,
    /// How old it was when it arrived.
    pub age: Duration,
    pub stale_while_revalidate: Option<Duration>,
    pub stale_if_error: Option<Duration>,
    /// `public`, `s-maxage` or `must-revalidate`: it may answer a request
    /// with `Authorization` (RFC 9111 section 3.5).
    pub explicitly_shared: bool,
    pub tags: BTreeSet<String>,
}

/// Whether a response with `status` and `headers`, arriving at `now` (clock
/// millis: Unix time), may be stored under `config`'s rules, and how.
pub fn storable(
    status: StatusCode,
    headers: &HeaderMap,
    config: &IsrConfig,
    now: u64,
) -> Option<Storable> {
    if !status_stored(status, config)
        || headers.contains_key(SET_COOKIE)
        || vary_names(headers).iter().any(|name| name.as_str() == "*")
    {
        return None;
    }
    let targeted = config.cdn_cache_control && valid_targeted_field(headers);
    let field = if targeted { CDN_CACHE_CONTROL } else { CACHE_CONTROL };
    let directives = Directives::parse(headers, &field);
    if directives.no_store || directives.private || directives.no_cache {
        return None;
    }
    if must_understand(headers, &field) && !understood(status) {
        return None;
    }
    let ttl = directives.s_maxage.or(directives.max_age).or_else(|| {
        // `Expires` is the fallback of `Cache-Control`, which a targeted
        // field replaces whole.
        (!targeted).then(|| expires_lifetime(headers, now)).flatten()
    })?;
    if ttl.is_zero() {
        return None;
    }
    Some(Storable {
        ttl,
        age: initial_age(headers, now),
        stale_while_revalidate: directives.stale_while_revalidate,
        stale_if_error: directives.stale_if_error,
        explicitly_shared: directives.public
            || directives.s_maxage.is_some()
            || directives.must_revalidate,
        tags: tags_of(headers),
    })
}

/// Whether the response has a `CDN-Cache-Control` that is valid: a
/// Structured Field dictionary (RFC 8941) whose lifetimes are integers.
/// An invalid one is ignored whole, as if absent (RFC 9213 section 2.1).
/// Checked here rather than with a Structured Fields crate: the dictionary's
/// keys and the types of four members are all a cache reads of it.
fn valid_targeted_field(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(&CDN_CACHE_CONTROL).iter().peekable();
    values.peek().is_some()
        && values.all(|value| {
            value
                .to_str()
                .is_ok_and(|value| value.split(',').all(|member| valid_member(member.trim())))
        })
}

fn valid_member(member: &str) -> bool {
    let (key, value) = member.split_once('=').map_or((member, None), |(k, v)| (k, Some(v)));
    let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
    let integer = |v: &str| !v.is_empty() && v.len() <= 15 && v.bytes().all(|b| b.is_ascii_digit());
    let value_ok = match (key, value) {
        (_, None) => true,
        ("max-age" | "s-maxage" | "stale-while-revalidate" | "stale-if-error", Some(v)) => {
            integer(v)
        }
        // Another member's value: a token, a number or a quoted string.
        (_, Some(v)) => v.starts_with('"') || (!v.is_empty() && !v.contains(char::is_whitespace)),
    };
    key_ok && value_ok
}

/// Whether the field has `must-understand` (RFC 9111 section 5.2.2.3).
fn must_understand(headers: &HeaderMap, field: &http::HeaderName) -> bool {
    headers
        .get_all(field)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("must-understand"))
}

/// The statuses whose caching RFC 9110 defines, which a response with
/// `must-understand` may be stored with.
fn understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 302 | 303 | 307 | 308 | 404 | 405 | 410 | 414 | 451 | 501
    )
}

fn status_stored(status: StatusCode, config: &IsrConfig) -> bool {
    if config.any_status {
        // Every final status a cache can answer with as it was (a `206` is a
        // part of something, a `304` an answer to one conditional request).
        !status.is_informational()
            && status != StatusCode::PARTIAL_CONTENT
            && status != StatusCode::NOT_MODIFIED
    } else {
        PAGE_STATUSES.contains(&status.as_u16())
    }
}

/// `Expires` less `Date` (or less `now` without a valid `Date`); zero, so
/// already stale, for an `Expires` that is not one valid HTTP date (RFC 9111
/// section 5.3). `None` without `Expires`.
fn expires_lifetime(headers: &HeaderMap, now: u64) -> Option<Duration> {
    let mut values = headers.get_all(EXPIRES).iter();
    let first = values.next()?;
    let expires = (values.next().is_none()).then(|| http_date(first)).flatten();
    let Some(expires) = expires else { return Some(Duration::ZERO) };
    let date = date_of(headers).unwrap_or(now);
    Some(Duration::from_millis(expires.saturating_sub(date)))
}

/// The age a response has on arrival at `now` (RFC 9111 section 4.2.3): its
/// `Age`, or how far its `Date` lags behind `now`, whichever is larger.
/// (The response delay is not added: the cache and its origin are close.)
pub fn initial_age(headers: &HeaderMap, now: u64) -> Duration {
    let apparent = date_of(headers).map_or(0, |date| now.saturating_sub(date) / 1000 * 1000);
    let stated = age_of(headers).map_or(0, |secs| secs.saturating_mul(1000));
    Duration::from_millis(apparent.max(stated))
}

/// The `Age` a response states: the first value of its first line, when that
/// is delta-seconds (digits only; too many of them is 2^31). Anything else
/// (`abc`, `-1`, `1.5`) is no `Age` at all (RFC 9111 section 5.1).
fn age_of(headers: &HeaderMap) -> Option<u64> {
    let line = headers.get(AGE)?.to_str().ok()?;
    let value = line.split(',').next()?.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse::<u64>().map_or(MAX_AGE_SECS, |secs| secs.min(MAX_AGE_SECS)))
}

/// The response's `Date`, in clock millis, when it is one valid HTTP date.
fn date_of(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(DATE).iter();
    let date = http_date(values.next()?)?;
    values.next().is_none().then_some(date)
}

/// An HTTP date (RFC 9110 section 5.6.7: IMF-fixdate, or the obsolete RFC
/// 850 and asctime forms), in Unix millis; dates before 1970 are 0.
/// httpdate parses exactly those forms, and nothing looser.
fn http_date(value: &http::HeaderValue) -> Option<u64> {
    let time = httpdate::parse_http_date(value.to_str().ok()?).ok()?;
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    Some(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// `at` (clock millis) as an HTTP date, for the `Date` of a response the
/// cache makes itself.
#[cfg(test)]
pub fn format_date(at: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(at))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    fn date(offset_secs: i64) -> String {
        let at = NOW.checked_add_signed(offset_secs * 1000).expect("in range");
        format_date(at)
    }

    fn ttl(pairs: &[(&str, &str)]) -> Option<u64> {
        storable(StatusCode::OK, &headers(pairs), &IsrConfig::new(), NOW).map(|s| s.ttl.as_secs())
    }

    const ISR: &str =
        "public, max-age=0, s-maxage=60, stale-while-revalidate=600, stale-if-error=3600";

    #[test]
    fn storable_follows_the_rules() {
        let ok = |status: u16, pairs: &[(&str, &str)]| {
            storable(
                StatusCode::from_u16(status).expect("s"),
                &headers(pairs),
                &IsrConfig::new(),
                NOW,
            )
            .is_some()
        };
        assert!(ok(200, &[("cache-control", ISR)]));
        assert!(ok(404, &[("cache-control", "public, max-age=0, s-maxage=60")]));
        assert!(ok(301, &[("cache-control", "max-age=60")]));
        for status in [204, 302, 400, 500, 503] {
            assert!(!ok(status, &[("cache-control", ISR)]), "{status}");
        }
        for cc in [
            "private, max-age=60",
            "no-store",
            "no-cache",
            "public, max-age=0",
            "private, no-store",
        ] {
            assert!(!ok(200, &[("cache-control", cc)]), "{cc}");
        }
        assert!(!ok(200, &[]), "no policy, no storing");
        assert!(!ok(200, &[("cache-control", ISR), ("set-cookie", "a=b")]));
        assert!(!ok(200, &[("cache-control", ISR), ("vary", "*")]));
        assert!(ok(200, &[("cache-control", ISR), ("vary", "accept-encoding")]));
    }

    #[test]
    fn s_maxage_then_max_age_then_expires_less_date() {
        let (now, later) = (date(0), date(600));
        assert_eq!(ttl(&[("cache-control", "max-age=60, s-maxage=120")]), Some(120));
        assert_eq!(ttl(&[("cache-control", "max-age=60"), ("expires", &later)]), Some(60));
        assert_eq!(ttl(&[("expires", &later), ("date", &now)]), Some(600));
        assert_eq!(ttl(&[("expires", &later)]), Some(600), "no Date: less the time it arrived");
        assert_eq!(ttl(&[("cache-control", "public")]), None, "no heuristics");
        assert_eq!(ttl(&[]), None);
    }

    #[test]
    fn an_expires_in_the_past_or_invalid_is_stale() {
        let (earlier, later) = (date(-600), date(600));
        assert_eq!(ttl(&[("expires", &earlier), ("date", &date(0))]), None);
        for invalid in ["0", "Thu, 18 Aug 2050 02:01:18 UTC", "Thu, 18 Aug 50 02:01:18 GMT"] {
            assert_eq!(ttl(&[("expires", invalid)]), None, "{invalid}");
        }
        assert_eq!(ttl(&[("expires", &later), ("expires", &later)]), None, "two lines");
        // The obsolete forms are dates too.
        assert!(ttl(&[("expires", "Thu Aug 18 02:01:18 2050")]).is_some());
    }

    #[test]
    fn age_on_arrival_is_the_larger_of_age_and_date_lag() {
        let age = |pairs: &[(&str, &str)]| initial_age(&headers(pairs), NOW).as_secs();
        assert_eq!(age(&[]), 0);
        assert_eq!(age(&[("age", "30")]), 30);
        assert_eq!(age(&[("age", "30"), ("date", &date(-100))]), 100);
        assert_eq!(age(&[("age", "300"), ("date", &date(-100))]), 300);
        assert_eq!(age(&[("date", &date(100))]), 0, "a fast Date is no age");
        // Only delta-seconds count: the first value of the first line.
        for ignored in ["abc", "-7200", "7200.0", "0, 7200"] {
            assert_eq!(age(&[("age", ignored)]), 0, "{ignored}");
        }
        assert_eq!(age(&[("age", "7200, 0")]), 7200);
        assert_eq!(age(&[("age", "0"), ("age", "7200")]), 0);
        assert_eq!(age(&[("age", "99999999999999999999999")]), MAX_AGE_SECS);
    }

    #[test]
    fn statuses_are_the_pages_unless_any_status_is_stored() {
        let cc = headers(&[("cache-control", "max-age=60")]);
        let stored = |status: u16, config: &IsrConfig| {
            storable(StatusCode::from_u16(status).expect("status"), &cc, config, NOW).is_some()
        };
        let pages = IsrConfig::new();
        let any = IsrConfig::new().any_status(true);
        for status in [200, 301, 308, 404, 410] {
            assert!(stored(status, &pages) && stored(status, &any), "{status}");
        }
        for status in [203, 204, 302, 307, 400, 500, 503, 599] {
            assert!(!stored(status, &pages) && stored(status, &any), "{status}");
        }
        for status in [206, 304] {
            assert!(!stored(status, &any), "{status}");
        }
        // A status the cache does not know, with `must-understand`, is not stored.
        let understand = headers(&[("cache-control", "max-age=60, must-understand")]);
        let with = |status: u16| {
            storable(StatusCode::from_u16(status).expect("status"), &understand, &any, NOW)
                .is_some()
        };
        assert!(with(200) && with(404) && !with(599) && !with(299));
    }

    #[test]
    fn a_targeted_cache_reads_cdn_cache_control_instead() {
        let pairs = |cdn: &'static str| {
            headers(&[("cache-control", "max-age=60"), ("cdn-cache-control", cdn)])
        };
        let targeted = IsrConfig::new().cdn_cache_control(true);
        let read = |h: &HeaderMap, config: &IsrConfig| {
            storable(StatusCode::OK, h, config, NOW).map(|s| s.ttl.as_secs())
        };
        assert_eq!(read(&pairs("max-age=600"), &targeted), Some(600));
        assert_eq!(read(&pairs("max-age=600"), &IsrConfig::new()), Some(60), "not targeted");
        for refused in ["no-store", "private", "no-cache"] {
            assert_eq!(read(&pairs(refused), &targeted), None, "{refused}");
        }
        let cdn_only =
            headers(&[("cache-control", "no-store"), ("cdn-cache-control", "max-age=9")]);
        assert_eq!(read(&cdn_only, &targeted), Some(9));
        // An invalid field is ignored whole: `Cache-Control` decides.
        for invalid in ["max-age=10000, &&&&&", "max-age=\"10000\"", "MAX-AGE=5", "max-age=1.5"] {
            assert_eq!(read(&pairs(invalid), &targeted), Some(60), "{invalid}");
        }
    }
}
