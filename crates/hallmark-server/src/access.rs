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
//! here. The line costs one `Instant` pair and, when `info` is enabled for the
//! target, one formatted event: no allocation of its own.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The route of a request that matched none.
pub(crate) const OTHER_ROUTE: &str = "other";

/// Middleware (outermost, so that it sees every answer, 404s and rate limits
/// included, with its final status): logs the request once answered.
pub(crate) async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Both cheap: a standard method is a small enum, a matched path an `Arc<str>`.
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    tracing::info!(
        method = %method.as_str(),
        route = %route.as_ref().map_or(OTHER_ROUTE, MatchedPath::as_str),
        status = response.status().as_u16(),
        ms = millis(elapsed),
        "request"
    );
    response
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
