//! The cache over a scripted origin, on a hand-moved clock: no test waits for
//! a TTL, and every render is counted.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AGE, CACHE_CONTROL, CONTENT_ENCODING, COOKIE, ETAG, HOST, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::ServiceExt as _;
use tower_layer::Layer as _;

use super::clock::ManualClock;
use super::entry::Encoding;
use super::*;
use crate::{CachePolicy, RouteTable, Visitor, Visitors};

const ISR: &str = "public, max-age=0, s-maxage=60, stale-while-revalidate=600, stale-if-error=3600";
const SECOND: Duration = Duration::from_secs(1);

/// What the origin does next.
#[derive(Clone)]
enum Behaviour {
    /// 200 with this `Cache-Control` and `body-N` (N counts renders).
    Page(&'static str),
    /// 200 with extra headers.
    PageWith(&'static str, &'static [(&'static str, &'static str)]),
    /// A body of this many bytes.
    Large(usize),
    /// A status with the ISR policy.
    Status(u16),
    /// A status with these headers and no `Cache-Control` of the test's own.
    Respond(u16, &'static [(&'static str, &'static str)]),
    /// 200 with this `Cache-Control` and `ETag`, or 304 (no body) when the
    /// request's `If-None-Match` is that tag; `x-render: N` on both.
    Validating(&'static str, &'static str),
    Panic,
}

#[derive(Clone)]
struct Origin {
    renders: Arc<AtomicUsize>,
    /// When set, renders wait for a permit before answering (and count
    /// themselves in `entered` first), so a test can act mid-render.
    gate: Arc<Mutex<Option<Arc<tokio::sync::Semaphore>>>>,
    entered: Arc<AtomicUsize>,
    behaviour: Arc<Mutex<Behaviour>>,
    /// The headers of the last request the origin answered.
    last: Arc<Mutex<HeaderMap>>,
}

impl Origin {
    fn new() -> Self {
        Self {
            renders: Arc::default(),
            gate: Arc::default(),
            entered: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour::Page(ISR))),
            last: Arc::default(),
        }
    }

    fn last_header(&self, name: &str) -> Option<String> {
        let last = self.last.lock().expect("lock");
        last.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("lock") = behaviour;
    }

    fn renders(&self) -> usize {
        self.renders.load(Ordering::SeqCst)
    }

    fn respond(&self, request: &Request<()>) -> Response<Full<Bytes>> {
        let n = self.renders.fetch_add(1, Ordering::SeqCst) + 1;
        let behaviour = self.behaviour.lock().expect("lock").clone();
        *self.last.lock().expect("lock") = request.headers().clone();
        // The page shows the host it was rendered for, as a page with absolute links would.
        let host =
            request.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("?").to_owned();
        let language = request
            .headers()
            .get("accept-language")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let uri = request.uri();
        let body = format!("body-{n} host={host} lang={language} uri={uri} ").repeat(20);
        let (status, cache_control, extra, body): (u16, &str, &[(&str, &str)], String) =
            match behaviour {
                Behaviour::Page(cc) => (200, cc, &[], body),
                Behaviour::PageWith(cc, extra) => (200, cc, extra, body),
                Behaviour::Large(size) => (200, ISR, &[], "x".repeat(size)),
                Behaviour::Status(status) => (status, ISR, &[], body),
                Behaviour::Respond(status, headers) => (status, "", headers, body),
                Behaviour::Validating(cc, etag) => {
                    let current = request.headers().get("if-none-match").is_some_and(|v| v == etag);
                    if current { (304, cc, &[], String::new()) } else { (200, cc, &[], body) }
                }
                Behaviour::Panic => panic!("render failed"),
            };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).expect("status");
        let headers = response.headers_mut();
        if !cache_control.is_empty() {
            headers.insert(CACHE_CONTROL, HeaderValue::from_str(cache_control).expect("cc"));
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert("surrogate-key", HeaderValue::from_static("post:a posts"));
        for (name, value) in extra {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        if let Behaviour::Validating(_, etag) = behaviour {
            headers.insert(ETAG, HeaderValue::from_static(etag));
            headers.insert("x-render", HeaderValue::from(n));
        }
        response
    }
}

struct Harness {
    origin: Origin,
    clock: ManualClock,
    cache: IsrCache,
    service:
        IsrService<tower::util::BoxCloneService<Request<()>, Response<Full<Bytes>>, Infallible>>,
}

/// A real session is `sid=good`, a preview `preview=ok`; any other cookie
/// (`sid=forged`) proves nothing.
fn visitors() -> Visitors {
    Visitors::new(|headers| {
        let cookies = headers.get(COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if cookies.split(';').any(|c| c.trim() == "sid=good") {
            Visitor::Personal
        } else if cookies.split(';').any(|c| c.trim() == "preview=ok") {
            Visitor::Preview
        } else {
            Visitor::Anonymous
        }
    })
}

fn harness() -> Harness {
    harness_with(IsrConfig::new().canonical_host("example.com").visitors(visitors()))
}

/// With a route table: `/blog` reads `page`, `/blog/{slug}` nothing.
fn harness_with_routes() -> Harness {
    let routes = RouteTable::new()
        .route("/blog", |_| CachePolicy::no_store())
        .query(["page"])
        .route("/blog/{slug}", |_| CachePolicy::no_store());
    harness_with(IsrConfig::new().canonical_host("example.com").visitors(visitors()).routes(routes))
}

fn harness_with(config: IsrConfig) -> Harness {
    harness_on(config, Origin::new(), ManualClock::new())
}

/// A cache with `config` over `origin`, on `clock` (instances of a fleet
/// share both).
fn harness_on(config: IsrConfig, origin: Origin, clock: ManualClock) -> Harness {
    let cache = IsrCache::with_clock(config, Arc::new(clock.clone()));
    let inner = {
        let origin = origin.clone();
        tower::service_fn(move |request: Request<()>| {
            let origin = origin.clone();
            async move {
                let gate = origin.gate.lock().expect("lock").clone();
                if let Some(gate) = gate {
                    origin.entered.fetch_add(1, Ordering::SeqCst);
                    gate.acquire().await.expect("open").forget();
                }
                Ok::<_, Infallible>(origin.respond(&request))
            }
        })
    };
    let service = IsrLayer::new(cache.clone()).layer(tower::util::BoxCloneService::new(inner));
    Harness { origin, clock, cache, service }
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn x_cache(&self) -> &str {
        self.headers.get(X_CACHE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn cache_status(&self) -> &str {
        self.headers.get(CACHE_STATUS).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl Harness {
    async fn get(&self, path: &str) -> Got {
        self.send(Request::get(path).body(()).expect("request")).await
    }

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(()).expect("request")).await
    }

    async fn send(&self, request: Request<()>) -> Got {
        let response = self.service.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        Got {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

#[tokio::test]
async fn a_miss_is_stored_then_hits_with_a_correct_age() {
    let h = harness();
    let miss = h.get("/blog/a").await;
    assert_eq!((miss.status, miss.x_cache()), (StatusCode::OK, "MISS"));
    assert_eq!(miss.cache_status(), "isr; fwd=uri-miss; stored");
    assert!(miss.body.starts_with("body-1"));

    h.clock.advance(42 * SECOND);
    let hit = h.get("/blog/a").await;
    assert_eq!(hit.x_cache(), "HIT");
    assert_eq!(hit.cache_status(), "isr; hit; ttl=18");
    assert_eq!(hit.headers[AGE], "42");
    assert_eq!(hit.body, miss.body);
    assert_eq!(h.origin.renders(), 1);
}

/// With every render slot taken, a miss of another key renders in its own
/// request (ended with it if its client leaves), and is not stored.
#[tokio::test]
async fn past_max_renders_a_miss_renders_in_its_own_request() {
    let h = harness_with(
        IsrConfig::new().canonical_host("example.com").visitors(visitors()).max_renders(1),
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *h.origin.gate.lock().expect("lock") = Some(gate.clone());
    let send = |path: &'static str| {
        let service = h.service.clone();
        tokio::spawn(async move {
            let response = service.oneshot(Request::get(path).body(()).expect("request")).await;
            response.expect("infallible").headers().clone()
        })
    };
    let first = send("/blog/a");
    while h.origin.entered.load(Ordering::SeqCst) < 1 {
        tokio::task::yield_now().await;
    }
    let second = send("/blog/b");
    while h.origin.entered.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(h.cache.shared.flights.lock().expect("lock").len(), 1, "one render in flight");
    gate.add_permits(2);
    let (first, second) = (first.await.expect("joined"), second.await.expect("joined"));
    assert_eq!(first[CACHE_STATUS], "isr; fwd=uri-miss; stored");
    assert_eq!(second[CACHE_STATUS], "isr; fwd=uri-miss", "rendered in its request, not stored");
    *h.origin.gate.lock().expect("lock") = None;
    assert_eq!(h.get("/blog/a").await.x_cache(), "HIT");
    assert_eq!(h.get("/blog/b").await.cache_status(), "isr; fwd=uri-miss; stored", "a slot again");
}

#[tokio::test]
async fn stale_is_served_at_once_and_regenerated_once() {
    let h = harness();
    h.get("/blog/a").await;
    h.clock.advance(61 * SECOND);

    let stale = h.get("/blog/a").await;
    assert_eq!(stale.x_cache(), "STALE");
    assert_eq!(stale.cache_status(), "isr; fwd=stale; ttl=-1");
    assert!(stale.body.starts_with("body-1"), "the old page, without waiting");
    h.cache.idle().await;
    assert_eq!(h.origin.renders(), 2, "regenerated in the background");

    let fresh = h.get("/blog/a").await;
    assert_eq!(fresh.x_cache(), "HIT");
    assert!(fresh.body.starts_with("body-2"));
    assert_eq!(fresh.headers[AGE], "0");
}

#[tokio::test]
async fn a_hundred_concurrent_misses_render_once() {
    let h = harness();
    let requests = (0..100).map(|_| h.get("/blog/a"));
    // All hundred join the render before it can run (one thread: the render
    // task starts only when this one yields), so this is coalescing, not hits.
    let responses = futures_util::future::join_all(requests).await;
    assert_eq!(h.origin.renders(), 1);
    assert!(responses.iter().all(|r| r.x_cache() == "MISS" && r.body.starts_with("body-1")));
}

#[tokio::test]
async fn a_hundred_concurrent_requests_on_a_stale_key_regenerate_once() {
    let h = harness();
    h.get("/blog/a").await;
    h.clock.advance(120 * SECOND);
    let responses = futures_util::future::join_all((0..100).map(|_| h.get("/blog/a"))).await;
    assert!(responses.iter().all(|r| r.x_cache() == "STALE" && r.body.starts_with("body-1")));
    h.cache.idle().await;
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn expired_pages_are_rendered_before_answering() {
    let h = harness();
    h.get("/blog/a").await;
    h.clock.advance(661 * SECOND); // past s-maxage + stale-while-revalidate
    let response = h.get("/blog/a").await;
    assert_eq!(response.x_cache(), "MISS");
    assert!(response.body.starts_with("body-2"));
}

#[tokio::test]
async fn failed_regenerations_keep_the_good_page_and_back_off() {
    for failure in [Behaviour::Status(500), Behaviour::Status(503), Behaviour::Panic] {
        let h = harness();
        h.get("/blog/a").await;
        h.origin.set(failure);
        h.clock.advance(61 * SECOND);

        let stale = h.get("/blog/a").await;
        assert!(stale.body.starts_with("body-1"));
        h.cache.idle().await;
        assert_eq!(h.origin.renders(), 2);
        // Still the good page, and no new attempt inside the back-off.
        let again = h.get("/blog/a").await;
        assert_eq!(again.x_cache(), "STALE");
        assert!(again.body.starts_with("body-1"));
        h.cache.idle().await;
        assert_eq!(h.origin.renders(), 2, "backing off");

        // Past the stale-while-revalidate window, within stale-if-error: the
        // render is tried first, and its failure answered with the good page.
        h.clock.advance(700 * SECOND);
        let rescued = h.get("/blog/a").await;
        assert_eq!(rescued.status, StatusCode::OK);
        assert_eq!(rescued.x_cache(), "STALE");
        assert!(rescued.cache_status().contains("fwd-status=500"), "{}", rescued.cache_status());
        assert!(rescued.body.starts_with("body-1"));

        // Recovery: the next attempt after the back-off refreshes the entry.
        h.origin.set(Behaviour::Page(ISR));
        h.clock.advance(61 * SECOND);
        let recovered = h.get("/blog/a").await;
        assert_eq!(recovered.x_cache(), "MISS");
        assert!(recovered.body.starts_with("body-"), "{}", recovered.body);
        assert!(!recovered.body.starts_with("body-1"));
        assert_eq!(h.get("/blog/a").await.x_cache(), "HIT");
    }
}

#[tokio::test]
async fn an_error_without_a_good_page_reaches_the_client_unstored() {
    let h = harness();
    h.origin.set(Behaviour::Status(500));
    let first = h.get("/blog/a").await;
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    h.origin.set(Behaviour::Page(ISR));
    let second = h.get("/blog/a").await;
    assert_eq!((second.status, second.x_cache()), (StatusCode::OK, "MISS"));
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn personal_responses_are_never_shared() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (ISR, &[("set-cookie", "sid=x")]),
        ("private, max-age=60", &[]),
        ("no-store", &[]),
        (ISR, &[("vary", "*")]),
    ];
    for (cache_control, extra) in cases {
        let h = harness();
        h.origin.set(Behaviour::PageWith(cache_control, extra));
        let first = h.get("/blog/a").await;
        let second = h.get("/blog/a").await;
        // The first request's anonymous render, then the request itself as it
        // came; then the next goes straight through.
        assert_eq!(h.origin.renders(), 3, "{cache_control} {extra:?}");
        assert_ne!(first.body, second.body);
        assert_eq!(first.x_cache(), "MISS");
        assert_eq!(second.x_cache(), "BYPASS", "remembered as not storable");
        assert!(first.headers.get(SET_COOKIE).is_none() || !extra.is_empty());
    }
}

#[tokio::test]
async fn only_a_real_session_bypasses_the_cache() {
    let h = harness();
    h.get("/blog/a").await;
    let signed_in = h.get_with("/blog/a", &[("cookie", "theme=dark; sid=good")]).await;
    assert_eq!(signed_in.x_cache(), "BYPASS");
    assert_eq!(signed_in.cache_status(), "isr; fwd=bypass");
    assert_eq!(h.origin.last_header("cookie").as_deref(), Some("theme=dark; sid=good"));
    assert_eq!(h.origin.renders(), 2);
    // Its response was not stored: anonymous visitors still get render 1.
    assert!(h.get("/blog/a").await.body.starts_with("body-1"));
    // A cookie that proves no session is anonymous: served from the cache.
    for cookie in ["sid=forged", "theme=dark", "sid="] {
        let response = h.get_with("/blog/a", &[("cookie", cookie)]).await;
        assert_eq!(response.x_cache(), "HIT", "{cookie}");
        assert!(response.body.starts_with("body-1"));
    }
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn headers_no_page_reads_do_not_force_renders() {
    let h = harness();
    h.get("/blog/a").await;
    for (name, value) in [
        ("authorization", "Bearer made-up"),
        ("authorization", "Basic dTpw"),
        ("cache-control", "no-cache"),
        ("cache-control", "max-age=0"),
        ("pragma", "no-cache"),
    ] {
        let response = h.get_with("/blog/a", &[(name, value)]).await;
        assert_eq!(response.x_cache(), "HIT", "{name}: {value}");
        assert!(response.body.starts_with("body-1"));
    }
    assert_eq!(h.origin.renders(), 1);
    // A miss with `Authorization` renders anonymously, once, for everyone.
    let first = h.get_with("/blog/b", &[("authorization", "Bearer x")]).await;
    assert_eq!(first.x_cache(), "MISS");
    assert_eq!(h.origin.last_header("authorization"), None, "renders are anonymous");
    assert_eq!(h.get("/blog/b").await.x_cache(), "HIT");
}

#[tokio::test]
async fn authorization_is_served_only_what_says_it_is_shared() {
    // `max-age` alone: storable, but not for a request with `Authorization`
    // (RFC 9111 section 3.5).
    let h = harness();
    h.origin.set(Behaviour::Page("max-age=60"));
    h.get("/blog/a").await;
    assert_eq!(h.get("/blog/a").await.x_cache(), "HIT");
    let authorized = h.get_with("/blog/a", &[("authorization", "Bearer t")]).await;
    assert_eq!(authorized.x_cache(), "BYPASS");
    assert_eq!(h.origin.last_header("authorization").as_deref(), Some("Bearer t"));
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn ranges_are_answered_from_the_cache() {
    let h = harness();
    let whole = h.get("/blog/a").await;
    let part = h.get_with("/blog/a", &[("range", "bytes=0-5"), ("accept-encoding", "br")]).await;
    assert_eq!((part.status, part.x_cache()), (StatusCode::PARTIAL_CONTENT, "HIT"));
    assert_eq!(part.body, whole.body[..6]);
    let len = whole.body.len();
    assert_eq!(part.headers[http::header::CONTENT_RANGE], format!("bytes 0-5/{len}").as_str());
    // A range on a miss is served from the entry the render made.
    let miss = h.get_with("/blog/b", &[("range", "bytes=-4")]).await;
    assert_eq!((miss.status, miss.x_cache()), (StatusCode::PARTIAL_CONTENT, "MISS"));
    assert_eq!(miss.body.len(), 4);
    assert_eq!(h.origin.last_header("range"), None, "the render asked for the whole page");
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn previews_render_afresh_and_store_nothing() {
    let h = harness();
    h.get("/blog/a").await;
    let preview = h.get_with("/blog/a", &[("cookie", "preview=ok")]).await;
    assert_eq!(preview.cache_status(), "isr; fwd=bypass; detail=preview");
    assert_eq!(preview.headers[CACHE_CONTROL], "private, no-store");
    assert!(preview.headers.get("surrogate-key").is_none());
    assert!(preview.body.starts_with("body-2"), "a fresh render");
    assert_eq!(h.origin.last_header("cookie").as_deref(), Some("preview=ok"));
    // Nothing replaced: everyone else still gets the stored page.
    let anonymous = h.get("/blog/a").await;
    assert_eq!(anonymous.x_cache(), "HIT");
    assert!(anonymous.body.starts_with("body-1"));
    // Nor is a preview of a page not yet stored kept for others.
    h.get_with("/blog/new", &[("cookie", "preview=ok")]).await;
    assert_eq!(h.get("/blog/new").await.x_cache(), "MISS");
}

#[tokio::test]
async fn undeclared_query_parameters_neither_key_nor_reach_renders() {
    let h = harness_with_routes();
    let first = h.get("/blog/a?x=1").await;
    assert!(first.body.contains("uri=/blog/a "), "{}", &first.body[..60]);
    for junk in ["/blog/a?x=2", "/blog/a?x=3&y=4", "/blog/a", "/blog/a?"] {
        assert_eq!(h.get(junk).await.x_cache(), "HIT", "{junk}");
    }
    assert_eq!(h.origin.renders(), 1);
    // Declared ones count, and the render sees them (and nothing else).
    let page = h.get("/blog?x=9&page=2&utm_source=mail").await;
    assert_eq!(page.x_cache(), "MISS");
    assert!(page.body.contains("uri=/blog?page=2 "), "{}", &page.body[..60]);
    assert_eq!(h.get("/blog?page=2&x=1").await.x_cache(), "HIT");
    assert_eq!(h.get("/blog?page=3").await.x_cache(), "MISS");
    // Unlisted paths keep no parameters either.
    h.get("/nowhere?a=1").await;
    assert_eq!(h.get("/nowhere?a=2").await.x_cache(), "HIT");
}

#[tokio::test]
async fn a_stale_page_backing_off_is_served_without_a_render() {
    let h = harness();
    h.get("/blog/a").await;
    h.origin.set(Behaviour::Status(500));
    // Past stale-while-revalidate, within stale-if-error.
    h.clock.advance(700 * SECOND);
    let rescued = h.get("/blog/a").await;
    assert!(rescued.cache_status().contains("fwd-status=500"), "{}", rescued.cache_status());
    assert_eq!(h.origin.renders(), 2);
    // Inside the back-off: the good page at once, no render.
    for _ in 0..5 {
        let again = h.get("/blog/a").await;
        assert_eq!((again.status, again.x_cache()), (StatusCode::OK, "STALE"));
    }
    assert_eq!(h.origin.renders(), 2);
}

#[tokio::test]
async fn host_headers_cannot_poison_the_cache() {
    let h = harness();
    let poisoned = h
        .get_with(
            "http://evil.test/blog/a",
            &[("host", "evil.test"), ("x-forwarded-host", "evil.test")],
        )
        .await;
    assert!(poisoned.body.contains("host=example.com"), "rendered for the canonical host");
    let other = h.get_with("/blog/a", &[("host", "example.com")]).await;
    assert_eq!(other.x_cache(), "HIT");
    assert!(!other.body.contains("evil"));
}

#[tokio::test]
async fn the_query_is_normalised_into_the_key() {
    let h = harness();
    h.get("/blog?page=2&sort=new").await;
    let same = h.get("/blog?sort=new&page=2&utm_source=mail&fbclid=x").await;
    assert_eq!(same.x_cache(), "HIT");
    assert_eq!(h.get("/blog?page=3").await.x_cache(), "MISS");
}

#[tokio::test]
async fn varied_headers_get_their_own_entries() {
    let h = harness();
    h.origin.set(Behaviour::PageWith(ISR, &[("vary", "accept-language, accept-encoding")]));
    let en = h.get_with("/", &[("accept-language", "en")]).await;
    let de = h.get_with("/", &[("accept-language", "de")]).await;
    assert!(en.body.contains("lang=en") && de.body.contains("lang=de"));
    assert_eq!(h.get_with("/", &[("accept-language", "EN")]).await.x_cache(), "HIT");
    let de_again = h.get_with("/", &[("accept-language", "de")]).await;
    assert_eq!(de_again.x_cache(), "HIT");
    assert!(de_again.body.contains("lang=de"));
    assert_eq!(en.headers[VARY], "accept-language, accept-encoding");
}

#[tokio::test]
async fn encodings_validators_and_head_come_from_the_entry() {
    let h = harness();
    let plain = h.get("/blog/a").await;
    let brotli = h.get_with("/blog/a", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(brotli.headers[CONTENT_ENCODING], "br");
    assert_ne!(brotli.headers[ETAG], plain.headers[ETAG]);
    let etag = brotli.headers[ETAG].to_str().expect("ascii").to_owned();
    let revalidated =
        h.get_with("/blog/a", &[("accept-encoding", "br"), ("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    let head = h.send(Request::head("/blog/a").body(()).expect("request")).await;
    assert_eq!((head.status, head.body.as_str(), head.x_cache()), (StatusCode::OK, "", "HIT"));
    assert_eq!(head.headers[http::header::CONTENT_LENGTH], plain.body.len().to_string().as_str());
    assert_eq!(h.origin.renders(), 1);
}

#[tokio::test]
async fn oversize_bodies_pass_through_unstored_as_the_client_asked() {
    let h = harness_with(IsrConfig::new().max_entry_bytes(1000));
    h.origin.set(Behaviour::Large(5000));
    let first = h.get_with("/big", &[("accept-encoding", "br")]).await;
    assert_eq!(first.body.len(), 5000);
    // The client's own request reached the origin, so layers under the
    // cache could compress it as asked.
    assert_eq!(h.origin.last_header("accept-encoding").as_deref(), Some("br"));
    let second = h.get_with("/big", &[("accept-encoding", "gzip")]).await;
    assert_eq!(second.x_cache(), "BYPASS", "remembered as too large");
    assert_eq!(h.origin.last_header("accept-encoding").as_deref(), Some("gzip"));
    assert_eq!(h.origin.renders(), 3);
}

#[tokio::test]
async fn eviction_keeps_memory_under_the_bound() {
    let bound = 64 * 1024;
    let h = harness_with(IsrConfig::new().max_bytes(bound));
    for i in 0..200 {
        h.get(&format!("/page/{i}")).await;
    }
    let metrics = h.cache.metrics();
    assert!(metrics.bytes.get() > 0);
    assert!(
        u64::try_from(metrics.bytes.get()).expect("positive") <= bound,
        "{}",
        metrics.bytes.get()
    );
    assert!(metrics.evictions.get() > 0);
}

#[tokio::test]
async fn purges_by_path_prefix_and_tag_soft_and_hard() {
    let h = harness();
    for path in ["/blog/a", "/blog/a?x=1", "/blog/b", "/products/1"] {
        h.get(path).await;
    }
    // Hard, by path: every query of the path, nothing else.
    assert_eq!(
        h.cache.purge_here(&Purge {
            paths: vec!["/blog/a".into()],
            mode: PurgeMode::Hard,
            ..Purge::default()
        }),
        2
    );
    assert_eq!(h.get("/blog/a").await.x_cache(), "MISS");
    assert_eq!(h.get("/blog/b").await.x_cache(), "HIT");

    // Soft, by prefix: served stale once while it regenerates.
    assert_eq!(
        h.cache.purge_here(&Purge { prefixes: vec!["/blog/".into()], ..Purge::default() }),
        2
    );
    let stale = h.get("/blog/b").await;
    assert_eq!(stale.x_cache(), "STALE");
    h.cache.idle().await;
    assert_eq!(h.get("/blog/b").await.x_cache(), "HIT");
    assert_eq!(h.get("/products/1").await.x_cache(), "HIT");

    // Hard, by tag: the origin tags everything `post:a posts`.
    assert_eq!(h.cache.purge_here(&Purge::tags(["posts"], PurgeMode::Hard)), 3);
    assert_eq!(h.get("/products/1").await.x_cache(), "MISS");
    assert_eq!(h.cache.purge_here(&Purge::tags(["nothing"], PurgeMode::Hard)), 0);
    assert_eq!(h.cache.recent_purges().len(), 4);
}

#[tokio::test]
async fn a_render_overtaken_by_a_purge_is_stored_stale() {
    let h = harness();
    h.get("/blog/a").await;
    h.clock.advance(61 * SECOND);
    h.get("/blog/a").await; // starts a background render…
    h.cache.purge_here(&Purge::tags(["post:a"], PurgeMode::Hard)); // …which a purge overtakes
    h.cache.idle().await;
    // What the render stored may predate the purge: it is served once more, stale, and redone.
    assert_eq!(h.get("/blog/a").await.x_cache(), "STALE");
}

#[tokio::test]
async fn non_get_requests_and_a_disabled_cache_pass_through() {
    let h = harness();
    let post = h.send(Request::post("/blog/a").body(()).expect("request")).await;
    assert_eq!(post.x_cache(), "BYPASS");
    let off = harness_with(IsrConfig::new().enabled(false));
    let response = off.get("/blog/a").await;
    assert!(response.headers.get(X_CACHE).is_none());
    off.get("/blog/a").await;
    assert_eq!(off.origin.renders(), 2);
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let h = harness();
    h.get("/a").await;
    h.get("/a").await;
    h.clock.advance(61 * SECOND);
    h.get("/a").await;
    h.cache.idle().await;
    let metrics = h.cache.metrics();
    assert_eq!((metrics.misses.get(), metrics.hits.get(), metrics.stale.get()), (1, 1, 1));
    assert_eq!(metrics.regenerations.get(), 2);
    let text = metrics.render();
    assert!(text.contains("isr_cache_hits_total 1"), "{text}");
    assert!(text.contains("isr_cache_entries 1"), "{text}");
}

/// Yields until no render is in flight, without awaiting the flights (as a
/// server under load never does for background regenerations).
async fn until_no_flights(cache: &IsrCache) {
    for _ in 0..100_000 {
        if cache.shared.flights.lock().expect("lock").is_empty() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("a flight never ended by itself");
}

#[tokio::test]
async fn background_regenerations_finish_with_nobody_waiting() {
    let h = harness();
    h.get("/blog/a").await;
    for round in 2..=4 {
        h.clock.advance(61 * SECOND);
        assert_eq!(h.get("/blog/a").await.x_cache(), "STALE");
        until_no_flights(&h.cache).await;
        assert_eq!(h.origin.renders(), round, "each stale period regenerates once");
        assert_eq!(h.get("/blog/a").await.x_cache(), "HIT");
    }
}

/// The long tail (a page asked for once) costs a render, not a render plus
/// compressions nobody reads: a miss makes only the encoding it asked for,
/// later requests make theirs once, and a regeneration makes up front what
/// the page it replaces was being served in.
#[tokio::test]
async fn encodings_are_made_when_first_asked_for() {
    let h = harness();
    let made = |path: &str| {
        let key = format!("example.com{path}");
        h.cache.shared.store.get(&key).expect("stored").encodings_made()
    };
    h.get("/plain").await;
    assert!(made("/plain").is_empty(), "no Accept-Encoding: nothing compressed");
    h.get_with("/br", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(made("/br"), [Encoding::Brotli]);
    let gzip = h.get_with("/br", &[("accept-encoding", "gzip")]).await;
    assert_eq!((gzip.x_cache(), gzip.headers[CONTENT_ENCODING].as_bytes()), ("HIT", &b"gzip"[..]));
    assert_eq!(made("/br"), [Encoding::Brotli, Encoding::Gzip]);
    // A regeneration of a page served in br and gzip makes both again.
    h.clock.advance(61 * SECOND);
    h.get("/br").await;
    h.cache.idle().await;
    assert_eq!(h.origin.renders(), 3);
    assert_eq!(made("/br"), [Encoding::Brotli, Encoding::Gzip]);
}

/// Several instances over one second level (see `level2`).
mod fleet;
mod http_cache;
