//! The access log: one `info` line per request, target `hallmark_server::access`,
//! with the method, the route pattern, the status and the latency:
//!
//! ```text
//! INFO hallmark_server::access: request method=GET route=/c/{code} status=200 ms=0.412
//! ```
//!
//! The route is the router's pattern ([`MatchedPath`], e.g. `/v1/codes/{code}`),
//! never the path the client sent: paths carry codes with their signatures and
//! claim codes. A path no route has is `other`. Headers (the bearer token),
//! query strings and bodies (claim codes, owner references) are never read
//! here. With `info` enabled for the target the line costs one `Instant` pair
//! and one formatted event; otherwise nothing but the check.

use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;

use crate::layers::Around;

/// The route of a request that matched none.
pub(crate) const OTHER_ROUTE: &str = "other";

/// The hook (outermost, so that it sees every answer, 404s and rate limits
/// included, with its final status): logs each request once answered.
/// A [`crate::layers::AroundLayer`], not `from_fn` (see there).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AccessLog;

/// What the line says about the request, taken before it runs.
#[derive(Debug)]
pub(crate) struct Entry {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
}

impl Around for AccessLog {
    type Kept = Option<Entry>;

    fn before(&self, request: &Request) -> ControlFlow<Response, Option<Entry>> {
        // Only when the line will be written: the clock, the method (a small
        // enum for the standard ones) and the matched path (an `Arc<str>`).
        ControlFlow::Continue(
            tracing::enabled!(target: "hallmark_server::access", tracing::Level::INFO).then(|| {
                Entry {
                    started: Instant::now(),
                    method: request.method().clone(),
                    route: request.extensions().get::<MatchedPath>().cloned(),
                }
            }),
        )
    }

    fn after(&self, entry: Option<Entry>, response: Response) -> Response {
        if let Some(entry) = entry {
            tracing::info!(
                target: "hallmark_server::access",
                method = %entry.method.as_str(),
                route = %entry.route.as_ref().map_or(OTHER_ROUTE, MatchedPath::as_str),
                status = response.status().as_u16(),
                ms = millis(entry.started.elapsed()),
                "request"
            );
        }
        response
    }
}

/// A duration in milliseconds, to the microsecond.
fn millis(d: std::time::Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let micros = d.as_micros() as f64;
    micros / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_in_milliseconds_to_the_microsecond() {
        assert!((millis(std::time::Duration::from_micros(412)) - 0.412).abs() < 1e-9);
        assert!((millis(std::time::Duration::from_secs(2)) - 2000.0).abs() < 1e-9);
    }
}
