//! Per-client rate limits on the public read endpoints (lookups, scans, code
//! pages): a token bucket per client IP address, answering 429 when empty.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// Most clients tracked at once; beyond it idle ones are forgotten first.
const MAX_CLIENTS: usize = 100_000;

/// Token buckets by client address.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left, in thousandths of a request.
    milli_tokens: u64,
    /// When it was last refilled (seconds).
    last: u64,
}

impl RateLimiter {
    /// Takes one token for `client` at time `now`; returns the seconds to wait
    /// when there is none. `per_minute` is the refill rate, `burst` the size.
    fn take(&self, client: IpAddr, now: u64, per_minute: u64, burst: u64) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // A poisoned lock must not take the service down.
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            buckets.retain(|_, b| now.saturating_sub(b.last) < 60);
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let full = burst.saturating_mul(1000);
        let bucket = buckets.entry(client).or_insert(Bucket {
            milli_tokens: full,
            last: now,
        });
        let refill = now
            .saturating_sub(bucket.last)
            .saturating_mul(per_minute.saturating_mul(1000) / 60);
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(refill).min(full);
        bucket.last = now;
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            Ok(())
        } else {
            let per_second = (per_minute.saturating_mul(1000) / 60).max(1);
            Err((1000 - bucket.milli_tokens).div_ceil(per_second).max(1))
        }
    }
}

/// Middleware: 429 with `Retry-After` when the client's bucket is empty.
/// Requests without a peer address (in-process tests) are not limited.
pub(crate) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let settings = state.settings();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(client), true) = (client, settings.rate_limit_per_minute > 0) {
        let taken = state.rate_limiter().take(
            client,
            state.now(),
            settings.rate_limit_per_minute,
            settings.rate_limit_burst.max(1),
        );
        if let Err(wait) = taken {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many requests from this address; retry in {wait} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_and_are_per_client() {
        let r = RateLimiter::default();
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..5 {
            assert_eq!(r.take(a, 100, 60, 5), Ok(()));
        }
        assert_eq!(r.take(a, 100, 60, 5), Err(1));
        assert_eq!(
            r.take(b, 100, 60, 5),
            Ok(()),
            "another client has its own bucket"
        );
        assert_eq!(
            r.take(a, 101, 60, 5),
            Ok(()),
            "one token a second at 60/min"
        );
        assert_eq!(r.take(a, 101, 60, 5), Err(1));
        assert_eq!(r.take(a, 1_000, 60, 5), Ok(()));
    }
}
