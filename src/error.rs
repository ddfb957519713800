//! The one error type of the app, shared by the server and the browser.
//!
//! Every variant says which HTTP status it becomes. Internal causes (SQL errors,
//! I/O, panics in blocking tasks) are logged where they happen and reach the
//! client only as [`AppError::Internal`], whose message is generic: no SQL text,
//! no paths, no stack traces ever leave the server.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// Result of everything that can fail in a request.
pub type AppResult<T> = Result<T, AppError>;

/// What went wrong, in terms a client may see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// 404: the thing asked for does not exist.
    #[error("Not found")]
    NotFound,
    /// 400: the request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: sign-in needed.
    #[error("Please sign in")]
    Unauthorized,
    /// 401: a sign-in attempt failed. Deliberately does not say which part was wrong.
    #[error("Wrong email or password")]
    InvalidCredentials,
    /// 401: an API call without its bearer token, or with a wrong one.
    #[error("Missing or wrong bearer token")]
    InvalidToken,
    /// 403: signed in, but not allowed.
    #[error("You are not allowed to do that")]
    Forbidden,
    /// 405: the route exists, the method does not; the message says which to use.
    #[error("Method not allowed: {0}")]
    MethodNotAllowed(String),
    /// 429: too many attempts, or the server is too busy to take this one
    /// now; the message says when to try again (as does `Retry-After`, see
    /// [`AppError::too_many_requests`]).
    #[error("{0}")]
    TooManyRequests(String),
    /// 500: something broke on the server. The cause is in the server log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request to a server function failed on the way (network, encoding).
    #[error("Request failed: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidCredentials | Self::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal | Self::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for JSON bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::Forbidden => "forbidden",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Internal | Self::Transport(_) => "internal",
        }
    }

    /// A 429 that says `message` and, in the response being made, asks the
    /// client to wait `retry_after` (whole seconds, at least one) in a
    /// `Retry-After` header.
    #[cfg(feature = "ssr")]
    pub fn too_many_requests(retry_after: std::time::Duration, message: impl Into<String>) -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(http::header::RETRY_AFTER, retry_after_value(retry_after));
        }
        Self::TooManyRequests(message.into())
    }

    /// Logs `cause` with its full detail and returns the generic [`AppError::Internal`].
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }
}

/// An error as JSON, from the JSON API and server functions alike:
/// `{"error": {"code": "bad_request", "message": "…"}}`.
#[derive(Debug, Serialize, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl From<&AppError> for ErrorBody {
    fn from(error: &AppError) -> Self {
        Self { error: ErrorDetail { code: error.code().to_owned(), message: error.to_string() } }
    }
}

impl From<ErrorBody> for AppError {
    /// The inverse of `code` and `Display`, for the browser decoding a server
    /// function's error.
    fn from(body: ErrorBody) -> Self {
        let ErrorDetail { code, message } = body.error;
        match code.as_str() {
            "not_found" => Self::NotFound,
            "bad_request" => Self::BadRequest(message),
            "unauthorized" => Self::Unauthorized,
            "invalid_credentials" => Self::InvalidCredentials,
            "invalid_token" => Self::InvalidToken,
            "forbidden" => Self::Forbidden,
            "method_not_allowed" => Self::MethodNotAllowed(
                message.strip_prefix("Method not allowed: ").unwrap_or(&message).to_owned(),
            ),
            "too_many_requests" => Self::TooManyRequests(message),
            "internal" => Self::Internal,
            _ => Self::Transport(message),
        }
    }
}

impl AppError {
    /// The error a server function's error response carries (its body, as
    /// [`FromServerFnError::ser`] writes it). Read from text, as the page
    /// data is: with the one JSON reader every page's wasm has (server_fn's
    /// own decoder, from bytes, was 1.5 KB brotli more on every page).
    pub fn from_json(body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(body) => body.into(),
            Err(error) => {
                Self::from_server_fn_error(ServerFnErrorErr::Deserialization(error.to_string()))
            }
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Called when a server function's error becomes its HTTP response body,
    /// so this is the one place that gives every such response the error's own
    /// status (401 for a failed sign-in, 400 for bad input) instead of server_fn's
    /// blanket 500. During SSR, errors are values the page renders; the error
    /// page sets the page's status.
    fn ser(&self) -> server_fn::Bytes {
        set_status(self.status());
        // As server_fn's default: an error that cannot be encoded becomes a
        // serialization error, which can.
        // The JSON API's shape, `{"error":{"code","message"}}`, for server
        // functions too: one error format under /api for every client.
        let encode = <JsonEncoding as server_fn::Encodes<ErrorBody>>::encode;
        encode(&ErrorBody::from(self)).unwrap_or_default()
    }

    fn de(data: server_fn::Bytes) -> Self {
        Self::from_json(&String::from_utf8_lossy(&data))
    }

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Bad arguments to a server function are the caller's fault.
            ServerFnErrorErr::Args(message) => Self::BadRequest(message),
            ServerFnErrorErr::ServerError(message) => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %message, "server function error");
                let _ = message;
                Self::Internal
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::NotFound,
            other => Self::internal(other),
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    /// JSON API errors: `{"error": {"code": "...", "message": "..."}}` with the variant's status.
    fn into_response(self) -> axum::response::Response {
        let mut response = (self.status(), axum::Json(ErrorBody::from(&self))).into_response();
        if self == Self::InvalidToken {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `wait` in whole seconds, rounded up, at least one: what a `429` asks a
/// client to wait, in its message and its `Retry-After`.
#[cfg(feature = "ssr")]
pub fn whole_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// A `Retry-After` value: `wait` in [`whole_seconds`].
#[cfg(feature = "ssr")]
pub fn retry_after_value(wait: std::time::Duration) -> http::HeaderValue {
    whole_seconds(wait).into()
}

/// Sets the HTTP status of the page being rendered. On the server only; in the
/// browser there is no response to change. Works because data pages render
/// with `SsrMode::Async` (see the `app` module).
pub fn set_status(status: http::StatusCode) {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_variants() {
        assert_eq!(AppError::NotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(AppError::BadRequest("x".into()).status(), StatusCode::BAD_REQUEST);
        assert_eq!(AppError::InvalidCredentials.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AppError::Internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn internal_message_reveals_nothing() {
        let message = AppError::Internal.to_string();
        assert!(!message.to_lowercase().contains("sql"));
        assert!(message.starts_with("Something went wrong"));
    }

    #[test]
    fn server_function_errors_travel_as_the_api_json_and_back() {
        let errors = [
            AppError::NotFound,
            AppError::BadRequest("Enter your email".into()),
            AppError::Unauthorized,
            AppError::InvalidCredentials,
            AppError::InvalidToken,
            AppError::Forbidden,
            AppError::MethodNotAllowed("use POST".into()),
            AppError::TooManyRequests("Try again in 3 seconds.".into()),
            AppError::Internal,
        ];
        for error in errors {
            let bytes = error.ser();
            let json = String::from_utf8(bytes.to_vec()).expect("UTF-8");
            assert!(json.starts_with(r#"{"error":{"code":""#), "{json}");
            assert!(json.contains(&error.to_string()), "{json}");
            assert_eq!(AppError::de(bytes), error);
        }
    }

    #[test]
    fn server_errors_become_generic() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
            "SELECT * FROM users failed at /srv/app.db".into(),
        ));
        assert_eq!(error, AppError::Internal);
    }
}
