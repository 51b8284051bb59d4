//! HTTP plumbing shared by the clients of `hallmark serve`: `hallmark status
//! set`, `hallmark revocations pull` and `hallmark batches push`.
//!
//! One blocking request per command, with connect and overall timeouts, a cap
//! on the response size, no redirects (a bearer token is never sent on to
//! another address), and the service's JSON errors `{error, detail}` turned
//! into one clear line.

use std::time::Duration;

use crate::{CliError, EXIT_NOT_GENUINE, Result};

/// The environment variable a token is read from when `--token` is absent.
pub(crate) const TOKEN_ENV: &str = "HALLMARK_TOKEN";

/// Largest JSON answer read from the service.
pub(crate) const MAX_JSON_RESPONSE: u64 = 1024 * 1024;

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, body included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// A client of one service (base URL) with an optional bearer token.
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

/// An answer of the service, whatever its status.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// One line describing a refusal: the service's `{error, detail}` when it
    /// sent one, otherwise the status and the start of the body.
    pub(crate) fn error_message(&self) -> String {
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

    /// Reports a non-2xx answer: a 4xx (the service refused: bad input, no or
    /// wrong token) is printed and gives exit status 1; anything else (5xx,
    /// redirects) is an error, exit status 2.
    pub(crate) fn refused(&self, hint: Option<&str>) -> Result<u8> {
        let mut msg = self.error_message();
        if let Some(hint) = hint {
            msg.push_str(" (");
            msg.push_str(hint);
            msg.push(')');
        }
        if (400..500).contains(&self.status) {
            eprintln!("hallmark: refused: {msg}");
            Ok(EXIT_NOT_GENUINE)
        } else {
            Err(CliError::new(format!("the service failed: {msg}")))
        }
    }

    /// The body as JSON (the service's answers to writes).
    pub(crate) fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::context("the service's answer is not JSON", e))
    }
}

/// `--token`, else `$HALLMARK_TOKEN`; `None` when neither is set (the service
/// then answers 401).
pub(crate) fn token(arg: Option<String>) -> Result<Option<String>> {
    let token = match arg {
        Some(t) => Some(t),
        None => match std::env::var(TOKEN_ENV) {
            Ok(t) => Some(t),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(CliError::new(format!("${TOKEN_ENV} is not UTF-8")));
            }
        },
    };
    let token = token.map(|t| t.trim().to_owned());
    match token {
        Some(t) if t.is_empty() => Err(CliError::new("the token is empty")),
        Some(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => Err(CliError::new(
            "the token may hold only printable ASCII characters",
        )),
        t => Ok(t),
    }
}

/// `--server` and `--token` of the commands that write to the service.
#[derive(Debug, clap::Args)]
pub(crate) struct WriteArgs {
    /// The service's base URL (`hallmark serve`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The API token (`hallmark token create`). Prefer $HALLMARK_TOKEN: a
    /// token on the command line is visible to other users in `ps`.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

impl WriteArgs {
    /// The client, with the token from --token or $HALLMARK_TOKEN.
    pub(crate) fn client(&self) -> Result<Client> {
        Client::new(&self.server, token(self.token.clone())?)
    }
}

/// The hint given with a 401.
pub(crate) fn auth_hint(reply: &Reply) -> Option<&'static str> {
    (reply.status == 401).then_some("give a valid token with $HALLMARK_TOKEN or --token")
}

impl Client {
    /// A client of the service at `server` (`http://` or `https://`, optionally
    /// with a path prefix).
    pub(crate) fn new(server: &str, token: Option<String>) -> Result<Client> {
        let base = server.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| {
                CliError::new(format!(
                    "--server {server}: expected a URL starting with http:// or https://"
                ))
            })?;
        if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#']) {
            return Err(CliError::new(format!(
                "--server {server}: expected http(s)://HOST[:PORT][/PREFIX]"
            )));
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

    fn fail(&self, path: &str, e: ureq::Error) -> CliError {
        let what = match e {
            ureq::Error::BodyExceedsLimit(n) => format!("the answer is larger than {n} bytes"),
            ureq::Error::Timeout(_) => "timed out".to_owned(),
            e => e.to_string(),
        };
        CliError::new(format!("{}: {what}", self.url(path)))
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

    /// `POST path` with `body` of type `content_type`, with the bearer token.
    pub(crate) fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        limit: u64,
    ) -> Result<Reply> {
        let mut req = self.agent.post(self.url(path)).content_type(content_type);
        if let Some(token) = &self.token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        self.reply(path, req.send(body), limit)
    }

    /// `GET path` with extra headers.
    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)], limit: u64) -> Result<Reply> {
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
        assert_eq!(
            reply(404, "x")
                .refused(None)
                .unwrap_or_else(|e| panic!("{e}")),
            1
        );
        assert!(reply(503, "x").refused(None).is_err());
    }
}
