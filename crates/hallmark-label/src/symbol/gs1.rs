//! GS1 Data Matrix: an element string as Data Matrix ECC 200 codewords with
//! FNC1 in first position and FNC1 as the separator after each
//! variable-length value, as the GS1 General Specifications (section 5.6)
//! require.
//!
//! The `datamatrix` crate's encoder writes a leading FNC1 but no FNC1 later
//! on (a GS byte would come out as the ASCII character 29, which GS1 readers
//! need not treat as a separator), so the data codewords are made here, in
//! ASCII encodation: digit pairs in one codeword, any other character in
//! one, FNC1 as codeword 232. The crate's public error correction and module
//! placement then make the symbol. ASCII encodation is what GS1 data wants:
//! the 8030 signature is base64url (mixed case, where C40 and Text cost more
//! than one codeword a character) and the fixed-length AIs are digits.

use datamatrix::SymbolSize;
use datamatrix::placement::MatrixMap;

use super::{Dimensions, Matrix, SizeLimit, Symbol, SymbolError, check_limit};

/// ASCII GS, the separator in an element string; becomes FNC1.
pub(super) const GS: u8 = 0x1D;

/// FNC1 in Data Matrix ASCII encodation (ISO/IEC 16022, 5.2.4.6).
const FNC1: u8 = 232;

/// The first pad codeword (ISO/IEC 16022, 5.2.3); later pads are scrambled.
const PAD: u8 = 129;

/// The square ECC 200 sizes, smallest first. GS1 Data Matrix may be
/// rectangular too, but square symbols are what pharmaceutical packs print
/// and what every scanner reads.
const SQUARES: [SymbolSize; 24] = [
    SymbolSize::Square10,
    SymbolSize::Square12,
    SymbolSize::Square14,
    SymbolSize::Square16,
    SymbolSize::Square18,
    SymbolSize::Square20,
    SymbolSize::Square22,
    SymbolSize::Square24,
    SymbolSize::Square26,
    SymbolSize::Square32,
    SymbolSize::Square36,
    SymbolSize::Square40,
    SymbolSize::Square44,
    SymbolSize::Square48,
    SymbolSize::Square52,
    SymbolSize::Square64,
    SymbolSize::Square72,
    SymbolSize::Square80,
    SymbolSize::Square88,
    SymbolSize::Square96,
    SymbolSize::Square104,
    SymbolSize::Square120,
    SymbolSize::Square132,
    SymbolSize::Square144,
];

/// Data codewords each of [`SQUARES`] holds (ISO/IEC 16022, table 7).
const CAPACITY: [usize; 24] = [
    3, 5, 8, 12, 18, 22, 30, 36, 44, 62, 86, 114, 144, 174, 204, 280, 368, 456, 576, 696, 816,
    1050, 1304, 1558,
];

/// Modules per side of each of [`SQUARES`].
const SIDE: [usize; 24] = [
    10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64, 72, 80, 88, 96, 104, 120, 132,
    144,
];

/// Checks the layout of an element string: printable ASCII and GS only, GS
/// neither first, last nor doubled (a leading FNC1 is implied, not given; an
/// empty value is no value).
pub(super) fn check_element_string(data: &str) -> Result<(), SymbolError> {
    super::check_length(data)?;
    let bytes = data.as_bytes();
    for (position, ch) in data.chars().enumerate() {
        if ch == char::from(GS) {
            // `position` counts characters, and every character before it is
            // ASCII (checked in earlier rounds), so it is a byte index too.
            let first = position == 0;
            let last = position + 1 == bytes.len();
            let doubled = bytes.get(position + 1) == Some(&GS);
            if first || last || doubled {
                return Err(SymbolError::Separator { position });
            }
        } else if !(ch == ' ' || ch.is_ascii_graphic()) {
            return Err(SymbolError::UnsupportedCharacter { ch, position });
        }
    }
    Ok(())
}

/// The data codewords of a GS1 element string, before padding: FNC1, then
/// the data in ASCII encodation with each GS as FNC1.
pub(super) fn data_codewords(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(FNC1);
    let mut rest = data;
    while let Some((&first, tail)) = rest.split_first() {
        match tail.first() {
            Some(&second) if first.is_ascii_digit() && second.is_ascii_digit() => {
                out.push(130 + (first - b'0') * 10 + (second - b'0'));
                rest = tail.get(1..).unwrap_or_default();
                continue;
            }
            _ => {}
        }
        out.push(if first == GS {
            FNC1
        } else {
            first.wrapping_add(1)
        });
        rest = tail;
    }
    out
}

/// Pads `codewords` to `capacity` (ISO/IEC 16022, 5.2.3): 129, then the
/// 253-state randomised pad of each later position.
fn pad(codewords: &mut Vec<u8>, capacity: usize) {
    if codewords.len() < capacity {
        codewords.push(PAD);
    }
    while codewords.len() < capacity {
        // Positions count from 1.
        let position = codewords.len() + 1;
        let pseudo = (149 * position) % 253 + 1;
        let value = usize::from(PAD) + pseudo;
        let value = if value > 254 { value - 254 } else { value };
        codewords.push(u8::try_from(value).unwrap_or(PAD));
    }
}

/// Encodes a checked element string as the smallest square GS1 Data Matrix
/// that holds it, refusing one larger than `limit`.
pub(super) fn encode(data: &str, limit: Option<SizeLimit>) -> Result<Matrix, SymbolError> {
    check_element_string(data)?;
    let mut codewords = data_codewords(data.as_bytes());
    let fits = SQUARES
        .iter()
        .zip(CAPACITY)
        .zip(SIDE)
        .find(|&((_, capacity), _)| codewords.len() <= capacity);
    let Some(((&size, capacity), side)) = fits else {
        return Err(SymbolError::DoesNotFit {
            symbol: Symbol::DataMatrix,
            len: data.len(),
        });
    };
    check_limit(
        Symbol::DataMatrix,
        Dimensions {
            width: side,
            height: side,
            qr_version: None,
        },
        limit,
    )?;
    pad(&mut codewords, capacity);
    let ecc = datamatrix::errorcode::encode_error(&codewords, size);
    codewords.extend_from_slice(&ecc);
    let bitmap = MatrixMap::new_with_codewords(&codewords, size).bitmap();
    Matrix::from_datamatrix_bitmap(&bitmap, data.len())
}

/// The data codewords the `datamatrix` crate gives `size`: the capacity
/// table's check.
#[cfg(test)]
pub(super) fn crate_capacity(size: SymbolSize) -> Option<usize> {
    datamatrix::DataMatrix::encode(b"1", datamatrix::SymbolList::with_whitelist([size]))
        .ok()
        .map(|d| d.data_codewords().len())
}

#[cfg(test)]
pub(super) fn squares() -> impl Iterator<Item = (SymbolSize, usize, usize)> {
    SQUARES
        .into_iter()
        .zip(CAPACITY)
        .zip(SIDE)
        .map(|((s, c), w)| (s, c, w))
}

#[cfg(test)]
mod tests;
