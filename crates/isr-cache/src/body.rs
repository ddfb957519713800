//! The response body the layers hand on: the inner body untouched, a
//! buffered one, or a buffered start followed by the rest (or by the error
//! that ended it), and the bounded read that produces them.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;

pub(crate) enum Collected<B: Body> {
    Whole(Bytes, Option<HeaderMap>),
    TooLarge(Bytes, Pin<Box<B>>),
    Failed(Bytes, B::Error),
}

/// Reads `body` whole, unless it grows past `max` bytes.
pub(crate) async fn collect<B: Body<Data = Bytes>>(
    mut body: Pin<Box<B>>,
    max: usize,
) -> Collected<B> {
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

/// The body of the responses [`crate::ETagLayer`] and [`crate::IsrLayer`] hand on.
pub struct BufferedBody<B: Body> {
    state: State<B>,
}

enum State<B: Body> {
    Inner(Pin<Box<B>>),
    Full { data: Option<Bytes>, trailers: Option<HeaderMap> },
    Prefixed { prefix: Option<Bytes>, rest: Pin<Box<B>> },
    Failed { prefix: Option<Bytes>, error: Option<B::Error> },
}

impl<B: Body> BufferedBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self { state: State::Inner(Box::pin(body)) }
    }

    pub(crate) fn empty() -> Self {
        Self { state: State::Full { data: None, trailers: None } }
    }

    pub(crate) fn full(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self { state: State::Full { data: Some(data).filter(|d| !d.is_empty()), trailers } }
    }

    pub(crate) fn prefixed(prefix: Bytes, rest: Pin<Box<B>>) -> Self {
        let prefix = Some(prefix).filter(|p| !p.is_empty());
        Self { state: State::Prefixed { prefix, rest } }
    }

    pub(crate) fn failed(prefix: Bytes, error: B::Error) -> Self {
        let prefix = Some(prefix).filter(|p| !p.is_empty());
        Self { state: State::Failed { prefix, error: Some(error) } }
    }
}

// Bodies are boxed and nothing is ever pinned in place (the error is moved
// out, never polled), so the wrapper can move freely whatever `B` is.
impl<B: Body> Unpin for BufferedBody<B> {}

impl<B: Body<Data = Bytes>> Body for BufferedBody<B> {
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
