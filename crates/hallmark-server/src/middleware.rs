//! The middleware the router puts around handlers: per-client rate limits on
//! the public reads and request metrics. Kept apart from [`crate::ratelimit`]
//! and [`crate::metrics`], which [`AppState`] holds, so neither imports the
//! state back.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::ratelimit::{Rate, too_many};

/// Middleware: 429 with `Retry-After` when the client's bucket is empty.
/// Requests without a peer address (in-process tests) are not limited.
pub(crate) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let settings = state.settings();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(client), true) = (client, settings.rate_limit_per_minute > 0) {
        let rate = Rate {
            per_minute: settings.rate_limit_per_minute,
            burst: settings.rate_limit_burst,
        };
        if let Err(wait) = state.rate_limiter().take(client, state.now(), rate) {
            return too_many(wait, "too many requests from this address");
        }
    }
    next.run(request).await
}

/// Middleware: counts and times every request by its route pattern.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics().request(
        method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
