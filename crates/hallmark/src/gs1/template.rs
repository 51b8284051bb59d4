//! GS1 units that differ only in their serial (AI 21), built without
//! re-validating or re-sorting the other AIs: the issuer's fast path, kept
//! beside the profile it relies on and tested against it.
//!
//! The canonical form sorts the AIs, so it is a fixed head (the AIs below
//! `21`), `21 || serial || GS`, and a fixed tail (the AIs above `21`); the
//! element string is the template's AIs in their order, then `21` and the
//! serial, then `8030` and the signature.

use crate::SIGNATURE_LEN;
use crate::error::Error;
use crate::gs1::signed::{
    AI_SIGNATURE, GS1_SIGNING_TAG, SerialSource, ShortKid, UnsignedGs1Unit, signature_value,
};
use crate::gs1::{GS, Gs1Data, Gs1Error, Separator};
use crate::key::KeyId;

/// The AI of the serial, the one field a template leaves open.
const AI_SERIAL: &str = "21";

/// GS1 data with its serial left open, prepared once for one key.
///
/// [`Gs1Template::signing_message`] is exactly the
/// [`UnsignedGs1Unit::signing_message`] of the template's data with AI 21
/// added; [`Gs1Template::element_string`] and [`Gs1Template::hri`] are the
/// signed unit's element string and bracketed text with 21 and 8030 last.
///
/// ```
/// use hallmark::gs1::{Gs1Data, Gs1Template, SerialSource, Separator, UnsignedGs1Unit};
/// use hallmark::KeyId;
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
/// let data = Gs1Data::from_elements([("01", "09506000134352"), ("11", "261201"), ("10", "L1")])?;
/// let template = Gs1Template::new(&data, kid, SerialSource::Hallmark)?;
/// let serial = "9223372036854775817";
/// let full = Gs1Data::from_elements(data.elements().chain([("21", serial)]))?;
/// let reference = UnsignedGs1Unit::new(full, kid, SerialSource::Hallmark)?;
/// assert_eq!(template.signing_message(serial), reference.signing_message());
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Gs1Template {
    data: Gs1Data,
    kid: KeyId,
    source: SerialSource,
    /// `tag || profile || kid || canonical AIs below 21`.
    head: Vec<u8>,
    /// Canonical AIs above 21.
    tail: Vec<u8>,
    /// The template's element string, ready for `21` to follow (a GS after a
    /// variable-length last value), in each separator convention.
    gs_prefix: String,
    caret_prefix: String,
    hri_prefix: String,
}

impl Gs1Template {
    /// A template for units like `data` (which holds neither 21 nor 8030)
    /// under the key `kid`. The serial source decides the profile byte: a
    /// hallmark serial is checked by [`Gs1Template::check_serial`].
    pub fn new(data: &Gs1Data, kid: KeyId, source: SerialSource) -> Result<Gs1Template, Error> {
        for ai in [AI_SERIAL, AI_SIGNATURE] {
            if data.get(ai).is_some() {
                return Err(Gs1Error::InvalidValue {
                    ai: ai.into(),
                    reason: "a template leaves the serial and the signature open".into(),
                }
                .into());
            }
        }
        // Everything the profile checks, on one stand-in serial.
        let probe = probe_serial(source);
        let with_probe = add(data, &[(AI_SERIAL, probe)])?;
        let reference = UnsignedGs1Unit::new(with_probe.clone(), kid, source)?;
        let message = reference.signing_message();
        let marker = [AI_SERIAL.as_bytes(), probe.as_bytes(), &[0x1d]].concat();
        let at = find(message, &marker).ok_or(Gs1Error::Syntax {
            reason: "the serial is missing from the canonical form",
            position: 0,
        })?;
        let head = message.get(..at).unwrap_or_default().to_vec();
        let tail = message
            .get(at + marker.len()..)
            .unwrap_or_default()
            .to_vec();
        debug_assert!(head.starts_with(GS1_SIGNING_TAG));
        let probe_ai = format!("{AI_SERIAL}{probe}");
        let strip = |s: String| s.strip_suffix(&probe_ai).map(str::to_owned);
        let gs_prefix = strip(with_probe.to_element_string(Separator::Gs));
        let caret_prefix = strip(with_probe.to_element_string(Separator::Caret));
        let (Some(gs_prefix), Some(caret_prefix)) = (gs_prefix, caret_prefix) else {
            return Err(Gs1Error::Syntax {
                reason: "the element string does not end with the serial",
                position: 0,
            }
            .into());
        };
        Ok(Gs1Template {
            data: data.clone(),
            kid,
            source,
            head,
            tail,
            gs_prefix,
            caret_prefix,
            hri_prefix: data.to_hri(),
        })
    }

    /// The template's data (without 21 and 8030).
    pub fn data(&self) -> &Gs1Data {
        &self.data
    }

    /// Where the template's serials come from.
    pub fn serial_source(&self) -> SerialSource {
        self.source
    }

    /// Refuses a serial this template's profile does not allow: a hallmark
    /// serial must be the decimal of an opaque serial; a pool serial 1 to 20
    /// characters of the GS1 character set 82 (as AI 21 allows).
    pub fn check_serial(&self, serial: &str) -> Result<(), Error> {
        let data = add(&self.data, &[(AI_SERIAL, serial)])?;
        UnsignedGs1Unit::new(data, self.kid, self.source).map(drop)
    }

    /// The signing message of the unit with `serial` (already checked).
    pub fn signing_message(&self, serial: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.head.len() + AI_SERIAL.len() + serial.len() + 1 + self.tail.len(),
        );
        out.extend_from_slice(&self.head);
        out.extend_from_slice(AI_SERIAL.as_bytes());
        out.extend_from_slice(serial.as_bytes());
        out.push(0x1d);
        out.extend_from_slice(&self.tail);
        out
    }

    /// The 8030 value for `signature`.
    pub fn signature_value(&self, signature: &[u8; SIGNATURE_LEN]) -> String {
        signature_value(self.source, ShortKid::of(self.kid), signature)
    }

    /// The signed unit's element string: the template's AIs, `21` and the
    /// serial, `8030` and the signature (no leading FNC1 with
    /// [`Separator::Gs`]; a leading `^` with [`Separator::Caret`]).
    pub fn element_string(
        &self,
        separator: Separator,
        serial: &str,
        signature: &[u8; SIGNATURE_LEN],
    ) -> String {
        let (prefix, sep) = match separator {
            Separator::Gs => (&self.gs_prefix, GS),
            Separator::Caret => (&self.caret_prefix, '^'),
        };
        let sig = self.signature_value(signature);
        let mut out = String::with_capacity(prefix.len() + serial.len() + sig.len() + 8);
        out.push_str(prefix);
        out.push_str(AI_SERIAL);
        out.push_str(serial);
        out.push(sep);
        out.push_str(AI_SIGNATURE);
        out.push_str(&sig);
        out
    }

    /// The signed unit's bracketed text, `(01)…(21)…(8030)…`.
    pub fn hri(&self, serial: &str, signature: &[u8; SIGNATURE_LEN]) -> String {
        format!(
            "{}({AI_SERIAL}){serial}({AI_SIGNATURE}){}",
            self.hri_prefix,
            self.signature_value(signature)
        )
    }

    /// The signed unit as data (for the Digital Link form and symbols).
    pub fn unit(&self, serial: &str, signature: &[u8; SIGNATURE_LEN]) -> Result<Gs1Data, Error> {
        let sig = self.signature_value(signature);
        add(&self.data, &[(AI_SERIAL, serial), (AI_SIGNATURE, &sig)])
    }
}

/// A serial every profile accepts, to find the serial's place.
fn probe_serial(source: SerialSource) -> &'static str {
    match source {
        SerialSource::Hallmark => "9223372036854775808",
        SerialSource::Pool => "0",
    }
}

fn add(data: &Gs1Data, extra: &[(&str, &str)]) -> Result<Gs1Data, Error> {
    Gs1Data::from_elements(data.elements().chain(extra.iter().copied()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_template_builds_what_the_profile_builds() {
        let kid = KeyId::from_bytes([9, 8, 7, 6]);
        let sig = [7u8; 64];
        for (source, serials) in [
            (
                SerialSource::Hallmark,
                &["9223372036854775808", "18446744073709551615"][..],
            ),
            (
                SerialSource::Pool,
                &["1", "ABC-12/x", "12345678901234567890"][..],
            ),
        ] {
            for extra in [
                &[][..],
                &[("714", "NHRN1")][..],
                &[("240", "Z"), ("30", "12")][..],
            ] {
                let mut base = vec![
                    ("01", "09506000134352"),
                    ("17", "281130"),
                    ("11", "261201"),
                    ("10", "L1"),
                ];
                base.extend_from_slice(extra);
                let data = Gs1Data::from_elements(base).unwrap();
                let template = Gs1Template::new(&data, kid, source).unwrap();
                for serial in serials {
                    let full = add(&data, &[(AI_SERIAL, serial)]).unwrap();
                    let reference = UnsignedGs1Unit::new(full, kid, source).unwrap();
                    assert_eq!(
                        template.signing_message(serial),
                        reference.signing_message()
                    );
                    assert_eq!(
                        template.unit(serial, &sig).unwrap(),
                        reference.with_signature(&sig).unwrap()
                    );
                    let unit = reference.with_signature(&sig).unwrap();
                    assert_eq!(template.hri(serial, &sig), unit.to_hri());
                    for sep in [Separator::Gs, Separator::Caret] {
                        assert_eq!(
                            template.element_string(sep, serial, &sig),
                            unit.to_element_string(sep)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_template_refuses_a_serial_or_signature_in_its_data() {
        let kid = KeyId::from_bytes([9, 8, 7, 6]);
        for extra in [
            &[("21", "1")][..],
            &[("21", "1"), ("8030", &"A".repeat(90))][..],
        ] {
            let mut elements = vec![("01", "09506000134352"), ("11", "261201")];
            elements.extend_from_slice(extra);
            let data = Gs1Data::from_elements(elements).unwrap();
            assert!(Gs1Template::new(&data, kid, SerialSource::Pool).is_err());
        }
        let data = Gs1Data::from_elements([("01", "09506000134352"), ("11", "261201")]).unwrap();
        let template = Gs1Template::new(&data, kid, SerialSource::Hallmark).unwrap();
        assert!(template.check_serial("42").is_err());
        assert!(template.check_serial("9223372036854775808").is_ok());
    }
}
