#!/usr/bin/env bash
# A pallet manifest against bulk verification of the same codes, in one run
# (issue 15's goal: verify --aggregation >= 0.90x the bulk rate, bounded memory):
#
#   bench/aggregation.sh [COUNT] [REPS]      (default 100000 codes, 3 repetitions)
#
# Mints COUNT demo codes, signs one manifest of them (`hallmark aggregate`),
# then alternates `verify --input codes.txt` and `verify --aggregation p.agg`
# REPS times each; reports the best wall times, the ratio of rates and the
# max RSS of each (/usr/bin/time -v).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-100000}"
REPS="${2:-3}"
cargo build --release -q --bin hallmark
BIN=target/release/hallmark
KEY=keys.example/demo-TEST-ONLY.key
TRUST=keys.example/trust.toml
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BIN" mint --key "$KEY" --part DRN-2980 --lot L231212-01 --date 2023-12-12 \
    --count "$COUNT" --ledger "$WORK/demo.ledger" --out "$WORK/codes.txt" 2>/dev/null
"$BIN" aggregate --key "$KEY" --parent sscc:106141411234567897 --children "$WORK/codes.txt" \
    --bizstep packing --out "$WORK/p.agg" 2>/dev/null
echo "manifest:     $COUNT children, $(wc -c <"$WORK/p.agg") bytes"

measure() { # name command... -> "seconds rss_kb"
    /usr/bin/time -v -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    local wall rss
    wall="$(sed -n 's/.*Elapsed (wall clock) time.*: \(.*\)/\1/p' "$WORK/time" \
        | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')"
    rss="$(sed -n 's/.*Maximum resident set size (kbytes): \(.*\)/\1/p' "$WORK/time")"
    echo "$wall $rss"
}
best_bulk=999999; best_agg=999999; rss_bulk=0; rss_agg=0
for _ in $(seq "$REPS"); do
    read -r w r < <(measure "$BIN" verify --trust "$TRUST" --today 2026-11-23 --input "$WORK/codes.txt")
    best_bulk="$(awk -v a="$best_bulk" -v b="$w" 'BEGIN { print (b < a ? b : a) }')"
    rss_bulk="$(awk -v a="$rss_bulk" -v b="$r" 'BEGIN { print (b > a ? b : a) }')"
    read -r w r < <(measure "$BIN" verify --trust "$TRUST" --today 2026-11-23 --spot-check 5 \
        --aggregation "$WORK/p.agg")
    best_agg="$(awk -v a="$best_agg" -v b="$w" 'BEGIN { print (b < a ? b : a) }')"
    rss_agg="$(awk -v a="$rss_agg" -v b="$r" 'BEGIN { print (b > a ? b : a) }')"
done
rate() { awk -v n="$COUNT" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
echo "bulk verify:  $COUNT codes in ${best_bulk}s = $(rate "$best_bulk")/s, max RSS ${rss_bulk} kB"
echo "aggregation:  $COUNT children in ${best_agg}s = $(rate "$best_agg")/s, max RSS ${rss_agg} kB"
echo "ratio:        aggregation / bulk = $(awk -v a="$best_bulk" -v b="$best_agg" 'BEGIN { printf "%.2f", a / b }') (goal >= 0.90)"
