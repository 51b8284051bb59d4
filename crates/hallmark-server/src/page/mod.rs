//! `GET /c/{code}`: the page a phone lands on after scanning a URL QR code. Plain
//! HTML, no JavaScript, readable on any browser; every value is escaped.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark::Verdict;

use crate::AppState;
use crate::api::ErrorBody;
use crate::handlers::{Judgement, judge, read_only};

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, colour: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em}}\
         h1{{color:{colour}}}td{{padding:.2em .8em .2em 0}}</style></head>\
         <body><h1>{t}</h1>{body}<p><small>hallmark verification service</small></p></body></html>\n",
        t = esc(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

fn payload_table(j: &Judgement) -> String {
    let Some(v) = j.verdict.verified() else {
        return String::new();
    };
    let p = v.payload();
    // A GS1 unit is shown as printed: its GTIN and serial text, not the
    // unit number the payload shape carries.
    let (part, serial) = match v.gs1() {
        Some(u) => (("GTIN", u.gtin().to_owned()), u.serial_text().to_owned()),
        None => (("Part number", p.part().to_owned()), p.serial().to_string()),
    };
    let mut rows = vec![
        part,
        ("Lot", p.lot().to_owned()),
        ("Made on", p.date().to_string()),
        ("Serial", serial),
        ("Manufacturer key", v.key_name().to_owned()),
    ];
    if let Some(e) = p.expiry() {
        rows.push(("Expires", e.to_string()));
    }
    let cells: String = rows
        .iter()
        .map(|(k, val)| format!("<tr><td>{}</td><td><b>{}</b></td></tr>", esc(k), esc(val)))
        .collect();
    format!("<table>{cells}</table>")
}

/// A page for people who scanned a label's URL QR: genuine or not in plain
/// words, with the payload and status. No JavaScript. Also at `/C/{code}`, as
/// upper-case QR URLs arrive.
#[utoipa::path(
    get,
    path = "/c/{code}",
    tag = "crate::pages",
    params(("code" = String, Path, description = "The code (text form), or a GS1 scan signed with AI 8030, percent-encoded")),
    responses(
        (status = 200, description = "The verdict in words (also for codes that are not genuine)", content_type = "text/html", body = String),
        (status = 400, description = "Not a code", content_type = "text/html", body = String),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
        (status = 503, description = "The database does not answer", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn code_page(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(code)) = code else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not a hallmark code",
            "#b00",
            "<p>This link does not hold a code.</p>",
        );
    };
    let judged = read_only(state, move |state| {
        let j = judge(state, &code)?;
        let graph = crate::handlers::graph::unit_graph(state, &j)?;
        Ok::<_, crate::error::ApiError>((j, graph))
    })
    .await;
    let (j, graph) = match judged {
        Ok(j) => j,
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            return page(
                StatusCode::BAD_REQUEST,
                "Not a genuine code",
                "#b00",
                "<p>This is not a well-formed hallmark code: the label may be damaged or fake.</p>",
            );
        }
        _ => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot check now",
                "#b60",
                "<p>The service could not check this code. Please try again later.</p>",
            );
        }
    };
    let table = payload_table(&j);
    let (title, colour, text) = match &j.verdict {
        Verdict::Genuine(_) | Verdict::Stale(_) => (
            "Genuine",
            "#070",
            "This code was issued by the manufacturer. If the same code is found on several products, report it.".to_owned(),
        ),
        Verdict::Revoked { revocation, .. } => (
            "Warning: revoked",
            "#b00",
            format!(
                "The manufacturer's signature is valid, but this product was marked {} on {}. Do not use it; report where you found it.",
                revocation.reason, revocation.date
            ),
        ),
        Verdict::Expired { expiry, today, .. } => (
            "Expired",
            "#b60",
            format!("The code is genuine but {}.", hallmark::VerifyError::Expired { expiry: *expiry, today: *today }),
        ),
        Verdict::Unsigned(_) => ("Not verified", "#b60", "This GS1 code carries no manufacturer signature, so it cannot be checked.".to_owned()),
        Verdict::UnknownKey { .. } | Verdict::UnknownGs1Key(_) => ("Not verified", "#b00", "This code was not issued by a manufacturer this service knows.".to_owned()),
        Verdict::Malformed(_) | Verdict::BadSignature(_) | Verdict::KeyNotValid(_) => ("Not genuine", "#b00", "This code does not carry a valid manufacturer signature: it may be forged or altered.".to_owned()),
        _ => ("Not genuine", "#b00", "This code could not be verified.".to_owned()),
    };
    let graph_html = graph.as_ref().map(graph_section).unwrap_or_default();
    let (title, colour) = match &graph {
        Some(g) if !g.revoked.is_empty() && j.verdict.kind().is_accepted() => {
            ("Warning: a part is recalled", "#b00")
        }
        _ => (title, colour),
    };
    page(
        StatusCode::OK,
        title,
        colour,
        &format!("<p>{}</p>{table}{graph_html}", esc(&text)),
    )
}

/// What the unit is packed in or built into, and what it is built from
/// (current parts; replaced ones counted), in words; and a warning naming
/// the revoked or recalled parts.
fn graph_section(g: &crate::handlers::graph::UnitGraph) -> String {
    let mut out = String::new();
    if !g.revoked.is_empty() {
        out.push_str(&format!(
            "<p><b>Warning:</b> a part of this product is revoked or recalled ({}). Ask the manufacturer before using it.</p>",
            esc(&g.revoked.join(", "))
        ));
    }
    let word =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    if !g.contained_in.is_empty() {
        let items: String = g
            .contained_in
            .iter()
            .map(|c| {
                let how = if word(c, "via") == "link" {
                    "built into"
                } else {
                    "packed in"
                };
                format!("<li>{} {}</li>", how, esc(&word(c, "parent")))
            })
            .collect();
        out.push_str(&format!("<h2>Contained in</h2><ul>{items}</ul>"));
    }
    let (current, removed): (Vec<_>, Vec<_>) = g
        .components
        .iter()
        .partition(|c| c.get("active").and_then(|a| a.as_bool()).unwrap_or(false));
    if !current.is_empty() || !removed.is_empty() {
        let items: String = current
            .iter()
            .map(|c| {
                let child = match c.get("child") {
                    Some(serde_json::Value::String(u)) => u.clone(),
                    _ => format!("lot {} of {}", word(c, "lot"), word(c, "part")),
                };
                let fitted = c
                    .get("at")
                    .and_then(|a| a.as_u64())
                    .map(|t| format!(", fitted {}", hallmark::rfc3339(t)))
                    .unwrap_or_default();
                format!("<li>{}{}</li>", esc(&child), esc(&fitted))
            })
            .collect();
        let replaced = if removed.is_empty() {
            String::new()
        } else {
            format!("<p>{} replaced part(s) in its history.</p>", removed.len())
        };
        out.push_str(&format!("<h2>Built from</h2><ul>{items}</ul>{replaced}"));
    }
    out
}
