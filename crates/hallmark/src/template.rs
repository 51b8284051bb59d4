//! Codes that differ only in their serial, encoded without re-encoding the
//! payload: the issuer's fast path, kept beside the format it relies on.
//!
//! The payload map puts the serial (key 0) first, so a code's signing message is
//! a fixed head (`tag || version || kid || map head || key 0`), the serial's
//! integer encoding, and a fixed tail (every other field).

use crate::cbor::{self, MAJOR_MAP, MAX_UINT_LEN, to_vec};
use crate::code::UnsignedCode;
use crate::error::{DecodeError, Document, Error};
use crate::key::{KID_LEN, KeyId};
use crate::signed::{self, Domain};
use crate::{MAX_CODE_BYTES, Payload, SIGNATURE_LEN};

/// A payload with its serial left open, encoded once for one key.
///
/// [`PayloadTemplate::with_serial`] gives exactly the [`UnsignedCode`] that
/// [`UnsignedCode::new`] gives for the same payload with that serial, at the cost
/// of one allocation and a copy.
///
/// ```
/// # use hallmark::{KeyId, Payload, PayloadTemplate, UnsignedCode};
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
/// let payload = Payload::new(0, "DRN-2980", "L1", "2024-01-31".parse()?)?;
/// let template = PayloadTemplate::new(kid, &payload)?;
/// let reference = UnsignedCode::new(kid, &Payload::new(7, "DRN-2980", "L1", "2024-01-31".parse()?)?)?;
/// assert_eq!(template.with_serial(7).signing_message(), reference.signing_message());
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PayloadTemplate {
    kid: KeyId,
    /// `tag || version || kid || map head || key 0`.
    head: Vec<u8>,
    /// The encoded fields after the serial.
    tail: Vec<u8>,
}

impl PayloadTemplate {
    /// A template for codes like `payload` (whose own serial is ignored) under
    /// the key `kid`. Refuses a payload whose code would be longer than
    /// [`MAX_CODE_BYTES`] with the widest serial.
    pub fn new(kid: KeyId, payload: &Payload) -> Result<PayloadTemplate, Error> {
        let entries = payload.entries();
        let mut tail = Vec::new();
        // The first entry is the serial; a map's encoding is its head and then
        // each key and value, in order.
        for (k, v) in entries.iter().skip(1) {
            tail.extend_from_slice(&to_vec(k));
            tail.extend_from_slice(&to_vec(v));
        }
        let mut map_head = Vec::with_capacity(3);
        cbor::push_head(&mut map_head, MAJOR_MAP, entries.len() as u64);
        map_head.push(0x00);
        let len = 1 + KID_LEN + map_head.len() + MAX_UINT_LEN + tail.len() + SIGNATURE_LEN;
        if len > MAX_CODE_BYTES {
            return Err(DecodeError::TooLong {
                document: Document::Code,
                len,
                max: MAX_CODE_BYTES,
            }
            .into());
        }
        let mut head = signed::message_head(Domain::Code, kid, map_head.len());
        head.extend_from_slice(&map_head);
        Ok(PayloadTemplate { kid, head, tail })
    }

    /// The key id the codes name.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The unsigned code with this serial.
    pub fn with_serial(&self, serial: u64) -> UnsignedCode {
        // Room for the signature once the tag is dropped (`UnsignedCode::into_text`).
        let tag = Domain::Code.tag().len();
        let mut message = Vec::with_capacity(
            self.head.len() + MAX_UINT_LEN + self.tail.len() + SIGNATURE_LEN.saturating_sub(tag),
        );
        message.extend_from_slice(&self.head);
        cbor::push_head(&mut message, 0, serial);
        message.extend_from_slice(&self.tail);
        UnsignedCode::from_message(self.kid, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Extension;

    /// The template gives the reference encoding for every serial width and for
    /// payloads with expiry, extensions, and more than 23 map entries (a two-byte
    /// map head).
    #[test]
    fn template_matches_reference_encoding() -> Result<(), Error> {
        let kid = KeyId::from_bytes([9, 8, 7, 6]);
        let date = "2023-12-12".parse()?;
        let many = (5..25).try_fold(Payload::new(0, "P", "L", date)?, |p, k| {
            p.with_extension(Extension::from_cbor(k, &[0x01])?)
        })?;
        assert!(many.entries().len() > 23);
        let payloads = [
            Payload::new(0, "DRN-2980", "L231212-01", date)?,
            Payload::new(0, "P", "L", date)?.with_expiry("2030-01-01".parse()?)?,
            Payload::new(0, &"x".repeat(64), "L", date)?
                .with_extension(Extension::text(5, "09506000134352")?)?,
            many,
        ];
        for payload in &payloads {
            let template = PayloadTemplate::new(kid, payload)?;
            for serial in [0, 1, 23, 24, 255, 256, 65_535, 65_536, 1 << 32, u64::MAX] {
                let mut p = Payload::new(serial, payload.part(), payload.lot(), payload.date())?;
                if let Some(e) = payload.expiry() {
                    p = p.with_expiry(e)?;
                }
                for e in payload.extensions() {
                    p = p.with_extension(e.clone())?;
                }
                let reference = UnsignedCode::new(kid, &p)?;
                let fast = template.with_serial(serial);
                assert_eq!(fast.signing_message(), reference.signing_message());
                let sig = [serial as u8; SIGNATURE_LEN];
                assert_eq!(fast.into_text(&sig), reference.to_text(&sig));
            }
        }
        Ok(())
    }

    /// A payload that fits with a small serial but not with the widest is refused.
    #[test]
    fn template_refuses_what_the_widest_serial_overflows() -> Result<(), Error> {
        let kid = KeyId::from_bytes([1, 1, 1, 1]);
        let date = "2023-12-12".parse()?;
        // Grow an extension until the code with serial 0 just fits.
        let mut n = 0;
        let mut fits = None;
        while let Ok(p) = Payload::new(0, "P", "L", date)?
            .with_extension(Extension::text(5, &"x".repeat(n))?)
            .and_then(|p| UnsignedCode::new(kid, &p).map(|_| p))
        {
            fits = Some(p);
            n += 1;
        }
        let Some(largest) = fits else {
            return Err(DecodeError::Empty.into());
        };
        assert!(matches!(
            PayloadTemplate::new(kid, &largest),
            Err(Error::Decode(DecodeError::TooLong { .. }))
        ));
        Ok(())
    }
}
