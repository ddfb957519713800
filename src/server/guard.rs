//! The first thing every request meets: input no route can mean is refused
//! here, before the ISR cache, so it never renders, never reaches a handler
//! and is never stored.
//!
//! Refused, each with a 4xx and a message (JSON `{"error":{"code","message"}}`
//! under `/api/`, plain text elsewhere) and `Cache-Control: no-store`:
//!
//! - a path or query that is not UTF-8 once percent-decoded (`/blog/%FF`):
//!   `400`; no route has such a name, and a query that decodes lossily would
//!   make a page of `U+FFFD` and a cache entry of it;
//! - a `.` or `..` path segment, raw or percent-encoded: `400`; browsers
//!   resolve them before sending, so only probes send them, and serving them
//!   would store the same page under many keys;
//! - request headers over [`MAX_HEADER_BYTES`] in all: `431` (hyper refuses
//!   larger ones than its read buffer, about 400 KB, by itself, with a bare
//!   `431` and a closed connection);
//! - a body over [`MAX_BODY_BYTES`]: `413`, before it is read (server
//!   functions would otherwise read any size), and a body of unknown length:
//!   `411` (every client the app has sends `Content-Length`).
//!
//! And on the way out: a 4xx with an empty body (axum's `405` for a method a
//! route does not have, for one) gets a message of its status.

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// The most request headers may take, names and values together. Browsers
/// send a few KB; a cookie is at most 4 KB. (nginx: 4 × 8 KB by default.)
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The largest request body: a post from the editor is a few KB; 1 MiB leaves
/// room, and bounds what a client can make a server function read.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The middleware (`axum::middleware::from_fn(guard::reject_bad_input)`),
/// outside every other layer but tracing.
pub async fn reject_bad_input(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    if let Some((status, code, message)) = refusal(&request) {
        // The path alone: a refused request's query may hold a token.
        tracing::debug!(path = request.uri().path(), %status, message, "bad request refused");
        return error(api, status, code, message);
    }
    let head = request.method() == Method::HEAD;
    let response = next.run(request).await;
    if response.status().is_client_error()
        && !head
        && response.body().size_hint().exact() == Some(0)
    {
        return with_message(api, response);
    }
    response
}

/// Why `request` is refused, if it is: status, code, message.
fn refusal(request: &Request) -> Option<(StatusCode, &'static str, &'static str)> {
    let uri = request.uri();
    let Ok(path) = String::from_utf8(percent_decode(uri.path())) else {
        return Some((StatusCode::BAD_REQUEST, "bad_request", "The path is not valid UTF-8."));
    };
    if path.split('/').any(|segment| segment == "." || segment == "..") {
        return Some((
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The path has a `.` or `..` segment.",
        ));
    }
    if uri.query().is_some_and(|query| std::str::from_utf8(&percent_decode(query)).is_err()) {
        return Some((StatusCode::BAD_REQUEST, "bad_request", "The query is not valid UTF-8."));
    }
    if header_bytes(request.headers()) > MAX_HEADER_BYTES {
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "The request headers are too large.",
        ));
    }
    body_refusal(request)
}

fn body_refusal(request: &Request) -> Option<(StatusCode, &'static str, &'static str)> {
    let too_large = (
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "The request body is too large (at most 1 MiB).",
    );
    let declared = request.headers().get(CONTENT_LENGTH);
    if let Some(length) = declared {
        // hyper has already refused a malformed Content-Length.
        let length = length.to_str().ok().and_then(|l| l.parse::<u64>().ok());
        return length.is_some_and(|length| length > MAX_BODY_BYTES).then_some(too_large);
    }
    if request.body().size_hint().lower() > MAX_BODY_BYTES {
        return Some(too_large);
    }
    if request.headers().contains_key(TRANSFER_ENCODING) {
        return Some((
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "Send the request body with a Content-Length.",
        ));
    }
    None
}

fn header_bytes(headers: &HeaderMap) -> usize {
    // `: ` and CRLF, as on the wire.
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

/// `%XX` decoded, every other byte kept, as bytes: whether they are UTF-8 is
/// the question, so no lossy decoding.
fn percent_decode(raw: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(raw).collect()
}

/// An error answer: JSON under `/api/`, text elsewhere, never stored.
pub(super) fn error(api: bool, status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = if api {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        (status, axum::Json(body)).into_response()
    } else {
        (status, message.to_owned()).into_response()
    };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `response` with a body naming its status, its other headers kept.
fn with_message(api: bool, response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let status = parts.status;
    let reason = status.canonical_reason().unwrap_or("Client error");
    let code = reason.to_ascii_lowercase().replace([' ', '-'], "_");
    let (content_type, body) = if api {
        let body = serde_json::json!({ "error": { "code": code, "message": reason } });
        ("application/json", body.to_string())
    } else {
        ("text/plain; charset=utf-8", reason.to_owned())
    };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("/a%20b"), b"/a b");
        assert_eq!(percent_decode("%FF%fe"), [0xFF, 0xFE]);
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é".as_bytes());
    }

    #[test]
    fn header_bytes_count_names_and_values() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("bc"));
        assert_eq!(header_bytes(&headers), 3 + 2 + 4);
    }
}
