#!/usr/bin/env bash
# GS1 units against v1 codes and raw signing, in one run (issue 14's goals):
#
#   bench/gs1.sh [COUNT]      (default 1000000)
#
# - minting: `hallmark gs1 sign --count COUNT --format element` against the raw
#   all-core ed25519-dalek signing rate (goal >= 0.90) and against `hallmark mint`
#   of COUNT v1 codes with opaque serials;
# - verifying: `hallmark verify --input` over the COUNT GS1 element strings (with
#   8030) against the same over the COUNT v1 codes (goal >= 0.90).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
cargo build --release -q --bin hallmark --example sign_rate
BIN=target/release/hallmark
KEY=keys.example/demo-TEST-ONLY.key
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

raw="$(target/release/examples/sign_rate "$COUNT")"
echo "raw signing:  $raw"
all_cores="$(sed -n 's/.*all_cores=\([0-9]*\).*/\1/p' <<<"$raw")"

timed() { # command... -> "seconds"
    /usr/bin/time -f "%e" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    cat "$WORK/time"
}
rate() { awk -v n="$COUNT" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

v1_mint="$(timed "$BIN" mint --key "$KEY" --part DRN-2980 --lot L231212-01 --date 2023-12-12 \
    --count "$COUNT" --serials opaque --ledger "$WORK/v1.ledger" --out "$WORK/v1.txt")"
gs1_mint="$(timed "$BIN" gs1 sign --key "$KEY" --gtin 09506000134352 --lot L231212-01 \
    --prod-date 2026-11-20 --expiry 2028-11-30 --count "$COUNT" --format element \
    --ledger "$WORK/gs1.ledger" --out "$WORK/gs1.txt")"
[ "$(wc -l <"$WORK/gs1.txt")" -eq "$COUNT" ] || { echo "gs1 sign wrote the wrong count"; exit 1; }
echo "v1 mint:      $COUNT codes in ${v1_mint}s = $(rate "$v1_mint")/s"
echo "gs1 sign:     $COUNT units in ${gs1_mint}s = $(rate "$gs1_mint")/s"
echo "ratio:        gs1 sign / raw all-core signing = $(ratio "$(rate "$gs1_mint")" "$all_cores") (goal >= 0.90)"
echo "ratio:        gs1 sign / v1 mint = $(ratio "$(rate "$gs1_mint")" "$(rate "$v1_mint")")"

v1_verify="$(timed "$BIN" verify --trust keys.example/trust.toml --input "$WORK/v1.txt")"
gs1_verify="$(timed "$BIN" verify --trust keys.example/trust.toml --input "$WORK/gs1.txt")"
echo "v1 verify:    $COUNT codes in ${v1_verify}s = $(rate "$v1_verify")/s"
echo "gs1 verify:   $COUNT units in ${gs1_verify}s = $(rate "$gs1_verify")/s"
echo "ratio:        gs1 verify / v1 verify = $(ratio "$(rate "$gs1_verify")" "$(rate "$v1_verify")") (goal >= 0.90)"
