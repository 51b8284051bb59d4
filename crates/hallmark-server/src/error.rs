//! One error type for every response that is not a success: JSON
//! `{"error": KIND, "detail": TEXT}`, 4xx for bad input, a generic 500 (details
//! only in the log) for the service's own failures.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::storage::StorageError;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    extra: Option<(&'static str, Value)>,
}

impl ApiError {
    /// An error with a status, a stable kebab-case kind and a detail for people.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            extra: None,
        }
    }

    /// The stable kind, e.g. `invalid-request`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The detail, for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 400 `bad-request`.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 500 `internal`: the detail is logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service failed; the operator's log has the details",
        )
    }

    /// Adds one more field to the JSON body (e.g. the verdict).
    pub fn with(mut self, key: &'static str, value: Value) -> ApiError {
        self.extra = Some((key, value));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match (&self.extra, self.status) {
            (Some(("retry_after", v)), StatusCode::TOO_MANY_REQUESTS) => v.as_u64(),
            _ => None,
        };
        let mut body = json!({"error": self.kind, "detail": self.detail});
        if let (Some((k, v)), Some(map)) = (self.extra, body.as_object_mut()) {
            map.insert(k.to_owned(), v);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(Ok(v)) = retry_after.map(|s| HeaderValue::from_str(&s.to_string())) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let (status, kind) = match &r {
            JsonRejection::MissingJsonContentType(_) => (r.status(), "unsupported-media-type"),
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "invalid-json"),
            // axum says 422; every other bad input here is a 400.
            JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, "invalid-request"),
            _ => (r.status(), "bad-request"),
        };
        // body_text() names the field and what was expected, never more input
        // than the client sent.
        ApiError::new(status, kind, r.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        let kind = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body-too-large"
        } else {
            "bad-request"
        };
        ApiError::new(r.status(), kind, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-path", r.body_text())
    }
}

/// A JSON body whose rejections are [`ApiError`]s (same shape as every error).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// Gives any error response that is not already JSON (405 from routing, 408
/// from the timeout layer, 413 from body limits) the `{error, detail}` shape.
pub fn json_errors(response: Response) -> Response {
    let status = response.status();
    // JSON errors, and the HTML pages for people (`/c/{code}`), are already shaped.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let kind = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        s if s.is_server_error() => "internal",
        _ => "bad-request",
    };
    let detail = status.canonical_reason().unwrap_or("error").to_owned();
    let mut new = ApiError::new(status, kind, detail).into_response();
    // Keep headers such as Allow (405) and WWW-Authenticate.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new
}

/// [`json_errors`] as a layer's hook, around the whole application.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JsonErrors;

impl crate::layers::Around for JsonErrors {
    type Kept = ();

    fn before(&self, _: &axum::extract::Request) -> std::ops::ControlFlow<Response, ()> {
        std::ops::ControlFlow::Continue(())
    }

    fn after(&self, (): (), response: Response) -> Response {
        json_errors(response)
    }
}
