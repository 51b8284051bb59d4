//! Parents and children (issue 15): stored aggregation manifests and
//! versioned assembly links, written once for both backends.
//!
//! A backend hands this module a transaction as a [`Sql`]; the queries are
//! written with `?N` parameters (PostgreSQL's `$N` after one substitution) in
//! the SQL both databases speak. Writes run in one transaction each (on
//! PostgreSQL under one advisory lock, so cycle checks and the per-parent
//! limit cannot race), and are durable when the storage method returns.
//!
//! Units are kept as their identity text ([`hallmark::aggregation::UnitId`]'s
//! display: `code:KID:SERIAL`, `gs1:GTIN:SERIAL`, `sscc:DIGITS`).

use std::collections::{HashSet, VecDeque};

use hallmark::KeyId;

use crate::storage::rows::{to_i64, to_u64};
use crate::storage::{RowError, StorageError};

/// Most active links one parent may hold ([`Storage::add_link`]
/// answers [`LinkOutcome::TooMany`] past it).
///
/// [`Storage::add_link`]: crate::Storage::add_link
pub const MAX_ACTIVE_LINKS_PER_PARENT: u64 = 1000;

/// How many levels a lookup's `contained_in` chain and its component check
/// follow.
pub const MAX_CHAIN_DEPTH: usize = 8;

/// How many levels a cycle check follows upward from a new parent; deeper
/// containment than this is refused as if it were a cycle.
pub const MAX_CYCLE_DEPTH: usize = 64;

/// Most entries a containment walk collects (`contained_in`, component
/// checks): a pallet of 100,000 units is not re-judged on every lookup.
pub const MAX_WALK_ENTRIES: usize = 4096;

/// One SQL value, as both backends read and bind them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer (`INTEGER` / `BIGINT`).
    Int(Option<i64>),
    /// Text.
    Text(Option<String>),
    /// Bytes (`BLOB` / `BYTEA`).
    Blob(Option<Vec<u8>>),
}

impl Value {
    fn int(v: i64) -> Value {
        Value::Int(Some(v))
    }
    pub(super) fn text(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
    pub(super) fn opt_text(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_owned))
    }
}

/// A transaction the graph queries run in.
pub trait Sql {
    /// Runs a query with `?N` parameters, returning every row.
    fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StorageError>;
    /// Runs a statement, returning the rows it changed.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StorageError>;
}

fn corrupt(table: &'static str, column: &'static str) -> StorageError {
    corrupt_row(table, "graph", column)
}

/// A row of `table` (of `kind`) whose `column` is missing or of the wrong
/// type.
pub(super) fn corrupt_row(
    table: &'static str,
    kind: &'static str,
    column: &'static str,
) -> StorageError {
    StorageError::Corrupt {
        table,
        reason: RowError::MissingColumn { kind, column },
    }
}

/// Typed reads of one row's columns: the cells, their table, and the kind
/// of row a corrupt one is reported as.
pub(super) struct Row<'a>(
    pub(super) &'a [Value],
    pub(super) &'static str,
    pub(super) &'static str,
);

impl Row<'_> {
    pub(super) fn int(&self, i: usize) -> Result<i64, StorageError> {
        self.opt_int(i)?
            .ok_or_else(|| corrupt_row(self.1, self.2, "integer"))
    }
    pub(super) fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Text(None) | Value::Blob(None)) => Ok(None),
            _ => Err(corrupt_row(self.1, self.2, "integer")),
        }
    }
    pub(super) fn text(&self, i: usize) -> Result<String, StorageError> {
        self.opt_text(i)?
            .ok_or_else(|| corrupt_row(self.1, self.2, "text"))
    }
    pub(super) fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            Some(Value::Int(None) | Value::Blob(None)) => Ok(None),
            _ => Err(corrupt_row(self.1, self.2, "text")),
        }
    }
    pub(super) fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StorageError> {
        match self.0.get(i) {
            Some(Value::Blob(v)) => Ok(v.clone()),
            Some(Value::Int(None) | Value::Text(None)) => Ok(None),
            _ => Err(corrupt_row(self.1, self.2, "bytes")),
        }
    }
    pub(super) fn digest(&self, i: usize) -> Result<Option<[u8; 32]>, StorageError> {
        match self.opt_blob(i)? {
            None => Ok(None),
            Some(b) => <[u8; 32]>::try_from(b.as_slice())
                .map(Some)
                .map_err(|_| corrupt_row(self.1, self.2, "digest")),
        }
    }
}

fn first_int(rows: &[Vec<Value>]) -> Result<Option<i64>, StorageError> {
    match rows.first() {
        None => Ok(None),
        Some(r) => Row(r, "graph", "graph").opt_int(0),
    }
}

// ---------------------------------------------------------------------------
// Types

/// One child of an aggregation manifest to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChild {
    /// A unit child's identity; `None` for a nested manifest.
    pub unit: Option<String>,
    /// What a verifier judges for a unit child (its canonical text).
    pub text: Option<String>,
    /// A nested manifest's digest.
    pub nested: Option<[u8; 32]>,
    /// The unit's part number, when its payload has one.
    pub part: Option<String>,
    /// The unit's lot, when its payload has one.
    pub lot: Option<String>,
}

/// A verified aggregation manifest to store ([`crate::Storage::store_aggregation`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAggregation {
    /// Its digest (`AggregationManifest::digest`).
    pub digest: [u8; 32],
    /// The parent's identity.
    pub parent: String,
    /// The signer.
    pub kid: KeyId,
    /// The manifest's time, seconds.
    pub time: u64,
    /// `packing` or `assembling`.
    pub bizstep: String,
    /// Where, if the manifest says.
    pub location: Option<String>,
    /// The signed bytes.
    pub bytes: Vec<u8>,
    /// The children, in the manifest's order.
    pub children: Vec<NewChild>,
}

/// What storing an aggregation manifest did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggregationOutcome {
    /// Stored now.
    Created {
        /// Its row id.
        id: u64,
        /// When it was recorded.
        recorded: u64,
    },
    /// The same bytes were stored before; nothing changed.
    Existing {
        /// Its row id.
        id: u64,
        /// When it was first recorded.
        recorded: u64,
    },
    /// Nested manifests (by digest) not stored; nothing was stored.
    MissingNested(Vec<[u8; 32]>),
    /// The parent already is (transitively) inside this child; nothing stored.
    Cycle {
        /// The child (unit identity) that contains the parent.
        child: String,
    },
}

/// A stored aggregation manifest (`GET /v1/aggregations/{parent}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAggregation {
    /// Row id (the paging cursor).
    pub id: u64,
    /// Digest.
    pub digest: [u8; 32],
    /// The parent's identity.
    pub parent: String,
    /// The signer.
    pub kid: Vec<u8>,
    /// The manifest's time.
    pub time: u64,
    /// Business step.
    pub bizstep: String,
    /// Location.
    pub location: Option<String>,
    /// When recorded.
    pub recorded: u64,
    /// The children, at most the limit asked for.
    pub children: Vec<StoredChild>,
    /// How many children it has in all.
    pub child_count: u64,
}

/// One stored child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChild {
    /// A unit's identity.
    pub unit: Option<String>,
    /// A nested manifest's digest.
    pub nested: Option<[u8; 32]>,
    /// Part, when known.
    pub part: Option<String>,
    /// Lot, when known.
    pub lot: Option<String>,
}

/// A link's child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkChild {
    /// A unit (code or GS1), verified.
    Unit {
        /// Its identity.
        unit: String,
        /// Its canonical text (re-judged on lookups).
        text: String,
        /// Its part, when its payload has one.
        part: Option<String>,
        /// Its lot, when its payload has one.
        lot: Option<String>,
    },
    /// A component lot.
    Lot {
        /// Part number.
        part: String,
        /// Lot.
        lot: String,
    },
}

/// A link to add ([`crate::Storage::add_link`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// The parent's identity.
    pub parent: String,
    /// The child.
    pub child: LinkChild,
    /// The process step, if named.
    pub process: Option<String>,
    /// When linked, seconds.
    pub at: u64,
    /// An active link of the same parent this one replaces.
    pub replace: Option<u64>,
}

/// A stored link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its id.
    pub id: u64,
    /// The parent's identity.
    pub parent: String,
    /// A unit child's identity.
    pub child_unit: Option<String>,
    /// Part (a lot child's, or a unit child's when known).
    pub part: Option<String>,
    /// Lot (likewise).
    pub lot: Option<String>,
    /// Process step.
    pub process: Option<String>,
    /// When linked.
    pub at: u64,
    /// When removed or replaced.
    pub removed_at: Option<u64>,
    /// The link that replaced it.
    pub replaced_by: Option<u64>,
}

/// What adding a link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Stored now.
    Created(Link),
    /// The same link is active already.
    Existing(Link),
    /// The child already contains the parent; nothing stored.
    Cycle,
    /// The parent holds [`MAX_ACTIVE_LINKS_PER_PARENT`] active links.
    TooMany,
    /// `replace` names no active link of this parent.
    BadReplace,
}

/// One step of a containment chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Containment {
    /// The contained unit.
    pub unit: String,
    /// The unit containing it.
    pub parent: String,
    /// `link` or `aggregation`.
    pub via: String,
    /// The link's or the aggregation's row id.
    pub id: u64,
    /// The aggregation's digest.
    pub digest: Option<[u8; 32]>,
    /// 1 for a direct parent of the unit looked up.
    pub depth: usize,
}

/// A current (active link or aggregation) descendant of a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descendant {
    /// The unit that holds it directly.
    pub holder: String,
    /// Its identity (units).
    pub unit: Option<String>,
    /// What a verifier judges (units).
    pub text: Option<String>,
    /// Part.
    pub part: Option<String>,
    /// Lot.
    pub lot: Option<String>,
    /// 1 for a direct child.
    pub depth: usize,
}

/// One parent holding a component lot (`GET /v1/trace`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// The cursor after this entry (`L<id>` or `A<id>.<position>`).
    pub cursor: String,
    /// The parent.
    pub parent: String,
    /// `link` or `aggregation`.
    pub via: String,
    /// The link's or aggregation's id.
    pub id: u64,
    /// The unit child holding the lot, if the child is a unit.
    pub child_unit: Option<String>,
    /// When linked (or the manifest's time).
    pub at: u64,
    /// When removed.
    pub removed_at: Option<u64>,
    /// Whether the containment is current.
    pub active: bool,
}

// ---------------------------------------------------------------------------
// Queries

fn audit(
    sql: &mut dyn Sql,
    token: &str,
    action: &str,
    target: &str,
    now: u64,
) -> Result<(), StorageError> {
    sql.exec(
        "INSERT INTO audit (token, action, target, time) VALUES (?1, ?2, ?3, ?4)",
        &[
            Value::text(token),
            Value::text(action),
            Value::text(target),
            Value::int(to_i64(now)),
        ],
    )?;
    Ok(())
}

const UP_SQL: &str = "SELECT parent, 'link', id, CAST(NULL AS BYTEA) FROM links
     WHERE child_unit = ?1 AND removed_at IS NULL
 UNION ALL
 SELECT a.parent, 'aggregation', a.id, a.digest FROM aggregation_children c
     JOIN aggregations a ON a.id = c.aggregation WHERE c.unit = ?1
 UNION ALL
 SELECT o.parent, 'aggregation', o.id, o.digest FROM aggregations i
     JOIN aggregation_children c ON c.nested = i.digest
     JOIN aggregations o ON o.id = c.aggregation WHERE i.parent = ?1";

/// One step up: the parent, `link` or `aggregation`, the row id, the
/// aggregation's digest.
type Step = (String, String, u64, Option<[u8; 32]>);

/// The direct parents of `unit` (active links, aggregations, and the parents
/// of manifests nesting one whose parent is `unit`).
fn up(sql: &mut dyn Sql, unit: &str) -> Result<Vec<Step>, StorageError> {
    sql.rows(UP_SQL, &[Value::text(unit)])?
        .iter()
        .map(|r| {
            let r = Row(r, "links", "graph");
            Ok((r.text(0)?, r.text(1)?, to_u64(r.int(2)?), r.digest(3)?))
        })
        .collect()
}

/// The containment chain upward from `unit`, breadth first, at most `depth`
/// levels and [`MAX_WALK_ENTRIES`] entries.
pub fn contained_in(
    sql: &mut dyn Sql,
    unit: &str,
    depth: usize,
) -> Result<Vec<Containment>, StorageError> {
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([unit.to_owned()]);
    let mut queue = VecDeque::from([(unit.to_owned(), 0usize)]);
    while let Some((u, d)) = queue.pop_front() {
        if d >= depth {
            continue;
        }
        for (parent, via, id, digest) in up(sql, &u)? {
            if out.len() >= MAX_WALK_ENTRIES {
                return Ok(out);
            }
            out.push(Containment {
                unit: u.clone(),
                parent: parent.clone(),
                via,
                id,
                digest,
                depth: d + 1,
            });
            if seen.insert(parent.clone()) {
                queue.push_back((parent, d + 1));
            }
        }
    }
    Ok(out)
}

/// Whether `candidate` is `unit` or one of its ancestors within
/// [`MAX_CYCLE_DEPTH`] levels (or the walk was cut short, which counts as
/// yes: a refusal is safe, a cycle is not).
fn is_ancestor_or_self(
    sql: &mut dyn Sql,
    unit: &str,
    candidates: &HashSet<&str>,
) -> Result<Option<String>, StorageError> {
    if candidates.contains(unit) {
        return Ok(Some(unit.to_owned()));
    }
    let mut seen: HashSet<String> = HashSet::from([unit.to_owned()]);
    let mut queue = VecDeque::from([(unit.to_owned(), 0usize)]);
    while let Some((u, d)) = queue.pop_front() {
        for (parent, ..) in up(sql, &u)? {
            if candidates.contains(parent.as_str()) {
                return Ok(Some(parent));
            }
            if d + 1 >= MAX_CYCLE_DEPTH || seen.len() >= MAX_WALK_ENTRIES * 4 {
                return Ok(Some(parent));
            }
            if seen.insert(parent.clone()) {
                queue.push_back((parent, d + 1));
            }
        }
    }
    Ok(None)
}

const DOWN_SQL: &str = "SELECT child_unit, child_text, part, lot FROM links
     WHERE parent = ?1 AND removed_at IS NULL
 UNION ALL
 SELECT c.unit, c.text, c.part, c.lot FROM aggregations a
     JOIN aggregation_children c ON c.aggregation = a.id
     WHERE a.parent = ?1 AND c.unit IS NOT NULL
 UNION ALL
 SELECT n.parent, NULL, NULL, NULL FROM aggregations a
     JOIN aggregation_children c ON c.aggregation = a.id
     JOIN aggregations n ON n.digest = c.nested WHERE a.parent = ?1";

/// What `unit` holds now (active links and aggregations), breadth first, at
/// most `depth` levels and [`MAX_WALK_ENTRIES`] entries.
pub fn descendants(
    sql: &mut dyn Sql,
    unit: &str,
    depth: usize,
) -> Result<Vec<Descendant>, StorageError> {
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([unit.to_owned()]);
    let mut queue = VecDeque::from([(unit.to_owned(), 0usize)]);
    while let Some((u, d)) = queue.pop_front() {
        if d >= depth {
            continue;
        }
        let rows = sql.rows(DOWN_SQL, &[Value::text(&u)])?;
        for r in &rows {
            if out.len() >= MAX_WALK_ENTRIES {
                return Ok(out);
            }
            let r = Row(r, "links", "graph");
            let child = Descendant {
                holder: u.clone(),
                unit: r.opt_text(0)?,
                text: r.opt_text(1)?,
                part: r.opt_text(2)?,
                lot: r.opt_text(3)?,
                depth: d + 1,
            };
            if let Some(c) = &child.unit
                && seen.insert(c.clone())
            {
                queue.push_back((c.clone(), d + 1));
            }
            out.push(child);
        }
    }
    Ok(out)
}

/// [`lot_recalled`]'s query: part `?1`, lot `?2` (the keys from the index
/// `batches_part_lot`, each key's lot statuses from the primary key).
pub(crate) const LOT_RECALLED_SQL: &str = "SELECT 1 FROM statuses WHERE kind = 'lot' AND lot = ?2
     AND state = 'revoked' AND kid IN (SELECT kid FROM batches WHERE part = ?1 AND lot = ?2)
     LIMIT 1";

/// Whether a lot of a part is recalled: a current revocation (not a
/// decommission) of that lot under a key that registered a batch of that
/// part and lot.
pub fn lot_recalled(sql: &mut dyn Sql, part: &str, lot: &str) -> Result<bool, StorageError> {
    let rows = sql.rows(LOT_RECALLED_SQL, &[Value::text(part), Value::text(lot)])?;
    Ok(!rows.is_empty())
}

/// Whether an aggregation with this digest is stored.
pub fn aggregation_exists(sql: &mut dyn Sql, digest: &[u8; 32]) -> Result<bool, StorageError> {
    let rows = sql.rows(
        "SELECT id FROM aggregations WHERE digest = ?1",
        &[Value::Blob(Some(digest.to_vec()))],
    )?;
    Ok(!rows.is_empty())
}

/// Stores a verified aggregation manifest (see [`AggregationOutcome`]).
pub fn store_aggregation(
    sql: &mut dyn Sql,
    agg: &NewAggregation,
    token: &str,
    now: u64,
) -> Result<AggregationOutcome, StorageError> {
    let digest = Value::Blob(Some(agg.digest.to_vec()));
    let existing = sql.rows(
        "SELECT id, recorded FROM aggregations WHERE digest = ?1",
        std::slice::from_ref(&digest),
    )?;
    if let Some(r) = existing.first() {
        let r = Row(r, "aggregations", "graph");
        return Ok(AggregationOutcome::Existing {
            id: to_u64(r.int(0)?),
            recorded: to_u64(r.int(1)?),
        });
    }
    let mut contained: HashSet<&str> = HashSet::new();
    let mut nested_parents = Vec::new();
    let mut missing = Vec::new();
    for c in &agg.children {
        if let Some(u) = &c.unit {
            contained.insert(u);
        }
        if let Some(d) = &c.nested {
            let rows = sql.rows(
                "SELECT parent FROM aggregations WHERE digest = ?1",
                &[Value::Blob(Some(d.to_vec()))],
            )?;
            match rows.first() {
                Some(r) => nested_parents.push(Row(r, "aggregations", "graph").text(0)?),
                None => missing.push(*d),
            }
        }
    }
    if !missing.is_empty() {
        return Ok(AggregationOutcome::MissingNested(missing));
    }
    for p in &nested_parents {
        contained.insert(p);
    }
    if let Some(child) = is_ancestor_or_self(sql, &agg.parent, &contained)? {
        return Ok(AggregationOutcome::Cycle { child });
    }
    let id = first_int(&sql.rows(
        "INSERT INTO aggregations (digest, parent, kid, time, bizstep, location, bytes, recorded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        &[
            digest,
            Value::text(&agg.parent),
            Value::Blob(Some(agg.kid.to_bytes().to_vec())),
            Value::int(to_i64(agg.time)),
            Value::text(&agg.bizstep),
            Value::opt_text(agg.location.as_deref()),
            Value::Blob(Some(agg.bytes.clone())),
            Value::int(to_i64(now)),
        ],
    )?)?
    .ok_or_else(|| corrupt("aggregations", "id"))?;
    for (pos, c) in agg.children.iter().enumerate() {
        sql.exec(
            "INSERT INTO aggregation_children (aggregation, position, unit, text, nested, part, lot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                Value::int(id),
                Value::int(i64::try_from(pos).unwrap_or(i64::MAX)),
                Value::opt_text(c.unit.as_deref()),
                Value::opt_text(c.text.as_deref()),
                Value::Blob(c.nested.map(|d| d.to_vec())),
                Value::opt_text(c.part.as_deref()),
                Value::opt_text(c.lot.as_deref()),
            ],
        )?;
    }
    audit(
        sql,
        token,
        "aggregate",
        &format!("{} {}", hex::encode(agg.digest), agg.parent),
        now,
    )?;
    Ok(AggregationOutcome::Created {
        id: to_u64(id),
        recorded: now,
    })
}

/// The manifests naming `parent`, after row id `after`, at most `limit`,
/// each with at most `children` children.
pub fn aggregations_of(
    sql: &mut dyn Sql,
    parent: &str,
    after: u64,
    limit: u32,
    children: u32,
) -> Result<Vec<StoredAggregation>, StorageError> {
    let rows = sql.rows(
        "SELECT id, digest, kid, time, bizstep, location, recorded FROM aggregations
         WHERE parent = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        &[
            Value::text(parent),
            Value::int(to_i64(after)),
            Value::int(i64::from(limit)),
        ],
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let r = Row(r, "aggregations", "graph");
        let id = r.int(0)?;
        let kids = sql.rows(
            "SELECT unit, nested, part, lot FROM aggregation_children
             WHERE aggregation = ?1 ORDER BY position LIMIT ?2",
            &[Value::int(id), Value::int(i64::from(children))],
        )?;
        let count = first_int(&sql.rows(
            "SELECT COUNT(*) FROM aggregation_children WHERE aggregation = ?1",
            &[Value::int(id)],
        )?)?
        .unwrap_or(0);
        out.push(StoredAggregation {
            id: to_u64(id),
            digest: r
                .digest(1)?
                .ok_or_else(|| corrupt("aggregations", "digest"))?,
            parent: parent.to_owned(),
            kid: r.opt_blob(2)?.unwrap_or_default(),
            time: to_u64(r.int(3)?),
            bizstep: r.text(4)?,
            location: r.opt_text(5)?,
            recorded: to_u64(r.int(6)?),
            children: kids
                .iter()
                .map(|k| {
                    let k = Row(k, "aggregation_children", "graph");
                    Ok(StoredChild {
                        unit: k.opt_text(0)?,
                        nested: k.digest(1)?,
                        part: k.opt_text(2)?,
                        lot: k.opt_text(3)?,
                    })
                })
                .collect::<Result<_, StorageError>>()?,
            child_count: to_u64(count),
        });
    }
    Ok(out)
}

const LINK_COLUMNS: &str =
    "id, parent, child_unit, part, lot, process, at, removed_at, replaced_by";

fn link_from(r: &[Value]) -> Result<Link, StorageError> {
    let r = Row(r, "links", "graph");
    Ok(Link {
        id: to_u64(r.int(0)?),
        parent: r.text(1)?,
        child_unit: r.opt_text(2)?,
        part: r.opt_text(3)?,
        lot: r.opt_text(4)?,
        process: r.opt_text(5)?,
        at: to_u64(r.int(6)?),
        removed_at: r.opt_int(7)?.map(to_u64),
        replaced_by: r.opt_int(8)?.map(to_u64),
    })
}

fn link_by_id(sql: &mut dyn Sql, id: u64) -> Result<Option<Link>, StorageError> {
    let rows = sql.rows(
        &format!("SELECT {LINK_COLUMNS} FROM links WHERE id = ?1"),
        &[Value::int(to_i64(id))],
    )?;
    rows.first().map(|r| link_from(r)).transpose()
}

/// Adds a link (see [`LinkOutcome`]).
pub fn add_link(
    sql: &mut dyn Sql,
    link: &NewLink,
    token: &str,
    now: u64,
) -> Result<LinkOutcome, StorageError> {
    let parent = Value::text(&link.parent);
    let same = match &link.child {
        LinkChild::Unit { unit, .. } => sql.rows(
            &format!(
                "SELECT {LINK_COLUMNS} FROM links
                 WHERE parent = ?1 AND removed_at IS NULL AND child_unit = ?2"
            ),
            &[parent.clone(), Value::text(unit)],
        )?,
        LinkChild::Lot { part, lot } => sql.rows(
            &format!(
                "SELECT {LINK_COLUMNS} FROM links WHERE parent = ?1 AND removed_at IS NULL
                 AND child_unit IS NULL AND part = ?2 AND lot = ?3"
            ),
            &[parent.clone(), Value::text(part), Value::text(lot)],
        )?,
    };
    if let Some(r) = same.first() {
        return Ok(LinkOutcome::Existing(link_from(r)?));
    }
    if let LinkChild::Unit { unit, .. } = &link.child {
        let candidates = HashSet::from([unit.as_str()]);
        if is_ancestor_or_self(sql, &link.parent, &candidates)?.is_some() {
            return Ok(LinkOutcome::Cycle);
        }
    }
    if let Some(old) = link.replace {
        match link_by_id(sql, old)? {
            Some(l) if l.parent == link.parent && l.removed_at.is_none() => {}
            _ => return Ok(LinkOutcome::BadReplace),
        }
    }
    let active = first_int(&sql.rows(
        "SELECT COUNT(*) FROM links WHERE parent = ?1 AND removed_at IS NULL",
        std::slice::from_ref(&parent),
    )?)?
    .map_or(0, to_u64);
    let after = active.saturating_sub(u64::from(link.replace.is_some()));
    if after >= MAX_ACTIVE_LINKS_PER_PARENT {
        return Ok(LinkOutcome::TooMany);
    }
    let (unit, text, part, lot) = match &link.child {
        LinkChild::Unit {
            unit,
            text,
            part,
            lot,
        } => (
            Some(unit.as_str()),
            Some(text.as_str()),
            part.as_deref(),
            lot.as_deref(),
        ),
        LinkChild::Lot { part, lot } => (None, None, Some(part.as_str()), Some(lot.as_str())),
    };
    let id = first_int(&sql.rows(
        "INSERT INTO links (parent, child_unit, child_text, part, lot, process, at, recorded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        &[
            parent,
            Value::opt_text(unit),
            Value::opt_text(text),
            Value::opt_text(part),
            Value::opt_text(lot),
            Value::opt_text(link.process.as_deref()),
            Value::int(to_i64(link.at)),
            Value::int(to_i64(now)),
        ],
    )?)?
    .ok_or_else(|| corrupt("links", "id"))?;
    if let Some(old) = link.replace {
        sql.exec(
            "UPDATE links SET removed_at = ?2, replaced_by = ?3 WHERE id = ?1",
            &[
                Value::int(to_i64(old)),
                Value::int(to_i64(link.at)),
                Value::int(id),
            ],
        )?;
    }
    let target = format!(
        "{} <- {}",
        link.parent,
        unit.map_or_else(
            || format!("{}/{}", part.unwrap_or(""), lot.unwrap_or("")),
            str::to_owned
        )
    );
    audit(sql, token, "link", &target, now)?;
    let stored = link_by_id(sql, to_u64(id))?.ok_or_else(|| corrupt("links", "id"))?;
    Ok(LinkOutcome::Created(stored))
}

/// Ends an active link at `at` (never deletes it). `None` if there is no
/// such link; an already removed link is returned unchanged.
pub fn remove_link(
    sql: &mut dyn Sql,
    id: u64,
    at: u64,
    token: &str,
    now: u64,
) -> Result<Option<Link>, StorageError> {
    let changed = sql.exec(
        "UPDATE links SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
        &[Value::int(to_i64(id)), Value::int(to_i64(at))],
    )?;
    if changed > 0 {
        audit(sql, token, "unlink", &id.to_string(), now)?;
    }
    link_by_id(sql, id)
}

/// Every link of `parent` (active and removed), oldest first, at most `limit`.
pub fn links_of(sql: &mut dyn Sql, parent: &str, limit: u32) -> Result<Vec<Link>, StorageError> {
    sql.rows(
        &format!("SELECT {LINK_COLUMNS} FROM links WHERE parent = ?1 ORDER BY id LIMIT ?2"),
        &[Value::text(parent), Value::int(i64::from(limit))],
    )?
    .iter()
    .map(|r| link_from(r))
    .collect()
}

/// The forward-trace query on links (indexed by `links_lot`).
pub const TRACE_LINKS_SQL: &str = "SELECT id, parent, child_unit, at, removed_at FROM links
     WHERE part = ?1 AND lot = ?2 AND id > ?3 ORDER BY id LIMIT ?4";

/// The forward-trace query on aggregation children (indexed by
/// `aggregation_children_lot`).
pub const TRACE_AGGREGATIONS_SQL: &str = "SELECT a.id, c.position, a.parent, c.unit, a.time
     FROM aggregation_children c JOIN aggregations a ON a.id = c.aggregation
     WHERE c.part = ?1 AND c.lot = ?2
       AND (c.aggregation > ?3 OR (c.aggregation = ?3 AND c.position > ?4))
     ORDER BY c.aggregation, c.position LIMIT ?5";

/// A trace cursor: links first (`L<id>`), then aggregation children
/// (`A<id>.<position>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceCursor {
    /// After this link id.
    Link(u64),
    /// After this aggregation child.
    Aggregation(u64, u64),
}

impl TraceCursor {
    /// Reads `L<id>` or `A<id>.<position>`.
    pub fn parse(s: &str) -> Option<TraceCursor> {
        if let Some(rest) = s.strip_prefix('L') {
            return rest.parse().ok().map(TraceCursor::Link);
        }
        let rest = s.strip_prefix('A')?;
        let (a, p) = rest.split_once('.')?;
        Some(TraceCursor::Aggregation(a.parse().ok()?, p.parse().ok()?))
    }
}

/// The parents holding a lot of a part, after `after`, at most `limit`.
pub fn trace(
    sql: &mut dyn Sql,
    part: &str,
    lot: &str,
    after: Option<TraceCursor>,
    limit: u32,
) -> Result<Vec<TraceEntry>, StorageError> {
    let mut out = Vec::new();
    let link_after = match after {
        None => Some(0),
        Some(TraceCursor::Link(id)) => Some(id),
        Some(TraceCursor::Aggregation(..)) => None,
    };
    if let Some(after_id) = link_after {
        for r in &sql.rows(
            TRACE_LINKS_SQL,
            &[
                Value::text(part),
                Value::text(lot),
                Value::int(to_i64(after_id)),
                Value::int(i64::from(limit)),
            ],
        )? {
            let r = Row(r, "links", "graph");
            let id = to_u64(r.int(0)?);
            let removed_at = r.opt_int(4)?.map(to_u64);
            out.push(TraceEntry {
                cursor: format!("L{id}"),
                parent: r.text(1)?,
                via: "link".into(),
                id,
                child_unit: r.opt_text(2)?,
                at: to_u64(r.int(3)?),
                removed_at,
                active: removed_at.is_none(),
            });
        }
    }
    let left = u64::from(limit).saturating_sub(out.len() as u64);
    if left == 0 {
        return Ok(out);
    }
    let (agg, pos) = match after {
        Some(TraceCursor::Aggregation(a, p)) => (to_i64(a), to_i64(p)),
        _ => (0, -1),
    };
    for r in &sql.rows(
        TRACE_AGGREGATIONS_SQL,
        &[
            Value::text(part),
            Value::text(lot),
            Value::int(agg),
            Value::int(pos),
            Value::int(i64::try_from(left).unwrap_or(i64::MAX)),
        ],
    )? {
        let r = Row(r, "aggregations", "graph");
        let id = to_u64(r.int(0)?);
        let position = r.int(1)?;
        out.push(TraceEntry {
            cursor: format!("A{id}.{position}"),
            parent: r.text(2)?,
            via: "aggregation".into(),
            id,
            child_unit: r.opt_text(3)?,
            at: to_u64(r.int(4)?),
            removed_at: None,
            active: true,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// EPCIS records

/// Reads a unit identity text back as an EPCIS id.
pub fn epcis_id(unit: &str) -> Option<hallmark_epcis::Id> {
    let (kind, rest) = unit.split_once(':')?;
    match kind {
        "code" => {
            let (kid, serial) = rest.split_once(':')?;
            Some(hallmark_epcis::Id::Code {
                kid: kid.to_ascii_lowercase(),
                serial: serial.parse().ok()?,
            })
        }
        "gs1" => {
            let (gtin, serial) = rest.split_once(':')?;
            Some(hallmark_epcis::Id::Gs1 {
                gtin: gtin.to_owned(),
                serial: serial.to_owned(),
            })
        }
        "sscc" => Some(hallmark_epcis::Id::Sscc(rest.to_owned())),
        _ => None,
    }
}

/// Everything an EPCIS export holds from `since` (seconds) on: batches
/// registered, aggregations recorded, links made or removed, status changes.
pub fn epcis_records(
    sql: &mut dyn Sql,
    since: u64,
) -> Result<hallmark_epcis::ExportInput, StorageError> {
    use crate::storage::serial_from_sql;
    use hallmark_epcis::{
        AggregationRecord, BatchRecord, ExportInput, Id, LinkRecord, StatusRecord,
    };
    let since_v = Value::int(to_i64(since));
    let mut input = ExportInput::default();
    for r in &sql.rows(
        "SELECT kid, part, lot, start, last, registered FROM batches
         WHERE registered >= ?1 ORDER BY registered, kid, start",
        std::slice::from_ref(&since_v),
    )? {
        let r = Row(r, "batches", "graph");
        let start = serial_from_sql(r.int(3)?);
        let last = serial_from_sql(r.int(4)?);
        input.batches.push(BatchRecord {
            time: to_u64(r.int(5)?),
            kid: hex::encode(r.opt_blob(0)?.unwrap_or_default()),
            part: r.text(1)?,
            lot: r.text(2)?,
            gtin: None,
            count: last.saturating_sub(start).saturating_add(1),
        });
    }
    let aggs = sql.rows(
        "SELECT id, digest, parent, time, bizstep, location FROM aggregations
         WHERE time >= ?1 ORDER BY time, id",
        std::slice::from_ref(&since_v),
    )?;
    for r in &aggs {
        let r = Row(r, "aggregations", "graph");
        let parent = r.text(2)?;
        let Some(parent_id) = epcis_id(&parent) else {
            continue;
        };
        let mut children = Vec::new();
        for c in &sql.rows(
            "SELECT c.unit, n.parent FROM aggregation_children c
             LEFT JOIN aggregations n ON n.digest = c.nested
             WHERE c.aggregation = ?1 ORDER BY c.position",
            &[Value::int(r.int(0)?)],
        )? {
            let c = Row(c, "aggregation_children", "graph");
            if let Some(id) = c
                .opt_text(0)?
                .or(c.opt_text(1)?)
                .as_deref()
                .and_then(epcis_id)
            {
                children.push(id);
            }
        }
        input.aggregations.push(AggregationRecord {
            time: to_u64(r.int(3)?),
            bizstep: r.text(4)?,
            parent: parent_id,
            children,
            location: r.opt_text(5)?,
            digest: hex::encode(r.digest(1)?.unwrap_or_default()),
        });
    }
    for r in &sql.rows(
        &format!("SELECT {LINK_COLUMNS} FROM links WHERE at >= ?1 OR removed_at >= ?1 ORDER BY id"),
        std::slice::from_ref(&since_v),
    )? {
        let l = link_from(r)?;
        let Some(parent) = epcis_id(&l.parent) else {
            continue;
        };
        let child = match (&l.child_unit, &l.part, &l.lot) {
            (Some(u), ..) => epcis_id(u),
            (None, Some(part), Some(lot)) => Some(Id::Lot {
                part: part.clone(),
                lot: lot.clone(),
            }),
            _ => None,
        };
        let Some(child) = child else { continue };
        input.links.push(LinkRecord {
            parent,
            child,
            process: l.process,
            at: l.at,
            removed_at: l.removed_at,
        });
    }
    for r in &sql.rows(
        "SELECT s.kid, s.kind, s.target, s.action, s.reason, s.time,
                (SELECT MIN(b.part) FROM batches b WHERE b.kid = s.kid AND b.lot = s.target)
         FROM status_changes s WHERE s.time >= ?1 ORDER BY s.id",
        &[since_v],
    )? {
        let r = Row(r, "status_changes", "graph");
        let kid = hex::encode(r.opt_blob(0)?.unwrap_or_default());
        let target = r.text(2)?;
        let id = match r.text(1)?.as_str() {
            "serial" => target.parse().ok().map(|serial| Id::Code { kid, serial }),
            "lot" => r.opt_text(6)?.map(|part| Id::Lot { part, lot: target }),
            // Ranges, keys and compromises name no one EPCIS identifier.
            _ => None,
        };
        let Some(id) = id else { continue };
        input.status_changes.push(StatusRecord {
            id,
            action: r.text(3)?,
            reason: r.opt_text(4)?,
            time: to_u64(r.int(5)?),
        });
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_cursors_read_back() {
        assert_eq!(TraceCursor::parse("L12"), Some(TraceCursor::Link(12)));
        assert_eq!(
            TraceCursor::parse("A3.4"),
            Some(TraceCursor::Aggregation(3, 4))
        );
        assert_eq!(TraceCursor::parse("x"), None);
        assert_eq!(TraceCursor::parse("A3"), None);
    }

    #[test]
    fn unit_texts_become_epcis_ids() {
        assert_eq!(
            epcis_id("code:8608B1B7:42"),
            Some(hallmark_epcis::Id::Code {
                kid: "8608b1b7".into(),
                serial: 42
            })
        );
        assert_eq!(
            epcis_id("sscc:106141411234567897"),
            Some(hallmark_epcis::Id::Sscc("106141411234567897".into()))
        );
        assert_eq!(epcis_id("nope"), None);
    }
}
