#!/usr/bin/env bash
# Bulk verification against a trust bundle, as a ratio to the flat trust store
# measured in the same run (issue 13: within 10%).
#
#   bench/bundle.sh [COUNT] [MANIFESTS] [ROUNDS]   (default 1000000 10000 3)
#
# examples/bundle_fixture.rs mints COUNT codes of a certified line key in
# MANIFESTS batches, each with its own signed manifest and registry receipt, and
# a trust bundle that lists the key compromised after the last receipt: every
# code is genuine, and every code goes through the compromise membership check
# (the worst case). The baseline trusts the same key as a plain trust-store
# entry. Rounds alternate flat and bundle runs; the ratio is of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
MANIFESTS="${2:-10000}"
ROUNDS="${3:-3}"
cargo build --release -q --bin hallmark --example bundle_fixture
BIN=target/release/hallmark
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
target/release/examples/bundle_fixture "$WORK" "$COUNT" "$MANIFESTS"

run() { # label, extra args -> "seconds peak_kib"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" verify --input "$WORK/codes.txt" \
        --state-dir "$WORK/state" --max-age 100000w "$@" >"$WORK/out" 2>"$WORK/err" ||
        { cat "$WORK/err"; exit 1; }
    grep -q -v '^genuine' "$WORK/out" && { echo "a code was not genuine"; exit 1; }
    cat "$WORK/time"
}
flat=(); bundle=(); flat_kib=0; bundle_kib=0
for _ in $(seq "$ROUNDS"); do
    read -r s k < <(run --trust "$WORK/flat.toml"); flat+=("$s"); flat_kib=$k
    read -r s k < <(run --trust "$WORK/roots.toml" --bundle "$WORK/bundle.bin"); bundle+=("$s"); bundle_kib=$k
    load="$(sed -n 's/.*loaded in \([0-9]*\) ms.*/\1/p' "$WORK/err")"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
f="$(median "${flat[@]}")"; b="$(median "${bundle[@]}")"
echo "flat trust store: ${flat[*]} s (median $f s), peak RSS $((flat_kib / 1024)) MiB"
echo "trust bundle:     ${bundle[*]} s (median $b s), peak RSS $((bundle_kib / 1024)) MiB, bundle load ${load} ms"
awk -v f="$f" -v b="$b" -v n="$COUNT" 'BEGIN {
    printf "rates: flat %.0f codes/s, bundle %.0f codes/s; bundle/flat time ratio %.3f\n", n / f, n / b, b / f }'
