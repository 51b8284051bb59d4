//! Codes from photos: `hallmark_label::photo::decode_qr_codes` on any bytes.
//!
//! The PNG and JPEG decoders and the QR detector (rqrr) run on files a
//! distributor's phone produced, so on attacker-chosen bytes. Checks: no
//! crash, abort or runaway allocation (the size limits hold before any pixel
//! is decoded), and every text read is bounded by what a QR symbol can hold.
//!
//! The detector is known to panic on some pictures; `decode_qr_codes` contains
//! that with `catch_unwind` and answers with an error, which is the behaviour
//! under test. libfuzzer-sys's panic hook would abort even on a caught panic,
//! so the hook is replaced by a silent one: a panic that escapes still aborts
//! the run (libfuzzer-sys catches it at the target's edge).
//!
//! Seeds: `fuzz/seeds/image/` (a demo label as PNG, the same rotated, blurred
//! and as JPEG, and a picture that made rqrr panic), copied by `seed.sh`.

#![no_main]

use hallmark_label::photo::{ImageError, decode_qr_codes};
use libfuzzer_sys::fuzz_target;

/// The most characters one QR symbol holds (version 40, numeric mode, ECC L);
/// as UTF-8, at most 3 bytes each.
const MAX_QR_CHARS: usize = 7_089;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let read = match decode_qr_codes(data) {
            Ok(texts) => texts,
            Err(ImageError::UnreadableQr { decoded, .. }) => decoded,
            Err(_) => return,
        };
        for text in read {
            assert!(text.len() <= 3 * MAX_QR_CHARS, "{} bytes from one symbol", text.len());
            // Whatever was read goes on to the decoder: no panic there either.
            let _ = hallmark::UnverifiedCode::decode(&text);
        }
    }
);
