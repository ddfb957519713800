//! The latency of a first-level miss answered from the second level: what a
//! page costs an instance that does not hold it in memory while the disk
//! (after a restart) or the fleet (in Redis) does.
//!
//! An [`IsrCache`] with a second level, over a service that answers one page:
//! its bytes and its headers as a server sent them (`scripts/bench-isr`
//! fetches them from a running one). The page is requested once (a render,
//! written to both levels); then, N times, it is purged from this instance's
//! memory alone ([`IsrCache::purge_here`], hard: the record stays in the
//! second level) and one request is timed through the layer, from the call
//! to the last byte of the body. Every timed response must say it came from
//! the second level (`Cache-Status: …; detail=shared`) and the service must
//! have rendered once in all: the run fails otherwise, since it would be
//! timing something else.
//!
//! ```sh
//! cargo run --release -p isr-cache --features "redis sqlite" --example level2_latency -- \
//!   --path /blog/hello-isr --body page.html --headers headers.txt \
//!   sqlite:///tmp/latency.db redis://127.0.0.1:6379
//! ```
//!
//! - `--path`: the page's path (purges match it).
//! - `--body`: its bytes; `--headers`: its headers as `curl -D` writes them.
//!   Kept: [`KEPT`] (what decides how it is stored, tagged and varied);
//!   the rest (`Age`, `ETag`, `Cache-Status`, …) the cache makes itself.
//! - `--requests`: the timed requests per store (2000).
//! - `--namespace`: the prefix of the keys written in Redis
//!   (`level2-latency:`). They are left there: delete them after
//!   (`redis-cli --scan --pattern 'level2-latency:*' | xargs redis-cli del`).
//! - Stores, as the app's `ISR_STORE_URL` names them: `sqlite://FILE` (a
//!   file that need not exist), `redis://HOST:PORT[/DB]`.
//!
//! One line per store, for scripts to read:
//!
//! ```text
//! level2-latency store=sqlite requests=2000 p50_ms=0.180 p99_ms=0.412
//! level2-latency store=redis skipped=no Redis answers at redis://127.0.0.1:6379
//! ```
//!
//! A Redis that does not answer is skipped (said so, exit status 0); a
//! SQLite file that cannot be opened is an error.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, Full};
use isr_cache::isr::SecondLevel;
use isr_cache::isr::level2::{RedisLevel, SqliteLevel};
use isr_cache::{CACHE_TAG, IsrCache, IsrConfig, IsrLayer, Purge, PurgeMode, SURROGATE_KEY};
use tower::{Layer as _, ServiceExt as _};

type Failure = Box<dyn Error + Send + Sync>;

/// The page's headers the service answers with: how it may be stored
/// (`Cache-Control`, `CDN-Cache-Control`), its tags (`Surrogate-Key`,
/// `Cache-Tag`), its type, and what it varies on (a `Vary` makes the second
/// level hold a pointer to the variant, which a miss follows: two reads, as
/// in the server).
const KEPT: [HeaderName; 6] = [
    http::header::CACHE_CONTROL,
    HeaderName::from_static("cdn-cache-control"),
    http::header::CONTENT_TYPE,
    SURROGATE_KEY,
    CACHE_TAG,
    http::header::VARY,
];

struct Args {
    path: String,
    body: Bytes,
    headers: HeaderMap,
    requests: usize,
    namespace: String,
    stores: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args = parse_args(std::env::args().skip(1))?;
    for store in &args.stores {
        let Some(level) = open(store, &args.namespace).await? else { continue };
        let kind = level.kind();
        let took = measure(&args, level).await?;
        println!(
            "level2-latency store={kind} requests={} p50_ms={:.3} p99_ms={:.3}",
            took.len(),
            millis(took[took.len() / 2]),
            millis(took[took.len() * 99 / 100]),
        );
    }
    Ok(())
}

/// The second level `url` names; `None` (said so) for a Redis that does not
/// answer.
async fn open(url: &str, namespace: &str) -> Result<Option<Arc<dyn SecondLevel>>, Failure> {
    if let Some(file) = url.strip_prefix("sqlite://") {
        let level = SqliteLevel::open(Path::new(file))
            .await
            .map_err(|error| format!("cannot open {file}: {error}"))?;
        return Ok(Some(Arc::new(level)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return match RedisLevel::connect(url, namespace).await {
            Ok(level) => Ok(Some(Arc::new(level))),
            Err(error) => {
                println!("level2-latency store=redis skipped=no Redis answers at {url} ({error})");
                Ok(None)
            }
        };
    }
    Err(format!("a store is sqlite://FILE or redis://HOST:PORT, got {url:?}").into())
}

/// The sorted latencies of `args.requests` first-level misses answered from
/// `level`.
async fn measure(args: &Args, level: Arc<dyn SecondLevel>) -> Result<Vec<Duration>, Failure> {
    let config = IsrConfig::new()
        .second_level(level)
        // A build of its own: a store used before holds no page of this run.
        .build(format!("level2-latency-{}", std::process::id()))
        // As the app's default (ISR_RENDER_THREADS, cores − 1, at least 1):
        // second-level reads run in the render task, so on its runtime.
        .render_threads(render_threads());
    let cache = IsrCache::new(config);
    let (body, headers) = (args.body.clone(), args.headers.clone());
    let page = tower::service_fn(move |_: Request<()>| {
        let mut response = Response::new(Full::new(body.clone()));
        *response.headers_mut() = headers.clone();
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let service = IsrLayer::new(cache.clone()).layer(page);
    let request = || Request::get(&args.path).body(());

    let first = service.clone().oneshot(request()?).await?;
    let status = cache_status(&first);
    if !status.contains("stored") {
        return Err(format!("the page was not stored ({status:?}): check its headers").into());
    }
    // Writes to the second level land after the response: wait for them.
    cache.idle().await;
    let hard = Purge { paths: vec![args.path.clone()], mode: PurgeMode::Hard, ..Purge::default() };
    let mut took = Vec::with_capacity(args.requests);
    for n in 0..args.requests {
        if cache.purge_here(&hard) != 1 {
            return Err(format!("request {n}: the page was not in memory to purge").into());
        }
        let started = Instant::now();
        let response = service.clone().oneshot(request()?).await?;
        let status = cache_status(&response);
        let length = response.into_body().collect().await?.to_bytes().len();
        took.push(started.elapsed());
        if !status.contains("detail=shared") {
            return Err(format!(
                "request {n} was not answered from the second level: Cache-Status {status:?}"
            )
            .into());
        }
        if length != args.body.len() {
            return Err(format!("request {n}: {length} bytes, not {}", args.body.len()).into());
        }
    }
    let renders = cache.metrics().regenerations.get();
    if renders != 1 {
        return Err(format!(
            "{renders} renders: every timed request must come from the second level"
        )
        .into());
    }
    took.sort();
    Ok(took)
}

fn cache_status<B>(response: &Response<B>) -> String {
    response
        .headers()
        .get(isr_cache::isr::CACHE_STATUS)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn render_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, Failure> {
    let (mut path, mut body, mut headers) = (None, None, None);
    let (mut requests, mut namespace, mut stores) =
        (2000, "level2-latency:".to_owned(), Vec::new());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--path" => path = Some(value()?),
            "--body" => body = Some(Bytes::from(std::fs::read(value()?)?)),
            "--headers" => headers = Some(parse_headers(&std::fs::read_to_string(value()?)?)),
            "--requests" => requests = value()?.parse()?,
            "--namespace" => namespace = value()?,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            _ => stores.push(arg),
        }
    }
    let usage = "usage: level2_latency --path PATH --body FILE --headers FILE \
                 [--requests N] [--namespace NS] STORE_URL...";
    let (Some(path), Some(body), Some(headers)) = (path, body, headers) else {
        return Err(usage.into());
    };
    if stores.is_empty() || requests == 0 {
        return Err(usage.into());
    }
    Ok(Args { path, body, headers, requests, namespace, stores })
}

/// The [`KEPT`] headers of a dump as `curl -D` writes it (a status line,
/// then `name: value` lines; of several responses, the last one's).
fn parse_headers(dump: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in dump.lines().map(str::trim_end) {
        if line.starts_with("HTTP/") {
            headers.clear();
            continue;
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let Ok(name) = HeaderName::try_from(name.trim()) else { continue };
        if !KEPT.contains(&name) {
            continue;
        }
        if let Ok(value) = HeaderValue::try_from(value.trim()) {
            headers.append(name, value);
        }
    }
    headers
}
