//! The cache policy: one typed value that says how a response may be cached,
//! rendered to (and parsed from) `Cache-Control`, `CDN-Cache-Control` (RFC 9213),
//! the tag headers (`Surrogate-Key` for Fastly/Varnish, `Cache-Tag` for
//! Cloudflare) and `Vary`. Feature code names a policy; it never writes header
//! strings.
//!
//! # Invariants
//!
//! - A policy is exactly one of three kinds: **no-store** (nobody keeps it),
//!   **private** (only the browser may keep it) or **shared** (`public`: CDNs and
//!   the built-in ISR cache may keep it). Contradictions such as "public and
//!   private" or "no-store with a TTL" cannot be built: a builder that means
//!   nothing for the kind at hand is ignored.
//! - Shared-cache settings (`s-maxage`, `stale-while-revalidate`,
//!   `stale-if-error`, `must-revalidate`, `immutable`, the CDN TTL and the tags)
//!   exist only on shared policies: nothing else reaches a shared cache, so there
//!   is nothing for them to govern or purge.
//! - Durations are whole seconds (sub-second parts are dropped, which can only
//!   shorten a TTL) and at most 2^31 seconds, the ceiling RFC 9111 §1.2.2 gives
//!   caches for delta-seconds.
//! - The kinds render as `no-store`; `private, max-age=N`, or `private, no-store`
//!   when the private policy has no TTL (per-user pages nobody should keep);
//!   `public, max-age=N, ...`, where an unset browser TTL is an explicit
//!   `max-age=0` (browsers revalidate, shared caches keep it) because without
//!   one browsers would guess a heuristic lifetime.
//! - Rendering is canonical: directives in one fixed order, each at most once, so
//!   equal policies render to equal bytes and `from_headers` reads back exactly
//!   what `apply` wrote.
//! - The default policy is no-store: a route nobody thought about is never
//!   cached by accident.
//!
//! # Merging: the most restrictive wins
//!
//! A page whose route says one thing and whose loaders say others is cached by
//! [`CachePolicy::merge`] of them all. The result is never looser than any input,
//! for any cache (browser, CDN, built-in):
//!
//! | part | merged value |
//! |---|---|
//! | kind | no-store beats private beats shared |
//! | private `max-age` | the smaller; a private policy without one (no-store) wins; a shared side counts with its `max-age` |
//! | `max-age` (browser TTL; unset means 0) | the smaller |
//! | `s-maxage` (shared TTL: `s-maxage`, else `max-age`) | the smaller shared TTL; left unset only if unset on both sides |
//! | CDN `max-age` (CDN TTL: its own, else the shared TTL) | the smaller CDN TTL; left unset only if unset on both sides |
//! | `stale-while-revalidate`, `stale-if-error` | the smaller if both set; dropped if either side lacks it |
//! | `must-revalidate` | if either has it |
//! | `immutable` | only if both have it |
//! | tags | the union (none if the result is not shared) |
//! | `Vary` | the union |
//!
//! Merging is commutative, associative and idempotent, so the order in which
//! loaders report their policies never matters.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use http::header::{CACHE_CONTROL, VARY};
use http::{HeaderMap, HeaderName, HeaderValue};

/// `CDN-Cache-Control` (RFC 9213): `Cache-Control` for CDNs only, which obey it
/// instead of `Cache-Control` when present.
pub const CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// `Surrogate-Key`: space-separated cache tags, read by Fastly and Varnish.
pub const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");

/// `Cache-Tag`: comma-separated cache tags, read by Cloudflare.
pub const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");

/// The longest cache tag accepted, in bytes. CDNs allow more (Fastly 1 KiB per
/// key), but every tag is repeated on every response that carries it, so short
/// ones like `post:{slug}` are what a site should use.
pub const MAX_TAG_LEN: usize = 128;

/// RFC 9111 §1.2.2: caches treat larger delta-seconds as 2^31.
const MAX_SECS: u64 = 1 << 31;

const DAY: u64 = 24 * 60 * 60;
const YEAR: u64 = 365 * DAY;

/// How a response may be cached, by whom, for how long, and under which tags.
///
/// Build one from a preset ([`isr`](Self::isr), [`static_content`](Self::static_content),
/// [`private`](Self::private), ...) and adjust it with the builders; render it with
/// [`apply`](Self::apply). See the [module docs](self) for the invariants and the
/// merge rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    kind: Kind,
    // On every kind: `Vary` says how the content was negotiated, which matters
    // to the browser cache too, and is harmless on a no-store response.
    vary: BTreeSet<VaryName>,
}

/// A `Vary` entry. `HeaderName` has no order, and a sorted set gives the
/// canonical rendering and order-blind equality; names are already lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VaryName(HeaderName);

impl Ord for VaryName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

impl PartialOrd for VaryName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `no-store`.
    NoStore,
    /// `private, max-age=N`, or `private, no-store` without a TTL.
    Private { max_age: Option<Duration> },
    /// `public, ...`: shared caches may store it.
    Shared(Shared),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Shared {
    /// Browser TTL. Not optional: an unset max-age is rendered as `max-age=0` so
    /// browsers revalidate instead of guessing a heuristic lifetime, which makes
    /// "unset" and "0" the same thing.
    max_age: Duration,
    /// Shared-cache TTL; `None` means shared caches use `max_age`.
    s_maxage: Option<Duration>,
    /// `CDN-Cache-Control: max-age`; `None` means CDNs use the shared TTL.
    cdn_max_age: Option<Duration>,
    stale_while_revalidate: Option<Duration>,
    stale_if_error: Option<Duration>,
    must_revalidate: bool,
    immutable: bool,
    tags: BTreeSet<String>,
}

impl Shared {
    const fn new(max_age: Duration) -> Self {
        Self {
            max_age: whole_secs(max_age),
            s_maxage: None,
            cdn_max_age: None,
            stale_while_revalidate: None,
            stale_if_error: None,
            must_revalidate: false,
            immutable: false,
            tags: BTreeSet::new(),
        }
    }

    /// How long a shared cache keeps it fresh (RFC 9111: `s-maxage` overrides `max-age`).
    fn shared_ttl(&self) -> Duration {
        self.s_maxage.unwrap_or(self.max_age)
    }

    /// How long a CDN keeps it fresh (RFC 9213: `CDN-Cache-Control` overrides `Cache-Control`).
    fn cdn_ttl(&self) -> Duration {
        self.cdn_max_age.unwrap_or_else(|| self.shared_ttl())
    }

    fn merge(mut self, other: Self) -> Self {
        // The fallbacks are computed from the inputs, before any field changes.
        let s_maxage =
            min_with_fallback(self.s_maxage, other.s_maxage, self.shared_ttl(), other.shared_ttl());
        let cdn_max_age =
            min_with_fallback(self.cdn_max_age, other.cdn_max_age, self.cdn_ttl(), other.cdn_ttl());
        self.tags.extend(other.tags);
        Self {
            max_age: self.max_age.min(other.max_age),
            s_maxage,
            cdn_max_age,
            stale_while_revalidate: min_if_both(
                self.stale_while_revalidate,
                other.stale_while_revalidate,
            ),
            stale_if_error: min_if_both(self.stale_if_error, other.stale_if_error),
            must_revalidate: self.must_revalidate || other.must_revalidate,
            immutable: self.immutable && other.immutable,
            tags: self.tags,
        }
    }
}

/// Merges two TTLs that, when unset, fall back to another TTL (`s-maxage` to
/// `max-age`, the CDN TTL to the shared one). Taking the smaller *effective*
/// TTL keeps the result within both sides; it stays unset when unset on both,
/// because then the fallback's own merge already gives that minimum.
fn min_with_fallback(
    a: Option<Duration>,
    b: Option<Duration>,
    a_effective: Duration,
    b_effective: Duration,
) -> Option<Duration> {
    if a.is_none() && b.is_none() { None } else { Some(a_effective.min(b_effective)) }
}

/// Merges two permissions to serve stale content: a side without one forbids
/// it, and dropping the permission is the restrictive choice.
fn min_if_both(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    Some(a?.min(b?))
}

/// Whole seconds, at most 2^31: what the headers can say, so that a policy reads
/// back from its headers unchanged.
const fn whole_secs(d: Duration) -> Duration {
    let secs = d.as_secs();
    Duration::from_secs(if secs > MAX_SECS { MAX_SECS } else { secs })
}

impl Default for CachePolicy {
    /// [`no_store`](Self::no_store): a route with no policy is never cached.
    fn default() -> Self {
        Self::no_store()
    }
}

/// Presets: the policies most routes need, to start from.
impl CachePolicy {
    /// `no-store`: nobody keeps the response (sign-in forms, writes, tokens).
    pub const fn no_store() -> Self {
        Self { kind: Kind::NoStore, vary: BTreeSet::new() }
    }

    /// `private, no-store`: per-user content (a dashboard) that shared caches
    /// must not keep and browsers need not either. [`max_age`](Self::max_age)
    /// turns it into `private, max-age=N` for per-user content the browser may
    /// reuse.
    pub const fn private() -> Self {
        Self { kind: Kind::Private { max_age: None }, vary: BTreeSet::new() }
    }

    /// `public, max-age=N`: browsers and shared caches alike keep it for `max_age`.
    pub const fn public(max_age: Duration) -> Self {
        Self { kind: Kind::Shared(Shared::new(max_age)), vary: BTreeSet::new() }
    }

    /// `public, max-age=0, s-maxage=N, stale-while-revalidate=M`: the ISR policy.
    /// Shared caches serve it fresh for `s_maxage`, then stale for up to `swr`
    /// more while they regenerate it in the background; browsers always ask
    /// again, so a purge reaches readers at once.
    pub const fn isr(s_maxage: Duration, swr: Duration) -> Self {
        let mut shared = Shared::new(Duration::ZERO);
        shared.s_maxage = Some(whole_secs(s_maxage));
        shared.stale_while_revalidate = Some(whole_secs(swr));
        Self { kind: Kind::Shared(shared), vary: BTreeSet::new() }
    }

    /// Content that changes rarely (home, landing pages):
    /// [`isr`](Self::isr) with a day fresh and a week stale.
    pub const fn static_content() -> Self {
        Self::isr(Duration::from_secs(DAY), Duration::from_secs(7 * DAY))
    }

    /// Content that changes often (stock, listings): [`isr`](Self::isr) with a
    /// minute fresh and ten minutes stale.
    pub const fn frequent() -> Self {
        Self::isr(Duration::from_secs(60), Duration::from_secs(600))
    }

    /// `public, max-age=31536000, immutable`: content-hashed assets, whose URL
    /// changes whenever their bytes do.
    pub const fn immutable() -> Self {
        let mut shared = Shared::new(Duration::from_secs(YEAR));
        shared.immutable = true;
        Self { kind: Kind::Shared(shared), vary: BTreeSet::new() }
    }
}

/// Builders. Each consumes the policy and returns the adjusted one; one that
/// means nothing for the policy's kind returns it unchanged (see each).
impl CachePolicy {
    /// Sets the browser TTL (`max-age`). Ignored on a no-store policy, which has
    /// no TTL by definition.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        match &mut self.kind {
            Kind::NoStore => {}
            Kind::Private { max_age: m } => *m = Some(whole_secs(max_age)),
            Kind::Shared(s) => s.max_age = whole_secs(max_age),
        }
        self
    }

    /// Sets the shared-cache TTL (`s-maxage`). Shared policies only.
    #[must_use]
    pub fn s_maxage(self, s_maxage: Duration) -> Self {
        self.with_shared(|s| s.s_maxage = Some(whole_secs(s_maxage)))
    }

    /// Lets shared caches serve the response stale for this long after it
    /// expires while they fetch a fresh one. Shared policies only.
    #[must_use]
    pub fn stale_while_revalidate(self, window: Duration) -> Self {
        self.with_shared(|s| s.stale_while_revalidate = Some(whole_secs(window)))
    }

    /// Lets shared caches serve the response stale for this long after it
    /// expires when the origin fails. Shared policies only.
    #[must_use]
    pub fn stale_if_error(self, window: Duration) -> Self {
        self.with_shared(|s| s.stale_if_error = Some(whole_secs(window)))
    }

    /// Adds `must-revalidate`: once stale, never served without asking the
    /// origin. Shared policies only.
    #[must_use]
    pub fn must_revalidate(self) -> Self {
        self.with_shared(|s| s.must_revalidate = true)
    }

    /// Sets the CDN TTL, rendered as `CDN-Cache-Control: max-age=N` (RFC 9213),
    /// so a CDN, which the app purges by tag, can keep a response longer than
    /// browsers or the built-in cache do. Shared policies only.
    #[must_use]
    pub fn cdn_max_age(self, max_age: Duration) -> Self {
        self.with_shared(|s| s.cdn_max_age = Some(whole_secs(max_age)))
    }

    /// Adds a cache tag, by which the response can later be purged. An invalid
    /// tag (see [`validate_tag`]) is dropped, as is any tag on a policy that is
    /// not shared (nothing shared stores it, so nothing is purged). Use
    /// [`try_tag`](Self::try_tag) to learn about invalid tags.
    #[must_use]
    pub fn tag(self, tag: impl Into<String>) -> Self {
        let tag = tag.into();
        if validate_tag(&tag).is_ok() { self.with_shared(|s| _ = s.tags.insert(tag)) } else { self }
    }

    /// Adds a cache tag, or says why it is invalid. A valid tag on a policy that
    /// is not shared is dropped, as with [`tag`](Self::tag).
    ///
    /// # Errors
    ///
    /// [`InvalidTag`] when the tag breaks the rules of [`validate_tag`].
    pub fn try_tag(self, tag: impl Into<String>) -> Result<Self, InvalidTag> {
        let tag = tag.into();
        validate_tag(&tag)?;
        Ok(self.with_shared(|s| _ = s.tags.insert(tag)))
    }

    /// Adds several cache tags as [`tag`](Self::tag) does, dropping invalid ones.
    #[must_use]
    pub fn tags<I, T>(self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        tags.into_iter().fold(self, Self::tag)
    }

    /// Adds a request header the response varies on (`Vary`). Any kind: the
    /// browser cache keys on it too.
    #[must_use]
    pub fn vary(mut self, header: HeaderName) -> Self {
        self.vary.insert(VaryName(header));
        self
    }

    fn with_shared(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        if let Kind::Shared(shared) = &mut self.kind {
            f(shared);
        }
        self
    }
}

/// Merging (see the table in the [module docs](self)).
impl CachePolicy {
    /// The most restrictive combination of two policies: it lets no cache keep
    /// the response longer, or serve it stale more, than either would.
    #[must_use]
    pub fn merge(mut self, other: Self) -> Self {
        self.vary.extend(other.vary);
        let kind = match (self.kind, other.kind) {
            (Kind::NoStore, _) | (_, Kind::NoStore) => Kind::NoStore,
            (Kind::Private { max_age: a }, Kind::Private { max_age: b }) => {
                // No TTL means no-store, the stricter reading: it wins.
                Kind::Private { max_age: min_if_both(a, b) }
            }
            (Kind::Private { max_age }, Kind::Shared(s))
            | (Kind::Shared(s), Kind::Private { max_age }) => {
                // The shared side still limits the browser.
                Kind::Private { max_age: max_age.map(|m| m.min(s.max_age)) }
            }
            (Kind::Shared(a), Kind::Shared(b)) => Kind::Shared(a.merge(b)),
        };
        Self { kind, vary: self.vary }
    }

    /// [`merge`](Self::merge) of all the policies, or `None` if there are none
    /// (`.unwrap_or_default()` then gives no-store).
    pub fn merge_all(policies: impl IntoIterator<Item = Self>) -> Option<Self> {
        policies.into_iter().reduce(Self::merge)
    }
}

/// Reading a policy, for the cache that enforces it.
impl CachePolicy {
    /// Whether shared caches (CDNs, the built-in ISR cache) may store the response.
    pub fn is_shared(&self) -> bool {
        matches!(self.kind, Kind::Shared(_))
    }

    /// Whether any cache, the browser's or a shared one, may store the
    /// response: the responses worth a validator (`ETag`).
    pub fn is_storable(&self) -> bool {
        matches!(self.kind, Kind::Shared(_) | Kind::Private { max_age: Some(_) })
    }

    /// How long a shared cache keeps the response fresh: `s-maxage`, else
    /// `max-age`. `None` when shared caches must not store it.
    pub fn shared_ttl(&self) -> Option<Duration> {
        self.shared().map(Shared::shared_ttl)
    }

    /// How long past its TTL a shared cache may serve it while regenerating.
    pub fn stale_while_revalidate_window(&self) -> Option<Duration> {
        self.shared()?.stale_while_revalidate
    }

    /// How long past its TTL a shared cache may serve it when regeneration fails.
    pub fn stale_if_error_window(&self) -> Option<Duration> {
        self.shared()?.stale_if_error
    }

    /// The cache tags (always empty unless [`is_shared`](Self::is_shared)).
    pub fn tag_set(&self) -> &BTreeSet<String> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        self.shared().map_or(&NONE, |s| &s.tags)
    }

    /// The request headers the response varies on.
    pub fn vary_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.vary.iter().map(|name| &name.0)
    }

    fn shared(&self) -> Option<&Shared> {
        match &self.kind {
            Kind::Shared(shared) => Some(shared),
            _ => None,
        }
    }
}

/// Rendering to headers.
impl CachePolicy {
    /// The `Cache-Control` value. Directives come in a fixed order:
    /// `public`/`private`/`no-store`, `max-age`, `s-maxage`,
    /// `stale-while-revalidate`, `stale-if-error`, `must-revalidate`, `immutable`.
    pub fn cache_control(&self) -> HeaderValue {
        // Always visible ASCII; the fallback is the safe reading should that change.
        HeaderValue::try_from(self.to_string()).unwrap_or(HeaderValue::from_static("no-store"))
    }

    /// The `CDN-Cache-Control` value (`max-age=N`, plus the stale windows), for
    /// a shared policy with a [CDN TTL](Self::cdn_max_age).
    pub fn cdn_cache_control(&self) -> Option<HeaderValue> {
        let shared = self.shared()?;
        let mut directives = vec![format!("max-age={}", shared.cdn_max_age?.as_secs())];
        if let Some(swr) = shared.stale_while_revalidate {
            directives.push(format!("stale-while-revalidate={}", swr.as_secs()));
        }
        if let Some(sie) = shared.stale_if_error {
            directives.push(format!("stale-if-error={}", sie.as_secs()));
        }
        HeaderValue::try_from(directives.join(", ")).ok()
    }

    /// The `Surrogate-Key` value (Fastly, Varnish): the tags, space-separated.
    pub fn surrogate_key(&self) -> Option<HeaderValue> {
        self.joined_tags(" ")
    }

    /// The `Cache-Tag` value (Cloudflare): the tags, comma-separated.
    pub fn cache_tag(&self) -> Option<HeaderValue> {
        self.joined_tags(",")
    }

    fn joined_tags(&self, separator: &str) -> Option<HeaderValue> {
        let tags = self.tag_set();
        if tags.is_empty() {
            return None;
        }
        let joined = tags.iter().map(String::as_str).collect::<Vec<_>>().join(separator);
        // Tags are validated visible ASCII, so this cannot fail.
        HeaderValue::try_from(joined).ok()
    }

    /// Writes the policy into response headers. `Cache-Control`,
    /// `CDN-Cache-Control`, `Surrogate-Key` and `Cache-Tag` are replaced (and
    /// removed when the policy has none, so a no-store response carries no
    /// tags); `Vary` is merged with what is already there, since compression
    /// and other layers add to it too. To keep what a handler set, merge with
    /// [`from_headers`](Self::from_headers) first.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(CACHE_CONTROL, self.cache_control());
        set_or_remove(headers, CDN_CACHE_CONTROL, self.cdn_cache_control());
        set_or_remove(headers, SURROGATE_KEY, self.surrogate_key());
        set_or_remove(headers, CACHE_TAG, self.cache_tag());
        if !self.vary.is_empty() {
            let mut vary = parse_vary(headers);
            vary.extend(self.vary.iter().cloned());
            set_or_remove(headers, VARY, render_vary(&vary));
        }
    }
}

fn set_or_remove(headers: &mut HeaderMap, name: HeaderName, value: Option<HeaderValue>) {
    match value {
        Some(value) => _ = headers.insert(name, value),
        None => _ = headers.remove(name),
    }
}

/// `Vary: *` already varies on everything, so other names add nothing.
fn render_vary(vary: &BTreeSet<VaryName>) -> Option<HeaderValue> {
    if vary.iter().any(|name| name.0.as_str() == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    let joined = vary.iter().map(|name| name.0.as_str()).collect::<Vec<_>>().join(", ");
    HeaderValue::try_from(joined).ok()
}

/// The names in every `Vary` header, lower-cased (by `HeaderName`); invalid ones
/// are skipped.
fn parse_vary(headers: &HeaderMap) -> BTreeSet<VaryName> {
    header_items(headers, &VARY, ',')
        .filter_map(|item| HeaderName::from_bytes(item.as_bytes()).ok().map(VaryName))
        .collect()
}

/// The non-empty, trimmed items of every value of a header, split on `separator`.
fn header_items<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    separator: char,
) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(move |value| value.split(separator))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

impl fmt::Display for CachePolicy {
    /// The `Cache-Control` string, as [`cache_control`](Self::cache_control) renders it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = match &self.kind {
            Kind::NoStore => return f.write_str("no-store"),
            Kind::Private { max_age: None } => return f.write_str("private, no-store"),
            Kind::Private { max_age: Some(max_age) } => {
                return write!(f, "private, max-age={}", max_age.as_secs());
            }
            Kind::Shared(shared) => shared,
        };
        write!(f, "public, max-age={}", shared.max_age.as_secs())?;
        let ttls = [
            ("s-maxage", shared.s_maxage),
            ("stale-while-revalidate", shared.stale_while_revalidate),
            ("stale-if-error", shared.stale_if_error),
        ];
        for (name, ttl) in ttls {
            if let Some(ttl) = ttl {
                write!(f, ", {name}={}", ttl.as_secs())?;
            }
        }
        if shared.must_revalidate {
            f.write_str(", must-revalidate")?;
        }
        if shared.immutable {
            f.write_str(", immutable")?;
        }
        Ok(())
    }
}

/// Parsing from headers.
impl CachePolicy {
    /// Reads a policy back from response headers: `Cache-Control` (all its
    /// lines), `CDN-Cache-Control` (its `max-age`), `Surrogate-Key`, `Cache-Tag`
    /// and `Vary`. Tolerant of case, spacing, quoted values and unknown
    /// directives; where the headers are ambiguous it takes the stricter reading:
    ///
    /// - `no-store` gives no-store (`private, no-store` gives [`private`](Self::private));
    /// - `private` or `no-cache` give private, with no TTL when `no-cache` (the
    ///   response must not be reused unchecked) or no `max-age`;
    /// - otherwise shared, an absent `max-age` being 0;
    /// - a malformed `max-age`/`s-maxage` is 0 (RFC 9111 reads it as stale), a
    ///   malformed stale window is dropped, and a repeated directive counts
    ///   with its smallest value.
    ///
    /// `None` when `Cache-Control` says nothing about storage or freshness
    /// (none of `no-store`, `private`, `no-cache`, `public`, `max-age`,
    /// `s-maxage`), so the caller falls back to its own policy.
    ///
    /// For every policy `p`, applying `p` to empty headers and reading them
    /// back gives `p`.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let cc = Directives::parse(headers, &CACHE_CONTROL);
        if !(cc.no_store || cc.private || cc.no_cache || cc.public)
            && cc.max_age.is_none()
            && cc.s_maxage.is_none()
        {
            return None;
        }
        let kind = if cc.no_store && !cc.private {
            Kind::NoStore
        } else if cc.no_store || cc.private || cc.no_cache {
            let max_age = if cc.no_store || cc.no_cache { None } else { cc.max_age };
            Kind::Private { max_age }
        } else {
            let tags = tags_of(headers);
            Kind::Shared(Shared {
                max_age: cc.max_age.unwrap_or(Duration::ZERO),
                s_maxage: cc.s_maxage,
                cdn_max_age: Directives::parse(headers, &CDN_CACHE_CONTROL).max_age,
                stale_while_revalidate: cc.stale_while_revalidate,
                stale_if_error: cc.stale_if_error,
                must_revalidate: cc.must_revalidate,
                immutable: cc.immutable,
                tags,
            })
        };
        Some(Self { kind, vary: parse_vary(headers) })
    }
}

/// The valid cache tags in `Surrogate-Key` and `Cache-Tag`.
pub(crate) fn tags_of(headers: &HeaderMap) -> BTreeSet<String> {
    header_items(headers, &SURROGATE_KEY, ' ')
        .chain(header_items(headers, &CACHE_TAG, ','))
        .filter(|tag| validate_tag(tag).is_ok())
        .map(str::to_owned)
        .collect()
}

/// The directives of one cache-control style header, as far as a policy can
/// hold them (and as the ISR cache reads them, `isr::storable`).
#[derive(Debug, Default)]
pub(crate) struct Directives {
    pub(crate) public: bool,
    pub(crate) private: bool,
    pub(crate) no_store: bool,
    pub(crate) no_cache: bool,
    pub(crate) must_revalidate: bool,
    pub(crate) immutable: bool,
    pub(crate) max_age: Option<Duration>,
    pub(crate) s_maxage: Option<Duration>,
    pub(crate) stale_while_revalidate: Option<Duration>,
    pub(crate) stale_if_error: Option<Duration>,
}

impl Directives {
    pub(crate) fn parse(headers: &HeaderMap, name: &HeaderName) -> Self {
        let mut d = Self::default();
        for item in header_items(headers, name, ',') {
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value.trim().trim_matches('"'))),
                None => (item, None),
            };
            let secs = value.and_then(parse_secs);
            match key.to_ascii_lowercase().as_str() {
                "public" => d.public = true,
                // `private="Set-Cookie"` and `no-cache="..."` name fields; reading
                // them as the plain directive is stricter, hence safe.
                "private" => d.private = true,
                "no-store" => d.no_store = true,
                "no-cache" => d.no_cache = true,
                // proxy-revalidate is must-revalidate for shared caches only;
                // applying it to browsers too is stricter, hence safe.
                "must-revalidate" | "proxy-revalidate" => d.must_revalidate = true,
                "immutable" => d.immutable = true,
                "max-age" => d.max_age = min_set(d.max_age, secs.unwrap_or(Duration::ZERO)),
                "s-maxage" => d.s_maxage = min_set(d.s_maxage, secs.unwrap_or(Duration::ZERO)),
                "stale-while-revalidate" => {
                    if let Some(secs) = secs {
                        d.stale_while_revalidate = min_set(d.stale_while_revalidate, secs);
                    }
                }
                "stale-if-error" => {
                    if let Some(secs) = secs {
                        d.stale_if_error = min_set(d.stale_if_error, secs);
                    }
                }
                _ => {}
            }
        }
        d
    }
}

fn min_set(current: Option<Duration>, new: Duration) -> Option<Duration> {
    Some(current.map_or(new, |current| current.min(new)))
}

/// delta-seconds: digits only; too many of them means 2^31 (RFC 9111 §1.2.2).
fn parse_secs(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, so the only possible error is overflow.
    let secs = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs.min(MAX_SECS)))
}

/// Checks a cache tag: 1 to [`MAX_TAG_LEN`] bytes of visible ASCII, no commas.
/// Whitespace and commas separate tags in `Surrogate-Key` and `Cache-Tag`, and
/// header values are portable only as visible ASCII. (Every CDN's purge API
/// and ban expressions read a narrower set literally, `A-Z a-z 0-9 . _ : -`:
/// keep tags to it.)
///
/// # Errors
///
/// [`InvalidTag`] saying which rule the tag breaks.
pub fn validate_tag(tag: &str) -> Result<(), InvalidTag> {
    if tag.is_empty() {
        return Err(InvalidTag::Empty);
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(InvalidTag::TooLong { len: tag.len() });
    }
    match tag.chars().find(|&ch| ch == ',' || !ch.is_ascii_graphic()) {
        Some(ch) => Err(InvalidTag::ForbiddenChar { ch }),
        None => Ok(()),
    }
}

/// Why a cache tag was rejected (see [`validate_tag`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidTag {
    /// The tag is empty.
    Empty,
    /// The tag is longer than [`MAX_TAG_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The tag holds whitespace, a comma, a control or a non-ASCII character.
    ForbiddenChar {
        /// The first such character.
        ch: char,
    },
}

impl fmt::Display for InvalidTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("cache tag is empty"),
            Self::TooLong { len } => {
                write!(f, "cache tag is {len} bytes long; the limit is {MAX_TAG_LEN}")
            }
            Self::ForbiddenChar { ch } => write!(
                f,
                "cache tag contains {ch:?}; tags are visible ASCII without commas or spaces"
            ),
        }
    }
}

impl std::error::Error for InvalidTag {}

#[cfg(test)]
mod tests {
    use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, AUTHORIZATION, COOKIE};

    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn rendered(policy: &CachePolicy) -> String {
        policy.cache_control().to_str().expect("ASCII").to_owned()
    }

    fn header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
        headers.get(name).map(|value| value.to_str().expect("ASCII").to_owned())
    }

    fn headers(pairs: &[(&HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append((*name).clone(), HeaderValue::from_str(value).expect("valid value"));
        }
        map
    }

    fn applied(policy: &CachePolicy) -> HeaderMap {
        let mut map = HeaderMap::new();
        policy.apply(&mut map);
        map
    }

    /// Policies of every kind and shape, for the algebraic and round-trip tests.
    fn samples() -> Vec<CachePolicy> {
        vec![
            CachePolicy::no_store(),
            CachePolicy::no_store().vary(ACCEPT_LANGUAGE),
            CachePolicy::private(),
            CachePolicy::private().max_age(secs(60)),
            CachePolicy::private().max_age(secs(0)),
            CachePolicy::public(secs(300)),
            CachePolicy::public(secs(300)).vary(ACCEPT_ENCODING),
            CachePolicy::public(secs(0)),
            CachePolicy::isr(secs(300), secs(3600)),
            CachePolicy::isr(secs(3600), secs(86_400)).tag("posts"),
            CachePolicy::isr(secs(300), secs(3600)).max_age(secs(300)).tag("product:1"),
            CachePolicy::static_content().tag("home"),
            CachePolicy::frequent().tags(["products", "home"]).stale_if_error(secs(86_400)),
            CachePolicy::immutable(),
            CachePolicy::public(secs(300))
                .stale_while_revalidate(secs(600))
                .cdn_max_age(secs(3600))
                .tag("product:7"),
            CachePolicy::public(secs(10)).s_maxage(secs(5)).must_revalidate().cdn_max_age(secs(1)),
            CachePolicy::isr(secs(60), secs(60))
                .stale_if_error(secs(120))
                .cdn_max_age(secs(600))
                .vary(ACCEPT_ENCODING)
                .vary(ACCEPT_LANGUAGE)
                .tags(["a", "b:c", "d/e"]),
        ]
    }

    #[test]
    fn presets_render_exact_cache_control() {
        let cases = [
            (CachePolicy::no_store(), "no-store"),
            (CachePolicy::private(), "private, no-store"),
            (CachePolicy::public(secs(300)), "public, max-age=300"),
            (
                CachePolicy::isr(secs(300), secs(3600)),
                "public, max-age=0, s-maxage=300, stale-while-revalidate=3600",
            ),
            (
                CachePolicy::static_content(),
                "public, max-age=0, s-maxage=86400, stale-while-revalidate=604800",
            ),
            (CachePolicy::frequent(), "public, max-age=0, s-maxage=60, stale-while-revalidate=600"),
            (CachePolicy::immutable(), "public, max-age=31536000, immutable"),
            (CachePolicy::default(), "no-store"),
        ];
        for (policy, expected) in cases {
            assert_eq!(rendered(&policy), expected);
        }
    }

    #[test]
    fn default_is_no_store() {
        assert_eq!(CachePolicy::default(), CachePolicy::no_store());
    }

    #[test]
    fn display_is_the_cache_control_string() {
        let policy = CachePolicy::frequent().stale_if_error(secs(30));
        assert_eq!(policy.to_string(), rendered(&policy));
        assert_eq!(
            policy.to_string(),
            "public, max-age=0, s-maxage=60, stale-while-revalidate=600, stale-if-error=30"
        );
    }

    /// Policies that need more than a preset: a product page, a search, an API.
    #[test]
    fn policies_beyond_the_presets_render_as_built() {
        let product_page = CachePolicy::isr(secs(300), secs(3600)).max_age(secs(300));
        assert_eq!(
            rendered(&product_page),
            "public, max-age=300, s-maxage=300, stale-while-revalidate=3600"
        );

        let search = CachePolicy::public(secs(300)).vary(ACCEPT_ENCODING).tag("search");
        let h = applied(&search);
        assert_eq!(header(&h, &CACHE_CONTROL).as_deref(), Some("public, max-age=300"));
        assert_eq!(header(&h, &VARY).as_deref(), Some("accept-encoding"));

        let api_product = CachePolicy::public(secs(300))
            .stale_while_revalidate(secs(600))
            .cdn_max_age(secs(3600))
            .tag("product:42");
        let h = applied(&api_product);
        assert_eq!(
            header(&h, &CACHE_CONTROL).as_deref(),
            Some("public, max-age=300, stale-while-revalidate=600")
        );
        assert_eq!(
            header(&h, &CDN_CACHE_CONTROL).as_deref(),
            Some("max-age=3600, stale-while-revalidate=600")
        );
        assert_eq!(header(&h, &SURROGATE_KEY).as_deref(), Some("product:42"));
    }

    #[test]
    fn every_directive_renders_in_canonical_order() {
        // Built in the reverse of the canonical order, to show order is the renderer's.
        let policy = CachePolicy::immutable()
            .must_revalidate()
            .stale_if_error(secs(4))
            .stale_while_revalidate(secs(3))
            .s_maxage(secs(2))
            .max_age(secs(1));
        assert_eq!(
            rendered(&policy),
            "public, max-age=1, s-maxage=2, stale-while-revalidate=3, stale-if-error=4, \
             must-revalidate, immutable"
        );
        assert_eq!(rendered(&CachePolicy::private().max_age(secs(60))), "private, max-age=60");
        assert_eq!(rendered(&CachePolicy::private().max_age(secs(0))), "private, max-age=0");
    }

    #[test]
    fn builders_replace_values_instead_of_repeating_directives() {
        let policy = CachePolicy::isr(secs(10), secs(20))
            .s_maxage(secs(30))
            .s_maxage(secs(40))
            .stale_while_revalidate(secs(50))
            .max_age(secs(1))
            .max_age(secs(2))
            .must_revalidate()
            .must_revalidate();
        assert_eq!(
            rendered(&policy),
            "public, max-age=2, s-maxage=40, stale-while-revalidate=50, must-revalidate"
        );
    }

    #[test]
    fn ttl_builders_are_ignored_on_no_store() {
        let policy = CachePolicy::no_store()
            .max_age(secs(60))
            .s_maxage(secs(60))
            .stale_while_revalidate(secs(60))
            .stale_if_error(secs(60))
            .cdn_max_age(secs(60))
            .must_revalidate()
            .tag("posts");
        assert_eq!(policy, CachePolicy::no_store());
        assert_eq!(rendered(&policy), "no-store");
    }

    #[test]
    fn shared_cache_builders_are_ignored_on_private() {
        let policy = CachePolicy::private()
            .s_maxage(secs(60))
            .stale_while_revalidate(secs(60))
            .stale_if_error(secs(60))
            .cdn_max_age(secs(60))
            .must_revalidate()
            .tag("posts");
        assert_eq!(policy, CachePolicy::private());
        assert_eq!(policy.cdn_cache_control(), None);
        assert_eq!(policy.surrogate_key(), None);
        assert_eq!(rendered(&policy.max_age(secs(30))), "private, max-age=30");
    }

    #[test]
    fn durations_are_whole_seconds_capped_at_two_to_the_31() {
        let policy = CachePolicy::isr(Duration::from_millis(1999), secs(u64::MAX))
            .max_age(Duration::from_millis(999));
        assert_eq!(
            rendered(&policy),
            "public, max-age=0, s-maxage=1, stale-while-revalidate=2147483648"
        );
    }

    #[test]
    fn tags_render_sorted_and_deduplicated_in_both_tag_headers() {
        let policy = CachePolicy::static_content().tag("post:b").tags(["home", "post:a", "home"]);
        let h = applied(&policy);
        assert_eq!(header(&h, &SURROGATE_KEY).as_deref(), Some("home post:a post:b"));
        assert_eq!(header(&h, &CACHE_TAG).as_deref(), Some("home,post:a,post:b"));
        let expected: BTreeSet<String> =
            ["home", "post:a", "post:b"].into_iter().map(String::from).collect();
        assert_eq!(policy.tag_set(), &expected);
    }

    #[test]
    fn no_tag_headers_without_tags() {
        let h = applied(&CachePolicy::static_content());
        assert_eq!(header(&h, &SURROGATE_KEY), None);
        assert_eq!(header(&h, &CACHE_TAG), None);
    }

    #[test]
    fn invalid_tags_are_rejected_by_try_tag_and_dropped_by_tag() {
        let long = "x".repeat(MAX_TAG_LEN + 1);
        let cases = [
            ("", InvalidTag::Empty),
            (long.as_str(), InvalidTag::TooLong { len: MAX_TAG_LEN + 1 }),
            ("two words", InvalidTag::ForbiddenChar { ch: ' ' }),
            ("a,b", InvalidTag::ForbiddenChar { ch: ',' }),
            ("tab\there", InvalidTag::ForbiddenChar { ch: '\t' }),
            ("line\nbreak", InvalidTag::ForbiddenChar { ch: '\n' }),
            ("nul\0", InvalidTag::ForbiddenChar { ch: '\0' }),
            ("del\x7f", InvalidTag::ForbiddenChar { ch: '\x7f' }),
            ("café", InvalidTag::ForbiddenChar { ch: 'é' }),
        ];
        for (tag, expected) in cases {
            assert_eq!(
                CachePolicy::frequent().try_tag(tag),
                Err(expected.clone()),
                "try_tag({tag:?})"
            );
            assert_eq!(validate_tag(tag), Err(expected));
            assert_eq!(CachePolicy::frequent().tag(tag), CachePolicy::frequent(), "tag({tag:?})");
        }
        let dropped = CachePolicy::frequent().tags(["ok", "not ok", "also-ok"]);
        assert_eq!(dropped.cache_tag(), Some(HeaderValue::from_static("also-ok,ok")));
    }

    #[test]
    fn valid_tags_are_accepted_up_to_the_limit() {
        let longest = "x".repeat(MAX_TAG_LEN);
        let policy = CachePolicy::frequent()
            .try_tag(longest.as_str())
            .and_then(|p| p.try_tag("post:hello-world_2024/v1?x=\"y\""))
            .expect("valid tags");
        assert_eq!(policy.tag_set().len(), 2);
        assert!(policy.tag_set().contains(&longest));
    }

    #[test]
    fn invalid_tag_messages_say_what_is_wrong() {
        assert_eq!(InvalidTag::Empty.to_string(), "cache tag is empty");
        assert_eq!(
            InvalidTag::TooLong { len: 200 }.to_string(),
            "cache tag is 200 bytes long; the limit is 128"
        );
        assert_eq!(
            InvalidTag::ForbiddenChar { ch: ' ' }.to_string(),
            "cache tag contains ' '; tags are visible ASCII without commas or spaces"
        );
    }

    #[test]
    fn cdn_cache_control_only_for_shared_policies_with_a_cdn_ttl() {
        assert_eq!(CachePolicy::frequent().cdn_cache_control(), None);
        let policy = CachePolicy::frequent().stale_if_error(secs(9)).cdn_max_age(secs(3600));
        assert_eq!(
            policy.cdn_cache_control(),
            Some(HeaderValue::from_static(
                "max-age=3600, stale-while-revalidate=600, stale-if-error=9"
            ))
        );
        assert_eq!(
            CachePolicy::immutable().cdn_max_age(secs(5)).cdn_cache_control(),
            Some(HeaderValue::from_static("max-age=5"))
        );
    }

    #[test]
    fn apply_replaces_cache_headers_and_no_store_removes_tags() {
        let mut h = headers(&[
            (&CACHE_CONTROL, "public, max-age=999"),
            (&CACHE_CONTROL, "s-maxage=999"),
            (&CDN_CACHE_CONTROL, "max-age=999"),
            (&SURROGATE_KEY, "old"),
            (&CACHE_TAG, "old"),
        ]);
        CachePolicy::no_store().apply(&mut h);
        assert_eq!(h.get_all(CACHE_CONTROL).iter().count(), 1);
        assert_eq!(header(&h, &CACHE_CONTROL).as_deref(), Some("no-store"));
        assert_eq!(header(&h, &CDN_CACHE_CONTROL), None);
        assert_eq!(header(&h, &SURROGATE_KEY), None);
        assert_eq!(header(&h, &CACHE_TAG), None);

        CachePolicy::frequent().cdn_max_age(secs(7)).tag("new").apply(&mut h);
        assert_eq!(
            header(&h, &CDN_CACHE_CONTROL).as_deref(),
            Some("max-age=7, stale-while-revalidate=600")
        );
        assert_eq!(header(&h, &SURROGATE_KEY).as_deref(), Some("new"));
        assert_eq!(header(&h, &CACHE_TAG).as_deref(), Some("new"));
    }

    #[test]
    fn apply_merges_vary_case_insensitively_without_duplicates() {
        let mut h = headers(&[(&VARY, "Accept-Encoding, Cookie"), (&VARY, "ACCEPT-ENCODING")]);
        CachePolicy::frequent().vary(ACCEPT_LANGUAGE).vary(ACCEPT_ENCODING).apply(&mut h);
        assert_eq!(h.get_all(VARY).iter().count(), 1);
        assert_eq!(header(&h, &VARY).as_deref(), Some("accept-encoding, accept-language, cookie"));
    }

    #[test]
    fn apply_leaves_vary_alone_when_the_policy_has_none() {
        let mut h = headers(&[(&VARY, "Origin")]);
        CachePolicy::frequent().apply(&mut h);
        assert_eq!(header(&h, &VARY).as_deref(), Some("Origin"));
    }

    #[test]
    fn vary_star_absorbs_other_names() {
        let mut h = headers(&[(&VARY, "*")]);
        CachePolicy::frequent().vary(ACCEPT_ENCODING).apply(&mut h);
        assert_eq!(header(&h, &VARY).as_deref(), Some("*"));
    }

    /// The rows of the merge table in the module docs, one or more cases each.
    #[test]
    fn merge_follows_the_table() {
        let cases = [
            // kind: no-store beats private beats shared
            (CachePolicy::no_store(), CachePolicy::static_content().tag("home"), "no-store"),
            (CachePolicy::no_store(), CachePolicy::private().max_age(secs(60)), "no-store"),
            (CachePolicy::private(), CachePolicy::static_content(), "private, no-store"),
            // private max-age: smaller; none wins; the shared side's max-age counts
            (
                CachePolicy::private().max_age(secs(60)),
                CachePolicy::private().max_age(secs(30)),
                "private, max-age=30",
            ),
            (CachePolicy::private().max_age(secs(60)), CachePolicy::private(), "private, no-store"),
            (
                CachePolicy::private().max_age(secs(60)),
                CachePolicy::public(secs(20)),
                "private, max-age=20",
            ),
            (
                CachePolicy::private().max_age(secs(60)),
                CachePolicy::isr(secs(300), secs(3600)),
                "private, max-age=0",
            ),
            // Loaders asking for 300 s and 3600 s get 300 s: the shortest wins
            (
                CachePolicy::isr(secs(300), secs(3600)),
                CachePolicy::isr(secs(3600), secs(86_400)),
                "public, max-age=0, s-maxage=300, stale-while-revalidate=3600",
            ),
            // max-age only vs s-maxage only: browsers 0 (the s-maxage side says so),
            // shared caches 60
            (
                CachePolicy::public(secs(300)),
                CachePolicy::public(secs(0)).s_maxage(secs(60)),
                "public, max-age=0, s-maxage=60",
            ),
            // s-maxage falls back to max-age: the smaller effective shared TTL
            (
                CachePolicy::public(secs(30)),
                CachePolicy::isr(secs(300), secs(10)).max_age(secs(100)),
                "public, max-age=30, s-maxage=30",
            ),
            // stale windows: smaller if both, dropped if one side lacks it
            (
                CachePolicy::frequent().stale_if_error(secs(100)),
                CachePolicy::isr(secs(60), secs(60)).stale_if_error(secs(50)),
                "public, max-age=0, s-maxage=60, stale-while-revalidate=60, stale-if-error=50",
            ),
            (
                CachePolicy::frequent().stale_if_error(secs(100)),
                CachePolicy::immutable(),
                "public, max-age=0, s-maxage=60",
            ),
            // must-revalidate if either, immutable only if both
            (
                CachePolicy::immutable().must_revalidate(),
                CachePolicy::public(secs(60)),
                "public, max-age=60, must-revalidate",
            ),
            (
                CachePolicy::immutable(),
                CachePolicy::immutable().max_age(secs(60)),
                "public, max-age=60, immutable",
            ),
        ];
        for (a, b, expected) in cases {
            assert_eq!(rendered(&a.clone().merge(b.clone())), expected, "{a} + {b}");
            assert_eq!(rendered(&b.clone().merge(a.clone())), expected, "{b} + {a}");
        }
    }

    #[test]
    fn merge_takes_the_smallest_cdn_ttl_falling_back_to_the_shared_ttl() {
        // The CDN would keep the first for 10 s and the second for 60 s (its s-maxage).
        let a = CachePolicy::frequent().cdn_max_age(secs(10));
        let b = CachePolicy::isr(secs(60), secs(600));
        assert_eq!(a.clone().merge(b).cdn_cache_control(), a.cdn_cache_control());

        // The second's s-maxage (5 s) is below the first's CDN TTL.
        let c = CachePolicy::isr(secs(5), secs(600));
        assert_eq!(
            CachePolicy::frequent().cdn_max_age(secs(3600)).merge(c).cdn_cache_control(),
            Some(HeaderValue::from_static("max-age=5, stale-while-revalidate=600"))
        );

        // Neither sets one: none.
        assert_eq!(
            CachePolicy::frequent().merge(CachePolicy::static_content()).cdn_cache_control(),
            None
        );
    }

    #[test]
    fn merge_unions_tags_and_vary_and_drops_tags_when_not_shared() {
        let a = CachePolicy::isr(secs(300), secs(3600)).tag("posts").vary(ACCEPT_ENCODING);
        let b = CachePolicy::isr(secs(60), secs(60)).tags(["post:1", "posts"]).vary(COOKIE);
        let merged = a.clone().merge(b.clone());
        assert_eq!(merged.cache_tag(), Some(HeaderValue::from_static("post:1,posts")));
        assert_eq!(
            merged.vary_names().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["accept-encoding", "cookie"]
        );

        let private = a.merge(CachePolicy::private().vary(AUTHORIZATION)).merge(b);
        assert!(private.tag_set().is_empty());
        assert_eq!(private.surrogate_key(), None);
        assert_eq!(private.vary_names().count(), 3);
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent() {
        let samples = samples();
        for a in &samples {
            assert_eq!(a.clone().merge(a.clone()), *a, "idempotent: {a}");
            for b in &samples {
                let ab = a.clone().merge(b.clone());
                assert_eq!(ab, b.clone().merge(a.clone()), "commutative: {a} + {b}");
                for c in &samples {
                    assert_eq!(
                        ab.clone().merge(c.clone()),
                        a.clone().merge(b.clone().merge(c.clone())),
                        "associative: {a} + {b} + {c}"
                    );
                }
            }
        }
    }

    /// The point of merging: the result is never looser than either input, for
    /// any cache.
    #[test]
    fn merge_is_never_looser_than_either_side() {
        fn browser_ttl(p: &CachePolicy) -> Option<Duration> {
            match &p.kind {
                Kind::NoStore | Kind::Private { max_age: None } => None,
                Kind::Private { max_age: Some(m) } => Some(*m),
                Kind::Shared(s) => Some(s.max_age),
            }
        }
        fn cdn_ttl(p: &CachePolicy) -> Option<Duration> {
            p.shared().map(Shared::cdn_ttl)
        }
        // `None` (not stored, no stale serving) is the strictest value.
        fn at_most(merged: Option<Duration>, input: Option<Duration>) -> bool {
            match (merged, input) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(m), Some(i)) => m <= i,
            }
        }
        let samples = samples();
        for a in &samples {
            for b in &samples {
                let m = a.clone().merge(b.clone());
                for input in [a, b] {
                    assert!(at_most(browser_ttl(&m), browser_ttl(input)), "browser: {a} + {b}");
                    assert!(at_most(m.shared_ttl(), input.shared_ttl()), "shared: {a} + {b}");
                    assert!(at_most(cdn_ttl(&m), cdn_ttl(input)), "cdn: {a} + {b}");
                    assert!(
                        at_most(
                            m.stale_while_revalidate_window(),
                            input.stale_while_revalidate_window()
                        ),
                        "swr: {a} + {b}"
                    );
                    assert!(
                        at_most(m.stale_if_error_window(), input.stale_if_error_window()),
                        "sie: {a} + {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn merge_all_reduces_and_is_none_when_empty() {
        assert_eq!(CachePolicy::merge_all([]), None);
        let merged = CachePolicy::merge_all([
            CachePolicy::static_content().tag("home"),
            CachePolicy::isr(secs(300), secs(3600)).tag("posts"),
            CachePolicy::isr(secs(3600), secs(604_800)).tag("post:hello"),
        ])
        .expect("three policies");
        assert_eq!(
            rendered(&merged),
            "public, max-age=0, s-maxage=300, stale-while-revalidate=3600"
        );
        assert_eq!(merged.surrogate_key(), Some(HeaderValue::from_static("home post:hello posts")));
    }

    #[test]
    fn from_headers_is_tolerant_of_case_spacing_and_unknown_directives() {
        let h = headers(&[(&CACHE_CONTROL, "Public,  S-MAXAGE=60 ,foo=bar, max-age=10")]);
        assert_eq!(
            CachePolicy::from_headers(&h),
            Some(CachePolicy::public(secs(10)).s_maxage(secs(60)))
        );
    }

    #[test]
    fn from_headers_reads_each_kind() {
        let cases = [
            ("no-store", CachePolicy::no_store()),
            ("NO-STORE, public, max-age=60", CachePolicy::no_store()),
            ("private, no-store", CachePolicy::private()),
            ("private", CachePolicy::private()),
            ("private, max-age=60", CachePolicy::private().max_age(secs(60))),
            ("private, no-cache, max-age=60", CachePolicy::private()),
            ("no-cache", CachePolicy::private()),
            ("no-cache=\"Set-Cookie\", max-age=60", CachePolicy::private()),
            ("public, max-age=60, no-cache", CachePolicy::private()),
            ("public", CachePolicy::public(secs(0))),
            ("max-age=60", CachePolicy::public(secs(60))),
            ("s-maxage=60", CachePolicy::public(secs(0)).s_maxage(secs(60))),
            (
                "max-age=\"60\", proxy-revalidate, immutable",
                CachePolicy::immutable().max_age(secs(60)).must_revalidate(),
            ),
            // Malformed TTLs are stale; a malformed stale window is dropped.
            ("max-age=-1, stale-while-revalidate=soon", CachePolicy::public(secs(0))),
            ("max-age=", CachePolicy::public(secs(0))),
            // Repeated directives count with their smallest value.
            ("max-age=60, max-age=30", CachePolicy::public(secs(30))),
            // Too large: 2^31.
            ("max-age=99999999999999999999999", CachePolicy::public(secs(1 << 31))),
        ];
        for (value, expected) in cases {
            let h = headers(&[(&CACHE_CONTROL, value)]);
            assert_eq!(CachePolicy::from_headers(&h), Some(expected), "{value}");
        }
    }

    #[test]
    fn from_headers_joins_header_lines_and_reads_the_other_headers() {
        let h = headers(&[
            (&CACHE_CONTROL, "public, max-age=0"),
            (&CACHE_CONTROL, "s-maxage=300 , stale-while-revalidate=3600"),
            (&CDN_CACHE_CONTROL, "Max-Age=7200, stale-while-revalidate=1"),
            (&SURROGATE_KEY, "  posts   post:1 "),
            (&CACHE_TAG, "home, posts,,bad tag"),
            (&VARY, "Accept-Encoding,accept-language"),
        ]);
        let expected = CachePolicy::isr(secs(300), secs(3600))
            .cdn_max_age(secs(7200))
            .tags(["posts", "post:1", "home"])
            .vary(ACCEPT_ENCODING)
            .vary(ACCEPT_LANGUAGE);
        assert_eq!(CachePolicy::from_headers(&h), Some(expected));
    }

    #[test]
    fn from_headers_is_none_without_a_storage_or_freshness_directive() {
        assert_eq!(CachePolicy::from_headers(&HeaderMap::new()), None);
        for value in ["", " , ", "foo=bar", "must-revalidate, stale-while-revalidate=60"] {
            let h = headers(&[(&CACHE_CONTROL, value)]);
            assert_eq!(CachePolicy::from_headers(&h), None, "{value:?}");
        }
        // Tags and Vary alone say nothing about caching.
        let h = headers(&[(&SURROGATE_KEY, "posts"), (&VARY, "Cookie")]);
        assert_eq!(CachePolicy::from_headers(&h), None);
    }

    #[test]
    fn from_headers_keeps_tags_only_on_shared_policies() {
        let h = headers(&[(&CACHE_CONTROL, "private, max-age=5"), (&SURROGATE_KEY, "posts")]);
        assert_eq!(CachePolicy::from_headers(&h), Some(CachePolicy::private().max_age(secs(5))));
    }

    #[test]
    fn from_headers_reads_back_what_apply_wrote() {
        let mut policies = samples();
        // Every builder alone on every preset, too.
        let presets = [
            CachePolicy::no_store(),
            CachePolicy::private(),
            CachePolicy::public(secs(120)),
            CachePolicy::isr(secs(300), secs(3600)),
            CachePolicy::static_content(),
            CachePolicy::frequent(),
            CachePolicy::immutable(),
        ];
        let builders: [fn(CachePolicy) -> CachePolicy; 9] = [
            |p| p.max_age(secs(7)),
            |p| p.s_maxage(secs(8)),
            |p| p.stale_while_revalidate(secs(9)),
            |p| p.stale_if_error(secs(10)),
            CachePolicy::must_revalidate,
            |p| p.cdn_max_age(secs(11)),
            |p| p.tag("t"),
            |p| p.tags(["u", "v"]),
            |p| p.vary(ACCEPT_ENCODING),
        ];
        for preset in &presets {
            policies.push(preset.clone());
            policies.push(builders.iter().fold(preset.clone(), |p, build| build(p)));
            for build in builders {
                policies.push(build(preset.clone()));
            }
        }
        for a in samples() {
            for b in samples() {
                policies.push(a.clone().merge(b));
            }
        }
        for policy in policies {
            assert_eq!(
                CachePolicy::from_headers(&applied(&policy)),
                Some(policy.clone()),
                "{policy}"
            );
        }
    }

    #[test]
    fn readers_describe_the_policy() {
        let policy = CachePolicy::isr(secs(300), secs(3600)).stale_if_error(secs(60));
        assert!(policy.is_shared());
        assert_eq!(policy.shared_ttl(), Some(secs(300)));
        assert_eq!(policy.stale_while_revalidate_window(), Some(secs(3600)));
        assert_eq!(policy.stale_if_error_window(), Some(secs(60)));
        assert_eq!(CachePolicy::public(secs(30)).shared_ttl(), Some(secs(30)));

        let private = CachePolicy::private().max_age(secs(60));
        assert!(!private.is_shared());
        assert_eq!(private.shared_ttl(), None);
        assert_eq!(private.stale_while_revalidate_window(), None);
        assert!(!CachePolicy::no_store().is_shared());
    }
}
