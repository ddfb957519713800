//! Validators: a strong `ETag` on every cacheable `200`, and `304 Not
//! Modified` when the request's `If-None-Match` already holds it.
//!
//! Place the layer outside compression, so the tag is computed from the bytes
//! actually sent: each encoding (`br`, `gzip`, identity) of a page gets its own
//! tag, as RFC 9110 §8.8.3 requires of a strong validator, and a client's
//! `If-None-Match` is compared with the encoding it asked for again.
//!
//! # Invariants
//!
//! - Only `GET` and `HEAD` are touched; `HEAD` is handled as `GET` inside, so it
//!   carries the same `ETag` and `Content-Length` as the `GET`, without a body.
//! - Only a `200` whose `Cache-Control` lets some cache store it gets a tag
//!   (a `no-store` response has nothing to revalidate). A tag the handler set
//!   itself is kept.
//! - Bodies larger than the layer's limit pass through untagged and unbuffered,
//!   so memory stays bounded; a body error reaches the client as it would have.
//!
//! tower-http has no ETag layer (its `ServeDir` uses `Last-Modified`), hence
//! this one; the hash is xxHash3-128 (`xxhash-rust`), fast enough to run on
//! every response and wide enough that two bodies never share a tag in practice.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, TRANSFER_ENCODING,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::CachePolicy;
use crate::body::{BufferedBody, Collected, collect};

/// Bodies up to this size get an `ETag` by default (4 MiB: any page, not a
/// debug build's wasm).
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// Adds strong `ETag`s and answers `If-None-Match` with `304`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct ETagLayer {
    max_body: usize,
}

impl Default for ETagLayer {
    fn default() -> Self {
        Self { max_body: DEFAULT_MAX_BODY }
    }
}

impl ETagLayer {
    /// The layer with the [default body limit](DEFAULT_MAX_BODY).
    pub fn new() -> Self {
        Self::default()
    }

    /// Bodies larger than `bytes` pass through without a tag.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

impl<S> Layer<S> for ETagLayer {
    type Service = ETagService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ETagService { inner, max_body: self.max_body }
    }
}

/// The service of [`ETagLayer`].
#[derive(Debug, Clone)]
pub struct ETagService<S> {
    inner: S,
    max_body: usize,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ETagService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<BufferedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        if method != Method::GET && method != Method::HEAD {
            let future = self.inner.call(request);
            return Box::pin(async move { Ok(future.await?.map(BufferedBody::inner)) });
        }
        let head = method == Method::HEAD;
        if head {
            *request.method_mut() = Method::GET;
        }
        let if_none_match_values: Vec<HeaderValue> =
            request.headers().get_all(IF_NONE_MATCH).iter().cloned().collect();
        let max_body = self.max_body;
        let future = self.inner.call(request);
        Box::pin(async move {
            let (mut parts, body) = future.await?.into_parts();
            let taggable = parts.status == StatusCode::OK
                && CachePolicy::from_headers(&parts.headers).is_some_and(|p| p.is_storable());
            let body = if !taggable || parts.headers.contains_key(ETAG) {
                if head { BufferedBody::empty() } else { BufferedBody::inner(body) }
            } else {
                match collect(Box::pin(body), max_body).await {
                    Collected::Whole(bytes, trailers) => {
                        parts.headers.insert(ETAG, etag_of(&bytes));
                        parts.headers.remove(TRANSFER_ENCODING);
                        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                        if head {
                            BufferedBody::empty()
                        } else {
                            BufferedBody::full(bytes, trailers)
                        }
                    }
                    Collected::TooLarge(prefix, rest) if !head => {
                        BufferedBody::prefixed(prefix, rest)
                    }
                    Collected::Failed(prefix, error) if !head => {
                        BufferedBody::failed(prefix, error)
                    }
                    Collected::TooLarge(..) | Collected::Failed(..) => BufferedBody::empty(),
                }
            };
            let not_modified = parts.status == StatusCode::OK
                && parts
                    .headers
                    .get(ETAG)
                    .is_some_and(|etag| if_none_match(&if_none_match_values, etag));
            if not_modified {
                parts.status = StatusCode::NOT_MODIFIED;
                for name in [CONTENT_LENGTH, CONTENT_TYPE, CONTENT_ENCODING, TRANSFER_ENCODING] {
                    parts.headers.remove(name);
                }
                return Ok(Response::from_parts(parts, BufferedBody::empty()));
            }
            Ok(Response::from_parts(parts, body))
        })
    }
}

/// The strong tag of a body: its xxHash3-128 in hex, quoted.
pub fn etag_of(bytes: &[u8]) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(bytes);
    HeaderValue::try_from(format!("\"{hash:032x}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// Whether `If-None-Match` values hold `etag`, by the weak comparison
/// (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches any current
/// representation. Shared with the ISR cache, which answers from its entries.
pub(crate) fn if_none_match<'a>(
    values: impl IntoIterator<Item = &'a HeaderValue>,
    etag: &HeaderValue,
) -> bool {
    let ours = opaque(etag.as_bytes());
    values
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|candidate| candidate == b"*" || opaque(candidate) == ours)
}

fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::HeaderMap;
    use http::header::CACHE_CONTROL;
    use http_body::Frame;
    use http_body_util::{BodyExt as _, Full};
    use tower::ServiceExt as _;

    use super::*;

    /// A service answering `body` with `cache_control`.
    fn app(
        cache_control: &'static str,
        body: &'static str,
    ) -> impl Service<
        Request<()>,
        Response = Response<BufferedBody<Full<Bytes>>>,
        Error = Infallible,
    > + Clone {
        ETagLayer::new().max_body(64).layer(tower::service_fn(
            move |request: Request<()>| async move {
                assert_eq!(request.method(), Method::GET, "HEAD reaches the app as GET");
                let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
                Ok::<_, Infallible>(response)
            },
        ))
    }

    async fn send(
        service: impl Service<
            Request<()>,
            Response = Response<BufferedBody<Full<Bytes>>>,
            Error = Infallible,
        >,
        request: Request<()>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let response = service.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.expect("body").to_bytes())
    }

    const PUBLIC: &str = "public, max-age=60";

    #[tokio::test]
    async fn cacheable_responses_get_a_strong_tag_of_their_bytes() {
        let (status, headers, body) =
            send(app(PUBLIC, "hello"), Request::get("/").body(()).expect("req")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "hello");
        assert_eq!(headers[ETAG], etag_of(b"hello"));
        assert!(headers[ETAG].to_str().expect("ascii").starts_with('"'), "strong, not W/");
        assert_eq!(headers[CONTENT_LENGTH], "5");
        let (_, other, _) =
            send(app(PUBLIC, "hellO"), Request::get("/").body(()).expect("req")).await;
        assert_ne!(other[ETAG], headers[ETAG]);
    }

    #[tokio::test]
    async fn a_matching_if_none_match_gets_304_without_a_body() {
        let etag = etag_of(b"hello");
        for candidate in [
            etag.to_str().expect("ascii").to_owned(),
            format!("W/{}", etag.to_str().expect("ascii")),
            format!("\"other\", {}", etag.to_str().expect("ascii")),
            "*".to_owned(),
        ] {
            let request =
                Request::get("/").header(IF_NONE_MATCH, &candidate).body(()).expect("req");
            let (status, headers, body) = send(app(PUBLIC, "hello"), request).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{candidate}");
            assert!(body.is_empty());
            assert_eq!(headers[ETAG], etag);
            assert_eq!(headers[CACHE_CONTROL], PUBLIC, "304 repeats the cache headers");
            assert!(headers.get(CONTENT_LENGTH).is_none());
        }
        let stale = Request::get("/").header(IF_NONE_MATCH, "\"old\"").body(()).expect("req");
        let (status, _, body) = send(app(PUBLIC, "hello"), stale).await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"hello"[..]));
    }

    #[tokio::test]
    async fn head_gets_the_get_headers_and_no_body() {
        let request = Request::head("/").body(()).expect("req");
        let (status, headers, body) = send(app(PUBLIC, "hello"), request).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.is_empty());
        assert_eq!(headers[ETAG], etag_of(b"hello"));
        assert_eq!(headers[CONTENT_LENGTH], "5");
    }

    #[tokio::test]
    async fn uncacheable_and_oversize_bodies_pass_through_untagged() {
        let (_, headers, body) =
            send(app("no-store", "hello"), Request::get("/").body(()).expect("req")).await;
        assert!(headers.get(ETAG).is_none());
        assert_eq!(body, "hello");
        let (_, headers, _) =
            send(app("private, no-store", "hello"), Request::get("/").body(()).expect("req")).await;
        assert!(headers.get(ETAG).is_none());
        let (_, headers, _) =
            send(app("private, max-age=60", "hello"), Request::get("/").body(()).expect("req"))
                .await;
        assert!(headers.get(ETAG).is_some(), "the browser may store it, so it may revalidate it");

        let large = "x".repeat(65).leak();
        let (status, headers, body) =
            send(app(PUBLIC, large), Request::get("/").body(()).expect("req")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get(ETAG).is_none());
        assert_eq!(body.len(), 65);
    }

    #[tokio::test]
    async fn streamed_bodies_over_the_limit_arrive_whole() {
        use http_body_util::StreamBody;

        let service =
            ETagLayer::new().max_body(10).layer(tower::service_fn(|_: Request<()>| async {
                let chunks = (0..5)
                    .map(|i| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("chunk{i}")))));
                let mut response =
                    Response::new(StreamBody::new(futures_util::stream::iter(chunks)));
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(PUBLIC));
                Ok::<_, Infallible>(response)
            }));
        let response =
            service.oneshot(Request::get("/").body(()).expect("req")).await.expect("infallible");
        assert!(response.headers().get(ETAG).is_none());
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body, "chunk0chunk1chunk2chunk3chunk4");
    }
}
