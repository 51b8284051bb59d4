#!/usr/bin/env bash
# Mint throughput and memory, against the raw signing rate measured in the same run.
#
#   bench/mint.sh [COUNT] [BIG_COUNT]     (defaults: 1000000 and 10000000; BIG_COUNT=0 skips)
#
# Prints: the raw ed25519-dalek signing rate (one core, all cores), hallmark mint's
# end-to-end rate writing COUNT codes to a file, the ratio of the two, and peak RSS
# for COUNT and BIG_COUNT codes. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
BIG="${2:-10000000}"
cargo build --release -q --bin hallmark --example sign_rate
BIN=target/release/hallmark
KEY=keys.example/demo-TEST-ONLY.key
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

raw="$(target/release/examples/sign_rate "$COUNT")"
echo "raw signing:  $raw"
all_cores="$(sed -n 's/.*all_cores=\([0-9]*\).*/\1/p' <<<"$raw")"

mint() { # count outfile -> prints "seconds peak_kib"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" mint --key "$KEY" --part DRN-2980 --lot L231212-01 \
        --date 2023-12-12 --count "$1" --ledger "$WORK/ledger" --out "$2" 2>/dev/null
    cat "$WORK/time"
}

read -r secs kib < <(mint "$COUNT" "$WORK/codes.txt")
lines="$(wc -l <"$WORK/codes.txt")"
[ "$lines" -eq "$COUNT" ] || { echo "expected $COUNT lines, got $lines"; exit 1; }
rate="$(awk -v n="$COUNT" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
ratio="$(awk -v a="$rate" -v b="$all_cores" 'BEGIN { printf "%.2f", a / b }')"
echo "hallmark mint: $COUNT codes to a file in ${secs}s = $rate codes/s, peak RSS $((kib / 1024)) MiB"
echo "ratio:        mint rate / raw all-core signing rate = $ratio (goal >= 0.90)"
rm -f "$WORK/codes.txt"

if [ "$BIG" -gt 0 ]; then
    read -r secs kib < <(mint "$BIG" "$WORK/big.txt")
    echo "hallmark mint: $BIG codes in ${secs}s, peak RSS $((kib / 1024)) MiB (goal < 64 MiB)"
fi
