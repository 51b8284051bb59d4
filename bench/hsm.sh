#!/usr/bin/env bash
# Minting through SoftHSM2 (PKCS#11, `--signer`) against raw ed25519-dalek
# signing measured in the same run: one session, and one session per thread.
#
#   bench/hsm.sh [COUNT]     (default: 20000 signatures per measurement)
#
# Makes a throwaway SoftHSM2 token in a temporary directory (needs softhsm2:
# apt-get install softhsm2), puts a fixed test key into it and runs
# examples/hsm_rate.rs, which prints rates and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-20000}"
command -v softhsm2-util >/dev/null || { echo "softhsm2-util not found (apt-get install softhsm2)"; exit 1; }
cargo build --release -q --example hsm_rate
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$WORK/softhsm2.conf"
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
export HALLMARK_PKCS11_PIN=bench-pin
softhsm2-util --init-token --free --label bench --so-pin bench-so-pin --pin "$HALLMARK_PKCS11_PIN" >/dev/null
target/release/examples/hsm_rate "$COUNT"
