//! Finding and decoding QR codes in photos (PNG, JPEG). (Being written.)
