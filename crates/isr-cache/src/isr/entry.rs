//! A stored page: its headers, its body in every encoding (each made once,
//! the first time a client asks for it, with its own strong `ETag`), and its
//! freshness.
//!
//! Encodings are made on demand, not when the page is stored: a page that
//! is requested once (the long tail: a new search, a new page number) must
//! cost what a render costs, not a render plus two compressions nobody reads.
//! The render compresses only what the request that caused it asked for;
//! a regeneration, what the page it replaces was being served in.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, AGE, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::IsrConfig;
use super::storable::{Storable, storable};
use crate::conditional::{etag_of, if_none_match};
use crate::policy::Directives;

/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESS: usize = 256;
/// Brotli quality for stored pages: 5, as the per-request compressor uses.
/// Quality 9 (tried) made 5 % smaller pages for ten times the CPU, paid on
/// the first request for each page, which is every request of the long tail.
const BROTLI_QUALITY: u32 = 5;
/// Smallest brotli window (2^17 bytes). Smaller windows switch the encoder to
/// hashers whose set-up costs milliseconds at this quality (measured: 35 ms
/// at a 2^16 window against 1.5 ms at 2^17 for a 6 KB page).
const BROTLI_MIN_WINDOW: u32 = 17;

/// One encoding of a stored body.
#[derive(Debug, Clone)]
pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl Variant {
    fn new(body: Bytes) -> Self {
        let etag = etag_of(&body);
        Self { body, etag }
    }

    /// The body as it was given, with the `ETag` it was given, if any: a
    /// validator the origin made is the one its clients and it agree on.
    fn given(body: Bytes, headers: &HeaderMap) -> Self {
        match headers.get(ETAG) {
            Some(etag) => Self { body, etag: etag.clone() },
            None => Self::new(body),
        }
    }
}

/// The encodings a stored page is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The best encoding `accept_encoding` allows among those a body may
    /// have (`compressible`).
    pub fn choose(request: &HeaderMap, compressible: bool) -> Self {
        if !compressible {
            return Self::Identity;
        }
        let mut brotli = false;
        let mut gzip = false;
        for item in request
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()) == Some(0.0)
            });
            match name.as_str() {
                "br" => brotli = !refused,
                "gzip" => gzip = !refused,
                _ => {}
            }
        }
        if brotli {
            Self::Brotli
        } else if gzip {
            Self::Gzip
        } else {
            Self::Identity
        }
    }

    fn header(self) -> Option<HeaderValue> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some(HeaderValue::from_static("gzip")),
            Self::Brotli => Some(HeaderValue::from_static("br")),
        }
    }
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Serve it, and regenerate it in the background.
    StaleWhileRevalidate,
    /// Too old to serve, unless regeneration fails.
    StaleIfError,
    /// Too old for anything.
    Expired,
}

/// A stored response.
#[derive(Debug)]
pub struct Entry {
    pub status: StatusCode,
    /// The response headers, without the ones the cache writes per response.
    pub headers: HeaderMap,
    pub identity: Variant,
    /// Whether the body is worth compressing (its type, its size).
    compressible: bool,
    /// Made the first time a client asks; `None` inside when not smaller.
    gzip: OnceLock<Option<Variant>>,
    brotli: OnceLock<Option<Variant>>,
    /// The request headers the response varies on (never `Accept-Encoding`).
    pub vary: Vec<HeaderName>,
    /// `public` or `s-maxage`: may answer a request with `Authorization`
    /// (RFC 9111 section 3.5).
    pub explicitly_shared: bool,
    pub path: String,
    /// The path and the key's query, as a warm-up requests it.
    pub target: String,
    pub tags: BTreeSet<String>,
    /// When the render began to be stored (clock millis: Unix time with the
    /// real clock, so it means the same to every instance and after a restart).
    pub stored_at: u64,
    pub ttl: u64,
    pub swr: u64,
    pub sie: u64,
    /// Set by a soft purge: the entry counts as expired from now on.
    pub forced_stale: AtomicBool,
    /// When a failed regeneration may be tried again (clock millis).
    pub retry_at: AtomicU64,
    /// Regenerations failed in a row.
    pub failures: AtomicU32,
    /// Requests served from it since the counts were last taken (see
    /// [`IsrCache::flush_requests`](super::IsrCache::flush_requests)).
    pub requests: AtomicU64,
}

/// The names in the response's `Vary` headers, lower-cased; `*` kept.
pub fn vary_names(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .filter_map(|v| HeaderName::from_bytes(v.as_bytes()).ok())
        .collect()
}

/// Headers that describe one connection, not the response (RFC 9110 section
/// 7.6.1): never stored, nor those a `Connection` header names.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP.map(HeaderName::from_static)) {
        headers.remove(name);
    }
}

fn millis(duration: Option<Duration>) -> u64 {
    duration.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn compressible(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/wasm"
                | "image/svg+xml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn brotli(body: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    // A window sized to the body: the default (4 MiB) makes the encoder set up
    // megabytes of tables for a page of a few kilobytes.
    let window = (usize::BITS - body.len().max(1).leading_zeros()).clamp(BROTLI_MIN_WINDOW, 22);
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY as i32,
        lgwin: window as i32,
        size_hint: body.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    Some(Bytes::from(out))
}

impl Entry {
    /// Builds the entry for a storable response: its headers cleaned of
    /// per-response ones, its body in every worthwhile encoding.
    pub fn new(
        status: StatusCode,
        mut headers: HeaderMap,
        body: Bytes,
        storable: &Storable,
        path: String,
        now: u64,
    ) -> Self {
        // A body the origin encoded is stored as it came, varying on
        // `Accept-Encoding` if the origin said so; otherwise the cache makes
        // the encodings, and chooses among them per request.
        let encoded = headers.get(CONTENT_ENCODING).is_some_and(|e| e != "identity");
        let vary = vary_names(&headers)
            .into_iter()
            .filter(|name| encoded || *name != ACCEPT_ENCODING)
            .collect();
        let compress = !encoded && compressible(&headers) && body.len() >= MIN_COMPRESS;
        remove_hop_by_hop(&mut headers);
        if !encoded {
            headers.remove(CONTENT_ENCODING);
        }
        // Written per response. `Date` and `ETag` stay as they were given
        // (RFC 9111 section 3.1), and are served so.
        for name in [AGE, CONTENT_LENGTH] {
            headers.remove(name);
        }
        Self {
            status,
            identity: Variant::given(body, &headers),
            headers,
            compressible: compress,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            vary,
            explicitly_shared: storable.explicitly_shared,
            target: path.clone(),
            path,
            tags: storable.tags.clone(),
            // When it was generated: it may have been some time upstream.
            stored_at: now.saturating_sub(millis(Some(storable.age))),
            ttl: millis(Some(storable.ttl)),
            swr: millis(storable.stale_while_revalidate),
            sie: millis(storable.stale_if_error),
            forced_stale: AtomicBool::new(false),
            retry_at: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// The same entry, requested as `target` (its path and query).
    #[must_use]
    pub fn with_target(mut self, target: String) -> Self {
        self.target = target;
        self
    }

    /// An entry read back from the second level (see `wire`): the
    /// encodings it was written with are made already.
    #[expect(clippy::too_many_arguments, reason = "every field of a stored entry")]
    pub(super) fn restored(
        status: StatusCode,
        headers: HeaderMap,
        bodies: [Option<Bytes>; 3],
        compressible: bool,
        vary: Vec<HeaderName>,
        explicitly_shared: bool,
        (path, target, tags): (String, String, BTreeSet<String>),
        (stored_at, ttl, swr, sie): (u64, u64, u64, u64),
    ) -> Option<Self> {
        let [identity, gzip, brotli] = bodies;
        let identity = Variant::given(identity?, &headers);
        let made = |body: Option<Bytes>| {
            let lock = OnceLock::new();
            if let Some(body) = body {
                let _ = lock.set(Some(Variant::new(body)));
            }
            lock
        };
        Some(Self {
            status,
            headers,
            identity,
            compressible,
            gzip: made(gzip),
            brotli: made(brotli),
            vary,
            explicitly_shared,
            path,
            target,
            tags,
            stored_at,
            ttl,
            swr,
            sie,
            forced_stale: AtomicBool::new(false),
            retry_at: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            requests: AtomicU64::new(0),
        })
    }

    /// The conditional headers that ask the origin whether this response
    /// is still current: `If-None-Match` with the `ETag` and
    /// `If-Modified-Since` with the `Last-Modified` it was given (never a
    /// tag the cache made: the origin would not know it). Empty without.
    pub fn validators(&self) -> HeaderMap {
        let mut conditional = HeaderMap::new();
        if let Some(etag) = self.headers.get(ETAG) {
            conditional.insert(IF_NONE_MATCH, etag.clone());
        }
        if let Some(modified) = self.headers.get(LAST_MODIFIED) {
            conditional.insert(IF_MODIFIED_SINCE, modified.clone());
        }
        conditional
    }

    /// This entry updated by a `304 Not Modified` with `headers`, arriving
    /// at `now` (RFC 9111 section 4.3.4): the headers it sends replace the
    /// stored ones, the body and its encodings stay. With whether it may be
    /// stored still: if not, it answers the requests that asked (the 304
    /// said it is current), expired at once.
    pub fn updated(&self, headers: &HeaderMap, config: &IsrConfig, now: u64) -> (Self, bool) {
        let mut merged = self.headers.clone();
        let mut sent = headers.clone();
        remove_hop_by_hop(&mut sent);
        sent.remove(CONTENT_LENGTH);
        for name in sent.keys() {
            merged.remove(name);
        }
        for (name, value) in &sent {
            merged.append(name, value.clone());
        }
        let storable = storable(self.status, &merged, config, now);
        let still = storable.is_some();
        let storable = storable.unwrap_or_default();
        let body = self.identity.body.clone();
        let entry = Self::new(self.status, merged, body, &storable, self.path.clone(), now)
            .with_target(self.target.clone());
        // The same body: the encodings made of it are still good.
        if let Some(made) = self.gzip.get() {
            let _ = entry.gzip.set(made.clone());
        }
        if let Some(made) = self.brotli.get() {
            let _ = entry.brotli.set(made.clone());
        }
        (entry, still)
    }

    /// Whether it may be served stale when the service cannot be reached
    /// (RFC 9111 section 4.2.4): not when it says it must be revalidated
    /// (`must-revalidate`, `proxy-revalidate`, `no-cache`, or `s-maxage`,
    /// which implies `proxy-revalidate` for a shared cache).
    pub fn may_serve_stale(&self) -> bool {
        let directives = Directives::parse(&self.headers, &http::header::CACHE_CONTROL);
        !(directives.must_revalidate || directives.no_cache || directives.s_maxage.is_some())
    }

    /// Whether the body is worth compressing.
    pub fn compressible(&self) -> bool {
        self.compressible
    }

    /// The gzip and brotli bodies made so far.
    pub fn made(&self) -> (Option<&Variant>, Option<&Variant>) {
        (self.gzip.get().and_then(Option::as_ref), self.brotli.get().and_then(Option::as_ref))
    }

    /// How long the entry is worth keeping: until its last stale window closes.
    pub fn lifetime(&self) -> Duration {
        Duration::from_millis(self.ttl.saturating_add(self.swr.max(self.sie)))
    }

    /// The body in `encoding`, made now if no client asked for it before;
    /// `None` for the identity body, or when compressing does not pay.
    pub fn variant(&self, encoding: Encoding) -> Option<&Variant> {
        if !self.compressible {
            return None;
        }
        let body = &self.identity.body;
        let smaller =
            |encoded: Option<Bytes>| encoded.filter(|e| e.len() < body.len()).map(Variant::new);
        match encoding {
            Encoding::Identity => None,
            Encoding::Gzip => self.gzip.get_or_init(|| smaller(gzip(body))).as_ref(),
            Encoding::Brotli => self.brotli.get_or_init(|| smaller(brotli(body))).as_ref(),
        }
    }

    /// The encodings made so far, for a regeneration to make again up front.
    pub fn encodings_made(&self) -> Vec<Encoding> {
        let mut made = Vec::new();
        if self.brotli.get().is_some() {
            made.push(Encoding::Brotli);
        }
        if self.gzip.get().is_some() {
            made.push(Encoding::Gzip);
        }
        made
    }

    /// Bytes the entry holds, for the store's bound. Encodings are made
    /// later, so room for them is counted up front: as much as the body
    /// again, for both (text compresses at least twofold in each).
    pub fn weight(&self) -> u32 {
        let compressed = if self.compressible { self.identity.body.len() } else { 0 };
        let bodies = self.identity.body.len() + compressed;
        let headers: usize =
            self.headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 32).sum();
        let names = self.path.len() + self.target.len();
        u32::try_from(bodies + headers + names + 256).unwrap_or(u32::MAX)
    }

    /// Milliseconds since it was stored.
    pub fn age_millis(&self, now: u64) -> u64 {
        now.saturating_sub(self.stored_at)
    }

    /// Where the entry is at `now`. A soft-purged entry counts as just expired.
    pub fn freshness(&self, now: u64) -> Freshness {
        let mut age = self.age_millis(now);
        if self.forced_stale.load(Ordering::Acquire) {
            age = age.max(self.ttl);
        }
        if age < self.ttl {
            Freshness::Fresh
        } else if age < self.ttl.saturating_add(self.swr) {
            Freshness::StaleWhileRevalidate
        } else if age < self.ttl.saturating_add(self.sie) {
            Freshness::StaleIfError
        } else {
            Freshness::Expired
        }
    }

    /// Seconds of freshness left (negative once stale), for `Cache-Status`.
    pub fn ttl_left(&self, now: u64) -> i64 {
        let ttl = if self.forced_stale.load(Ordering::Acquire) { 0 } else { self.ttl };
        let left = i128::from(ttl) - i128::from(self.age_millis(now));
        i64::try_from(left.div_euclid(1000)).unwrap_or(i64::MIN)
    }

    /// Whether a failed regeneration's back-off has passed.
    pub fn may_retry(&self, now: u64) -> bool {
        now >= self.retry_at.load(Ordering::Acquire)
    }

    /// Records a failed regeneration: retries back off, 1 s doubling to 60 s.
    pub fn record_failure(&self, now: u64) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel).min(6);
        let backoff = (1000u64 << failures).min(60_000);
        self.retry_at.store(now.saturating_add(backoff), Ordering::Release);
    }

    /// The response head and body for a request with `request` headers:
    /// the best encoding it accepts, `Age`, `ETag`, `304` when its
    /// `If-None-Match` holds the tag, and `206` (or `416`) for a `Range` it
    /// can be given. `None` body for HEAD and 304.
    pub fn respond(
        &self,
        request: &HeaderMap,
        now: u64,
        head: bool,
    ) -> (StatusCode, HeaderMap, Option<Bytes>) {
        let range = (self.status == StatusCode::OK)
            .then(|| range::requested(request, &self.identity.etag))
            .flatten();
        // A range counts bytes of the identity body: what every client can
        // read, whatever encodings it accepts.
        let encoding = if range.is_some() {
            Encoding::Identity
        } else {
            Encoding::choose(request, self.compressible)
        };
        let variant = self.variant(encoding).unwrap_or(&self.identity);
        let encoding =
            if std::ptr::eq(variant, &self.identity) { Encoding::Identity } else { encoding };
        let mut headers = self.headers.clone();
        headers.insert(ETAG, variant.etag.clone());
        headers.insert(AGE, HeaderValue::from(self.age_millis(now) / 1000));
        if let Some(value) = encoding.header() {
            headers.insert(CONTENT_ENCODING, value);
        }
        let not_modified = self.status == StatusCode::OK
            && if_none_match(request.get_all(http::header::IF_NONE_MATCH), &variant.etag);
        if not_modified {
            headers.remove(CONTENT_TYPE);
            headers.remove(CONTENT_ENCODING);
            return (StatusCode::NOT_MODIFIED, headers, None);
        }
        let len = variant.body.len();
        match range.map(|range| range.resolve(len)) {
            Some(Some((start, end))) => {
                headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                let content_range = format!("bytes {start}-{end}/{len}");
                if let Ok(value) = HeaderValue::try_from(content_range) {
                    headers.insert(CONTENT_RANGE, value);
                }
                headers.insert(CONTENT_LENGTH, HeaderValue::from(end + 1 - start));
                let body = variant.body.slice(start..=end);
                (StatusCode::PARTIAL_CONTENT, headers, (!head).then_some(body))
            }
            Some(None) => {
                if let Ok(value) = HeaderValue::try_from(format!("bytes */{len}")) {
                    headers.insert(CONTENT_RANGE, value);
                }
                headers.remove(CONTENT_TYPE);
                headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
                (StatusCode::RANGE_NOT_SATISFIABLE, headers, (!head).then(Bytes::new))
            }
            None => {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
                (self.status, headers, (!head).then(|| variant.body.clone()))
            }
        }
    }
}

/// `Range` requests (RFC 9110 section 14) answered from a stored body.
mod range {
    use http::HeaderMap;
    use http::header::{IF_RANGE, RANGE};

    /// One byte range as asked: `first-last`, `first-` or `-suffix`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ByteRange {
        From(u64, Option<u64>),
        Suffix(u64),
    }

    impl ByteRange {
        /// The inclusive bounds within a body of `len` bytes, or `None` when
        /// none of it is there (416).
        pub fn resolve(self, len: usize) -> Option<(usize, usize)> {
            let last_byte = len.checked_sub(1)?;
            // Beyond `usize`, a position is past the end of any body.
            let at = |position: u64| usize::try_from(position).unwrap_or(usize::MAX);
            let (start, end) = match self {
                Self::From(first, last) => (at(first), last.map_or(last_byte, at).min(last_byte)),
                Self::Suffix(0) => return None,
                Self::Suffix(n) => (len.saturating_sub(at(n)), last_byte),
            };
            (start <= end).then_some((start, end))
        }
    }

    /// The one byte range a request asks for, when the stored body can be
    /// sliced for it. Parsed here rather than with `http-range-header` (what
    /// tower-http uses): that crate refuses a suffix longer than the body and
    /// does not tell a malformed value (ignored: 200) from an unsatisfiable
    /// one (416), both of which RFC 9110 section 14 asks a cache to tell. A request without `Range`, with several ranges, another
    /// unit, a malformed value or an `If-Range` that does not name `etag`
    /// gets the whole body (a cache may always ignore `Range`).
    pub fn requested(request: &HeaderMap, etag: &http::HeaderValue) -> Option<ByteRange> {
        let mut values = request.get_all(RANGE).iter();
        let value = values.next()?.to_str().ok()?;
        if values.next().is_some() {
            return None;
        }
        if let Some(if_range) = request.get(IF_RANGE) {
            // Only a strong validator may match (RFC 9110 section 13.1.5).
            if if_range.as_bytes().starts_with(b"W/") || if_range != etag {
                return None;
            }
        }
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let number = |s: &str| {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())?
        };
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => Some(ByteRange::Suffix(number(last)?)),
            (false, true) => Some(ByteRange::From(number(first)?, None)),
            (false, false) => {
                let (first, last) = (number(first)?, number(last)?);
                (first <= last).then_some(ByteRange::From(first, Some(last)))
            }
            (true, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::header::{CACHE_CONTROL, IF_NONE_MATCH};

    use super::*;
    use crate::isr::IsrConfig;

    fn storable(status: StatusCode, headers: &HeaderMap) -> Option<Storable> {
        super::super::storable::storable(status, headers, &IsrConfig::new(), 0)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    HeaderValue::from_str(v).expect("value"),
                )
            })
            .collect()
    }

    const ISR: &str =
        "public, max-age=0, s-maxage=60, stale-while-revalidate=600, stale-if-error=3600";

    fn entry(body: &str) -> Entry {
        let h =
            headers(&[(CACHE_CONTROL.as_str(), ISR), ("content-type", "text/html; charset=utf-8")]);
        let policy = storable(StatusCode::OK, &h).expect("storable");
        Entry::new(StatusCode::OK, h, Bytes::from(body.to_owned()), &policy, "/".into(), 1_000)
    }

    #[test]
    fn freshness_windows_and_age() {
        let entry = entry("hello");
        assert_eq!(entry.freshness(1_000), Freshness::Fresh);
        assert_eq!(entry.freshness(60_999), Freshness::Fresh);
        assert_eq!(entry.freshness(61_000), Freshness::StaleWhileRevalidate);
        assert_eq!(entry.freshness(660_999), Freshness::StaleWhileRevalidate);
        assert_eq!(entry.freshness(661_000), Freshness::StaleIfError);
        assert_eq!(entry.freshness(3_660_999), Freshness::StaleIfError);
        assert_eq!(entry.freshness(3_661_000), Freshness::Expired);
        assert_eq!(entry.ttl_left(1_000), 60);
        assert_eq!(entry.ttl_left(31_500), 29, "whole seconds left, rounded down");
        assert_eq!(entry.ttl_left(71_000), -10);
        let (_, h, _) = entry.respond(&HeaderMap::new(), 43_999, false);
        assert_eq!(h[AGE], "42");
    }

    #[test]
    fn a_soft_purge_makes_it_stale_at_once() {
        let entry = entry("hello");
        entry.forced_stale.store(true, Ordering::Release);
        assert_eq!(entry.freshness(1_000), Freshness::StaleWhileRevalidate);
        assert_eq!(entry.ttl_left(1_000), 0);
    }

    #[test]
    fn failures_back_off() {
        let entry = entry("hello");
        assert!(entry.may_retry(0));
        entry.record_failure(10_000);
        assert!(!entry.may_retry(10_999));
        assert!(entry.may_retry(11_000));
        entry.record_failure(11_000);
        assert!(!entry.may_retry(12_999));
        assert!(entry.may_retry(13_000));
        for _ in 0..10 {
            entry.record_failure(20_000);
        }
        assert!(entry.may_retry(80_000), "capped at a minute");
    }

    #[test]
    fn encodings_are_made_once_and_chosen_per_request() {
        let body = "<p>hello, cache</p>".repeat(50);
        let entry = entry(&body);
        assert!(entry.encodings_made().is_empty(), "nothing compressed before it is asked for");
        let pick = |accept: &str| {
            let (_, h, b) = entry.respond(&headers(&[("accept-encoding", accept)]), 1_000, false);
            (
                h.get(CONTENT_ENCODING).map(|v| v.to_str().expect("ascii").to_owned()),
                b.expect("body").len(),
                h[ETAG].clone(),
            )
        };
        let (enc, len, br_etag) = pick("gzip, deflate, br");
        assert_eq!(
            (enc.as_deref(), len),
            (Some("br"), entry.variant(Encoding::Brotli).expect("br").body.len())
        );
        assert_eq!(entry.encodings_made(), [Encoding::Brotli], "made once asked for");
        assert_eq!(pick("gzip").0.as_deref(), Some("gzip"));
        assert_eq!(entry.encodings_made(), [Encoding::Brotli, Encoding::Gzip]);
        assert_eq!(pick("br;q=0, gzip").0.as_deref(), Some("gzip"));
        let (plain, plain_len, plain_etag) = pick("identity");
        assert_eq!((plain, plain_len), (None, body.len()));
        assert_ne!(br_etag, plain_etag, "each encoding has its own tag");
    }

    #[test]
    fn ranges_are_sliced_from_the_identity_body() {
        let entry = entry("0123456789");
        let etag = entry.identity.etag.to_str().expect("ascii").to_owned();
        let ask = |range: &str, extra: &[(&str, &str)]| {
            let mut pairs = vec![("range", range), ("accept-encoding", "br, gzip")];
            pairs.extend_from_slice(extra);
            let (status, h, body) = entry.respond(&headers(&pairs), 1_000, false);
            let body = body.map(|b| String::from_utf8(b.to_vec()).expect("utf-8"));
            (status.as_u16(), h.get(CONTENT_RANGE).map(|v| v.to_str().expect("a").to_owned()), body)
        };
        let part = |r: &str, b: &str| (206, Some(r.to_owned()), Some(b.to_owned()));
        assert_eq!(ask("bytes=2-4", &[]), part("bytes 2-4/10", "234"));
        assert_eq!(ask("bytes=7-", &[]), part("bytes 7-9/10", "789"));
        assert_eq!(ask("bytes=-3", &[]), part("bytes 7-9/10", "789"));
        assert_eq!(ask("bytes=5-100", &[]), part("bytes 5-9/10", "56789"));
        assert_eq!(ask("bytes=-100", &[]), part("bytes 0-9/10", "0123456789"));
        assert_eq!(ask("bytes=10-", &[]), (416, Some("bytes */10".into()), Some(String::new())));
        // Whole body (200) for what is not one satisfiable byte range.
        for junk in ["bytes=0-1,4-5", "items=0-1", "bytes=4-2", "bytes=x-1", "bytes=-", ""] {
            assert_eq!(ask(junk, &[]).0, 200, "{junk:?}");
        }
        assert_eq!(ask("bytes=0-1", &[("if-range", &etag)]).0, 206);
        assert_eq!(ask("bytes=0-1", &[("if-range", "\"other\"")]).0, 200);
        let (_, h, _) = entry.respond(&headers(&[("range", "bytes=0-1")]), 1_000, false);
        assert_eq!(h[CONTENT_LENGTH], "2");
        assert!(h.get(CONTENT_ENCODING).is_none());
    }

    #[test]
    fn explicitly_shared_needs_public_or_s_maxage() {
        assert!(entry("x").explicitly_shared);
        let h = headers(&[("cache-control", "max-age=60")]);
        let policy = storable(StatusCode::OK, &h).expect("storable");
        let plain = Entry::new(StatusCode::OK, h, Bytes::from_static(b"x"), &policy, "/".into(), 0);
        assert!(!plain.explicitly_shared);
    }

    #[test]
    fn if_none_match_gets_304_and_head_no_body() {
        let entry = entry("hello");
        let etag = entry.identity.etag.to_str().expect("ascii").to_owned();
        let (status, h, body) =
            entry.respond(&headers(&[(IF_NONE_MATCH.as_str(), &etag)]), 1_000, false);
        assert_eq!((status, body), (StatusCode::NOT_MODIFIED, None));
        assert_eq!(h[ETAG], etag.as_str());
        let (status, h, body) = entry.respond(&HeaderMap::new(), 1_000, true);
        assert_eq!((status, body), (StatusCode::OK, None));
        assert_eq!(h[CONTENT_LENGTH], "5");
    }
}
