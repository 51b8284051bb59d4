//! The middleware the router puts around handlers: per-client rate limits on
//! the public reads and request metrics. Kept apart from [`crate::ratelimit`]
//! and [`crate::metrics`], which [`AppState`] holds, so neither imports the
//! state back.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;

use crate::AppState;
use crate::layers::Around;
use crate::ratelimit::{Rate, too_many};

/// 429 with `Retry-After` when the client's bucket is empty. Requests
/// without a peer address (in-process tests) are not limited.
#[derive(Clone, Debug)]
pub(crate) struct Limit(pub(crate) AppState);

impl Around for Limit {
    type Kept = ();

    fn before(&self, request: &Request) -> ControlFlow<Response, ()> {
        let state = &self.0;
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
                return ControlFlow::Break(too_many(wait, "too many requests from this address"));
            }
        }
        ControlFlow::Continue(())
    }

    fn after(&self, (): (), response: Response) -> Response {
        response
    }
}

/// Counts and times every request by its route pattern.
#[derive(Clone, Debug)]
pub(crate) struct Track(pub(crate) AppState);

impl Around for Track {
    /// When it started, its method and its route pattern.
    type Kept = (Instant, String, String);

    fn before(&self, request: &Request) -> ControlFlow<Response, Self::Kept> {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(crate::access::OTHER_ROUTE, MatchedPath::as_str)
            .to_owned();
        ControlFlow::Continue((Instant::now(), request.method().as_str().to_owned(), route))
    }

    fn after(&self, (started, method, route): Self::Kept, response: Response) -> Response {
        self.0.metrics().request(
            method,
            route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        response
    }
}
