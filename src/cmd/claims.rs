//! `--claim-codes FILE --claim-key KEY` for `hallmark mint` and `hallmark gs1
//! sign`: each unit's warranty claim code, derived from the claim key and the
//! unit's identity (what the server's registration checks), collected while
//! the batch is signed and written once the batch is complete, as a new file
//! of mode 0600 (it is as secret as the claim cards it prints).
//!
//! - hallmark codes: CSV `code,claim`;
//! - GS1 units: CSV `gtin,serial,claim` (AI 01 and AI 21, quoted where the
//!   serial needs it: GS1's character set 82 has commas and quotes).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hallmark::aggregation::UnitId;
use hallmark_issuer::claim::ClaimKey;
use hallmark_state::file as durable;

use crate::{CliError, Result};

/// The claim codes of one batch, until the batch is complete.
pub(crate) struct Claims {
    key: ClaimKey,
    path: PathBuf,
    header: &'static str,
    rows: Mutex<Vec<String>>,
}

impl Claims {
    /// Reads the claim key and checks that `codes` does not exist yet: both
    /// before anything is signed, so that a bad key or an existing file
    /// mints nothing. `None` without `--claim-codes`.
    pub(crate) fn open(
        codes: Option<&Path>,
        key: Option<&Path>,
        gs1: bool,
    ) -> Result<Option<Claims>> {
        let (Some(codes), Some(key)) = (codes, key) else {
            return Ok(None);
        };
        let path = key;
        let key = ClaimKey::read(path)
            .map_err(|e| CliError::context(format!("--claim-key {}", path.display()), e))?;
        if key.is_test_only() {
            eprintln!(
                "hallmark: warning: {} is a published TEST-ONLY claim key; anyone can register \
                 the units it makes claim codes for",
                path.display()
            );
        }
        if codes.exists() {
            return Err(CliError::new(format!(
                "--claim-codes {}: already exists; claim codes are never overwritten \
                 (choose a new file)",
                codes.display()
            )));
        }
        Ok(Some(Claims {
            key,
            path: codes.to_owned(),
            header: if gs1 {
                "gtin,serial,claim\n"
            } else {
                "code,claim\n"
            },
            rows: Mutex::new(Vec::new()),
        }))
    }

    /// Adds the claim code of a hallmark code (text form) just signed.
    pub(crate) fn add_code(&self, code: &str) -> Result<()> {
        let c = hallmark::UnverifiedCode::decode(code)
            .map_err(|e| CliError::new(format!("claim code of a code just signed: {e}")))?;
        let unit = UnitId::Code {
            kid: c.kid(),
            serial: c.payload().serial(),
        };
        self.push(format!("{code},{}\n", self.claim(&unit)))
    }

    /// Adds the claim code of the GS1 unit whose element string (GS
    /// separators, no leading FNC1) was just signed.
    pub(crate) fn add_gs1_element(&self, element: &str) -> Result<()> {
        let data = hallmark::gs1::Gs1Data::parse(&format!("]d2{element}"))
            .map_err(|e| CliError::new(format!("claim code of a unit just signed: {e}")))?;
        match (data.get("01"), data.get("21")) {
            (Some(gtin), Some(serial)) => self.add_gs1(gtin, serial),
            _ => Err(CliError::new(
                "claim code of a unit just signed: it has no GTIN (01) or serial (21)",
            )),
        }
    }

    /// Adds the claim code of the GS1 unit `gtin` (14 digits) + `serial`
    /// (AI 21).
    pub(crate) fn add_gs1(&self, gtin: &str, serial: &str) -> Result<()> {
        let unit = UnitId::Gs1 {
            gtin: gtin.to_owned(),
            serial: serial.to_owned(),
        };
        let claim = self.claim(&unit);
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record([gtin, serial, claim.as_str()])
            .map_err(|e| CliError::new(e.to_string()))?;
        let bytes = w.into_inner().map_err(|e| CliError::new(e.to_string()))?;
        self.push(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn claim(&self, unit: &UnitId) -> String {
        self.key.claim_code(&unit.to_string()).to_text()
    }

    fn push(&self, row: String) -> Result<()> {
        self.rows
            .lock()
            .map_err(|_| CliError::new("claim codes: a signing thread failed"))?
            .push(row);
        Ok(())
    }

    /// Writes the file (new, mode 0600, fsynced), its rows sorted (signing
    /// threads add them in any order).
    pub(crate) fn write(self) -> Result<()> {
        let mut rows = self
            .rows
            .into_inner()
            .map_err(|_| CliError::new("claim codes: a signing thread failed"))?;
        rows.sort_unstable();
        let mut text = String::from(self.header);
        text.extend(rows.iter().map(String::as_str));
        durable::create(&self.path, text.as_bytes(), durable::MODE_SECRET)
            .map_err(|e| CliError::context(format!("--claim-codes {}", self.path.display()), e))?;
        Ok(())
    }
}
