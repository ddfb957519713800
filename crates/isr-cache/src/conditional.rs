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

use bytes::{Bytes, BytesMut};
use http::header::{
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, TRANSFER_ENCODING,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use tower_layer::Layer;
use tower_service::Service;

use crate::CachePolicy;

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
    type Response = Response<ETagBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        if method != Method::GET && method != Method::HEAD {
            let future = self.inner.call(request);
            return Box::pin(async move { Ok(future.await?.map(ETagBody::inner)) });
        }
        let head = method == Method::HEAD;
        if head {
            *request.method_mut() = Method::GET;
        }
        let if_none_match: Vec<HeaderValue> =
            request.headers().get_all(IF_NONE_MATCH).iter().cloned().collect();
        let max_body = self.max_body;
        let future = self.inner.call(request);
        Box::pin(async move {
            let (mut parts, body) = future.await?.into_parts();
            let taggable = parts.status == StatusCode::OK
                && CachePolicy::from_headers(&parts.headers).is_some_and(|p| p.is_storable());
            let body = if !taggable || parts.headers.contains_key(ETAG) {
                if head { ETagBody::empty() } else { ETagBody::inner(body) }
            } else {
                match collect(Box::pin(body), max_body).await {
                    Collected::Whole(bytes, trailers) => {
                        parts.headers.insert(ETAG, etag_of(&bytes));
                        parts.headers.remove(TRANSFER_ENCODING);
                        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                        if head { ETagBody::empty() } else { ETagBody::full(bytes, trailers) }
                    }
                    Collected::TooLarge(prefix, rest) if !head => ETagBody::prefixed(prefix, rest),
                    Collected::Failed(prefix, error) if !head => ETagBody::failed(prefix, error),
                    Collected::TooLarge(..) | Collected::Failed(..) => ETagBody::empty(),
                }
            };
            let not_modified = parts.status == StatusCode::OK
                && parts.headers.get(ETAG).is_some_and(|etag| matches_any(&if_none_match, etag));
            if not_modified {
                parts.status = StatusCode::NOT_MODIFIED;
                for name in [CONTENT_LENGTH, CONTENT_TYPE, CONTENT_ENCODING, TRANSFER_ENCODING] {
                    parts.headers.remove(name);
                }
                return Ok(Response::from_parts(parts, ETagBody::empty()));
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

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/"x"` matches
/// `"x"`; `*` matches any current representation.
fn matches_any(if_none_match: &[HeaderValue], etag: &HeaderValue) -> bool {
    let ours = opaque(etag.as_bytes());
    if_none_match
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|candidate| candidate == b"*" || opaque(candidate) == ours)
}

fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

enum Collected<B: Body> {
    Whole(Bytes, Option<HeaderMap>),
    TooLarge(Bytes, Pin<Box<B>>),
    Failed(Bytes, B::Error),
}

/// Reads `body` whole, unless it grows past `max` bytes.
async fn collect<B: Body<Data = Bytes>>(mut body: Pin<Box<B>>, max: usize) -> Collected<B> {
    if body.size_hint().lower() > max as u64 {
        return Collected::TooLarge(Bytes::new(), body);
    }
    let mut buffer = BytesMut::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Collected::Failed(buffer.freeze(), error),
        };
        match frame.into_data() {
            Ok(data) => {
                buffer.extend_from_slice(&data);
                if buffer.len() > max {
                    return Collected::TooLarge(buffer.freeze(), body);
                }
            }
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    Collected::Whole(buffer.freeze(), trailers)
}

/// The response body of [`ETagService`]: the inner body as it was, a buffered
/// one, or a buffered start followed by the rest (or by the error that ended it).
pub struct ETagBody<B: Body> {
    state: State<B>,
}

enum State<B: Body> {
    Inner(Pin<Box<B>>),
    Full { data: Option<Bytes>, trailers: Option<HeaderMap> },
    Prefixed { prefix: Option<Bytes>, rest: Pin<Box<B>> },
    Failed { prefix: Option<Bytes>, error: Option<B::Error> },
}

impl<B: Body> ETagBody<B> {
    fn inner(body: B) -> Self {
        Self { state: State::Inner(Box::pin(body)) }
    }

    fn empty() -> Self {
        Self { state: State::Full { data: None, trailers: None } }
    }

    fn full(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self { state: State::Full { data: Some(data).filter(|d| !d.is_empty()), trailers } }
    }

    fn prefixed(prefix: Bytes, rest: Pin<Box<B>>) -> Self {
        let prefix = Some(prefix).filter(|p| !p.is_empty());
        Self { state: State::Prefixed { prefix, rest } }
    }

    fn failed(prefix: Bytes, error: B::Error) -> Self {
        let prefix = Some(prefix).filter(|p| !p.is_empty());
        Self { state: State::Failed { prefix, error: Some(error) } }
    }
}

// Bodies are boxed and nothing is ever pinned in place (the error is moved
// out, never polled), so the wrapper can move freely whatever `B` is.
impl<B: Body> Unpin for ETagBody<B> {}

impl<B: Body<Data = Bytes>> Body for ETagBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match &mut self.get_mut().state {
            State::Inner(body) => body.as_mut().poll_frame(cx),
            State::Full { data, trailers } => Poll::Ready(
                data.take()
                    .map(|data| Ok(Frame::data(data)))
                    .or_else(|| trailers.take().map(|t| Ok(Frame::trailers(t)))),
            ),
            State::Prefixed { prefix, rest } => match prefix.take() {
                Some(prefix) => Poll::Ready(Some(Ok(Frame::data(prefix)))),
                None => rest.as_mut().poll_frame(cx),
            },
            State::Failed { prefix, error } => Poll::Ready(match prefix.take() {
                Some(prefix) => Some(Ok(Frame::data(prefix))),
                None => error.take().map(Err),
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            State::Inner(body) => body.is_end_stream(),
            State::Full { data, trailers } => data.is_none() && trailers.is_none(),
            State::Prefixed { prefix, rest } => prefix.is_none() && rest.is_end_stream(),
            State::Failed { prefix, error } => prefix.is_none() && error.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            State::Inner(body) => body.size_hint(),
            State::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            State::Prefixed { prefix, rest } => {
                let extra = prefix.as_ref().map_or(0, |p| p.len() as u64);
                let inner = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower() + extra);
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper + extra);
                }
                hint
            }
            State::Failed { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::header::CACHE_CONTROL;
    use http_body_util::Full;
    use tower::ServiceExt as _;

    use super::*;

    /// A service answering `body` with `cache_control`.
    fn app(
        cache_control: &'static str,
        body: &'static str,
    ) -> impl Service<Request<()>, Response = Response<ETagBody<Full<Bytes>>>, Error = Infallible> + Clone
    {
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
            Response = Response<ETagBody<Full<Bytes>>>,
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
