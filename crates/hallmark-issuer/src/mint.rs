//! Minting: signing payloads into codes, one at a time or fast in bulk.

use hallmark::{Payload, PayloadTemplate};

use crate::error::Error;
use crate::ledger::Emission;
use crate::serials::{OPAQUE_BIT, OpaquePermutation, SerialMode};
use crate::signer::Signer;

/// Signs one payload with `key` (any [`Signer`]) and returns the code's canonical text.
///
/// ```
/// # use hallmark_issuer::{SecretKey, mint};
/// # use hallmark::{Payload, TrustStore, TrustedKey};
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let payload = Payload::new(42, "DRN-2980", "L1", "2024-01-31".parse()?)?;
/// let code = mint(&key, &payload)?;
///
/// let mut trust = TrustStore::new();
/// trust.add(TrustedKey::new("doc", key.public_key(), None, None)?)?;
/// assert_eq!(trust.verify_signature_only(&code)?.payload().serial(), 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mint<S: Signer + ?Sized>(key: &S, payload: &Payload) -> Result<String, Error> {
    crate::signer::sign_code(key, payload)
}

/// Mints many codes that differ only in their serial, without re-encoding the
/// payload each time (through a [`PayloadTemplate`]).
///
/// `Minter` is `Sync`: share it across threads to sign on all cores. It signs
/// through any [`Signer`]: a key file's [`SecretKey`](crate::SecretKey) or a key in an HSM.
/// Opaque serials need a signer that can derive the permutation (a key file):
/// with another, [`Minter::new`] refuses [`SerialMode::Opaque`]
/// ([`Error::OpaqueNeedsSeed`]).
///
/// ```
/// # use hallmark_issuer::{Minter, SecretKey, SerialMode, mint};
/// # use hallmark::Payload;
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let template = Payload::new(0, "DRN-2980", "L1", "2024-01-31".parse()?)?;
/// let minter = Minter::new(&key, &template, SerialMode::Sequential)?;
/// let (serial, code) = minter.mint(5)?;
/// assert_eq!(code, mint(&key, &Payload::new(serial, "DRN-2980", "L1", "2024-01-31".parse()?)?)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Minter<'k> {
    key: &'k dyn Signer,
    serials: Serials,
    template: Template,
}

/// What a [`Minter`] signs: v1 codes, or GS1 units (docs/FORMAT.md §21).
enum Template {
    Code(PayloadTemplate),
    Gs1(hallmark::gs1::Gs1Template),
}

/// How a [`Minter`] turns counters into serials.
enum Serials {
    Sequential,
    Opaque(OpaquePermutation),
    /// Batch mode before [`Minter::with_batch`]: no serial yet.
    UnboundBatch(OpaquePermutation),
    /// Batch mode for batch `number`, whose ledger counters start at `start`.
    Batch {
        number: u32,
        start: u64,
        permutation: hallmark::BatchPermutation,
    },
}

impl Serials {
    fn new(key: &dyn Signer, mode: SerialMode) -> Result<Serials, Error> {
        let permutation = || {
            key.opaque_permutation()
                .ok_or_else(|| Error::OpaqueNeedsSeed {
                    signer: key.name().to_owned(),
                })
        };
        Ok(match mode {
            SerialMode::Sequential => Serials::Sequential,
            SerialMode::Opaque => Serials::Opaque(permutation()?),
            SerialMode::Batch => Serials::UnboundBatch(permutation()?),
        })
    }
}

impl<'k> Minter<'k> {
    /// A minter for codes like `template` (whose own serial is ignored).
    /// In [`SerialMode::Batch`] it mints nothing until given its batch
    /// ([`Minter::with_batch`]).
    pub fn new(
        key: &'k dyn Signer,
        template: &Payload,
        mode: SerialMode,
    ) -> Result<Minter<'k>, Error> {
        Ok(Minter {
            key,
            serials: Serials::new(key, mode)?,
            template: Template::Code(PayloadTemplate::new(key.kid(), template)?),
        })
    }

    /// A minter of GS1 units like `data` (without AI 21 and 8030) carrying
    /// hallmark's own serials, in decimal, in AI 21: opaque or batch mode
    /// only (sequential serials are refused: the GS1 profile prints serials
    /// that reveal neither order nor volume, docs/FORMAT.md §21.4).
    /// [`Minter::mint`] then returns each unit's element string (GS
    /// separators, no leading FNC1).
    pub fn gs1(
        key: &'k dyn Signer,
        data: &hallmark::gs1::Gs1Data,
        mode: SerialMode,
    ) -> Result<Minter<'k>, Error> {
        if mode == SerialMode::Sequential {
            return Err(Error::Gs1SequentialSerials);
        }
        let template = hallmark::gs1::Gs1Template::new(
            data,
            key.kid(),
            hallmark::gs1::SerialSource::Hallmark,
        )?;
        Ok(Minter {
            key,
            serials: Serials::new(key, mode)?,
            template: Template::Gs1(template),
        })
    }

    /// The GS1 template, for a GS1 minter.
    pub fn gs1_template(&self) -> Option<&hallmark::gs1::Gs1Template> {
        match &self.template {
            Template::Gs1(t) => Some(t),
            Template::Code(_) => None,
        }
    }

    /// The minter for the reserved `batch`: in batch mode, its serials are
    /// `2^63 | b << 40 | P_b(counter − start)` with the batch's number `b`
    /// and key `K_b` ([`Minter::batch_key`]); in the other modes nothing changes.
    pub fn with_batch(mut self, batch: &crate::ledger::Batch) -> Minter<'k> {
        if let (Serials::UnboundBatch(p), SerialMode::Batch, Some(number)) =
            (&self.serials, batch.serials, batch.batch)
        {
            let key = p.batch_key(number);
            self.serials = Serials::Batch {
                number,
                start: batch.start,
                permutation: hallmark::BatchPermutation::new(key),
            };
        }
        self
    }

    /// The disclosed permutation key `K_b` of batch `number` of this
    /// minter's key (what the batch's manifest carries).
    /// Refused ([`Error::OpaqueNeedsSeed`]) for a key whose seed is out of
    /// reach (in an HSM).
    pub fn batch_key<S: Signer + ?Sized>(key: &S, number: u32) -> Result<[u8; 32], Error> {
        key.opaque_permutation()
            .map(|p| p.batch_key(number))
            .ok_or_else(|| Error::OpaqueNeedsSeed {
                signer: key.name().to_owned(),
            })
    }

    /// How this minter turns ledger counters into serials.
    pub fn mode(&self) -> SerialMode {
        match self.serials {
            Serials::Sequential => SerialMode::Sequential,
            Serials::Opaque(_) => SerialMode::Opaque,
            Serials::UnboundBatch(_) | Serials::Batch { .. } => SerialMode::Batch,
        }
    }

    /// The batch number this minter mints for (batch mode, after
    /// [`Minter::with_batch`]).
    pub fn batch_number(&self) -> Option<u32> {
        match self.serials {
            Serials::Batch { number, .. } => Some(number),
            _ => None,
        }
    }

    /// The serial for ledger counter `counter` under this minter's mode.
    pub fn serial(&self, counter: u64) -> Result<u64, Error> {
        match &self.serials {
            Serials::Sequential => (counter < OPAQUE_BIT).then_some(counter),
            Serials::Opaque(p) => p.serial(counter),
            Serials::UnboundBatch(_) => None,
            Serials::Batch {
                number,
                start,
                permutation,
            } => counter
                .checked_sub(*start)
                .and_then(|c| permutation.serial(*number, c)),
        }
        .ok_or(Error::SerialsExhausted {
            start: counter,
            count: 1,
        })
    }

    /// Mints the code for ledger counter `counter`; returns its serial and text.
    pub fn mint(&self, counter: u64) -> Result<(u64, String), Error> {
        let serial = self.serial(counter)?;
        match &self.template {
            Template::Code(template) => {
                let unsigned = template.with_serial(serial);
                let signature = self.key.sign(unsigned.signing_message())?;
                Ok((serial, unsigned.into_text(&signature)))
            }
            Template::Gs1(template) => {
                let text = serial.to_string();
                let signature = self.key.sign(&template.signing_message(&text))?;
                Ok((
                    serial,
                    template.element_string(hallmark::gs1::Separator::Gs, &text, &signature),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;
    use hallmark::{Extension, TrustStore, TrustedKey};

    /// The fast path produces exactly the codes the reference path does.
    #[test]
    fn minter_matches_reference_encoding() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::from_seed("m", &[5; 32])?;
        let date = "2023-12-12".parse()?;
        let templates = [
            Payload::new(0, "DRN-2980", "L231212-01", date)?,
            Payload::new(0, "P", "L", date)?.with_expiry("2030-01-01".parse()?)?,
            Payload::new(0, &"x".repeat(64), "L", date)?
                .with_extension(Extension::text(5, "09506000134352")?)?,
        ];
        let mut trust = TrustStore::new();
        trust.add(TrustedKey::new("m", key.public_key(), None, None)?)?;
        for template in &templates {
            let minter = Minter::new(&key, template, SerialMode::Sequential)?;
            for serial in [
                0,
                1,
                23,
                24,
                255,
                256,
                65_535,
                65_536,
                1 << 32,
                (1 << 63) - 1,
            ] {
                let (s, fast) = minter.mint(serial)?;
                assert_eq!(s, serial);
                let mut reference =
                    Payload::new(serial, template.part(), template.lot(), template.date())?;
                if let Some(e) = template.expiry() {
                    reference = reference.with_expiry(e)?;
                }
                for e in template.extensions() {
                    reference = reference.with_extension(e.clone())?;
                }
                assert_eq!(fast, mint(&key, &reference)?);
                assert_eq!(
                    trust.verify_signature_only(&fast)?.payload().serial(),
                    serial
                );
            }
            assert!(
                minter.mint(1 << 63).is_err(),
                "sequential serials stay below 2^63"
            );
        }
        let opaque = Minter::new(&key, &templates[0], SerialMode::Opaque)?;
        let (s, code) = opaque.mint(0)?;
        assert!(s >= OPAQUE_BIT);
        assert_eq!(trust.verify_signature_only(&code)?.payload().serial(), s);
        Ok(())
    }
}

/// The batch manifest of `key`'s batches among `entries` (others are
/// skipped), for a registry to record which serials were really minted:
/// each batch with the count its ledger records as emitted
/// ([`Emission::emitted`]); a batch of which nothing was emitted is left
/// out. A batch-mode batch is listed with its counters within the batch
/// (start 0) and its disclosed key `K_b`.
pub fn manifest<'a, S: Signer + ?Sized>(
    key: &S,
    entries: impl IntoIterator<Item = (&'a crate::ledger::Batch, Emission)>,
    issued: u64,
) -> Result<hallmark::BatchManifest, Error> {
    let kid = key.kid().to_string();
    let parse = |d: &str| -> Result<hallmark::Date, Error> { Ok(d.parse()?) };
    let mut batches = Vec::new();
    for (b, emission) in entries {
        let count = emission.emitted(b);
        if b.kid != kid || count == 0 {
            continue;
        }
        let batch_key = match (b.serials, b.batch) {
            (SerialMode::Batch, Some(number)) => Some(hallmark::BatchKey {
                number,
                key: Minter::batch_key(key, number)?,
            }),
            _ => None,
        };
        batches.push(hallmark::ManifestBatch {
            start: if batch_key.is_some() { 0 } else { b.start },
            count,
            part: b.part.clone(),
            lot: b.lot.clone(),
            date: parse(&b.date)?,
            expiry: b.expiry.as_deref().map(parse).transpose()?,
            opaque: b.serials != SerialMode::Sequential,
            minted: b.time,
            batch_key,
        });
    }
    Ok(hallmark::BatchManifest {
        kid: key.kid(),
        issued,
        batches,
    })
}

/// [`manifest`], signed by `key`.
pub fn sign_manifest<'a, S: Signer + ?Sized>(
    key: &S,
    entries: impl IntoIterator<Item = (&'a crate::ledger::Batch, Emission)>,
    issued: u64,
) -> Result<Vec<u8>, Error> {
    crate::signer::sign_batch_manifest(key, &manifest(key, entries, issued)?)
}

#[cfg(test)]
mod manifest_tests {
    use super::*;
    use crate::End;
    use crate::SecretKey;
    use crate::ledger::{BatchRequest, Ledger};
    use hallmark::{BatchManifest, TrustStore, TrustedKey};

    /// Only what was emitted is exported: an interrupted batch with its
    /// emitted count, a batch of which nothing was emitted not at all, a
    /// killed batch with its last progress record; batch-mode batches with
    /// their counters within the batch and a key whose permutation gives
    /// exactly the minted serials.
    #[test]
    fn manifest_lists_only_what_was_emitted() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = SecretKey::from_seed("m", &[5; 32])?;
        let mut ledger = Ledger::open(&dir.path().join("l"))?;
        let mut reserve = |count, serials| {
            ledger.reserve(&BatchRequest {
                kid: key.kid(),
                count,
                start: None,
                part: "P",
                lot: "L",
                date: "2024-02-29".parse()?,
                expiry: None,
                time: 1,
                serials,
            })
        };
        let interrupted = reserve(100, SerialMode::Sequential)?;
        let nothing = reserve(50, SerialMode::Sequential)?;
        let killed = reserve(30, SerialMode::Sequential)?;
        let batch0 = reserve(40, SerialMode::Batch)?;
        let batch1 = reserve(40, SerialMode::Batch)?;
        ledger.record_progress(&interrupted, 60)?;
        ledger.close(&interrupted, 64, End::Interrupted)?;
        ledger.close(&nothing, 0, End::Interrupted)?;
        ledger.record_progress(&killed, 8)?;
        ledger.close(&batch0, 40, End::Complete)?;
        ledger.close(&batch1, 7, End::Failed)?;
        assert_eq!((batch0.batch, batch1.batch), (Some(0), Some(1)));
        let m = manifest(&key, ledger.entries(), 2)?;
        let got: Vec<_> = m.batches.iter().map(|b| (b.start, b.count)).collect();
        assert_eq!(got, [(0, 64), (150, 8), (0, 40), (0, 7)]);
        let template = Payload::new(0, "P", "L", "2024-02-29".parse()?)?;
        for (b, listed) in [(&batch0, &m.batches[2]), (&batch1, &m.batches[3])] {
            let minter = Minter::new(&key, &template, SerialMode::Batch)?.with_batch(b);
            let k = listed.batch_key.as_ref().ok_or("no batch key")?;
            assert_eq!(Some(k.number), b.batch);
            for c in 0..40 {
                let serial = minter.serial(b.start + c)?;
                assert_eq!(listed.contains(serial), c < listed.count, "counter {c}");
            }
        }
        // The other batch's serials are not this one's.
        let m0 = Minter::new(&key, &template, SerialMode::Batch)?.with_batch(&batch0);
        assert!(!m.batches[3].contains(m0.serial(batch0.start)?));
        Ok(())
    }

    #[test]
    fn manifest_round_trips_and_refuses_tampering() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = SecretKey::from_seed("m", &[5; 32])?;
        let other = SecretKey::from_seed("o", &[6; 32])?;
        let mut ledger = Ledger::open(&dir.path().join("l"))?;
        for (k, count, serials) in [
            (&key, 10, SerialMode::Sequential),
            (&other, 5, SerialMode::Sequential),
            (&key, 7, SerialMode::Opaque),
        ] {
            let b = ledger.reserve(&BatchRequest {
                kid: k.kid(),
                count,
                start: None,
                part: "P,1",
                lot: "L",
                date: "2024-02-29".parse()?,
                expiry: Some("2030-01-01".parse()?),
                time: 1_700_000_000,
                serials,
            })?;
            ledger.close(&b, count, crate::End::Complete)?;
        }
        let bytes = sign_manifest(&key, ledger.entries(), 1_800_000_000)?;
        let mut trust = TrustStore::new();
        trust.add(TrustedKey::new("m", key.public_key(), None, None)?)?;
        let manifest = BatchManifest::verify(&bytes, &trust)?;
        assert_eq!(manifest.kid, key.kid());
        assert_eq!(manifest.issued, 1_800_000_000);
        assert_eq!(manifest.batches.len(), 2, "only this key's batches");
        assert_eq!(
            (
                manifest.batches[0].start,
                manifest.batches[0].count,
                manifest.batches[0].opaque
            ),
            (0, 10, false)
        );
        assert_eq!(
            (
                manifest.batches[1].start,
                manifest.batches[1].count,
                manifest.batches[1].opaque
            ),
            (10, 7, true)
        );
        assert_eq!(manifest.batches[1].part, "P,1");
        // Any flipped bit is refused; truncation and extension too.
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(
                BatchManifest::verify(&t, &trust).is_err(),
                "bit flip at {i} accepted"
            );
        }
        assert!(BatchManifest::verify(&bytes[..bytes.len() - 1], &trust).is_err());
        assert!(BatchManifest::verify(&[&bytes[..], &[0]].concat(), &trust).is_err());
        // A code signature can never pass as a manifest signature (domain tags differ).
        let empty = TrustStore::new();
        assert!(matches!(
            BatchManifest::verify(&bytes, &empty),
            Err(hallmark::Error::Verify(
                hallmark::VerifyError::UnknownKey { .. }
            ))
        ));
        Ok(())
    }
}

#[cfg(test)]
mod typed_signing_tests {
    use super::*;
    use crate::SecretKey;
    use hallmark::{
        BatchManifest, Reason, RevocationSnapshot, Scope, TrustStore, TrustedKey, UnverifiedCode,
    };

    /// Each typed entry point signs under its own document's framing and this
    /// key's id: what one signs verifies as that document and no other.
    #[test]
    fn typed_signing_frames_each_document_under_its_own_tag_and_kid()
    -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::from_seed("r", &[3; 32])?;
        let mut trust = TrustStore::new();
        trust.add(
            TrustedKey::new("r", key.public_key(), None, None)?.with_revocation_signer(true),
        )?;

        let mut snapshot = RevocationSnapshot::new(4, 1_800_000_000);
        snapshot.add(
            key.kid(),
            Scope::Serial(9),
            Reason::Stolen,
            "2024-01-01".parse()?,
        )?;
        let bytes = key.sign_snapshot(&snapshot);
        let back = RevocationSnapshot::verify(&bytes, &trust)?;
        assert_eq!((back.sequence, back.signer), (4, Some(key.kid())));
        assert!(BatchManifest::verify(&bytes, &trust).is_err());

        // A revocation signer signs no codes: the code is checked under a store
        // that trusts the same key for codes.
        let code = key.sign_code(&Payload::new(9, "P", "L", "2024-01-01".parse()?)?)?;
        assert_eq!(UnverifiedCode::decode(&code)?.kid(), key.kid());
        assert_eq!(
            trust
                .verify_signature_only(&code)
                .map(drop)
                .err()
                .map(|e| e.kind()),
            Some("key-usage")
        );
        let mut codes = TrustStore::new();
        codes.add(TrustedKey::new("r", key.public_key(), None, None)?)?;
        assert_eq!(codes.verify_signature_only(&code)?.payload().serial(), 9);

        let manifest = BatchManifest {
            kid: key.kid(),
            issued: 1,
            batches: Vec::new(),
        };
        let bytes = key.sign_manifest(&manifest)?;
        assert_eq!(BatchManifest::verify(&bytes, &codes)?, manifest);
        // A revocation signer signs no manifests.
        assert_eq!(
            BatchManifest::verify(&bytes, &trust)
                .err()
                .map(|e| e.kind()),
            Some("key-usage")
        );
        assert!(RevocationSnapshot::verify(&bytes, &trust).is_err());
        Ok(())
    }

    /// A manifest naming another key is refused, not signed under a kid that
    /// does not match the signature.
    #[test]
    fn sign_manifest_refuses_a_manifest_of_another_key() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::from_seed("m", &[5; 32])?;
        let other = SecretKey::from_seed("o", &[6; 32])?;
        let manifest = BatchManifest {
            kid: other.kid(),
            issued: 1,
            batches: Vec::new(),
        };
        assert!(key.sign_manifest(&manifest).is_err());
        assert!(other.sign_manifest(&manifest).is_ok());
        Ok(())
    }
}
