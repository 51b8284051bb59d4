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

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;

/// The route of a request that matched none.
pub(crate) const OTHER_ROUTE: &str = "other";

/// The layer (outermost, so that it sees every answer, 404s and rate limits
/// included, with its final status): logs each request once answered.
///
/// A plain tower layer rather than `axum::middleware::from_fn`: `from_fn`
/// clones the inner route and boxes two futures per request, about 10 k
/// instructions (2.5 % of a raw verification) even with the log filtered
/// out; this wraps the inner future in place.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AccessLog;

impl<S> tower::Layer<S> for AccessLog {
    type Service = Logged<S>;

    fn layer(&self, inner: S) -> Logged<S> {
        Logged { inner }
    }
}

/// A service with its requests logged.
#[derive(Clone, Debug)]
pub(crate) struct Logged<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Logged<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = LoggedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Only when the line will be written: the clock, the method (a small
        // enum for the standard ones) and the matched path (an `Arc<str>`).
        let entry = tracing::enabled!(target: "hallmark_server::access", tracing::Level::INFO)
            .then(|| Entry {
                started: Instant::now(),
                method: request.method().clone(),
                route: request.extensions().get::<MatchedPath>().cloned(),
            });
        LoggedFuture {
            inner: self.inner.call(request),
            entry,
        }
    }
}

/// What the line says about the request, taken before it runs.
#[derive(Debug)]
struct Entry {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
}

pin_project_lite::pin_project! {
    /// The inner service's future; logs the request when it is answered.
    pub(crate) struct LoggedFuture<F> {
        #[pin]
        inner: F,
        entry: Option<Entry>,
    }
}

impl<F, E> Future for LoggedFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.inner.poll(cx));
        if let (Some(entry), Ok(response)) = (this.entry.take(), &answer) {
            tracing::info!(
                target: "hallmark_server::access",
                method = %entry.method.as_str(),
                route = %entry.route.as_ref().map_or(OTHER_ROUTE, MatchedPath::as_str),
                status = response.status().as_u16(),
                ms = millis(entry.started.elapsed()),
                "request"
            );
        }
        Poll::Ready(answer)
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
