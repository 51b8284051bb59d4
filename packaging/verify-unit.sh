#!/usr/bin/env bash
# Checks packaging/hallmark.service with `systemd-analyze verify` (.ci/run runs
# it after the build), and that every HALLMARK_* variable packaging/hallmark.env
# names (set or commented out) is one `hallmark serve --help` lists.
#
#   packaging/verify-unit.sh [BINARY]     (default target/debug/hallmark)
#
# verify needs ExecStart's binary to exist: the check runs a copy of the unit
# whose ExecStart is BINARY and whose EnvironmentFile is packaging/hallmark.env.
# Any message about the unit (a warning included) fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/debug/hallmark}")"
[ -x "$bin" ] || { echo "verify-unit: no binary at $bin (build first)"; exit 1; }
if ! command -v systemd-analyze >/dev/null; then
    if [ -n "${CI:-}" ]; then
        echo "--- installing systemd (systemd-analyze)"
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q systemd
    else
        echo "SKIPPED (tool missing): systemd-analyze; apt-get install systemd"
        exit 0
    fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unit="$tmp/hallmark.service"
sed -e "s|^ExecStart=/usr/local/bin/hallmark |ExecStart=$bin |" \
    -e "s|^EnvironmentFile=.*|EnvironmentFile=$PWD/packaging/hallmark.env|" \
    packaging/hallmark.service >"$unit"
grep -q "^ExecStart=$bin serve$" "$unit" || { echo "verify-unit: ExecStart not found in the unit"; exit 1; }
# --man=no: the man page is not installed here.
if ! out="$(systemd-analyze verify --man=no "$unit" 2>&1)"; then
    echo "$out"
    echo "verify-unit: systemd-analyze verify failed"
    exit 1
fi
about="$(grep -F "hallmark.service" <<<"$out" || true)"
if [ -n "$about" ]; then
    echo "$about"
    echo "verify-unit: systemd-analyze verify warns about the unit"
    exit 1
fi
echo "systemd-analyze verify: packaging/hallmark.service ok"

help="$("$bin" serve --help)"
bad=0
for var in $(grep -oE '^#?HALLMARK_[A-Z_]+=' packaging/hallmark.env | tr -d '#=' | sort -u); do
    case "$var" in
        HALLMARK_LOG) continue ;; # the log filter, not a flag
    esac
    grep -qF "[env: $var" <<<"$help" || { echo "verify-unit: $var (hallmark.env) is no serve flag"; bad=1; }
done
[ "$bad" -eq 0 ] || exit 1
echo "packaging/hallmark.env: every variable is a serve flag"
