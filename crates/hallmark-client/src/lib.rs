//! # hallmark-client
//!
//! HTTP plumbing shared by the clients of `hallmark serve`: `hallmark status
//! set`, `hallmark revocations pull` and `hallmark batches push`.
//!
//! One blocking request per command, with connect and overall timeouts, a cap
//! on the response size, no redirects (a bearer token is never sent on to
//! another address), and the service's JSON errors `{error, detail}` turned
//! into one clear line. [`snapshot::pull`] keeps a local copy of the
//! service's signed revocation snapshot current.
//!
//! ```no_run
//! use hallmark_client::{Client, MAX_JSON_RESPONSE};
//!
//! # fn main() -> Result<(), hallmark_client::ClientError> {
//! let client = Client::new("http://127.0.0.1:8080", hallmark_client::token(None)?)?;
//! let reply = client.get("/v1/revocations/snapshot", &[], MAX_JSON_RESPONSE)?;
//! if !reply.is_success() {
//!     eprintln!("{}", reply.error_message());
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod snapshot;
pub mod status;

use std::time::Duration;

/// Why a request to the service could not be made or its answer not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server URL does not start with `http://` or `https://`.
    #[error("{url}: expected a URL starting with http:// or https://")]
    NotHttp {
        /// The URL as given.
        url: String,
    },
    /// The server URL has no host, or a query or fragment.
    #[error("{url}: expected http(s)://HOST[:PORT][/PREFIX]")]
    InvalidServerUrl {
        /// The URL as given.
        url: String,
    },
    /// The request failed: no connection, TLS, a broken answer.
    #[error("{url}: {source}")]
    Transport {
        /// The request's URL.
        url: String,
        /// The HTTP client's error.
        source: ureq::Error,
    },
    /// The answer's body is larger than the request allowed.
    #[error("{url}: the answer is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The request's URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The request took longer than the client allows.
    #[error("{url}: timed out")]
    Timeout {
        /// The request's URL.
        url: String,
    },
    /// The service's answer is not JSON.
    #[error("the service's answer is not JSON")]
    NotJson {
        /// The JSON parser's error.
        source: serde_json::Error,
    },
    /// `$HALLMARK_TOKEN` is set but not UTF-8.
    #[error("${TOKEN_ENV} is not UTF-8")]
    TokenEnvNotUtf8,
    /// The token is empty (or only white space).
    #[error("the token is empty")]
    EmptyToken,
    /// The token holds a character other than printable ASCII.
    #[error("the token may hold only printable ASCII characters")]
    TokenNotPrintable,
}

type Result<T, E = ClientError> = std::result::Result<T, E>;

/// The environment variable a token is read from when `--token` is absent.
pub const TOKEN_ENV: &str = "HALLMARK_TOKEN";

/// Largest JSON answer read from the service.
pub const MAX_JSON_RESPONSE: u64 = 1024 * 1024;

/// The service's endpoint for batch manifests.
pub const BATCHES_PATH: &str = "/v1/batches";

/// The service's endpoint for status changes.
pub const STATUS_PATH: &str = "/v1/status";

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, body included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// A client of one service (base URL) with an optional bearer token.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

/// An answer of the service, whatever its status.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `ETag` header, if it is text.
    pub etag: Option<String>,
    /// The body, at most the request's limit.
    pub body: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the status is 4xx: the service refused the request (bad input,
    /// no or wrong token), as opposed to failing (5xx) or redirecting.
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }

    /// One line describing a refusal: the service's `{error, detail}` when it
    /// sent one, otherwise the status and the start of the body.
    pub fn error_message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct ApiError {
            error: String,
            #[serde(default)]
            detail: String,
        }
        let mut msg = match serde_json::from_slice::<ApiError>(&self.body) {
            Ok(e) if e.detail.is_empty() => format!("HTTP {}: {}", self.status, e.error),
            Ok(e) => format!("HTTP {}: {}: {}", self.status, e.error, e.detail),
            Err(_) => {
                let text: String = String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let text = text.trim();
                if text.is_empty() {
                    format!("HTTP {}", self.status)
                } else {
                    format!("HTTP {}: {text}", self.status)
                }
            }
        };
        msg.retain(|c| !c.is_control());
        msg
    }

    /// The body as JSON (the service's answers to writes).
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::NotJson { source })
    }
}

/// `--token`, else `$HALLMARK_TOKEN`; `None` when neither is set (the service
/// then answers 401).
pub fn token(arg: Option<String>) -> Result<Option<String>> {
    let token = match arg {
        Some(t) => Some(t),
        None => match std::env::var(TOKEN_ENV) {
            Ok(t) => Some(t),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ClientError::TokenEnvNotUtf8);
            }
        },
    };
    let token = token.map(|t| t.trim().to_owned());
    match token {
        Some(t) if t.is_empty() => Err(ClientError::EmptyToken),
        Some(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => Err(ClientError::TokenNotPrintable),
        t => Ok(t),
    }
}

impl Client {
    /// A client of the service at `server` (`http://` or `https://`, optionally
    /// with a path prefix).
    pub fn new(server: &str, token: Option<String>) -> Result<Client> {
        let base = server.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| ClientError::NotHttp {
                url: server.to_owned(),
            })?;
        if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#']) {
            return Err(ClientError::InvalidServerUrl {
                url: server.to_owned(),
            });
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .user_agent(concat!("hallmark/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            base: base.to_owned(),
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn fail(&self, path: &str, e: ureq::Error) -> ClientError {
        let url = self.url(path);
        match e {
            ureq::Error::BodyExceedsLimit(limit) => ClientError::ResponseTooLarge { url, limit },
            ureq::Error::Timeout(_) => ClientError::Timeout { url },
            source => ClientError::Transport { url, source },
        }
    }

    fn reply(
        &self,
        path: &str,
        result: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<Reply> {
        let mut response = result.map_err(|e| self.fail(path, e))?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| self.fail(path, e))?;
        Ok(Reply { status, etag, body })
    }

    /// `POST /v1/batches`: registers a signed batch manifest (from
    /// `hallmark batches export`); the token needs the scope `batches`. The
    /// answer is returned whatever its status; a 2xx carries JSON
    /// ([`Reply::json`]).
    pub fn push_manifest(&self, manifest: &[u8]) -> Result<Reply> {
        self.post(
            BATCHES_PATH,
            "application/octet-stream",
            manifest,
            MAX_JSON_RESPONSE,
        )
    }

    /// `POST /v1/status`: one status change (docs/API.md); the token needs
    /// the scope `status`. The answer is returned whatever its status; a 2xx
    /// carries JSON ([`Reply::json`]).
    pub fn set_status(&self, change: &status::StatusChange) -> Result<Reply> {
        let body = change.to_json().to_string();
        self.post(
            STATUS_PATH,
            "application/json",
            body.as_bytes(),
            MAX_JSON_RESPONSE,
        )
    }

    /// `POST path` with `body` of type `content_type`, with the bearer token.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8], limit: u64) -> Result<Reply> {
        let mut req = self.agent.post(self.url(path)).content_type(content_type);
        if let Some(token) = &self.token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        self.reply(path, req.send(body), limit)
    }

    /// `GET path` with extra headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)], limit: u64) -> Result<Reply> {
        let mut req = self.agent.get(self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.reply(path, req.call(), limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert!(Client::new("http://127.0.0.1:8080", None).is_ok());
        assert!(Client::new("https://h.example/api/", None).is_ok());
        let c = Client::new("http://h:1/p/", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.url("/v1/status"), "http://h:1/p/v1/status");
        for bad in ["h:8080", "ftp://h", "http://", "http:///x", "http://h/?q"] {
            assert!(Client::new(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_bodies_become_one_line() {
        let reply = |status, body: &str| Reply {
            status,
            etag: None,
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            reply(401, r#"{"error":"unauthorized","detail":"no token"}"#).error_message(),
            "HTTP 401: unauthorized: no token"
        );
        assert_eq!(reply(502, "").error_message(), "HTTP 502");
        assert_eq!(
            reply(500, "bad\ngateway\x1b").error_message(),
            "HTTP 500: bad gateway"
        );
    }
}
