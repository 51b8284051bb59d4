//! Identifiers as URIs: GS1 keys as canonical Digital Link URIs, hallmark's own
//! as `urn:hallmark:` URNs, and the EPC URNs of other systems read back into
//! Digital Link for the event hash.

use crate::{BatchRecord, Id};

/// Percent-encodes everything but RFC 3986 unreserved characters, so a part
/// number or lot (which may hold `:` or `/`) stays one URI segment.
fn encode(s: &str) -> String {
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

/// The URI of a unit, logistic unit or lot:
/// - a hallmark code's unit: `urn:hallmark:unit:{kid}:{serial}`;
/// - a GS1 unit: `https://id.gs1.org/01/{gtin}/21/{serial}`;
/// - an SSCC: `https://id.gs1.org/00/{sscc}`;
/// - a lot of a part: `urn:hallmark:class:{part}:{lot}` (class level).
///
/// Part, lot and GS1 serial are percent-encoded.
///
/// ```
/// use hallmark_epcis::{Id, id_uri};
/// assert_eq!(id_uri(&Id::Sscc("340123450000000017".into())), "https://id.gs1.org/00/340123450000000017");
/// assert_eq!(id_uri(&Id::Lot { part: "BAT-7".into(), lot: "L231212/01".into() }),
///            "urn:hallmark:class:BAT-7:L231212%2F01");
/// ```
pub fn id_uri(id: &Id) -> String {
    match id {
        Id::Code { kid, serial } => format!("urn:hallmark:unit:{}:{serial}", encode(kid)),
        Id::Gs1 { gtin, serial } => {
            format!(
                "https://id.gs1.org/01/{}/21/{}",
                encode(gtin),
                encode(serial)
            )
        }
        Id::Sscc(sscc) => format!("https://id.gs1.org/00/{}", encode(sscc)),
        Id::Lot { part, lot } => format!("urn:hallmark:class:{}:{}", encode(part), encode(lot)),
    }
}

/// The class URI of a batch: `https://id.gs1.org/01/{gtin}/10/{lot}` for a
/// GS1 batch, else the lot's `urn:hallmark:class:{part}:{lot}` (the key id
/// is left out so the same lot has one URI in commissioning, assembly and
/// status events; it is in the event's `hallmark:kid`).
pub fn class_uri(batch: &BatchRecord) -> String {
    match &batch.gtin {
        Some(gtin) => format!(
            "https://id.gs1.org/01/{}/10/{}",
            encode(gtin),
            encode(&batch.lot)
        ),
        None => id_uri(&Id::Lot {
            part: batch.part.clone(),
            lot: batch.lot.clone(),
        }),
    }
}

/// The GS1 mod-10 check digit of a string of digits.
fn check_digit(digits: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `urn:epc:id:sgtin|sscc|sgln:` and `urn:epc:class:lgtin:` as canonical
/// Digital Link (GS1 EPC Tag Data Standard's pure identity URIs; the company
/// prefix and the reference are split by the URN's dot). Other input: `None`.
pub(crate) fn epc_urn_to_dl(s: &str) -> Option<String> {
    let gtin = |cp: &str, item: &str| -> Option<String> {
        if !all_digits(cp) || !all_digits(item) || cp.len() + item.len() != 13 {
            return None;
        }
        let (indicator, rest) = item.split_at(1);
        let body = format!("{indicator}{cp}{rest}");
        Some(format!("{body}{}", check_digit(&body)?))
    };
    if let Some(rest) = s.strip_prefix("urn:epc:id:sgtin:") {
        let mut p = rest.splitn(3, '.');
        let (cp, item, serial) = (p.next()?, p.next()?, p.next()?);
        return Some(format!(
            "https://id.gs1.org/01/{}/21/{serial}",
            gtin(cp, item)?
        ));
    }
    if let Some(rest) = s.strip_prefix("urn:epc:class:lgtin:") {
        let mut p = rest.splitn(3, '.');
        let (cp, item, lot) = (p.next()?, p.next()?, p.next()?);
        return Some(format!(
            "https://id.gs1.org/01/{}/10/{lot}",
            gtin(cp, item)?
        ));
    }
    if let Some(rest) = s.strip_prefix("urn:epc:id:sscc:") {
        let (cp, serial) = rest.split_once('.')?;
        if !all_digits(cp) || !all_digits(serial) || cp.len() + serial.len() != 17 {
            return None;
        }
        let (ext, rest) = serial.split_at(1);
        let body = format!("{ext}{cp}{rest}");
        return Some(format!(
            "https://id.gs1.org/00/{body}{}",
            check_digit(&body)?
        ));
    }
    if let Some(rest) = s.strip_prefix("urn:epc:id:sgln:") {
        let mut p = rest.splitn(3, '.');
        let (cp, loc, ext) = (p.next()?, p.next()?, p.next()?);
        if !all_digits(cp) || !all_digits(loc) || cp.len() + loc.len() != 12 {
            return None;
        }
        let body = format!("{cp}{loc}");
        let gln = format!("{body}{}", check_digit(&body)?);
        return Some(if ext == "0" {
            format!("https://id.gs1.org/414/{gln}")
        } else {
            format!("https://id.gs1.org/414/{gln}/254/{ext}")
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_urns_as_digital_link() {
        // Conversions the reference generator's pre-hash strings show.
        assert_eq!(
            epc_urn_to_dl("urn:epc:id:sgtin:0614141.107346.2017").as_deref(),
            Some("https://id.gs1.org/01/10614141073464/21/2017")
        );
        assert_eq!(
            epc_urn_to_dl("urn:epc:id:sscc:4012345.0000000333").as_deref(),
            Some("https://id.gs1.org/00/040123450000003338")
        );
        assert_eq!(
            epc_urn_to_dl("urn:epc:id:sgln:0614141.07346.1234").as_deref(),
            Some("https://id.gs1.org/414/0614141073467/254/1234")
        );
        assert_eq!(
            epc_urn_to_dl("urn:epc:class:lgtin:4054739.099914.20160711").as_deref(),
            Some("https://id.gs1.org/01/04054739999148/10/20160711")
        );
        assert_eq!(epc_urn_to_dl("urn:hallmark:unit:0a1b2c3d:7"), None);
    }
}
