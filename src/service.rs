//! The binary's side of the service clients (`hallmark status set`,
//! `hallmark revocations pull`, `hallmark batches push`): `--server` and
//! `--token`, and how a refusal is printed and which exit status it gives.
//! The HTTP plumbing is `hallmark_client`'s.

use hallmark_client::{Client, ClientError, Reply};

use crate::{CliError, EXIT_NOT_GENUINE, Result};

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
        connect(&self.server, hallmark_client::token(self.token.clone())?)
    }
}

/// A client of `--server`, the option named in an error about its URL.
pub(crate) fn connect(server: &str, token: Option<String>) -> Result<Client> {
    Client::new(server, token).map_err(|e| match e {
        e @ (ClientError::NotHttp { .. } | ClientError::InvalidServerUrl { .. }) => {
            CliError::new(format!("--server {e}"))
        }
        e => e.into(),
    })
}

/// The hint given with a 401.
pub(crate) fn auth_hint(reply: &Reply) -> Option<&'static str> {
    (reply.status == 401).then_some("give a valid token with $HALLMARK_TOKEN or --token")
}

/// Reports a non-2xx answer: a 4xx (the service refused: bad input, no or
/// wrong token) is printed and gives exit status 1; anything else (5xx,
/// redirects) is an error, exit status 2.
pub(crate) fn refused(reply: &Reply, hint: Option<&str>) -> Result<u8> {
    let mut msg = reply.error_message();
    if let Some(hint) = hint {
        msg.push_str(" (");
        msg.push_str(hint);
        msg.push(')');
    }
    if reply.is_client_error() {
        eprintln!("hallmark: refused: {msg}");
        Ok(EXIT_NOT_GENUINE)
    } else {
        Err(CliError::new(format!("the service failed: {msg}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_give_status_1_failures_an_error() {
        let reply = |status| Reply {
            status,
            etag: None,
            body: b"x".to_vec(),
        };
        assert_eq!(
            refused(&reply(404), None).unwrap_or_else(|e| panic!("{e}")),
            1
        );
        assert!(refused(&reply(503), None).is_err());
    }

    #[test]
    fn server_url_errors_name_the_option() {
        let e = connect("ftp://h", None).err().map(|e| e.report());
        assert_eq!(
            e.as_deref(),
            Some("--server ftp://h: expected a URL starting with http:// or https://")
        );
    }
}
