//! Parents and children (issue 15): `POST /v1/aggregations`, `GET
//! /v1/aggregations/{parent}`, `POST /v1/links`, `POST
//! /v1/links/{id}/remove`, `GET /v1/trace`, `GET /v1/epcis/events`, and
//! what lookups add (`contained_in`, `components`, `component-revoked`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hallmark::VerdictKind;
use hallmark::aggregation::{AggregationManifest, Child, Parent, UnitId};
use hallmark::report::Report;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Judgement, blocking, invalid, judge, read_only};
use crate::AppState;
use crate::auth::{Authorized, BatchesScope};
use crate::error::{ApiError, ApiJson};
use crate::storage::graph::{MAX_CHAIN_DEPTH, MAX_WALK_ENTRIES};
use crate::storage::{
    AggregationOutcome, Link, LinkChild, LinkOutcome, NewAggregation, NewChild, NewLink,
    TraceCursor,
};

/// Most child verdicts a 422 lists.
pub const MAX_LISTED_VERDICTS: usize = 100;
/// Default and largest page of `GET /v1/aggregations/{parent}`.
pub const AGGREGATION_PAGE: (u32, u32) = (20, 100);
/// Most children listed per manifest in `GET /v1/aggregations/{parent}`.
pub const MAX_LISTED_CHILDREN: u32 = 10_000;
/// Default and largest page of `GET /v1/trace`.
pub const TRACE_PAGE: (u32, u32) = (100, 1000);
/// Most links (active and removed) a lookup lists as `components`.
pub const MAX_LISTED_COMPONENTS: u32 = 2000;

fn unprocessable(kind: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
}

/// The identity of a verified unit (a code or a GS1 unit).
pub(crate) fn verified_unit(j: &Judgement) -> Option<UnitId> {
    let v = j.verdict.verified()?;
    Some(match v.gs1() {
        Some(u) => UnitId::Gs1 {
            gtin: u.gtin().to_owned(),
            serial: u.serial_text().to_owned(),
        },
        None => UnitId::Code {
            kid: v.kid(),
            serial: v.payload().serial(),
        },
    })
}

/// Judges `text` as a unit: its judgement, or the verdict as JSON when it
/// cannot be read at all.
fn judge_unit(state: &AppState, text: &str) -> Result<Judgement, Value> {
    judge(state, text).map_err(|e| json!({"verdict": "malformed", "detail": e.detail()}))
}

fn verdict_json(j: &Judgement, text: &str) -> Value {
    serde_json::to_value(Report::new(&j.verdict, text)).unwrap_or(Value::Null)
}

/// A genuine unit's identity, part and lot, or a 422 carrying its verdict.
fn genuine_unit(
    state: &AppState,
    what: &str,
    text: &str,
) -> Result<(UnitId, Option<String>, Option<String>), ApiError> {
    let refuse = |verdict: Value| {
        unprocessable("not-genuine", format!("the {what} is not genuine")).with("verdict", verdict)
    };
    let j = judge_unit(state, text).map_err(refuse)?;
    if j.verdict.kind() != VerdictKind::Genuine {
        return Err(refuse(verdict_json(&j, text)));
    }
    let unit = verified_unit(&j).ok_or_else(|| refuse(verdict_json(&j, text)))?;
    let (part, lot) = part_lot(&j);
    Ok((unit, part, lot))
}

fn part_lot(j: &Judgement) -> (Option<String>, Option<String>) {
    match j.verdict.verified() {
        Some(v) => {
            let p = v.payload();
            let part = (!p.part().is_empty()).then(|| p.part().to_owned());
            let lot = (!p.lot().is_empty()).then(|| p.lot().to_owned());
            (part, lot)
        }
        None => (None, None),
    }
}

// ---------------------------------------------------------------------------
// Aggregations

/// `POST /v1/aggregations`'s answer.
#[derive(Debug, Serialize)]
pub struct AggregationStored {
    /// The manifest's digest, hex.
    pub digest: String,
    /// The parent's identity.
    pub parent: String,
    /// The signer.
    pub kid: String,
    /// How many children.
    pub children: u64,
    /// When first recorded, seconds.
    pub recorded: u64,
    /// Whether this request stored it (false: stored before).
    pub new: bool,
}

/// Stores a signed aggregation manifest after verifying it and every unit
/// child. Needs a `batches` token.
pub(crate) async fn store(
    State(state): State<AppState>,
    auth: Authorized<BatchesScope>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AggregationStored>), ApiError> {
    let bytes = body?;
    if bytes.is_empty() {
        return Err(invalid(
            "the body must be a signed aggregation manifest (hallmark aggregate)",
        ));
    }
    blocking(move || {
        let manifest = AggregationManifest::verify(&bytes, state.trust()).map_err(|e| {
            unprocessable("invalid-manifest", format!("{}: {e}", e.kind()))
                .with("kind", json!(e.kind()))
        })?;
        let digest = AggregationManifest::digest(&bytes);
        let parent = manifest
            .parent
            .unit()
            .map_err(|e| unprocessable("invalid-manifest", e.to_string()))?
            .to_string();
        let storage = state.storage();
        let mut children = Vec::with_capacity(manifest.children.len());
        let mut refused = Vec::new();
        let mut refused_count = 0usize;
        let mut missing = Vec::new();
        for (position, child) in manifest.children.iter().enumerate() {
            if let Child::Manifest(d) = child {
                if !storage.aggregation_exists(d)? {
                    missing.push(hex::encode(d));
                }
                children.push(NewChild {
                    unit: None,
                    text: None,
                    nested: Some(*d),
                    part: None,
                    lot: None,
                });
                continue;
            }
            let Some(text) = child.scan_text() else {
                continue;
            };
            let judged = judge_unit(&state, &text);
            let ok = matches!(&judged, Ok(j) if j.verdict.kind() == VerdictKind::Genuine);
            if !ok {
                refused_count += 1;
                if refused.len() < MAX_LISTED_VERDICTS {
                    let verdict = match &judged {
                        Ok(j) => verdict_json(j, &text),
                        Err(v) => v.clone(),
                    };
                    refused.push(json!({"position": position, "child": text, "verdict": verdict}));
                }
                continue;
            }
            let unit = child.unit().ok().flatten().map(|u| u.to_string());
            let (part, lot) = judged.as_ref().map(part_lot).unwrap_or((None, None));
            children.push(NewChild {
                unit,
                text: Some(text),
                nested: None,
                part,
                lot,
            });
        }
        if refused_count > 0 {
            return Err(unprocessable(
                "child-not-genuine",
                format!("{refused_count} children are not genuine; nothing was stored"),
            )
            .with("children", Value::Array(refused)));
        }
        if !missing.is_empty() {
            return Err(unprocessable(
                "nested-manifest-missing",
                "nested manifests must be stored first; nothing was stored",
            )
            .with("missing", json!(missing)));
        }
        let count = manifest.children.len() as u64;
        let new = NewAggregation {
            digest,
            parent: parent.clone(),
            kid: manifest.kid,
            time: manifest.time,
            bizstep: manifest.bizstep.as_str().to_owned(),
            location: manifest.location.clone(),
            bytes: bytes.to_vec(),
            children,
        };
        let answer = |recorded, new| AggregationStored {
            digest: hex::encode(digest),
            parent: parent.clone(),
            kid: manifest.kid.to_string(),
            children: count,
            recorded,
            new,
        };
        match storage.store_aggregation(&new, &auth.token.name, state.now())? {
            AggregationOutcome::Created { recorded, .. } => {
                tracing::info!(token = %auth.token.name, parent = %parent, "aggregation stored");
                Ok((StatusCode::CREATED, Json(answer(recorded, true))))
            }
            AggregationOutcome::Existing { recorded, .. } => {
                Ok((StatusCode::OK, Json(answer(recorded, false))))
            }
            AggregationOutcome::MissingNested(m) => Err(unprocessable(
                "nested-manifest-missing",
                "nested manifests must be stored first; nothing was stored",
            )
            .with(
                "missing",
                json!(m.iter().map(hex::encode).collect::<Vec<_>>()),
            )),
            AggregationOutcome::Cycle { child } => Err(ApiError::new(
                StatusCode::CONFLICT,
                "cycle",
                format!("{child} already contains the parent {parent}"),
            )),
        }
    })
    .await
}

/// Paging of a list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor: what the previous page's `next` said.
    pub after: Option<String>,
}

/// A unit identity from a parent as a client names it: a code, a GS1 unit
/// (element string, Digital Link) or `sscc:DIGITS`.
fn parent_unit(text: &str) -> Result<String, ApiError> {
    Parent::from_scan(text)
        .and_then(|p| p.unit())
        .map(|u| u.to_string())
        .map_err(|e| invalid(format!("parent: {}: {e}", e.kind())))
}

/// The manifests naming a parent, with their children.
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(parent): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let unit = parent_unit(&parent)?;
    let limit = page
        .limit
        .unwrap_or(AGGREGATION_PAGE.0)
        .clamp(1, AGGREGATION_PAGE.1);
    let after = match page.after.as_deref() {
        None => 0,
        Some(a) => a.parse().map_err(|_| invalid("after: not a cursor"))?,
    };
    read_only(state, move |state| {
        let rows = state
            .storage()
            .aggregations_of(&unit, after, limit, MAX_LISTED_CHILDREN)?;
        let next = (rows.len() as u32 == limit)
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten();
        let manifests: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "digest": hex::encode(r.digest),
                    "signer": hex::encode(&r.kid),
                    "time": r.time,
                    "bizstep": r.bizstep,
                    "location": r.location,
                    "recorded": r.recorded,
                    "child_count": r.child_count,
                    "children": r.children.iter().map(|c| match (&c.unit, &c.nested) {
                        (Some(u), _) => json!({"unit": u, "part": c.part, "lot": c.lot}),
                        (None, Some(d)) => json!({"manifest": hex::encode(d)}),
                        _ => Value::Null,
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(Json(
            json!({"parent": unit, "manifests": manifests, "next": next}),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------
// Links

/// A link's child on the wire: a unit's text or a component lot.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum LinkChildBody {
    /// A code or GS1 unit, as scanned.
    Unit(String),
    /// A component lot.
    Lot {
        /// Part number.
        part: String,
        /// Lot.
        lot: String,
    },
}

/// `POST /v1/links`: a new link, or `{"remove": ID}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The parent: a code or GS1 unit.
    pub parent: String,
    /// The child.
    pub child: LinkChildBody,
    /// The process step (at most 128 bytes).
    #[serde(default)]
    pub process: Option<String>,
    /// When, seconds (default now).
    #[serde(default)]
    pub at: Option<u64>,
    /// An active link of the same parent this one replaces.
    #[serde(default)]
    pub replace: Option<u64>,
}

/// `POST /v1/links/{id}/remove`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    /// When removed, seconds (default now).
    #[serde(default)]
    pub at: Option<u64>,
}

fn link_json(l: &Link) -> Value {
    let child = match &l.child_unit {
        Some(u) => json!(u),
        None => json!({"part": l.part, "lot": l.lot}),
    };
    json!({
        "id": l.id,
        "parent": l.parent,
        "child": child,
        "part": l.part,
        "lot": l.lot,
        "process": l.process,
        "at": l.at,
        "removed_at": l.removed_at,
        "replaced_by": l.replaced_by,
        "active": l.removed_at.is_none(),
    })
}

fn check_label(what: &str, s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > 128 || s.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what}: 1 to 128 bytes, no control characters"
        )));
    }
    Ok(())
}

/// Adds a versioned assembly link. Needs a `batches` token.
pub(crate) async fn link(
    State(state): State<AppState>,
    auth: Authorized<BatchesScope>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Some(p) = &req.process {
        check_label("process", p)?;
    }
    blocking(move || {
        let (parent, ..) = genuine_unit(&state, "parent", &req.parent)?;
        let parent = parent.to_string();
        let child = match &req.child {
            LinkChildBody::Unit(text) => {
                let (unit, part, lot) = genuine_unit(&state, "child", text)?;
                LinkChild::Unit {
                    unit: unit.to_string(),
                    text: text.trim().to_owned(),
                    part,
                    lot,
                }
            }
            LinkChildBody::Lot { part, lot } => {
                check_label("child.part", part)?;
                check_label("child.lot", lot)?;
                LinkChild::Lot {
                    part: part.clone(),
                    lot: lot.clone(),
                }
            }
        };
        let now = state.now();
        let new = NewLink {
            parent,
            child,
            process: req.process.clone(),
            at: req.at.unwrap_or(now),
            replace: req.replace,
        };
        match state.storage().add_link(&new, &auth.token.name, now)? {
            LinkOutcome::Created(l) => Ok((StatusCode::CREATED, Json(link_json(&l)))),
            LinkOutcome::Existing(l) => Ok((StatusCode::OK, Json(link_json(&l)))),
            LinkOutcome::Cycle => Err(ApiError::new(
                StatusCode::CONFLICT,
                "cycle",
                "the child already contains the parent",
            )),
            LinkOutcome::TooMany => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-many-links",
                format!(
                    "the parent holds {} active links already",
                    crate::storage::graph::MAX_ACTIVE_LINKS_PER_PARENT
                ),
            )),
            LinkOutcome::BadReplace => Err(unprocessable(
                "bad-replace",
                "replace names no active link of this parent",
            )),
        }
    })
    .await
}

/// Ends an active link (kept, with its removal time). Needs a `batches` token.
pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: Authorized<BatchesScope>,
    Path(id): Path<u64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let bytes = body?;
    let req: RemoveRequest = if bytes.is_empty() {
        RemoveRequest::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?
    };
    blocking(move || {
        let now = state.now();
        match state
            .storage()
            .remove_link(id, req.at.unwrap_or(now), &auth.token.name, now)?
        {
            Some(l) => Ok(Json(link_json(&l))),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "no such link",
            )),
        }
    })
    .await
}

// ---------------------------------------------------------------------------
// Trace and EPCIS

/// `GET /v1/trace`'s query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// Part number.
    pub part: String,
    /// Lot.
    pub lot: String,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub after: Option<String>,
}

/// The parents holding a component lot. Needs a `batches` token.
pub(crate) async fn trace(
    State(state): State<AppState>,
    _auth: Authorized<BatchesScope>,
    Query(q): Query<TraceQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(TRACE_PAGE.0).clamp(1, TRACE_PAGE.1);
    let after = match q.after.as_deref() {
        None => None,
        Some(a) => Some(TraceCursor::parse(a).ok_or_else(|| invalid("after: not a cursor"))?),
    };
    read_only(state, move |state| {
        let rows = state.storage().trace(&q.part, &q.lot, after, limit)?;
        let next = (rows.len() as u32 == limit)
            .then(|| rows.last().map(|r| r.cursor.clone()))
            .flatten();
        let parents: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "parent": r.parent,
                    "via": r.via,
                    "id": r.id,
                    "child": r.child_unit,
                    "at": r.at,
                    "removed_at": r.removed_at,
                    "active": r.active,
                })
            })
            .collect();
        Ok(Json(
            json!({"part": q.part, "lot": q.lot, "parents": parents, "next": next}),
        ))
    })
    .await
}

/// `GET /v1/epcis/events`'s query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpcisQuery {
    /// Seconds since 1970-01-01 UTC (default 0: everything).
    pub since: Option<u64>,
}

/// The registry's records as EPCIS 2.0 events. Needs a `batches` token.
pub(crate) async fn epcis(
    State(state): State<AppState>,
    _auth: Authorized<BatchesScope>,
    Query(q): Query<EpcisQuery>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let input = state.storage().epcis_records(q.since.unwrap_or(0))?;
        Ok(Json(hallmark_epcis::document(&input, state.now())))
    })
    .await
}

// ---------------------------------------------------------------------------
// Lookups

/// What a lookup adds for a verified unit: its containment chain, its
/// components, and whether a current component is revoked or recalled.
pub(crate) struct UnitGraph {
    /// `contained_in`.
    pub contained_in: Vec<Value>,
    /// `components`.
    pub components: Vec<Value>,
    /// The revoked or recalled current components (`component-revoked`).
    pub revoked: Vec<String>,
}

/// Reads the graph around a verified unit.
pub(crate) fn unit_graph(state: &AppState, j: &Judgement) -> Result<Option<UnitGraph>, ApiError> {
    let Some(unit) = verified_unit(j) else {
        return Ok(None);
    };
    let unit = unit.to_string();
    let storage = state.storage();
    let (up, links, down) = storage.neighbourhood(&unit, MAX_CHAIN_DEPTH, MAX_LISTED_COMPONENTS)?;
    let contained_in = up
        .iter()
        .map(|c| {
            json!({
                "unit": c.unit,
                "parent": c.parent,
                "via": c.via,
                "id": c.id,
                "digest": c.digest.map(hex::encode),
                "depth": c.depth,
            })
        })
        .collect();
    let components = links.iter().map(link_json).collect();
    let mut revoked = Vec::new();
    let mut lots_checked = std::collections::HashSet::new();
    for d in down {
        if revoked.len() >= MAX_LISTED_VERDICTS {
            break;
        }
        if let Some(text) = &d.text
            && let Ok(cj) = judge(state, text)
            && cj.verdict.kind() == VerdictKind::Revoked
        {
            revoked.push(d.unit.clone().unwrap_or_else(|| text.clone()));
            continue;
        }
        if let (None, Some(part), Some(lot)) = (&d.unit, &d.part, &d.lot)
            && lots_checked.insert((part.clone(), lot.clone()))
            && storage.lot_recalled(part, lot)?
        {
            revoked.push(format!("lot:{part}:{lot}"));
        }
    }
    let _ = MAX_WALK_ENTRIES;
    Ok(Some(UnitGraph {
        contained_in,
        components,
        revoked,
    }))
}
