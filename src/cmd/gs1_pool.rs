//! `hallmark gs1 sign --serials FILE`: GS1 units from an external serial
//! pool. The whole pool is checked, then recorded as used in the pool ledger
//! beside the key's ledger (fsynced) before the first unit is signed; a pool
//! batch is all or nothing: if it fails or is killed, its serials stay
//! consumed and are never signed again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hallmark::gs1::{Gs1Template, Separator, SerialSource};
use hallmark_issuer::End;
use hallmark_issuer::pipeline::{self, Notice};
use hallmark_issuer::pool::{self, PoolRequest, SerialPool};
use rayon::prelude::*;

use crate::cmd::gs1::{Job, MintFiles};
use crate::signer::AnySigner;
use crate::{CliError, EXIT_OK, Result};

pub(crate) fn sign_pool(
    key_file: Option<PathBuf>,
    signer: crate::signer::SignerArgs,
    passphrase: crate::passphrase::Source,
    job: Job,
    pool_file: &Path,
    files: MintFiles,
) -> Result<u8> {
    // The pool first: a bad line refuses everything before a key is opened.
    let pool = SerialPool::read_file(pool_file)?;
    let claims = crate::cmd::claims::Claims::open(
        files.claim_codes.as_deref(),
        files.claim_key.as_deref(),
        true,
    )?;
    let ledger_path = match (&key_file, &files.ledger) {
        (Some(key), ledger) => pipeline::ledger_path(key, ledger.as_deref()),
        (None, Some(ledger)) => ledger.clone(),
        (None, None) => {
            return Err(CliError::new(
                "--signer needs --ledger PATH: the pool ledger is kept beside it",
            ));
        }
    };
    let any = crate::signer::open_either(key_file.as_deref(), &passphrase, &signer)?;
    let key = any.signer();
    if let AnySigner::File(file_key) = &any
        && file_key.is_test_only()
    {
        eprintln!(
            "hallmark: warning: this is a published TEST-ONLY key; units it signs prove nothing"
        );
    }
    let template = Gs1Template::new(&job.data, key.kid(), SerialSource::Pool)?;
    for (i, serial) in pool.serials().iter().enumerate() {
        template.check_serial(serial).map_err(|e| {
            CliError::new(format!(
                "{}: line {}: {e}; nothing was signed",
                pool_file.display(),
                i + 1
            ))
        })?;
    }
    if let Some(path) = &files.trust {
        let trust = crate::cmd::load_trust(path)?;
        hallmark_issuer::check_trust_window(&trust, key.kid(), job.prod_date)
            .map_err(|e| CliError::about(path.display(), e))?;
        crate::cmd::gs1::check_gtin_in_trust(&trust, key.kid(), &job.gtin, path)?;
    }
    if let Some(cert) = &files.cert {
        let args = crate::cmd::mint::Args::for_gs1(
            key_file.clone(),
            signer.clone(),
            passphrase.clone(),
            job.clone(),
            pool.len() as u64,
            false,
            MintFiles {
                claim_codes: None,
                claim_key: None,
                trust: None,
                ledger: files.ledger.clone(),
                cert: None,
                new_ledger: false,
                out: None,
                force: false,
            },
        );
        crate::cmd::mint::check_certificate(cert, &args, key, &ledger_path)?;
    }
    if let Some(dir) = &job.symbol_dir {
        std::fs::create_dir_all(dir).map_err(|e| CliError::about(dir.display(), e))?;
    }
    let mut protected = vec![(ledger_path.as_path(), "the key's ledger")];
    if let Some(k) = &key_file {
        protected.push((k.as_path(), "the key file"));
    }
    let mut sink = crate::cmd::mint::open_sink(files.out.as_deref(), files.force, &protected)?;
    let request = PoolRequest {
        kid: key.kid(),
        gtin: &job.gtin,
        time: crate::cmd::now_secs()?,
    };
    let dir = pool::pool_dir(&ledger_path);
    let mut notice = |n: Notice<'_>| {
        if let Notice::LedgerBusy { ledger } = n {
            eprintln!(
                "hallmark: waiting for another batch to release {}",
                ledger.display()
            );
        }
    };
    let reservation = match pool::reserve_pool(&dir, &request, &pool, &mut notice) {
        Ok(r) => r,
        Err(e) => {
            sink.abandon();
            return Err(CliError::new(format!("{e}; nothing was signed")));
        }
    };
    for interrupted in reservation.interrupted() {
        eprintln!("hallmark: note: {interrupted}");
    }
    let progress = crate::output::progress_bar(
        Some(pool.len() as u64),
        "{spinner} signing [{bar:40}] {pos}/{len} ({per_sec}, ETA {eta})",
    );
    // Recorded as used: from here on a failure consumes the serials.
    let signed: Result<Vec<String>> = pool
        .serials()
        .par_iter()
        .map(|serial| {
            let signature = key.sign(&template.signing_message(serial))?;
            let element = template.element_string(Separator::Gs, serial, &signature);
            if let Some(claims) = &claims {
                claims.add_gs1(&job.gtin, serial)?;
            }
            let line = job.line(serial, &element);
            progress.inc(1);
            line
        })
        .collect();
    progress.finish_and_clear();
    let written = signed.and_then(|lines| {
        sink.write_all(job.header().as_bytes())?;
        lines
            .iter()
            .try_for_each(|l| sink.write_all(l.as_bytes()))?;
        if let Some(dir) = &job.symbol_dir {
            hallmark_state::file::sync_filesystem(dir)?;
        }
        crate::cmd::mint::finish_sink(sink)?;
        if let Some(claims) = claims {
            claims.write()?;
        }
        Ok(lines.len() as u64)
    });
    match written {
        Ok(n) => {
            reservation.close(n, End::Complete)?;
            eprintln!(
                "signed {} with key {} ({}) from pool {}: GTIN {}, every serial recorded in {}",
                hallmark::plural(n, "GS1 unit", "GS1 units"),
                key.name(),
                key.kid(),
                pool_file.display(),
                job.gtin,
                dir.display()
            );
            Ok(EXIT_OK)
        }
        Err(e) => {
            if let Err(close) = reservation.close(0, End::Failed) {
                eprintln!("hallmark: warning: {close}");
            }
            Err(CliError::new(format!(
                "{e}; the pool's {} {} recorded as used and will never be signed again",
                hallmark::plural(pool.len(), "serial", "serials"),
                if pool.len() == 1 { "is" } else { "are" }
            )))
        }
    }
}
