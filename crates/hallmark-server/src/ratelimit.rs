//! Per-client rate limits: a token bucket per client (an IPv4 address or an
//! IPv6 /64, [`crate::client`]) on the public read endpoints (lookups, scans,
//! code pages), and a second one on failed token presentations, answering 429
//! when empty.
//!
//! Memory is bounded: at most [`MAX_CLIENTS`] buckets, in two generations.
//! New and recently seen clients are in the current generation; when it is
//! half full it becomes the previous one and the old previous one is
//! dropped. A client seen again is moved back into the current generation
//! with its bucket, so an active client keeps its bucket however many other
//! addresses appear; only clients not seen for a whole generation are
//! forgotten (and start again with a full bucket).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::client::client_key;
use crate::error::ApiError;

/// Most clients tracked at once, over both generations.
pub(crate) const MAX_CLIENTS: usize = 100_000;

/// Token buckets by client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    generations: Mutex<Generations>,
    /// Buckets per generation: half of the limit.
    generation_size: usize,
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter::with_capacity(MAX_CLIENTS)
    }
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<IpAddr, Bucket>,
    previous: HashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left, in thousandths of a request.
    milli_tokens: u64,
    /// When it was last refilled (seconds).
    last: u64,
}

/// A bucket's refill rate and size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    /// Tokens added per minute.
    pub(crate) per_minute: u64,
    /// The bucket's size (at least 1).
    pub(crate) burst: u64,
}

impl RateLimiter {
    /// A limiter tracking at most `capacity` clients.
    pub(crate) fn with_capacity(capacity: usize) -> RateLimiter {
        RateLimiter {
            generations: Mutex::new(Generations::default()),
            generation_size: (capacity / 2).max(1),
        }
    }

    fn generations(&self) -> MutexGuard<'_, Generations> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `f` to the client's bucket (refilled to `now`), creating a full
    /// one for a new client.
    fn with_bucket<T>(
        &self,
        client: IpAddr,
        now: u64,
        rate: Rate,
        f: impl FnOnce(&mut Bucket) -> T,
    ) -> T {
        let key = client_key(client);
        let mut g = self.generations();
        let full = rate.burst.max(1).saturating_mul(1000);
        if !g.current.contains_key(&key) {
            let bucket = g.previous.remove(&key).unwrap_or(Bucket {
                milli_tokens: full,
                last: now,
            });
            if g.current.len() >= self.generation_size {
                let g = &mut *g;
                g.previous = std::mem::take(&mut g.current);
            }
            g.current.insert(key, bucket);
        }
        let bucket = g.current.entry(key).or_insert(Bucket {
            milli_tokens: full,
            last: now,
        });
        let refill = now
            .saturating_sub(bucket.last)
            .saturating_mul(rate.per_minute.saturating_mul(1000) / 60);
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(refill).min(full);
        bucket.last = bucket.last.max(now);
        f(bucket)
    }

    /// Takes one token for `client` at time `now`; returns the seconds to wait
    /// when there is none.
    pub(crate) fn take(&self, client: IpAddr, now: u64, rate: Rate) -> Result<(), u64> {
        self.with_bucket(client, now, rate, |bucket| {
            if bucket.milli_tokens >= 1000 {
                bucket.milli_tokens -= 1000;
                Ok(())
            } else {
                let per_second = (rate.per_minute.saturating_mul(1000) / 60).max(1);
                Err((1000 - bucket.milli_tokens).div_ceil(per_second).max(1))
            }
        })
    }

    /// Gives back a token taken by [`RateLimiter::take`] (up to the bucket's size).
    pub(crate) fn give_back(&self, client: IpAddr, now: u64, rate: Rate) {
        let full = rate.burst.max(1).saturating_mul(1000);
        self.with_bucket(client, now, rate, |bucket| {
            bucket.milli_tokens = bucket.milli_tokens.saturating_add(1000).min(full);
        });
    }

    /// Buckets held.
    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.generations();
        g.current.len() + g.previous.len()
    }
}

/// 429 `rate-limited` with `Retry-After`.
pub(crate) fn too_many(wait: u64, detail: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        format!("{detail}; retry in {wait} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        per_minute: 60,
        burst: 5,
    };

    #[test]
    fn buckets_refill_and_are_per_client() {
        let r = RateLimiter::default();
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..5 {
            assert_eq!(r.take(a, 100, RATE), Ok(()));
        }
        assert_eq!(r.take(a, 100, RATE), Err(1));
        assert_eq!(
            r.take(b, 100, RATE),
            Ok(()),
            "another client has its own bucket"
        );
        assert_eq!(r.take(a, 101, RATE), Ok(()), "one token a second at 60/min");
        assert_eq!(r.take(a, 101, RATE), Err(1));
        r.give_back(a, 101, RATE);
        assert_eq!(r.take(a, 101, RATE), Ok(()), "a token given back");
        assert_eq!(r.take(a, 1_000, RATE), Ok(()));
    }

    #[test]
    fn regression_rate_limiter_memory_bounded_without_resetting_active_clients() {
        let r = RateLimiter::default();
        let active: IpAddr = [192, 0, 2, 1].into();
        // The active client uses 3 of its 5 tokens.
        for _ in 0..3 {
            assert_eq!(r.take(active, 100, RATE), Ok(()));
        }
        // 1,000,000 distinct addresses (10.0.0.0/12), all at the same instant
        // (nothing refills), while the active client keeps asking, once every
        // 20,000 of them.
        let mut most = 0;
        let mut allowed = 3;
        for i in 0..1_000_000u32 {
            let ip: IpAddr = std::net::Ipv4Addr::from(0x0a00_0000 + i).into();
            let _ = r.take(ip, 100, RATE);
            if i % 20_000 == 0 {
                most = most.max(r.len());
                allowed += usize::from(r.take(active, 100, RATE).is_ok());
            }
        }
        most = most.max(r.len());
        assert!(most <= MAX_CLIENTS, "{most} buckets");
        // Not reset by the flood: 5 tokens in all, and its bucket is empty.
        assert_eq!(allowed, 5);
        assert_eq!(r.take(active, 100, RATE), Err(1));
    }

    #[test]
    fn regression_ipv6_slash_64_is_one_client() {
        let r = RateLimiter::default();
        for i in 0..5u16 {
            let ip: IpAddr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, i, i, i, i).into();
            assert_eq!(r.take(ip, 100, RATE), Ok(()));
        }
        let other_host: IpAddr = "2001:db8:0:7:ffff::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(
            r.take(other_host, 100, RATE),
            Err(1),
            "same /64, same bucket"
        );
        let next_net: IpAddr = "2001:db8:0:8::1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(r.take(next_net, 100, RATE), Ok(()), "another /64");
        assert_eq!(r.len(), 2);
    }
}
