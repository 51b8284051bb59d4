#!/usr/bin/env bash
# Bulk verification throughput and memory, against raw ed25519-dalek rates
# measured in the same run.
#
#   bench/verify.sh [COUNT]      (default 1000000)
#
# Mints COUNT codes with the demo key, then times `hallmark verify --input` over
# them (all cores, then one thread, then --json) under /usr/bin/time (peak RSS), and
# prints the ratios to the raw single-core verify_strict rate.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
cargo build --release -q --bin hallmark --example verify_rate
BIN=target/release/hallmark
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

raw="$(target/release/examples/verify_rate 200000)"
echo "raw:            $raw"
strict_one="$(sed -n 's/.*verify_strict_one_core=\([0-9]*\).*/\1/p' <<<"$raw")"

"$BIN" mint --key keys.example/demo-TEST-ONLY.key --part DRN-2980 --lot L231212-01 --date 2023-12-12 \
    --count "$COUNT" --ledger "$WORK/ledger" --out "$WORK/codes.txt" 2>/dev/null
run() { # extra args -> "seconds peak_kib"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" verify --trust keys.example/trust.toml \
        --input "$WORK/codes.txt" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    cat "$WORK/time"
}
report() { # label seconds kib
    local rate
    rate="$(awk -v n="$COUNT" -v s="$2" 'BEGIN { printf "%.0f", n / s }')"
    echo "$1: $COUNT codes in ${2}s = $rate codes/s, peak RSS $(($3 / 1024)) MiB," \
        "$(awk -v a="$rate" -v b="$strict_one" 'BEGIN { printf "%.2f", a / b }')x raw 1-core verify_strict"
}
read -r secs kib < <(run)
report "hallmark verify (all cores)" "$secs" "$kib"
read -r secs kib < <(RAYON_NUM_THREADS=1 run)
report "hallmark verify (1 thread)  " "$secs" "$kib"
read -r secs kib < <(run --json)
report "hallmark verify --json      " "$secs" "$kib"
