//! Codes from photos: `hallmark_label::photo::read_codes` on any bytes.
//!
//! The PNG and JPEG decoders, the QR detector (rqrr), and rxing's Data Matrix
//! detector and decoder and its QR decoder (GS1 QR symbols rqrr stops at) run
//! on files a
//! distributor's phone produced, so on attacker-chosen bytes. Checks: no
//! crash, abort or runaway allocation (the size limits hold before any pixel
//! is decoded), and every text read is bounded by what a QR symbol can hold.
//!
//! The detector is known to panic on some pictures; `read_codes` contains
//! that with `catch_unwind` and answers with an error, which is the behaviour
//! under test. libfuzzer-sys's panic hook would abort even on a caught panic,
//! so the hook is replaced by a silent one: a panic that escapes still aborts
//! the run (libfuzzer-sys catches it at the target's edge).
//!
//! Seeds: `fuzz/seeds/image/` (a demo label as PNG, the same rotated, blurred
//! and as JPEG, and a picture that made rqrr panic), copied by `seed.sh`.

#![no_main]

use hallmark_label::photo::{GS1_DATAMATRIX, GS1_QR, ImageError, read_codes};
use libfuzzer_sys::fuzz_target;

/// The most characters one QR symbol holds (version 40, numeric mode, ECC L);
/// as UTF-8, at most 3 bytes each.
const MAX_QR_CHARS: usize = 7_089;

/// The most characters one Data Matrix symbol holds (144 x 144, digits).
const MAX_DM_CHARS: usize = 3_116;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let read = match read_codes(data) {
            Ok(texts) => texts,
            Err(ImageError::UnreadableQr { decoded, .. }) => decoded,
            Err(_) => return,
        };
        for text in read {
            assert!(text.len() <= 3 * MAX_QR_CHARS.max(MAX_DM_CHARS), "{} bytes from one symbol", text.len());
            // A GS1 identifier comes before the element string, never alone
            // in a way that hides the data: the rest is what the symbol held.
            let data = text
                .strip_prefix(GS1_DATAMATRIX)
                .or_else(|| text.strip_prefix(GS1_QR))
                .unwrap_or(&text);
            assert!(data.len() <= 3 * MAX_QR_CHARS.max(MAX_DM_CHARS));
            // Whatever was read goes on to the decoder: no panic there either.
            let _ = hallmark::UnverifiedCode::decode(&text);
        }
    }
);
