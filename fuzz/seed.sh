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
# plus a few hand-made seeds, so the corpora are never empty. Seed files are
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
targets = ("decode", "verify", "trust_store")
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
        if isinstance(case.get("trust_store"), str):
            add("trust_store", case["trust_store"])
        for field in ("bytes", "payload_cbor"):
            if isinstance(case.get(field), str):
                add_hex("decode", case[field])
        expect = case.get("expect")
        if isinstance(expect, dict) and isinstance(expect.get("canonical"), str):
            add("decode", expect["canonical"])
            add("verify", expect["canonical"])

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

for target in targets:
    total = sum(1 for _ in (corpus / target).iterdir())
    print(f"corpus/{target}: {added[target]} added, {total} in all")
PY
