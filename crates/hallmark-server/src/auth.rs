//! API tokens: `hm_` and 64 hex digits (32 random bytes), shown once at
//! creation. The service stores only a BLAKE3 hash (under its own derive-key
//! context) and compares hashes in constant time.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;
use crate::ratelimit::{Rate, too_many};
use crate::storage::{TokenInfo, TokenScope};

/// Prefix of every token, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "hm_";

/// BLAKE3 derive-key context of token hashes.
pub const TOKEN_HASH_CONTEXT: &str = "hallmark v1 api token";

/// A new API token (the secret text) from the operating system's randomness.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The hash the service stores for `token`.
pub fn hash_token(token: &str) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_derive_key(TOKEN_HASH_CONTEXT);
    hasher.update(token.as_bytes());
    hasher.finalize()
}

/// A token name outside 1 to 64 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token name {name:?}: use 1 to 64 characters of A-Z a-z 0-9 . _ -")]
pub struct InvalidTokenName {
    /// The name refused.
    pub name: String,
}

/// Token names: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_token_name(name: &str) -> Result<(), InvalidTokenName> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidTokenName {
            name: name.to_owned(),
        })
    }
}

/// A scope an endpoint requires, as a type.
pub trait RequiredScope {
    /// The scope.
    const SCOPE: TokenScope;
}

/// Requires the `status` scope.
#[derive(Debug)]
pub struct StatusScope;
impl RequiredScope for StatusScope {
    const SCOPE: TokenScope = TokenScope::Status;
}

/// Requires the `batches` scope.
#[derive(Debug)]
pub struct BatchesScope;
impl RequiredScope for BatchesScope {
    const SCOPE: TokenScope = TokenScope::Batches;
}

/// Requires the `scans` scope (an authenticated scanner).
#[derive(Debug)]
pub struct ScansScope;
impl RequiredScope for ScansScope {
    const SCOPE: TokenScope = TokenScope::Scans;
}

/// Requires the `service` scope (service and test stations).
#[derive(Debug)]
pub struct ServiceScope;
impl RequiredScope for ServiceScope {
    const SCOPE: TokenScope = TokenScope::Service;
}

/// Requires the `reports` scope (reading reports of suspected fakes).
#[derive(Debug)]
pub struct ReportsScope;
impl RequiredScope for ReportsScope {
    const SCOPE: TokenScope = TokenScope::Reports;
}

/// The token that authorised a request, with scope `S`. As an extractor it
/// runs before the body is read: an unauthorised request is refused (401)
/// without its body being parsed.
#[derive(Debug)]
pub struct Authorized<S> {
    /// The token's stored description.
    pub token: TokenInfo,
    scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = Response;

    /// Presenting a token that is not valid costs the client one token of its
    /// failure bucket ([`crate::Settings::auth_failures_per_minute`]), taken
    /// before the token is looked up and given back when it is valid: a flood
    /// of bad tokens from one client gets 429 without reaching the database.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Authorized<S>, Response> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer token").into_response()
            })?;
        let settings = state.settings();
        let rate = Rate {
            per_minute: settings.auth_failures_per_minute,
            burst: settings.auth_failure_burst,
        };
        // Requests without a peer address (in-process tests) are not limited.
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .filter(|_| rate.per_minute > 0);
        if let Some(client) = client
            && let Err(wait) = state.auth_failures().take(client, state.now(), rate)
        {
            return Err(too_many(wait, "too many invalid tokens from this address"));
        }
        let give_back = || {
            if let Some(client) = client {
                state.auth_failures().give_back(client, state.now(), rate);
            }
        };
        // Tokens are short; anything long is not one (and is not hashed).
        if presented.len() > 256 {
            return Err(ApiError::unauthorized("invalid token").into_response());
        }
        let hash = hash_token(presented);
        let storage = state.storage();
        let found = match tokio::task::spawn_blocking(move || storage.authenticate(&hash)).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                give_back();
                return Err(ApiError::from(e).into_response());
            }
            Err(e) => {
                give_back();
                return Err(ApiError::from(e).into_response());
            }
        };
        let token = found
            .ok_or_else(|| ApiError::unauthorized("invalid or revoked token").into_response())?;
        give_back();
        if token.scope != S::SCOPE {
            return Err(ApiError::unauthorized(format!(
                "this token lacks the {} scope",
                S::SCOPE.as_str()
            ))
            .into_response());
        }
        Ok(Authorized {
            token,
            scope: PhantomData,
        })
    }
}

/// As `Option<Authorized<S>>`: no `Authorization` header is `None` (an
/// anonymous request); a header with a wrong, revoked or wrong-scope token is
/// still refused (401), so a misconfigured scanner is told rather than being
/// silently counted as anonymous.
impl<S: RequiredScope> axum::extract::OptionalFromRequestParts<AppState> for Authorized<S> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Authorized<S>>, Response> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Authorized<S> as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_with_context() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("hm_") && a.len() == 3 + 64);
        assert_ne!(hash_token(&a), blake3::hash(a.as_bytes()));
        assert_eq!(hash_token(&a), hash_token(&a));
        assert!(check_token_name("ops-1").is_ok());
        assert!(check_token_name("").is_err());
        assert!(check_token_name("a b").is_err());
    }
}
