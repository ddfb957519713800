//! Warm-up: render a list of pages into the cache at start-up, optionally
//! following the same-origin links they contain (a bounded crawl), so the
//! first visitors already hit. Which links are not pages (a script bundle, an
//! API) is the application's to say ([`WarmUpConfig::skip_prefixes`]).

use std::collections::{HashSet, VecDeque};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt as _;
use tower_service::Service;

/// What a warm-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmUp {
    /// Pages requested.
    pub requested: usize,
    /// Of those, the ones answered 200.
    pub ok: usize,
}

/// What [`warm_up`] renders. Built with [`WarmUpConfig::new`] and its
/// setters, named after the fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WarmUpConfig {
    /// The pages rendered first, in order.
    pub paths: Vec<String>,
    /// Pages requested in all: past the number of `paths`, the rest are
    /// pages linked from them. Defaults to the number of `paths` (no crawl).
    pub limit: usize,
    /// Links under these path prefixes are not followed (`/assets/`: files,
    /// not pages). Empty by default.
    pub skip_prefixes: Vec<String>,
}

impl WarmUpConfig {
    /// Renders `paths`, and follows no links.
    pub fn new<I, T>(paths: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        Self { limit: paths.len(), paths, skip_prefixes: Vec::new() }
    }

    /// Pages requested in all, following links once `paths` are done.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Links under these path prefixes are not followed.
    #[must_use]
    pub fn skip_prefixes<I, T>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.skip_prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }
}

/// Requests the configured paths through `service` (the whole app, cache
/// layer included), then pages linked from them, breadth first, until
/// [`WarmUpConfig::limit`] pages in all. Sequential: it must not compete with
/// real visitors for the server.
pub async fn warm_up<S, ReqBody, ResBody>(mut service: S, config: &WarmUpConfig) -> WarmUp
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
{
    let WarmUpConfig { paths, limit, skip_prefixes } = config;
    let limit = *limit;
    let mut queue: VecDeque<String> = paths.iter().cloned().collect();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    let mut report = WarmUp::default();
    while let Some(path) = queue.pop_front() {
        if report.requested >= limit {
            break;
        }
        report.requested += 1;
        let Ok(mut request) = Request::get(path.as_str()).body(ReqBody::default()) else {
            continue;
        };
        request
            .headers_mut()
            .insert(http::header::ACCEPT, http::HeaderValue::from_static("text/html"));
        if std::future::poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
            break;
        }
        let Ok(response) = service.call(request).await else {
            continue;
        };
        if response.status() != StatusCode::OK {
            continue;
        }
        report.ok += 1;
        let Ok(body) = response.into_body().collect().await else {
            continue;
        };
        for link in links(&String::from_utf8_lossy(&body.to_bytes())) {
            let skipped = skip_prefixes.iter().any(|prefix| link.starts_with(prefix.as_str()));
            if !skipped && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    report
}

/// Requests `pages` through `service` (the whole app, cache layer included),
/// `concurrency` at a time: a new build's instance rendering the pages
/// visitors asked for most before it says it is ready. No links are followed.
pub async fn warm_pages<S, ReqBody, ResBody>(
    service: S,
    pages: &[String],
    concurrency: usize,
) -> WarmUp
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Default,
{
    use futures_util::StreamExt as _;
    // Owned paths: a future borrowing from the slice would not be `Send`
    // for every lifetime, which `tokio::spawn` asks of a warm-up.
    let statuses: Vec<Option<StatusCode>> = futures_util::stream::iter(pages.to_vec())
        .map(|page: String| {
            let mut service = service.clone();
            async move {
                let mut request = Request::get(page.as_str()).body(ReqBody::default()).ok()?;
                request
                    .headers_mut()
                    .insert(http::header::ACCEPT, http::HeaderValue::from_static("text/html"));
                std::future::poll_fn(|cx| service.poll_ready(cx)).await.ok()?;
                // The response is dropped unread: the cache stores what it
                // renders whether anyone reads it or not.
                service.call(request).await.ok().map(|response| response.status())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    WarmUp {
        requested: pages.len(),
        ok: statuses.iter().filter(|status| **status == Some(StatusCode::OK)).count(),
    }
}

/// The same-origin page links (`href="/…"`) in an HTML document, without
/// fragments, in document order: what the warm-up crawl, and static
/// generation, follow.
pub fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.split('#').next().unwrap_or(href).replace("&amp;", "&"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use http_body_util::Full;

    use super::*;

    #[test]
    fn links_are_same_origin_only() {
        let html = r##"<a href="/blog">b</a><a href="https://x.test/">x</a><a href="//cdn.test/a">c</a>
            <link href="/assets/app.css"><a href="/blog?page=2&amp;x=1#top">p</a><a href="/favicon.svg">"##;
        assert_eq!(links(html), ["/blog", "/assets/app.css", "/blog?page=2&x=1", "/favicon.svg"]);
    }

    /// Warms `config` over a site whose every page links to `/a`, `/assets/app.css`
    /// and `/b`; returns the report and the paths requested, in order.
    async fn warm(config: &WarmUpConfig) -> (WarmUp, Vec<String>) {
        let requested = Arc::new(Mutex::new(Vec::new()));
        let site = {
            let requested = requested.clone();
            tower::service_fn(move |request: Request<()>| {
                requested.lock().expect("lock").push(request.uri().to_string());
                let html = r#"<a href="/a"></a><link href="/assets/app.css"><a href="/b"></a>"#;
                async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(html)))) }
            })
        };
        let report = warm_up(site, config).await;
        let requested = requested.lock().expect("lock").clone();
        (report, requested)
    }

    #[tokio::test]
    async fn pages_are_warmed_several_at_a_time_without_following_links() {
        let (in_flight, most) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
        let requested = Arc::new(Mutex::new(Vec::new()));
        let site = {
            let (in_flight, most, requested) = (in_flight.clone(), most.clone(), requested.clone());
            tower::service_fn(move |request: Request<()>| {
                let (in_flight, most) = (in_flight.clone(), most.clone());
                requested.lock().expect("lock").push(request.uri().to_string());
                async move {
                    {
                        let mut n = in_flight.lock().expect("lock");
                        *n += 1;
                        let mut most = most.lock().expect("lock");
                        *most = (*most).max(*n);
                    }
                    tokio::task::yield_now().await;
                    *in_flight.lock().expect("lock") -= 1;
                    let status = if request.uri() == "/gone" { 404 } else { 200 };
                    let mut response =
                        Response::new(Full::new(Bytes::from_static(br#"<a href="/x">"#)));
                    *response.status_mut() = StatusCode::from_u16(status).expect("status");
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let pages: Vec<String> = ["/a", "/b", "/c", "/gone", "/d"].map(String::from).to_vec();
        let report = warm_pages(site, &pages, 2).await;
        assert_eq!(report, WarmUp { requested: 5, ok: 4 });
        let mut requested = requested.lock().expect("lock").clone();
        requested.sort();
        assert_eq!(requested, ["/a", "/b", "/c", "/d", "/gone"], "each once, no link followed");
        assert_eq!(*most.lock().expect("lock"), 2, "two at a time, never more");
    }

    #[tokio::test]
    async fn the_paths_alone_by_default() {
        let (report, requested) = warm(&WarmUpConfig::new(["/", "/b"])).await;
        assert_eq!(report, WarmUp { requested: 2, ok: 2 });
        assert_eq!(requested, ["/", "/b"]);
    }

    #[tokio::test]
    async fn links_are_followed_up_to_the_limit_except_skipped_prefixes() {
        let config = WarmUpConfig::new(["/"]).limit(10).skip_prefixes(["/assets/"]);
        let (report, requested) = warm(&config).await;
        assert_eq!(requested, ["/", "/a", "/b"], "each page once, no asset");
        assert_eq!(report, WarmUp { requested: 3, ok: 3 });

        let (_, requested) = warm(&WarmUpConfig::new(["/"]).limit(2)).await;
        assert_eq!(requested, ["/", "/a"], "the limit counts every page");
    }
}
