//! Trust store parsing: `TrustStore::from_toml` never panics, and what it
//! accepts is sound (no weak keys, unique key ids, ordered validity bounds)
//! and survives a round trip through `TrustedKey::to_toml`.

#![no_main]

use std::collections::HashSet;

use hallmark::{PublicKey, TrustStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(store) = TrustStore::from_toml(text) else {
        return;
    };

    let mut kids = HashSet::new();
    for key in store.keys() {
        assert!(
            kids.insert(key.kid()),
            "two keys share key id {}",
            key.kid()
        );
        assert_eq!(key.kid(), key.public_key().kid());
        assert!(
            PublicKey::from_bytes(&key.public_key().to_bytes()).is_ok(),
            "the store holds a key that does not load on its own (weak or invalid)"
        );
        if let (Some(from), Some(until)) = (key.valid_from(), key.valid_until()) {
            assert!(
                from <= until,
                "key {}: valid_from {from} after valid_until {until}",
                key.name()
            );
        }
        assert_eq!(store.get(key.kid()), Some(key));
    }

    // Writing the store back out (roots, keys, certificates) and reading it
    // again gives the same store.
    let written = store.to_toml();
    match TrustStore::from_toml(&written) {
        Ok(reread) => assert_eq!(reread, store, "trust store round trip differs:\n{written}"),
        Err(e) => panic!("a written trust store is refused: {e}\n{written}"),
    }
});
