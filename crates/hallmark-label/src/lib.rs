//! # hallmark-label
//!
//! Label symbols for hallmark codes: [`data`] says what a symbol holds (the QR
//! alphanumeric set, a checked verification-URL prefix); [`symbol`] renders a code (or its
//! verification URL) as a QR or Data Matrix symbol, and a GS1 element string
//! as a GS1 Data Matrix, in SVG or PNG, within an optional size limit (a PNG
//! for a printer's resolution carries it in a pHYs chunk); [`zpl`] writes
//! ZPL II labels, the symbol drawn by a Zebra thermal printer itself;
//! [`photo`] (feature `photo`, on by default) finds and reads the QR and Data
//! Matrix codes in a photo of labels. No I/O beyond what the caller hands in, except
//! [`photo::decode_qr_file`], which reads one bounded file.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod data;
#[cfg(feature = "photo")]
pub mod photo;
pub mod symbol;
#[cfg(test)]
mod test_tools;
pub mod zpl;
