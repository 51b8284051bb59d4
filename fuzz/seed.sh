#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the test vectors in tests/vectors/*.json.
#
#   fuzz/seed.sh            (from anywhere; paths are relative to this script)
#
# Each vector file is a JSON object with a "cases" array. From every case:
#   "input"         (text)  -> corpus/decode, corpus/verify
#   "bytes"         (hex)   -> corpus/decode (raw binary code)
#   "payload_cbor"  (hex)   -> corpus/decode (raw payload CBOR)
#   "expect.canonical"      -> corpus/decode, corpus/verify
#   "trust_store"   (text)  -> corpus/trust_store (also the file's top-level one)
#   "input"/"expect.canonical" -> corpus/server too, as lookups, code pages and
#                              scan bodies
# plus hand-made seeds for every target (snapshot and manifest documents,
# key files including keys.example/, ledger and journal lines, requests, the
# pictures in fuzz/seeds/image/), so
# the corpora are never empty. Seed files are
# named by the SHA-1 of their content (as libFuzzer names its own), so running
# the script again adds nothing twice. Missing or unreadable vector files are
# skipped with a warning.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$here" <<'PY'
import hashlib
import json
import pathlib
import sys

fuzz = pathlib.Path(sys.argv[1])
vectors = fuzz.parent / "tests" / "vectors"
corpus = fuzz / "corpus"
targets = (
    "decode",
    "verify",
    "trust_store",
    "signed_documents",
    "revocation_snapshot",
    "batch_manifest",
    "key_file",
    "ledger",
    "seen_journal",
    "server",
    "image",
    "certificate",
    "receipt",
    "trust_bundle",
    "aggregation",
)
added = {t: 0 for t in targets}


def add(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    path = d / hashlib.sha1(data).hexdigest()
    if not path.exists():
        path.write_bytes(data)
        added[target] += 1


def add_hex(target, text):
    try:
        add(target, bytes.fromhex(text))
    except (TypeError, ValueError):
        print(f"seed.sh: skipping bad hex {text!r:.40}", file=sys.stderr)


def add_requests(code):
    """server: a code as lookup, code pages and scan body (see fuzz_targets/server.rs)."""
    if len(code) > 300:
        return
    for op in (0, 1, 2):
        add("server", bytes([op]) + code.encode("utf-8"))
    add("server", bytes([3, 0]) + json.dumps({"code": code, "location": "Dock 3"}).encode())


def cbor(v):
    """Deterministic CBOR for the few types the documents use."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
        raise ValueError(n)
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode("utf-8")
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(v[k]) for k in sorted(v))
    raise TypeError(v)


for target in targets:
    (corpus / target).mkdir(parents=True, exist_ok=True)

files = sorted(vectors.glob("*.json")) if vectors.is_dir() else []
if not files:
    print(f"seed.sh: no vector files in {vectors}; only built-in seeds", file=sys.stderr)
for f in files:
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"seed.sh: skipping {f.name}: {e}", file=sys.stderr)
        continue
    if not isinstance(doc, dict):
        continue
    if isinstance(doc.get("trust_store"), str):
        add("trust_store", doc["trust_store"])
    cases = doc.get("cases")
    for case in cases if isinstance(cases, list) else []:
        if not isinstance(case, dict):
            continue
        if isinstance(case.get("input"), str):
            add("decode", case["input"])
            add("verify", case["input"])
            add_requests(case["input"])
        if isinstance(case.get("trust_store"), str):
            add("trust_store", case["trust_store"])
        for field in ("bytes", "payload_cbor"):
            if isinstance(case.get(field), str):
                add_hex("decode", case[field])
        # certificates.json and bundles.json: whole signed documents, and
        # their documents alone (the targets sign those themselves).
        for field, target in (("receipt", "receipt"), ("bundle", "trust_bundle"),
                              ("manifest", "aggregation")):
            if isinstance(case.get(field), str):
                add_hex(target, case[field])
                add_hex(target, case[field][10:-128])
        for c in case.get("certificates") or []:
            if isinstance(c, str):
                add_hex("certificate", c)
                add_hex("certificate", c[10:-128])
        expect = case.get("expect")
        if isinstance(expect, dict) and isinstance(expect.get("canonical"), str):
            add("decode", expect["canonical"])
            add("verify", expect["canonical"])
            add_requests(expect["canonical"])

# Built-in seeds.
# decode: a minimal payload {0:1, 1:"A", 2:"B", 3:2}, one with an extension
# {.., 5:"G"}, and short texts.
add("decode", bytes.fromhex("a400010161410261420302"))
add("decode", bytes.fromhex("a50001016141026142030205614a"))
add("decode", "00")
add("decode", "HTTPS://HM.EXAMPLE/C/00")
# verify, structured mode (first byte odd): serial, date, then 4-byte edits
# (op, position u16 LE, argument); see fuzz_targets/verify.rs.
add("verify", bytes([1]) + (123456789).to_bytes(8, "little") + (19703).to_bytes(2, "little"))
# The mode byte's upper bits pick which accepted spelling is checked.
for op in range(8):
    add("verify", bytes([2 * op + 1]) + (42).to_bytes(8, "little")
        + (19703).to_bytes(2, "little") + bytes([op, 17, 0, 0x2d]))
# trust_store: one good key with validity bounds, and an empty file.
add("trust_store", '[[key]]\nname = "demo"\n'
    'public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"\n'
    "valid_from = 2024-01-01\nvalid_until = 2026-12-31\n")
add("trust_store", "")

# revocation_snapshot: documents (the target signs them), empty and full.
kid = bytes.fromhex("4d436e5b")
add("revocation_snapshot", cbor({0: 1, 1: 1795435200, 2: [], 3: [], 4: [], 5: []}))
add("revocation_snapshot", cbor({
    0: 7, 1: 1795435200,
    2: [[kid, 42, 1, 20454], [kid, 123456789, 5, 20454]],
    3: [[kid, 100, 199, 0, 20455]],
    4: [[kid, "L231212-01", 2, 20456]],
    5: [[bytes.fromhex("01020304"), 19000, 4, 20457]],
}))
# A serial listed twice: refused (see snapshot_with_a_repeated_entry_is_refused).
add("revocation_snapshot", cbor({
    0: 8, 1: 1795435200, 2: [[kid, 42, 1, 20454], [kid, 42, 1, 20454]], 3: [], 4: [], 5: [],
}))
# signed_documents: a sequence byte, then 12-byte revocation entries.
add("signed_documents", bytes([3]) + bytes(range(24)))

# batch_manifest: documents (the target signs them).
batch = {0: 0, 1: 1000, 2: "DRN-2980", 3: "L231212-01", 4: 19703, 6: False, 7: 1702339200}
add("batch_manifest", cbor({0: 1795435200, 1: []}))
add("batch_manifest", cbor({0: 1795435200, 1: [batch, {**batch, 0: 1000, 5: 20434, 6: True}]}))

# key_file: the demo key files, an unencrypted key with a public key, and an
# encrypted key with argon2 parameters cheap enough for the fuzzer (passphrase
# `fuzz`, seed [7; 32]; made once, test only).
for name in ("demo-TEST-ONLY.key", "demo-TEST-ONLY.pub"):
    f = fuzz.parent / "keys.example" / name
    if f.is_file():
        add("key_file", f.read_bytes())
add("key_file", "# hallmark secret key v1\nname = plain\n"
    "public_key = ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\n"
    "encryption = none\n"
    "secret = 0707070707070707070707070707070707070707070707070707070707070707\n")
add("key_file", "# hallmark secret key v1\n"
    "name = fuzz-enc\n"
    "public_key = ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\n"
    "encryption = argon2id-xchacha20poly1305\n"
    "argon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n"
    "salt = 000102030405060708090a0b0c0d0e0f\n"
    "nonce = 6465666768696a6b6c6d6e6f707172737475767778797a7b\n"
    "secret = 34759c2e570138d22561aec76c2696706c5a9c36f8c080d59fa1416787ceb73e"
    "370e4807fe159edcde115cc63dd26d74\n")

# ledger: whole records, a torn tail, a record without its newline.
rec = ('{"v":1,"kid":"4d436e5b","start":0,"count":10,"part":"DRN-2980",'
       '"lot":"L231212-01","date":"2023-12-12","expiry":null,"time":1702339200,'
       '"serials":"sequential"}')
rec2 = rec.replace('"start":0', '"start":10').replace('"sequential"', '"opaque"')
add("ledger", "")
add("ledger", rec + "\n" + rec2 + "\n")
add("ledger", rec + "\n" + rec2[:40])
add("ledger", rec)

# seen_journal: sightings with and without a location, a duplicate, a torn tail.
s1 = '{"v":1,"kid":"4d436e5b","serial":42,"time":1767225600,"location":"Dock 3"}'
s2 = '{"v":1,"kid":"4d436e5b","serial":43,"time":1767225601,"location":null}'
s3 = '{"v":1,"kid":"4d436e5b","serial":42,"time":1767312000}'
add("seen_journal", "")
add("seen_journal", s1 + "\n" + s2 + "\n" + s3 + "\n")
add("seen_journal", s1 + "\n" + s2[:30])
add("seen_journal", s1)

# server: every request kind of fuzz_targets/server.rs.
status = {"action": "revoke", "reason": "stolen", "kid": "4d436e5b", "serial": 42}
add("server", bytes([4, 0, 0]) + json.dumps(status).encode())
add("server", bytes([4, 0, 0]) + json.dumps(
    {"action": "decommission", "kid": "4d436e5b", "range": {"first": 1, "last": 9}}).encode())
add("server", bytes([4, 0, 0]) + json.dumps(
    {"action": "revoke", "reason": "recalled", "kid": "4d436e5b", "lot": "L7", "date": "2026-01-01"}).encode())
add("server", bytes([4, 0, 0]) + json.dumps(
    {"action": "revoke", "reason": "key-compromised", "kid": "4d436e5b", "key_from": "2025-06-01"}).encode())
add("server", bytes([5, 1]) + bytes([1]) + kid + cbor({0: 1, 1: [batch]}) + bytes(64))
add("server", bytes([6]) + b'"8608b1b7-1-1795435200", W/"x", *')
add("server", bytes([7, 1, 0]) + b"/v1/scans?x=1\n" + b'{"code": "00"}')
add("server", bytes([7, 0, 4]) + b"/v1/nothing/here")
add("server", bytes([10]) + b"Bearer hm_fuzz_status_token\n" + json.dumps(status).encode())
for what in range(6):
    for flags in (0, 1, 2, 4, 8, 12):
        add("server", bytes([8, what, flags]) + (42).to_bytes(8, "little")
            + (19703).to_bytes(2, "little") + b"Dock 3")
add("server", bytes([9]) + bytes(range(24)))
for i in range(5):
    add("server", bytes([11, i]))

# image: the pictures in fuzz/seeds/image/ (PNG and JPEG labels, and one that
# made the QR detector panic).
for f in sorted((fuzz / "seeds" / "image").glob("*")):
    add("image", f.read_bytes())

# certificate, receipt, trust_bundle: documents (the targets sign them); the
# vectors of certificates.json and bundles.json add whole signed ones.
add("certificate", cbor({0: bytes(range(32)), 1: "line", 2: 20454, 3: 21183, 4: 3,
                         5: 1767225600, 6: ["DRN-*"], 8: [[1, 1000]], 10: 1000}))
add("receipt", cbor({0: bytes(32), 1: bytes(4), 2: 1785000000, 3: 1, 4: 100}))
add("trust_bundle", cbor({0: 1, 1: 1785086400, 2: [], 3: [],
                          4: {2: [], 3: [], 4: [], 5: []}, 5: [[bytes(4), 1785000000, 20660]]}))

for target in targets:
    total = sum(1 for _ in (corpus / target).iterdir())
    print(f"corpus/{target}: {added[target]} added, {total} in all")
PY
