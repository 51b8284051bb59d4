//! Minting through a PKCS#11 token (SoftHSM2) against raw ed25519-dalek signing
//! in the same run, on messages the size of a sample code's signed bytes.
//!
//! Run by `bench/hsm.sh`, which makes a throwaway token (label `bench`, user
//! PIN in `$HALLMARK_PKCS11_PIN`, `$SOFTHSM2_CONF` pointing at it). This
//! program puts a fixed test key into it (C_CreateObject) and prints one line
//! per measurement: signatures per second and the ratio to raw signing on the
//! same number of threads. The token rates include the check of every
//! signature against the public key (verify_strict), as minting does.

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::Payload;
use hallmark_issuer::pkcs11::{OpenOptions, Pkcs11Signer, Pkcs11Uri, default_module_paths};
use hallmark_issuer::signer::Signer;
use hallmark_issuer::{Minter, SerialMode};
use rayon::prelude::*;
use zeroize::Zeroizing;

const SEED: [u8; 32] = [7; 32];

fn message(i: u64) -> [u8; 55] {
    let mut m = [0x42u8; 55];
    m[22..30].copy_from_slice(&i.to_be_bytes());
    m
}

/// Puts the test key (private and public objects, label `bench`) into the token.
fn import(module: &std::path::Path, pin: &str) {
    let context = Pkcs11::new(module).unwrap();
    context
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = context
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| context.get_token_info(*s).unwrap().label() == "bench")
        .expect("a token labelled bench");
    let session = context.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(pin.into())))
        .unwrap();
    let ed25519 = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
    let public = SigningKey::from_bytes(&SEED).verifying_key().to_bytes();
    let common = |class| {
        vec![
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::EcParams(ed25519.clone()),
            Attribute::Token(true),
            Attribute::Label(b"bench".to_vec()),
            Attribute::Id(vec![1]),
        ]
    };
    let mut private = common(ObjectClass::PRIVATE_KEY);
    private.extend([
        Attribute::Value(SEED.to_vec()),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Sign(true),
    ]);
    let mut public_object = common(ObjectClass::PUBLIC_KEY);
    public_object.extend([
        Attribute::EcPoint([&[0x04, 0x20][..], &public].concat()),
        Attribute::Verify(true),
    ]);
    session.create_object(&private).unwrap();
    session.create_object(&public_object).unwrap();
}

fn rate(count: u64, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let pin = std::env::var("HALLMARK_PKCS11_PIN").expect("$HALLMARK_PKCS11_PIN");
    let module = default_module_paths()
        .into_iter()
        .find(|p| p.is_file())
        .expect("libsofthsm2.so");
    import(&module, &pin);
    let cores = rayon::current_num_threads();

    // Raw ed25519-dalek, one thread and all threads.
    let key = SigningKey::from_bytes(&SEED);
    let started = Instant::now();
    let mut acc = 0u8;
    for i in 0..count {
        acc ^= key.sign(&message(i)).to_bytes()[0];
    }
    let raw_one = rate(count, started);
    let started = Instant::now();
    acc ^= (0..count)
        .into_par_iter()
        .map(|i| key.sign(&message(i)).to_bytes()[0])
        .reduce(|| 0, |a, b| a ^ b);
    let raw_all = rate(count, started);

    let uri = Pkcs11Uri::parse("pkcs11:token=bench;object=bench").unwrap();
    let open = |sessions| {
        let mut options = OpenOptions::default();
        options.pin = Some(Zeroizing::new(pin.clone()));
        options.sessions = sessions;
        Pkcs11Signer::open(&uri, &options).unwrap()
    };

    // The token, one session, one thread.
    let one = open(1);
    let started = Instant::now();
    for i in 0..count {
        acc ^= one.sign(&message(i)).unwrap()[0];
    }
    let token_one = rate(count, started);
    // One session shared by all threads (they queue for it).
    let started = Instant::now();
    acc ^= (0..count)
        .into_par_iter()
        .map(|i| one.sign(&message(i)).unwrap()[0])
        .reduce(|| 0, |a, b| a ^ b);
    let token_one_shared = rate(count, started);
    drop(one);
    // A session per thread.
    let pool = open(0);
    let started = Instant::now();
    acc ^= (0..count)
        .into_par_iter()
        .map(|i| pool.sign(&message(i)).unwrap()[0])
        .reduce(|| 0, |a, b| a ^ b);
    let token_all = rate(count, started);
    // Whole codes, as `hallmark mint` makes them, through the pool.
    let template =
        Payload::new(0, "DRN-2980", "L231212-01", "2023-12-12".parse().unwrap()).unwrap();
    let minter = Minter::new(&pool, &template, SerialMode::Sequential).unwrap();
    let started = Instant::now();
    let bytes: usize = (0..count)
        .into_par_iter()
        .map(|i| minter.mint(i).unwrap().1.len())
        .sum();
    let mint_all = rate(count, started);

    println!("signatures: {count}, threads: {cores} (checksum {acc}, {bytes} code bytes)");
    println!("raw ed25519-dalek, 1 thread:            {raw_one:>9.0}/s");
    println!("raw ed25519-dalek, {cores} threads:           {raw_all:>9.0}/s");
    println!(
        "SoftHSM2, 1 session, 1 thread:          {token_one:>9.0}/s  ({:.2} of raw 1 thread)",
        token_one / raw_one
    );
    println!(
        "SoftHSM2, 1 session, {cores} threads:         {token_one_shared:>9.0}/s  ({:.2} of raw {cores} threads)",
        token_one_shared / raw_all
    );
    println!(
        "SoftHSM2, {cores} sessions, {cores} threads:        {token_all:>9.0}/s  ({:.2} of raw {cores} threads)",
        token_all / raw_all
    );
    println!(
        "mint via SoftHSM2, {cores} sessions:           {mint_all:>9.0}/s  ({:.2} of raw {cores} threads)",
        mint_all / raw_all
    );
}
