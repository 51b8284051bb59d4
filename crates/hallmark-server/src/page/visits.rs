//! Which page visits count as checks: one per client and unit per hour, so
//! a visitor reloading the page does not inflate the count. Kept in memory
//! only, under a random per-process key: the service stores no address,
//! cookie or fingerprint of a visitor (a check is stored as a scan with its
//! time, and no location).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::storage::{Scan, ScanSummary, Storage, StorageError};

/// A visit counts again after this many seconds.
pub(crate) const VISIT_WINDOW: u64 = 3600;

/// Most (client, unit) pairs remembered; past it, old ones are forgotten,
/// and if all are recent, visits count (counting more is the safe side).
const MAX_REMEMBERED: usize = 200_000;

pub(crate) struct Visits {
    key: [u8; 32],
    seen: Mutex<HashMap<[u8; 16], u64>>,
    /// Writes the checks that count, in batches.
    pub(crate) writer: VisitWriter,
}

impl Default for Visits {
    fn default() -> Visits {
        let mut key = [0u8; 32];
        // Without randomness the key is fixed: the set still works, only its
        // entries are predictable (they are never stored or shown).
        let _ = getrandom::fill(&mut key);
        Visits {
            key,
            seen: Mutex::new(HashMap::new()),
            writer: VisitWriter::default(),
        }
    }
}

impl Visits {
    /// Whether a visit of `unit` by `client` at `now` counts as a check
    /// (and, if so, remembers it). Visits without a client address
    /// (in-process tests) always count.
    pub(crate) fn counts(&self, client: Option<IpAddr>, unit: &str, now: u64) -> bool {
        let Some(client) = client else { return true };
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(crate::client::client_key(client).to_string().as_bytes());
        h.update(b"\0");
        h.update(unit.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if let Some(at) = seen.get(&id)
            && now.saturating_sub(*at) < VISIT_WINDOW
        {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, at| now.saturating_sub(*at) < VISIT_WINDOW);
            if seen.len() >= MAX_REMEMBERED {
                return true;
            }
        }
        seen.insert(id, now);
        true
    }
}

/// Group commit of the checks that page visits record: a visit's scan is
/// queued to one writer task, which commits whatever is queued in one
/// transaction (one durable commit per batch instead of one per visit) and
/// answers each visit with its summary. A visit's page is answered only
/// after its batch is committed. The task starts with the first visit, on
/// that runtime (again if that runtime is gone), and ends when the service
/// is dropped.
#[derive(Default)]
pub(crate) struct VisitWriter {
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

/// Most visits committed in one transaction.
const MAX_BATCH: usize = 256;

struct Pending {
    scan: Scan,
    window_start: u64,
    forget_before: Option<u64>,
    reply: oneshot::Sender<Result<ScanSummary, StorageError>>,
}

impl VisitWriter {
    /// Records `scan` (with its window start), committed with whatever other
    /// visits are waiting; its summary including it.
    pub(crate) async fn record(
        &self,
        storage: &Arc<dyn Storage>,
        scan: Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError> {
        let queue = {
            let mut queue = self.queue.lock().map_err(|_| stopped())?;
            match &*queue {
                Some(tx) if !tx.is_closed() => tx.clone(),
                // First use, or the runtime the task ran on is gone: a new
                // task on this one.
                _ => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(write_visits(Arc::clone(storage), rx));
                    *queue = Some(tx.clone());
                    tx
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        queue
            .send(Pending {
                scan,
                window_start,
                forget_before,
                reply,
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer task: takes what is queued (at most [`MAX_BATCH`]), commits
/// it off the async threads, answers, and again.
async fn write_visits(storage: Arc<dyn Storage>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let storage = Arc::clone(&storage);
        let scans: Vec<(Scan, u64)> = batch
            .iter()
            .map(|p| (p.scan.clone(), p.window_start))
            .collect();
        let forget_before = batch.last().and_then(|p| p.forget_before);
        let n = batch.len();
        let results =
            tokio::task::spawn_blocking(move || storage.record_scans(&scans, forget_before)).await;
        let results: Vec<Result<ScanSummary, StorageError>> = match results {
            Ok(Ok(summaries)) if summaries.len() == n => summaries.into_iter().map(Ok).collect(),
            Ok(Ok(summaries)) => failed(
                n,
                None,
                &format!("{} summaries for {n} scans", summaries.len()),
            ),
            Ok(Err(e)) => {
                let message = e.to_string();
                failed(n, Some(e), &message)
            }
            Err(e) => failed(n, None, &format!("the visit writer failed: {e}")),
        };
        for (p, result) in batch.into_iter().zip(results) {
            // A visitor who went away does not need the answer.
            let _ = p.reply.send(result);
        }
    }
}

/// `n` errors for a failed batch: the batch's own error for the first, its
/// text for the others.
fn failed(
    n: usize,
    first: Option<StorageError>,
    message: &str,
) -> Vec<Result<ScanSummary, StorageError>> {
    let mut out = Vec::with_capacity(n);
    out.extend(first.map(Err));
    while out.len() < n {
        out.push(Err(StorageError::Batch {
            message: message.to_owned(),
        }));
    }
    out
}

fn stopped() -> StorageError {
    StorageError::Batch {
        message: "the visit writer has stopped".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_visits_are_each_recorded_once_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn Storage> =
            Arc::new(crate::SqliteStorage::open(&dir.path().join("v.db")).unwrap());
        let writer = Arc::new(VisitWriter::default());
        let kid = hallmark::KeyId::from_bytes([7; 4]);
        let scan = move |serial: u64, time: u64| Scan {
            trusted: false,
            kid,
            serial,
            time,
            location: None,
            scanner: None,
        };
        // 64 tasks, 8 visits each of one shared code and one of their own:
        // the shared code's counts are 1..=512, each exactly once.
        let tasks: Vec<_> = (0..64u64)
            .map(|t| {
                let (writer, storage) = (Arc::clone(&writer), Arc::clone(&storage));
                tokio::spawn(async move {
                    let mut counts = Vec::new();
                    for i in 0..8u64 {
                        writer
                            .record(&storage, scan(1000 + t, 100 + i), 0, None)
                            .await
                            .unwrap();
                        let s = writer.record(&storage, scan(1, 100 + i), 0, None).await;
                        counts.push(s.unwrap().count);
                    }
                    counts
                })
            })
            .collect();
        let mut counts = Vec::new();
        for t in tasks {
            counts.extend(t.await.unwrap());
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=512).collect::<Vec<u64>>());
        assert_eq!(storage.scan_summary(kid, 1, 0).unwrap().count, 512);
        for t in 0..64 {
            assert_eq!(storage.scan_summary(kid, 1000 + t, 0).unwrap().count, 8);
        }
    }

    #[test]
    fn a_reload_within_the_hour_does_not_count_again() {
        let v = Visits::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(v.counts(Some(a), "code:1:1", 1000));
        assert!(!v.counts(Some(a), "code:1:1", 1000 + VISIT_WINDOW - 1));
        assert!(v.counts(Some(b), "code:1:1", 1001));
        assert!(v.counts(Some(a), "code:1:2", 1002));
        assert!(v.counts(Some(a), "code:1:1", 1000 + VISIT_WINDOW));
        assert!(v.counts(None, "code:1:1", 1000));
    }
}
