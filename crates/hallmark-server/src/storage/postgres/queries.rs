//! The PostgreSQL backend's queries: the [`Storage`] methods.

use hallmark::{BatchManifest, KeyId, Payload, Reason, Revocation};
use postgres::{IsolationLevel, Row};

use super::{PostgresStorage, db};
use crate::storage::graph::Value as GraphValue;
use crate::storage::rows::{
    ManifestRow, REGISTERED_OPAQUE_QUERY, REGISTERED_SEQUENTIAL_QUERY, RawStatus,
    SCAN_CODES_UPSERT, SCAN_LOCATIONS_BOUND, SCAN_LOCATIONS_UPSERT, STATUS_COLUMNS, STATUS_QUERY,
    SUMMARY_QUERY, TokenRow, batches_target, check_max_count, count_to_sql, find_token,
    manifest_counts, manifest_from, registered_serials, state_of, summary_from, target_columns,
    to_i64, to_u64, token_info,
};
use crate::storage::{
    AuditEntry, MAX_LOCATIONS_PER_CODE, Registration, RegistryContents, Scan, ScanSummary, Status,
    StatusChange, Storage, StorageError, TokenInfo, TokenScope, serial_to_sql,
};

static SCAN_CODES_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| SCAN_CODES_UPSERT.replace("{max}", "GREATEST"));
static SCAN_LOCATIONS_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| SCAN_LOCATIONS_UPSERT.replace("{max}", "GREATEST"));
static SCAN_BOUND_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| SCAN_LOCATIONS_BOUND.replace("{all}", ""));
/// `query_opt` refuses a second row: the first is the status.
static STATUS_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{STATUS_QUERY}\n    LIMIT 1"));
fn status_row(row: &Row) -> Result<RawStatus, StorageError> {
    Ok(RawStatus {
        kid: row.try_get(0).map_err(db)?,
        kind: row.try_get(1).map_err(db)?,
        first: row.try_get(2).map_err(db)?,
        last: row.try_get(3).map_err(db)?,
        lot: row.try_get(4).map_err(db)?,
        key_from: row.try_get(5).map_err(db)?,
        reason: row.try_get(6).map_err(db)?,
        date: row.try_get(7).map_err(db)?,
        time: row.try_get(8).map_err(db)?,
    })
}

fn token_row(row: &Row) -> Result<TokenRow, StorageError> {
    Ok((
        row.try_get(0).map_err(db)?,
        row.try_get(1).map_err(db)?,
        row.try_get(2).map_err(db)?,
        row.try_get(3).map_err(db)?,
    ))
}
fn audit(
    tx: &mut postgres::Transaction<'_>,
    token: &str,
    action: &str,
    target: &str,
    now: u64,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO audit (token, action, target, time) VALUES ($1, $2, $3, $4)",
        &[&token, &action, &target, &to_i64(now)],
    )
    .map_err(db)?;
    Ok(())
}

fn summary(
    conn: &mut impl postgres::GenericClient,
    kid: KeyId,
    serial: u64,
    window_start: u64,
) -> Result<ScanSummary, StorageError> {
    let kid = kid.to_bytes();
    let kid = &kid[..];
    let serial = serial_to_sql(serial);
    let row = conn
        .query_opt(SUMMARY_QUERY, &[&kid, &serial, &to_i64(window_start)])
        .map_err(db)?;
    let row = match row {
        None => None,
        Some(r) => Some((
            r.try_get(0).map_err(db)?,
            r.try_get(1).map_err(db)?,
            r.try_get(2).map_err(db)?,
            r.try_get(3).map_err(db)?,
            r.try_get(4).map_err(db)?,
        )),
    };
    Ok(summary_from(row))
}

/// The advisory lock key of a key's registrations (with the kid in its low
/// 32 bits): "hm-reg" in ASCII in the high bits.
const REGISTRY_LOCK: i64 = 0x686d_2d72_6567_0000_u64 as i64;

/// The sequence and every stored revocation, in the transaction `tx`.
fn read_revocations(
    tx: &mut postgres::Transaction<'_>,
) -> Result<(u64, Vec<Revocation>), StorageError> {
    let seq: i64 = tx
        .query_one(
            "SELECT value FROM counters WHERE name = 'revocation_sequence'",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db)?;
    let rows = tx
        .query(
            format!("SELECT {STATUS_COLUMNS} FROM statuses ORDER BY seq").as_str(),
            &[],
        )
        .map_err(db)?;
    let list = rows
        .iter()
        .map(|r| status_row(r)?.parse().map(|s| s.revocation))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((to_u64(seq), list))
}

/// The advisory lock graph writes hold ("hmgraph!" in ASCII).
const GRAPH_LOCK: i64 = 0x686d_6772_6170_6821;

/// A PostgreSQL transaction as the graph queries' [`Sql`](crate::storage::graph::Sql).
struct PostgresSql<'a, 'b>(&'a mut postgres::Transaction<'b>);

fn pg_params(params: &[GraphValue]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn postgres::types::ToSql + Sync) {
            match p {
                GraphValue::Int(v) => v,
                GraphValue::Text(v) => v,
                GraphValue::Blob(v) => v,
            }
        })
        .collect()
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<GraphValue, postgres::Error> {
    use postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    Ok(match ty {
        Some(Type::INT8) => GraphValue::Int(row.try_get(i)?),
        Some(Type::INT4) => GraphValue::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from)),
        Some(Type::BYTEA) => GraphValue::Blob(row.try_get(i)?),
        _ => GraphValue::Text(row.try_get(i)?),
    })
}

impl crate::storage::graph::Sql for PostgresSql<'_, '_> {
    fn rows(
        &mut self,
        sql: &str,
        params: &[GraphValue],
    ) -> Result<Vec<Vec<GraphValue>>, StorageError> {
        let sql = sql.replace('?', "$");
        let rows = self.0.query(&sql, &pg_params(params)).map_err(db)?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| pg_value(r, i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)
    }

    fn exec(&mut self, sql: &str, params: &[GraphValue]) -> Result<u64, StorageError> {
        let sql = sql.replace('?', "$");
        self.0.execute(&sql, &pg_params(params)).map_err(db)
    }
}

impl Storage for PostgresStorage {
    fn graph(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn crate::storage::graph::Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        if write {
            // Graph writes wait for each other (the lock is held to the
            // commit): cycle checks and per-parent limits see every write
            // committed before.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&GRAPH_LOCK])
                .map_err(db)?;
        } else {
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .map_err(db)?;
        }
        f(&mut PostgresSql(&mut tx))?;
        tx.commit().map_err(db)
    }
    fn status(&self, kid: KeyId, payload: &Payload) -> Result<Option<Status>, StorageError> {
        let mut conn = self.conn()?;
        let kid_bytes = kid.to_bytes();
        let kid_sql = &kid_bytes[..];
        let date = i64::from(payload.date().days());
        let serial = serial_to_sql(payload.serial());
        let lot = payload.lot();
        conn.query_opt(
            STATUS_SQL.as_str(),
            &[
                &kid_sql,
                &date,
                &serial,
                &lot,
                &payload.serial().to_string(),
                &payload.part(),
                &payload.expiry().map(|e| i64::from(e.days())),
                &payload.expiry().is_none(),
            ],
        )
        .map_err(db)?
        .map(|row| status_row(&row)?.parse())
        .transpose()
    }

    fn change_status(
        &self,
        change: &StatusChange,
        token: &str,
        now: u64,
    ) -> Result<u64, StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        // The row lock on the counter serialises status changes across replicas.
        let seq: i64 = tx
            .query_one(
                "UPDATE counters SET value = GREATEST(value + 1, $1)
                 WHERE name = 'revocation_sequence' RETURNING value",
                &[&to_i64(now)],
            )
            .and_then(|r| r.try_get(0))
            .map_err(db)?;
        let kid = change.kid.to_bytes();
        let kid = &kid[..];
        let (kind, target, first, last, lot, key_from) = target_columns(&change.scope);
        let date = i64::from(change.date.days());
        let now_sql = to_i64(now);
        let reason = change.action.reason();
        tx.execute(
            "INSERT INTO status_changes (kid, kind, target, action, reason, date, time, token, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &kid,
                &kind,
                &target,
                &change.action.as_str(),
                &reason.map(Reason::as_str),
                &date,
                &now_sql,
                &token,
                &seq,
            ],
        )
        .map_err(db)?;
        match reason {
            None => {
                tx.execute(
                    "DELETE FROM statuses WHERE kid = $1 AND kind = $2 AND target = $3",
                    &[&kid, &kind, &target],
                )
                .map_err(db)?;
            }
            Some(reason) => {
                tx.execute(
                    "INSERT INTO statuses
                     (kid, kind, target, first, last, lot, key_from, state, reason, date, time, seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (kid, kind, target) DO UPDATE SET
                       first = EXCLUDED.first, last = EXCLUDED.last, lot = EXCLUDED.lot,
                       key_from = EXCLUDED.key_from, state = EXCLUDED.state,
                       reason = EXCLUDED.reason, date = EXCLUDED.date,
                       time = EXCLUDED.time, seq = EXCLUDED.seq",
                    &[
                        &kid,
                        &kind,
                        &target,
                        &first,
                        &last,
                        &lot,
                        &key_from,
                        &state_of(reason),
                        &reason.as_str(),
                        &date,
                        &now_sql,
                        &seq,
                    ],
                )
                .map_err(db)?;
            }
        }
        audit(
            &mut tx,
            token,
            change.action.as_str(),
            &change.target(),
            now,
        )?;
        tx.commit().map_err(db)?;
        Ok(to_u64(seq))
    }

    fn check_writable(&self, now: u64) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ('ready_probe', $1)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[&to_i64(now)],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn sequence(&self) -> Result<u64, StorageError> {
        self.conn()?
            .query_one(
                "SELECT value FROM counters WHERE name = 'revocation_sequence'",
                &[],
            )
            .and_then(|r| r.try_get::<_, i64>(0))
            .map(to_u64)
            .map_err(db)
    }

    fn revocations(&self) -> Result<(u64, Vec<Revocation>), StorageError> {
        let mut conn = self.conn()?;
        // One snapshot of the database: the list and the sequence agree.
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?;
        let out = read_revocations(&mut tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn record_scan(
        &self,
        scan: &Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError> {
        let summary = {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(db)?;
            let kid = scan.kid.to_bytes();
            let kid = &kid[..];
            let serial = serial_to_sql(scan.serial);
            let time = to_i64(scan.time);
            tx.execute(SCAN_CODES_SQL.as_str(), &[&kid, &serial, &time])
                .map_err(db)?;
            if let Some(location) = &scan.location {
                tx.execute(
                    SCAN_LOCATIONS_SQL.as_str(),
                    &[&kid, &serial, &scan.trusted, location, &time, &scan.scanner],
                )
                .map_err(db)?;
                tx.execute(
                    SCAN_BOUND_SQL.as_str(),
                    &[
                        &kid,
                        &serial,
                        &scan.trusted,
                        &to_i64(MAX_LOCATIONS_PER_CODE),
                    ],
                )
                .map_err(db)?;
            }
            let out = summary(&mut tx, scan.kid, scan.serial, window_start)?;
            tx.commit().map_err(db)?;
            out
        };
        if let Some(before) = forget_before
            && self.pruned.claim(scan.time)
            && let Err(e) = self.prune_scans(before)
        {
            // The scan is recorded; pruning is retried an hour later.
            tracing::warn!("pruning old scans failed: {e}");
        }
        Ok(summary)
    }

    fn prune_scans(&self, before: u64) -> Result<u64, StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let before = to_i64(before);
        tx.execute("DELETE FROM scan_locations WHERE last < $1", &[&before])
            .map_err(db)?;
        let codes = tx
            .execute("DELETE FROM scan_codes WHERE last < $1", &[&before])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(codes)
    }

    fn scan_summary(
        &self,
        kid: KeyId,
        serial: u64,
        window_start: u64,
    ) -> Result<ScanSummary, StorageError> {
        summary(&mut *self.conn()?, kid, serial, window_start)
    }

    fn register_batches(
        &self,
        manifest: &BatchManifest,
        bytes: &[u8],
        max_count: Option<u64>,
        token: &str,
        now: u64,
    ) -> Result<Registration, StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let kid = manifest.kid.to_bytes();
        let kid_sql = &kid[..];
        let before = match max_count {
            None => 0,
            Some(_) => {
                // Registrations of one key wait for each other here (the lock
                // is held to the commit), so under READ COMMITTED the count
                // below includes every registration committed before.
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1)",
                    &[&(REGISTRY_LOCK ^ i64::from(u32::from_be_bytes(kid)))],
                )
                .map_err(db)?;
                let rows = tx
                    .query(
                        "SELECT start, last FROM batches WHERE kid = $1",
                        &[&kid_sql],
                    )
                    .map_err(db)?;
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<(i64, i64)>, postgres::Error>>()
                    .map_err(db)?;
                registered_serials(rows)
            }
        };
        let mut new = 0u64;
        let mut new_serials = 0u64;
        for b in &manifest.batches {
            // The manifest decoder guarantees count >= 1 and no overflow.
            let last = b.start.saturating_add(b.count.saturating_sub(1));
            let inserted = tx
                .execute(
                    "INSERT INTO batches
                     (kid, opaque, start, last, part, lot, date, expiry, minted, issued, registered)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT DO NOTHING",
                    &[
                        &kid_sql,
                        &b.opaque,
                        &serial_to_sql(b.start),
                        &serial_to_sql(last),
                        &b.part,
                        &b.lot,
                        &i64::from(b.date.days()),
                        &b.expiry.map(|e| i64::from(e.days())),
                        &to_i64(b.minted),
                        &to_i64(manifest.issued),
                        &to_i64(now),
                    ],
                )
                .map_err(db)?;
            new += inserted;
            if inserted > 0 {
                new_serials = new_serials.saturating_add(b.count);
            }
        }
        // Dropping `tx` uncommitted rolls every insert back.
        check_max_count(manifest.kid, max_count, before, new_serials)?;
        let digest = hallmark::BatchReceipt::digest(bytes);
        let digest_sql = &digest[..];
        let (batches, serials) = manifest_counts(manifest);
        let stored = tx
            .execute(
                "INSERT INTO manifests (digest, kid, bytes, batches, serials, registered)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &digest_sql,
                    &kid_sql,
                    &bytes,
                    &count_to_sql(batches),
                    &count_to_sql(serials),
                    &to_i64(now),
                ],
            )
            .map_err(db)?;
        if stored > 0 {
            tx.execute(
                "UPDATE counters SET value = GREATEST(value + 1, $1)
                 WHERE name = 'revocation_sequence'",
                &[&to_i64(now)],
            )
            .map_err(db)?;
        }
        let registered: i64 = tx
            .query_one(
                "SELECT registered FROM manifests WHERE digest = $1",
                &[&digest_sql],
            )
            .and_then(|r| r.try_get(0))
            .map_err(db)?;
        audit(
            &mut tx,
            token,
            "register-batches",
            &batches_target(manifest, new),
            now,
        )?;
        tx.commit().map_err(db)?;
        Ok(Registration {
            new,
            registered: to_u64(registered),
        })
    }

    fn registry_contents(&self) -> Result<RegistryContents, StorageError> {
        let mut conn = self.conn()?;
        // One snapshot of the database: sequence, list and manifests agree.
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?;
        let (sequence, revocations) = read_revocations(&mut tx)?;
        let rows = tx
            .query(
                "SELECT kid, bytes, batches, serials, registered FROM manifests
                 ORDER BY registered, digest",
                &[],
            )
            .map_err(db)?;
        tx.commit().map_err(db)?;
        let manifests = rows
            .iter()
            .map(|r| {
                let row: ManifestRow = (
                    r.try_get(0).map_err(db)?,
                    r.try_get(1).map_err(db)?,
                    r.try_get(2).map_err(db)?,
                    r.try_get(3).map_err(db)?,
                    r.try_get(4).map_err(db)?,
                );
                manifest_from(row)
            })
            .collect::<Result<_, _>>()?;
        Ok(RegistryContents {
            sequence,
            revocations,
            manifests,
        })
    }

    fn is_registered(&self, kid: KeyId, payload: &Payload) -> Result<bool, StorageError> {
        let mut conn = self.conn()?;
        let kid = kid.to_bytes();
        let kid = &kid[..];
        let date = i64::from(payload.date().days());
        let (part, lot) = (payload.part(), payload.lot());
        let opaque = payload.serial() >= hallmark::OPAQUE_BIT;
        let serial = serial_to_sql(payload.serial());
        let mut values: Vec<&(dyn postgres::types::ToSql + Sync)> =
            vec![&kid, &opaque, &part, &lot, &date];
        let sql = if opaque {
            REGISTERED_OPAQUE_QUERY
        } else {
            values.push(&serial);
            REGISTERED_SEQUENTIAL_QUERY
        };
        let found = conn.query_opt(sql, &values).map_err(db)?;
        Ok(found.is_some())
    }

    fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        hash: &blake3::Hash,
        now: u64,
    ) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let inserted = tx
            .execute(
                "INSERT INTO tokens (name, scope, hash, created) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &scope.as_str(), &&hash.as_bytes()[..], &to_i64(now)],
            )
            .map_err(db)?;
        if inserted == 0 {
            return Err(StorageError::DuplicateToken(name.to_owned()));
        }
        audit(
            &mut tx,
            "cli",
            "token-create",
            &format!("{name} ({})", scope.as_str()),
            now,
        )?;
        tx.commit().map_err(db)
    }

    fn revoke_token(&self, name: &str, now: u64) -> Result<bool, StorageError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let n = tx
            .execute(
                "UPDATE tokens SET revoked = $2 WHERE name = $1 AND revoked IS NULL",
                &[&name, &to_i64(now)],
            )
            .map_err(db)?;
        if n > 0 {
            audit(&mut tx, "cli", "token-revoke", name, now)?;
        }
        tx.commit().map_err(db)?;
        Ok(n > 0)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        self.conn()?
            .query(
                "SELECT name, scope, created, revoked FROM tokens ORDER BY name",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(|r| token_row(r).and_then(token_info))
            .collect()
    }

    fn authenticate(&self, hash: &blake3::Hash) -> Result<Option<TokenInfo>, StorageError> {
        let rows = self
            .conn()?
            .query(
                "SELECT name, scope, created, revoked, hash FROM tokens WHERE revoked IS NULL",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(|r| Ok((token_row(r)?, r.try_get::<_, Vec<u8>>(4).map_err(db)?)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        find_token(rows, hash)
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        self.conn()?
            .query(
                "SELECT token, action, target, time FROM
                   (SELECT id, token, action, target, time FROM audit ORDER BY id DESC LIMIT $1) a
                 ORDER BY id",
                &[&i64::from(limit)],
            )
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    token: r.try_get(0).map_err(db)?,
                    action: r.try_get(1).map_err(db)?,
                    target: r.try_get(2).map_err(db)?,
                    time: to_u64(r.try_get(3).map_err(db)?),
                })
            })
            .collect()
    }
}
