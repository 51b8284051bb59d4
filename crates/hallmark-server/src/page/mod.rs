//! The consumer page: `GET /c/{code}` (and `/C/{code}`, and the GS1 Digital
//! Link path, which redirects here), what a phone opens from a label's QR.
//!
//! Plain HTML, no script, readable on a 360-px phone, in the visitor's
//! language ([`i18n`]). Each state has its own words, symbol and colour
//! (colour is never the only sign). Opening the page records a check (a scan
//! without location, at most one per client and unit per hour: [`visits`]).
//! A genuine code whose scans suggest a copied label (seen in too many
//! places, registered twice) is never shown as plain "Genuine". Only a code
//! whose signature verified shows anything it claims, and the product as the
//! manufacturer describes it ([`crate::products`]). Every value is escaped,
//! and bidirectional formatting characters are shown inert.
//!
//! Also here: the "report a suspected fake" form (`POST /c/{code}/report`),
//! the warranty registration form (`GET`/`POST /c/{code}/register`), and the
//! HTML error pages of these routes ([`html_errors`]).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark::{Reason, Verdict};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::handlers::registrations::Adjusted;
use crate::handlers::{Judgement, blocking, judge, read_only};
use crate::storage::{Scan, ScanSummary};

pub(crate) mod i18n;
pub(crate) mod visits;

use i18n::Lang;

/// Escapes text for HTML element content and attribute values, and shows
/// control and bidirectional formatting characters as U+FFFD, so data can
/// neither open markup nor reorder what a visitor reads.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    push_esc(&mut out, s);
    out
}

/// [`esc`], appended to `out`.
fn push_esc(out: &mut String, s: &str) {
    let special =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || crate::products::is_unsafe_char(c);
    // Printable ASCII without markup characters (most codes and words) is
    // copied as it is, checked a byte at a time.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        out.push_str(s);
        return;
    }
    let mut rest = s;
    // Runs of plain text are copied whole; only the characters found are
    // replaced (most text has none).
    while let Some(at) = rest.find(special) {
        let (plain, tail) = rest.split_at(at);
        out.push_str(plain);
        let mut chars = tail.chars();
        match chars.next() {
            Some('&') => out.push_str("&amp;"),
            Some('<') => out.push_str("&lt;"),
            Some('>') => out.push_str("&gt;"),
            Some('"') => out.push_str("&quot;"),
            Some('\'') => out.push_str("&#39;"),
            Some(_) => out.push('\u{FFFD}'),
            None => {}
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// How a state reads: its symbol and colour (never the colour alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tone {
    /// Genuine, nothing suspicious.
    Good,
    /// Genuine but already sold, or cannot be checked.
    Neutral,
    /// Genuine, but something is wrong (copied label, expired, a part).
    Caution,
    /// Not genuine, revoked, unknown.
    Bad,
}

impl Tone {
    /// A symbol with its own meaning, for readers who do not see colour.
    fn symbol(self) -> &'static str {
        match self {
            Tone::Good => "\u{2714}",
            Tone::Neutral => "\u{2139}",
            Tone::Caution => "\u{26A0}",
            Tone::Bad => "\u{2716}",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Neutral => "neutral",
            Tone::Caution => "caution",
            Tone::Bad => "bad",
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36em;margin:0 auto;padding:.5em 1em;line-height:1.4;overflow-wrap:anywhere}\
h1{font-size:1.5em;padding:.4em .5em;border-left:.5em solid;margin:.5em 0}\
.good h1{color:#0a6b0a;border-color:#0a6b0a}.neutral h1{color:#2b4c7e;border-color:#2b4c7e;border-left-style:double}\
.caution h1{color:#8a4b00;border-color:#8a4b00;border-left-style:dashed}.bad h1{color:#b00020;border-color:#b00020;border-left-style:dotted}\
td{padding:.2em .8em .2em 0;vertical-align:top}img{max-width:100%;height:auto}\
label{display:block;margin-top:.6em}input,textarea{width:100%;box-sizing:border-box;font:inherit}\
button{margin-top:.6em;font:inherit;padding:.3em 1em}footer{margin-top:2em;color:#555;font-size:.9em}";

/// The headers every page carries: no caching, no sniffing, and a policy
/// that allows no script at all.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// A whole page: `title` (plain text) with its tone, and `body` (HTML,
/// already escaped).
fn page(lang: Lang, status: StatusCode, tone: Tone, title: &str, body: &str) -> Response {
    let fixed = Fixed::of(lang);
    let mut out = String::with_capacity(
        STYLE.len() + body.len() + fixed.footer.len() + 2 * title.len() + 320,
    );
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    out.push_str(lang.tag());
    out.push_str(
        "\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
    );
    push_esc(&mut out, title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body class=\"");
    out.push_str(tone.class());
    out.push_str("\"><main><h1><span aria-hidden=\"true\">");
    out.push_str(tone.symbol());
    out.push_str("</span> ");
    push_esc(&mut out, title);
    out.push_str("</h1>");
    out.push_str(body);
    out.push_str("</main>");
    out.push_str(&fixed.footer);
    html(status, out)
}

/// What every page of a language shows the same way, built once: the
/// footer with the language links, the report form around the code, and
/// the note under the checks.
#[derive(Clone)]
struct Fixed {
    /// `<footer>...</footer></body></html>`.
    footer: String,
    /// The report form up to the code in its action, and from there on.
    report_head: String,
    report_tail: String,
    /// What is stored of a check, as a small paragraph.
    checks_privacy: String,
}

impl Fixed {
    fn of(lang: Lang) -> std::borrow::Cow<'static, Fixed> {
        static ALL: std::sync::OnceLock<Vec<Fixed>> = std::sync::OnceLock::new();
        match ALL
            .get_or_init(|| Lang::all().map(Fixed::new).collect())
            .get(lang.index())
        {
            Some(f) => std::borrow::Cow::Borrowed(f),
            None => std::borrow::Cow::Owned(Fixed::new(lang)),
        }
    }

    fn new(lang: Lang) -> Fixed {
        let t = |k: &str| esc(&lang.text(k, &[]));
        let languages: String = Lang::all()
            .map(|l| {
                if l == lang {
                    format!("<b>{}</b>", esc(&l.text("language", &[])))
                } else {
                    format!(
                        "<a href=\"?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a>",
                        l.tag(),
                        l.tag(),
                        l.tag(),
                        esc(&l.text("language", &[]))
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(" · ");
        Fixed {
            footer: format!(
                "<footer><p>{}</p><p>{} {languages}</p></footer></body></html>\n",
                t("footer"),
                t("languages"),
            ),
            report_head: format!(
                "<h2>{}</h2><form method=\"post\" action=\"/c/",
                t("report_heading")
            ),
            report_tail: format!(
                "/report?lang={tag}\">\
                 <label for=\"place\">{place}</label><input id=\"place\" name=\"place\" maxlength=\"128\" required>\
                 <label for=\"note\">{note}</label><textarea id=\"note\" name=\"note\" maxlength=\"1000\" rows=\"3\"></textarea>\
                 <button type=\"submit\">{send}</button></form><p><small>{privacy}</small></p>",
                tag = lang.tag(),
                place = t("report_place"),
                note = t("report_note"),
                send = t("report_send"),
                privacy = t("report_privacy"),
            ),
            checks_privacy: format!("<p><small>{}</small></p>", t("checks_privacy")),
        }
    }
}

fn para(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_para(&mut out, text);
    out
}

/// [`para`], appended to `out`.
fn push_para(out: &mut String, text: &str) {
    out.push_str("<p>");
    push_esc(out, text);
    out.push_str("</p>");
}

/// The client's address, when the request came over a socket.
pub(crate) struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// `?lang=xx` on every page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

fn language(q: &LangQuery, headers: &HeaderMap) -> Lang {
    Lang::choose(
        q.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Everything the page shows about a code, read (and the visit recorded)
/// off the async threads.
struct Seen {
    code: String,
    j: Judgement,
    graph: Option<crate::handlers::graph::UnitGraph>,
    scans: ScanSummary,
    first_place: Option<String>,
    registration: Option<crate::storage::RegistrationSummary>,
    history: crate::storage::HistorySummary,
    /// A registered batch holds it.
    registered: bool,
    /// Its key registers batches, and none holds this code (the
    /// `unregistered-serial` alert): a possible key leak.
    unregistered: bool,
}

/// Everything the page shows, read on the async thread where the storage
/// allows ([`read_only`]); `true` when the visit counts as a check and is
/// still to be recorded ([`record_visit`]).
fn look(state: &AppState, code: &str, client: Option<IpAddr>) -> Result<(Seen, bool), ApiError> {
    let j = judge(state, code)?;
    let graph = crate::handlers::graph::unit_graph(state, &j)?;
    let unit = crate::handlers::graph::verified_unit(&j).map(|u| u.to_string());
    let storage = state.storage();
    let now = state.now();
    let window_start = now.saturating_sub(state.settings().clone_window);
    let (mut scans, mut first_place, mut registration, mut history) =
        (ScanSummary::default(), None, None, Default::default());
    let mut record = false;
    let (mut registered, mut unregistered) = (false, false);
    if let (Some(v), Some(unit)) = (j.verdict.verified(), &unit) {
        record = state.visits().counts(client, unit, now);
        if !record {
            scans = storage.scan_summary(v.kid(), v.payload().serial(), window_start)?;
        }
        let facts = storage.unit_facts(v.kid(), v.payload().serial(), unit)?;
        (first_place, registration, history) =
            (facts.first_place, facts.registration, facts.history);
        // A key without registered batches has none holding this code; a
        // deployment that registers none says nothing by their absence.
        registered = facts.key_registers && storage.is_registered(v.kid(), v.payload())?;
        unregistered = facts.key_registers && !registered;
    }
    let seen = Seen {
        code: code.to_owned(),
        j,
        graph,
        scans,
        first_place,
        registration,
        history,
        registered,
        unregistered,
    };
    Ok((seen, record))
}

/// Records the visit of `seen` as a check (an anonymous scan with its time
/// only, committed with the other visits waiting: [`visits::VisitWriter`])
/// and raises the alerts its scans now call for.
async fn record_visit(state: &AppState, mut seen: Seen) -> Result<Seen, ApiError> {
    let Some(v) = seen.j.verdict.verified() else {
        return Ok(seen);
    };
    let now = state.now();
    let settings = state.settings();
    let scan = Scan {
        trusted: false,
        kid: v.kid(),
        serial: v.payload().serial(),
        time: now,
        location: None,
        scanner: None,
    };
    seen.scans = state
        .visits()
        .writer
        .record(
            &state.storage(),
            scan,
            now.saturating_sub(settings.clone_window),
            settings.scans.forget_before(now),
        )
        .await?;
    crate::handlers::scans::raise_alerts_registered(state, &seen.j, &seen.scans, seen.registered);
    Ok(seen)
}

/// The page for people who scanned a label's URL QR: genuine or not in
/// plain words, with what the manufacturer says of the product, its checks,
/// registration and history. No JavaScript. Also at `/C/{code}`.
#[utoipa::path(
    get,
    path = "/c/{code}",
    tag = "crate::pages",
    params(
        ("code" = String, Path, description = "The code (text form), or a GS1 scan signed with AI 8030, percent-encoded"),
        ("lang" = Option<String>, Query, description = "The page's language (`en`, `de`, `fr`); else Accept-Language"),
    ),
    responses(
        (status = 200, description = "The verdict in words (also for codes that are not genuine); the visit is recorded as a check", content_type = "text/html", body = String),
        (status = 400, description = "Not a code", content_type = "text/html", body = String),
        (status = 429, description = "Rate limited (see Retry-After)", content_type = "text/html", body = String),
        (status = 503, description = "The database does not answer", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn code_page(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let lang = language(&q, &headers);
    let looked = {
        let code = code.clone();
        match read_only(state.clone(), move |s| look(s, &code, client)).await {
            Ok((seen, true)) => record_visit(&state, seen).await,
            Ok((seen, false)) => Ok(seen),
            Err(e) => Err(e),
        }
    };
    let seen = match looked {
        Ok(seen) => seen,
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            return page(
                lang,
                StatusCode::BAD_REQUEST,
                Tone::Bad,
                &lang.text("title_unreadable", &[]),
                &para(&lang.text("text_unreadable", &[])),
            );
        }
        Err(_) => return unavailable(lang),
    };
    let view = View::of(&state, lang, &seen);
    let mut body = view.text.iter().map(|t| para(t)).collect::<String>();
    if seen.j.verdict.verified().is_some() {
        let product = product_of(&state, &seen);
        body.push_str(&facts(product, lang, &seen));
        body.push_str(&checks(product, lang, &seen));
        if let Some(g) = &seen.graph {
            body.push_str(&graph_section(lang, g));
        }
    }
    body.push_str(&report_form(lang, &code));
    page(lang, StatusCode::OK, view.tone, &view.title, &body)
}

fn unavailable(lang: Lang) -> Response {
    page(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        Tone::Caution,
        &lang.text("title_unavailable", &[]),
        &para(&lang.text("text_unavailable", &[])),
    )
}

/// A state in words: its tone, title and paragraphs (plain text).
struct View {
    tone: Tone,
    title: String,
    text: Vec<String>,
}

impl View {
    fn of(state: &AppState, lang: Lang, seen: &Seen) -> View {
        let t = |k: &str| lang.text(k, &[]);
        let mut view = match &seen.j.verdict {
            Verdict::Genuine(_) | Verdict::Stale(_) => View {
                tone: Tone::Good,
                title: t("title_genuine"),
                text: vec![t("text_genuine")],
            },
            Verdict::Revoked { revocation, .. } if revocation.reason == Reason::Decommissioned => {
                View {
                    tone: Tone::Neutral,
                    title: t("title_decommissioned"),
                    text: vec![lang.text(
                        "text_decommissioned",
                        &[("date", &lang.date(revocation.date))],
                    )],
                }
            }
            Verdict::Revoked { revocation, .. } => View {
                tone: Tone::Bad,
                title: t("title_revoked"),
                text: vec![lang.text(
                    "text_revoked",
                    &[
                        (
                            "reason",
                            &t(&format!("reason_{}", revocation.reason.as_str())),
                        ),
                        ("date", &lang.date(revocation.date)),
                    ],
                )],
            },
            Verdict::Expired { expiry, .. } => View {
                tone: Tone::Caution,
                title: t("title_expired"),
                text: vec![lang.text("text_expired", &[("date", &lang.date(*expiry))])],
            },
            Verdict::Unsigned(_) => View {
                tone: Tone::Neutral,
                title: t("title_unsigned"),
                text: vec![t("text_unsigned")],
            },
            Verdict::UnknownKey { .. } | Verdict::UnknownGs1Key(_) => View {
                tone: Tone::Bad,
                title: t("title_unknown_key"),
                text: vec![t("text_unknown_key")],
            },
            Verdict::Malformed(_) => View {
                tone: Tone::Bad,
                title: t("title_unreadable"),
                text: vec![t("text_unreadable")],
            },
            _ => View {
                tone: Tone::Bad,
                title: t("title_not_genuine"),
                text: vec![t("text_not_genuine")],
            },
        };
        if seen.j.verdict.verified().is_none() {
            return view;
        }
        // Signals that the label was copied or a part is bad: never plain
        // "Genuine". A revoked unit keeps its own (stronger) title.
        let settings = state.settings();
        let places = seen.scans.locations_in_window;
        let clone = crate::handlers::scans::clone_suspected(settings, &seen.scans).is_some();
        let conflict = seen.registration.as_ref().is_some_and(|r| r.conflicts > 0);
        let part_recalled = seen.graph.as_ref().is_some_and(|g| !g.revoked.is_empty());
        let mut warn = |title: String, text: String| {
            if view.tone != Tone::Bad {
                view.tone = Tone::Caution;
                view.title = title;
            }
            view.text.retain(|p| *p != t("text_genuine"));
            view.text.push(text);
        };
        if clone {
            warn(
                t("title_clone"),
                lang.text(
                    "text_clone",
                    &[
                        (
                            "places",
                            &places
                                .max(seen.scans.trusted_locations_in_window)
                                .to_string(),
                        ),
                        ("hours", &(settings.clone_window / 3600).max(1).to_string()),
                    ],
                ),
            );
        }
        if conflict {
            warn(t("title_conflict"), t("text_conflict"));
        }
        if seen.unregistered {
            warn(t("title_unregistered"), t("text_unregistered"));
        }
        if part_recalled && let Some(g) = &seen.graph {
            warn(
                t("title_part_recalled"),
                lang.text("text_part_recalled", &[("parts", &g.revoked.join(", "))]),
            );
        }
        view
    }
}

/// The facts a verified code carries, and the product as the manufacturer
/// describes it.
/// The product the manufacturer describes for a verified code (never for
/// one whose signature failed).
fn product_of<'a>(state: &'a AppState, seen: &Seen) -> Option<&'a crate::products::Product> {
    let v = seen.j.verdict.verified()?;
    state
        .products()?
        .find(v.payload().part(), v.gs1().map(|u| u.gtin()))
}

fn facts(product: Option<&crate::products::Product>, lang: Lang, seen: &Seen) -> String {
    let Some(v) = seen.j.verdict.verified() else {
        return String::new();
    };
    let t = |k: &str| lang.text(k, &[]);
    let p = v.payload();
    let mut out = String::new();
    if let Some(product) = product {
        out.push_str(&format!("<h2>{}</h2>", esc(&product.name)));
        if let Some(img) = &product.image {
            out.push_str(&format!(
                "<p><img src=\"{}\" alt=\"{}\" width=\"320\"></p>",
                esc(img),
                esc(&product.name)
            ));
        }
        if let Some(d) = &product.description {
            push_para(&mut out, d);
        }
        if let Some(link) = &product.link {
            out.push_str(&format!(
                "<p><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></p>",
                esc(link),
                esc(&t("label_more"))
            ));
        }
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    match v.gs1() {
        Some(u) => {
            rows.push((t("label_gtin"), u.gtin().to_owned()));
            rows.push((t("label_serial"), u.serial_text().to_owned()));
        }
        None => {
            rows.push((t("label_part"), p.part().to_owned()));
            rows.push((t("label_serial"), p.serial().to_string()));
        }
    }
    if !p.lot().is_empty() {
        rows.push((t("label_lot"), p.lot().to_owned()));
    }
    rows.push((t("label_made"), lang.date(p.date())));
    if let Some(e) = p.expiry() {
        rows.push((t("label_expires"), lang.date(e)));
    }
    rows.push((t("label_key"), v.key_name().to_owned()));
    out.push_str("<table>");
    for (k, val) in &rows {
        out.push_str("<tr><td>");
        push_esc(&mut out, k);
        out.push_str("</td><td><b><bdi>");
        push_esc(&mut out, val);
        out.push_str("</bdi></b></td></tr>");
    }
    out.push_str("</table>");
    out
}

/// Checks, registration and history, in words.
fn checks(product: Option<&crate::products::Product>, lang: Lang, seen: &Seen) -> String {
    let mut out = String::new();
    let s = &seen.scans;
    if let Some(first) = s.first {
        let date = lang.time(first);
        push_para(
            &mut out,
            &match &seen.first_place {
                Some(place) => lang.text("checks_first_at", &[("date", &date), ("place", place)]),
                None => lang.text("checks_first", &[("date", &date)]),
            },
        );
    }
    push_para(
        &mut out,
        &if s.count <= 1 {
            lang.text("checks_one", &[])
        } else {
            lang.text("checks_other", &[("count", &s.count.to_string())])
        },
    );
    out.push_str(&Fixed::of(lang).checks_privacy);
    match &seen.registration {
        Some(r) => {
            let since =
                hallmark::Date::from_days(r.registered / 86_400).unwrap_or(r.warranty_start);
            push_para(
                &mut out,
                &lang.text(
                    "registered_since",
                    &[
                        ("month_year", &lang.month_year(since)),
                        ("date", &lang.date(r.warranty_start)),
                    ],
                ),
            );
        }
        None if seen.j.verdict.kind().is_accepted() => {
            push_para(&mut out, &lang.text("registered_not", &[]));
            let href = match product.and_then(|p| p.register.as_deref()) {
                Some(url) => esc(url),
                None => format!("{}/register?lang={}", esc(&self_path(seen)), lang.tag()),
            };
            out.push_str(&format!(
                "<p><a href=\"{href}\">{}</a></p>",
                esc(&lang.text("registered_link", &[]))
            ));
        }
        None => {}
    }
    let h = &seen.history;
    if h.count > 0 {
        push_para(
            &mut out,
            &if h.count == 1 {
                lang.text("history_one", &[])
            } else {
                lang.text("history_other", &[("count", &h.count.to_string())])
            },
        );
        if let Some(e) = &h.last {
            let event = lang.text(&format!("event_{}", e.kind), &[]);
            let date = lang.date(e.date);
            push_para(
                &mut out,
                &match e.passed {
                    Some(p) => lang.text(
                        "history_last_result",
                        &[
                            ("event", &event),
                            ("date", &date),
                            (
                                "result",
                                &lang.text(if p { "result_pass" } else { "result_fail" }, &[]),
                            ),
                        ],
                    ),
                    None => lang.text("history_last", &[("event", &event), ("date", &date)]),
                },
            );
        }
    }
    out
}

/// The page's own path: `/c/` and the code as it was opened.
fn self_path(seen: &Seen) -> String {
    format!("/c/{}", urlencode(&seen.code))
}

/// Percent-encodes everything but unreserved characters.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn report_form(lang: Lang, code: &str) -> String {
    let fixed = Fixed::of(lang);
    let code = urlencode(code);
    let mut out =
        String::with_capacity(fixed.report_head.len() + code.len() + fixed.report_tail.len());
    out.push_str(&fixed.report_head);
    push_esc(&mut out, &code);
    out.push_str(&fixed.report_tail);
    out
}

/// The report form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReportForm {
    /// Where it was found (at most 128 bytes; no control or bidi characters).
    #[serde(default)]
    place: Option<String>,
    /// What looks wrong (at most 1000 bytes).
    #[serde(default)]
    note: Option<String>,
}

/// `POST /c/{code}/report`: a visitor's report of a suspected fake, from the
/// page's form (bounded, rate limited, stored; read with a `reports` token).
#[utoipa::path(
    post,
    path = "/c/{code}/report",
    tag = "crate::pages",
    params(
        ("code" = String, Path, description = "The code as on the page, percent-encoded"),
        ("lang" = Option<String>, Query, description = "The page's language (`en`, `de`, `fr`); else Accept-Language"),
    ),
    request_body(content = ReportForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Stored: a thank-you page", content_type = "text/html", body = String),
        (status = 400, description = "Not a form, or a field refused (the page says which)", content_type = "text/html", body = String),
        (status = 413, description = "Body too large", content_type = "text/html", body = String),
        (status = 429, description = "Too many reports of this code in the last hour, or rate limited per client (see Retry-After)", content_type = "text/html", body = String),
        (status = 503, description = "The database does not answer", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<ReportForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = language(&q, &headers);
    let back = format!(
        "<p><a href=\"/c/{}?lang={}\">{}</a></p>",
        esc(&urlencode(&code)),
        lang.tag(),
        esc(&lang.text("back", &[]))
    );
    let Ok(axum::Form(form)) = form else {
        return page(
            lang,
            StatusCode::BAD_REQUEST,
            Tone::Caution,
            &lang.text("title_error", &[]),
            &format!(
                "{}{back}",
                para(&lang.text("text_error", &[("status", "400")]))
            ),
        );
    };
    let sent = {
        let state = state.clone();
        let code = code.clone();
        blocking(move || {
            crate::handlers::history::submit_report(&state, &code, form.place, form.note)
        })
        .await
    };
    match sent {
        Ok(_) => page(
            lang,
            StatusCode::CREATED,
            Tone::Neutral,
            &lang.text("report_thanks_title", &[]),
            &format!("{}{back}", para(&lang.text("report_thanks_text", &[]))),
        ),
        Err(e) if e.status().is_client_error() => page(
            lang,
            e.status(),
            Tone::Caution,
            &lang.text("title_error", &[]),
            &format!(
                "{}{back}",
                para(&lang.text("report_invalid", &[("detail", e.detail())]))
            ),
        ),
        Err(_) => unavailable(lang),
    }
}

/// `GET /c/{code}/register`: the warranty registration form.
#[utoipa::path(
    get,
    path = "/c/{code}/register",
    tag = "crate::pages",
    params(
        ("code" = String, Path, description = "The code as on the page, percent-encoded"),
        ("lang" = Option<String>, Query, description = "The page's language (`en`, `de`, `fr`); else Accept-Language"),
    ),
    responses(
        (status = 200, description = "The form: claim code, owner reference, date of purchase", content_type = "text/html", body = String),
        (status = 429, description = "Rate limited (see Retry-After)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn register_form(
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let lang = language(&q, &headers);
    registration_page(lang, StatusCode::OK, &code, None)
}

fn registration_page(
    lang: Lang,
    status: StatusCode,
    code: &str,
    message: Option<&str>,
) -> Response {
    let t = |k: &str| esc(&lang.text(k, &[]));
    let message = message.map(para).unwrap_or_default();
    let body = format!(
        "{message}<form method=\"post\" action=\"/c/{code}/register?lang={tag}\">\
         <label for=\"claim\">{claim}</label><input id=\"claim\" name=\"claim\" required autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"32\">\
         <label for=\"owner_ref\">{owner}</label><input id=\"owner_ref\" name=\"owner_ref\" required autocomplete=\"off\" maxlength=\"128\">\
         <label for=\"purchased_on\">{purchased}</label><input id=\"purchased_on\" name=\"purchased_on\" type=\"date\">\
         <button type=\"submit\">{send}</button></form>\
         <p><a href=\"/c/{code}?lang={tag}\">{back}</a></p>",
        code = esc(&urlencode(code)),
        tag = lang.tag(),
        claim = t("register_claim"),
        owner = t("register_owner"),
        purchased = t("register_purchased"),
        send = t("register_send"),
        back = t("back"),
    );
    page(
        lang,
        status,
        if message.is_empty() {
            Tone::Neutral
        } else {
            Tone::Caution
        },
        &lang.text("register_title", &[]),
        &body,
    )
}

/// The registration form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RegisterForm {
    /// The claim code printed inside the package.
    claim: String,
    /// The owner's opaque reference (1 to 128 bytes).
    owner_ref: String,
    /// The date of purchase, YYYY-MM-DD (optional).
    #[serde(default)]
    purchased_on: Option<String>,
}

/// `POST /c/{code}/register`: registers the warranty from the form (the
/// same checks as `POST /v1/registrations`).
#[utoipa::path(
    post,
    path = "/c/{code}/register",
    tag = "crate::pages",
    params(
        ("code" = String, Path, description = "The code as on the page, percent-encoded"),
        ("lang" = Option<String>, Query, description = "The page's language (`en`, `de`, `fr`); else Accept-Language"),
    ),
    request_body(content = RegisterForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Registered (also for the same owner again): the warranty's start date", content_type = "text/html", body = String),
        (status = 400, description = "Not a form, a claim code with a typo, a bad date or owner reference, an unreadable code: the form again, saying what was wrong", content_type = "text/html", body = String),
        (status = 403, description = "A wrong claim code: the form again", content_type = "text/html", body = String),
        (status = 409, description = "Registered already by another owner: the form again, with a warning", content_type = "text/html", body = String),
        (status = 413, description = "Body too large", content_type = "text/html", body = String),
        (status = 422, description = "The code is not genuine", content_type = "text/html", body = String),
        (status = 429, description = "Too many wrong claim codes for this unit, or rate limited per client (see Retry-After)", content_type = "text/html", body = String),
        (status = 503, description = "Registration is not offered, or the database does not answer", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<RegisterForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = language(&q, &headers);
    let Ok(axum::Form(form)) = form else {
        return registration_page(
            lang,
            StatusCode::BAD_REQUEST,
            &code,
            Some(&lang.text("text_error", &[("status", "400")])),
        );
    };
    let purchased_on =
        match crate::handlers::registrations::parse_date(form.purchased_on.as_deref()) {
            Ok(d) => d,
            Err(_) => {
                return registration_page(
                    lang,
                    StatusCode::BAD_REQUEST,
                    &code,
                    Some(&lang.text("register_bad_date", &[])),
                );
            }
        };
    let done = {
        let state = state.clone();
        let code = code.clone();
        blocking(move || {
            crate::handlers::registrations::register(
                &state,
                &code,
                &form.claim,
                &form.owner_ref,
                purchased_on,
            )
        })
        .await
    };
    match done {
        Ok(r) => page(
            lang,
            StatusCode::CREATED,
            Tone::Good,
            &lang.text("register_done_title", &[]),
            &format!(
                "{}{}<p><a href=\"/c/{}?lang={}\">{}</a></p>",
                para(&lang.text(
                    "register_done_text",
                    &[("date", &lang.date(r.warranty_start))]
                )),
                match r.adjusted {
                    Some(Adjusted::Future) => para(&lang.text("register_adjusted_future", &[])),
                    Some(Adjusted::BeforeManufacture) => {
                        para(&lang.text("register_adjusted_early", &[]))
                    }
                    None => String::new(),
                },
                esc(&urlencode(&code)),
                lang.tag(),
                esc(&lang.text("back", &[]))
            ),
        ),
        Err(e) => {
            let key = match e.kind() {
                "already-registered" => "register_already",
                "wrong-claim" => "register_wrong_claim",
                "claim-typo" => "register_typo",
                "too-many-claim-attempts" => "register_too_many",
                "registrations-disabled" => "register_disabled",
                _ => "",
            };
            if key.is_empty() && e.status().is_server_error() {
                return unavailable(lang);
            }
            let text = if key.is_empty() {
                lang.text("register_failed", &[("detail", e.detail())])
            } else {
                lang.text(key, &[])
            };
            registration_page(lang, e.status(), &code, Some(&text))
        }
    }
}

/// Around the whole application: on the page routes (`/c/` and `/C/`), an
/// error answered as JSON (by a layer such as the rate limit, a wrong method,
/// a path no route has) becomes an HTML page in the visitor's language; JSON
/// stays on `/v1` and everywhere else.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HtmlErrors;

impl crate::layers::Around for HtmlErrors {
    /// The page's language, for a request under `/c/`.
    type Kept = Option<Lang>;

    fn before(&self, request: &Request) -> std::ops::ControlFlow<Response, Option<Lang>> {
        let path = request.uri().path();
        if !(path.starts_with("/c/") || path.starts_with("/C/")) {
            return std::ops::ControlFlow::Continue(None);
        }
        std::ops::ControlFlow::Continue(Some(language(
            &Query::<LangQuery>::try_from_uri(request.uri())
                .map(|q| q.0)
                .unwrap_or_default(),
            request.headers(),
        )))
    }

    fn after(&self, lang: Option<Lang>, response: Response) -> Response {
        match lang {
            Some(lang) => html_error(lang, response),
            None => response,
        }
    }
}

/// `response` as an HTML page if it is an error not already HTML.
fn html_error(lang: Lang, response: Response) -> Response {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let retry = response.headers().get(header::RETRY_AFTER).cloned();
    let mut out = if status == StatusCode::TOO_MANY_REQUESTS {
        let seconds = retry
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("60")
            .to_owned();
        page(
            lang,
            status,
            Tone::Caution,
            &lang.text("title_rate_limited", &[]),
            &para(&lang.text("text_rate_limited", &[("seconds", &seconds)])),
        )
    } else {
        page(
            lang,
            status,
            Tone::Caution,
            &lang.text("title_error", &[]),
            &para(&lang.text("text_error", &[("status", &status.as_u16().to_string())])),
        )
    };
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    if let Some(allow) = response.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// What the unit is packed in or built into, and what it is built from
/// (current parts; replaced ones counted), in words. The warning naming
/// revoked or recalled parts is part of the state ([`View::of`]).
fn graph_section(lang: Lang, g: &crate::handlers::graph::UnitGraph) -> String {
    let mut out = String::new();
    let word =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    if !g.contained_in.is_empty() {
        let items: String = g
            .contained_in
            .iter()
            .map(|c| {
                let key = if word(c, "via") == "link" {
                    "graph_built_into"
                } else {
                    "graph_packed_in"
                };
                format!(
                    "<li>{}</li>",
                    esc(&lang.text(key, &[("parent", &word(c, "parent"))]))
                )
            })
            .collect();
        out.push_str(&format!(
            "<h2>{}</h2><ul>{items}</ul>",
            esc(&lang.text("graph_contained_in", &[]))
        ));
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
                    _ => lang.text(
                        "graph_lot",
                        &[("lot", &word(c, "lot")), ("part", &word(c, "part"))],
                    ),
                };
                let text = match c.get("at").and_then(|a| a.as_u64()) {
                    Some(t) => {
                        lang.text("graph_fitted", &[("part", &child), ("date", &lang.time(t))])
                    }
                    None => child,
                };
                format!("<li><bdi>{}</bdi></li>", esc(&text))
            })
            .collect();
        let replaced = if removed.is_empty() {
            String::new()
        } else {
            para(&lang.text("graph_replaced", &[("count", &removed.len().to_string())]))
        };
        out.push_str(&format!(
            "<h2>{}</h2><ul>{items}</ul>{replaced}",
            esc(&lang.text("graph_built_from", &[]))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_replaces_markup_and_reordering_characters_only() {
        assert_eq!(esc("plain text"), "plain text");
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{202E}b\u{0007}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(esc("Größe <1>"), "Größe &lt;1&gt;");
        assert_eq!(esc(""), "");
        assert_eq!(esc("<"), "&lt;");
    }
}
