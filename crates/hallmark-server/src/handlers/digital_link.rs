//! `GET /01/{…}`: the GS1 Digital Link path form on the service's own host,
//! what a phone opens after scanning a Digital Link QR whose stem is this
//! service. Browsers are sent to the page, API clients get the lookup's JSON.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hallmark::gs1::{Gs1Data, Gs1Unit};

use super::codes::lookup_report;
use crate::AppState;
use crate::api::{CodeReport, ErrorBody};

/// The stem the Digital Link URI is rebuilt under. The signature covers the
/// AIs only, never the stem, so a fixed one is as good as the request's Host
/// and cannot be spoofed or malformed by the client.
const STEM: &str = "https://dl.hallmark.invalid";

/// The Digital Link URI of the request: the fixed stem, the path and query
/// exactly as sent (still percent-encoded: the Digital Link parser decodes).
fn rebuild(uri: &Uri) -> String {
    match uri.query() {
        Some(q) => format!("{STEM}{}?{q}", uri.path()),
        None => format!("{STEM}{}", uri.path()),
    }
}

/// Whether the client asked for a page rather than JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// Percent-encodes `s` as one path segment: everything but the unreserved
/// characters, so `/`, `?`, `#`, `%` and GS in GS1 values survive.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text the page is linked with: the unit's canonical bracketed form
/// when the data parses (shorter, and stem-free), else the URI as rebuilt so
/// the page says what is wrong with it.
fn page_code(link: &str) -> String {
    match Gs1Unit::decode(link) {
        Ok(unit) => unit.to_text(),
        Err(_) => Gs1Data::parse(link).map_or_else(|_| link.to_owned(), |d| d.to_hri()),
    }
}

/// A GS1 Digital Link URI on this host, as a phone opens it:
/// `/01/{gtin}[/22/{cpv}][/10/{lot}]/21/{serial}?11=…&17=…&8030=…` (any
/// Digital Link path and query attributes). With `Accept: text/html` a 303 to
/// the page `/c/{code}` (the unit in canonical bracketed form); otherwise the
/// same JSON as `GET /v1/codes/{code}` with the URI as the code.
#[utoipa::path(
    get,
    path = "/01/{gtin}/21/{serial}",
    tag = "crate::pages",
    params(
        ("gtin" = String, Path, description = "The GTIN (AI 01); qualifiers `/22/{cpv}` and `/10/{lot}` may precede `/21/`"),
        ("serial" = String, Path, description = "The serial (AI 21), percent-encoded"),
        ("8030" = Option<String>, Query, description = "The hallmark signature (AI 8030, base64url); other AIs (`11`, `17`, …) are query attributes too"),
        ("Accept" = Option<String>, Header, description = "`text/html` for the page (a redirect), else JSON"),
    ),
    responses(
        (status = 200, description = "The lookup, as `GET /v1/codes/{code}` answers it", body = CodeReport),
        (status = 303, description = "Browsers (`Accept: text/html`): to the page `/c/{code}`", headers(("Location" = String, description = "The page"))),
        (status = 400, description = "Not a GS1 Digital Link (`verdict`: `malformed`)", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let link = rebuild(&uri);
    if wants_html(&headers) {
        let location = format!("/c/{}", encode_segment(&page_code(&link)));
        return (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response();
    }
    match lookup_report(state, link).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests;
