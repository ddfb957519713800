//! Warm-up: render a list of pages into the cache at start-up, optionally
//! following the same-origin links they contain (a bounded crawl), so the
//! first visitors already hit.

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

/// Requests `paths` through `service` (the whole app, cache layer included),
/// then pages linked from them, breadth first, until `limit` pages in all.
/// Sequential: it must not compete with real visitors for the server.
pub async fn warm_up<S, ReqBody, ResBody>(mut service: S, paths: &[String], limit: usize) -> WarmUp
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
{
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
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    report
}

/// The same-origin page links (`href="/…"`) in an HTML document, without
/// fragments, in document order.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.split('#').next().unwrap_or(href).replace("&amp;", "&"))
        .filter(|href| !href.starts_with("/pkg/") && !href.starts_with("/api/"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_same_origin_pages_only() {
        let html = r##"<a href="/blog">b</a><a href="https://x.test/">x</a><a href="//cdn.test/a">c</a>
            <link href="/pkg/app.css"><a href="/blog?page=2&amp;x=1#top">p</a><a href="/favicon.svg">"##;
        assert_eq!(links(html), ["/blog", "/blog?page=2&x=1", "/favicon.svg"]);
    }
}
