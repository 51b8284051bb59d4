#!/usr/bin/env bash
# OpenAPI-driven API fuzzing: schemathesis generates requests from the
# service's own /openapi.json (valid and invalid ones) and checks every answer:
# no 5xx, the documented status codes, content types, headers and response
# schemas. Runs against the real `hallmark serve` on loopback, on SQLite and,
# when $HALLMARK_TEST_POSTGRES is reachable, on PostgreSQL.
#
#   scripts/api-fuzz.sh [EXAMPLES]     (default 200 examples per operation)
#
# Needs python3 with pip (installs schemathesis into a virtualenv under
# target/). Exit status 0 only when every run found nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-200}"

VENV=target/api-fuzz-venv
if [ ! -x "$VENV/bin/st" ]; then
    echo "--- installing schemathesis into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi
cargo build -q --release --bin hallmark
HALLMARK="$PWD/target/release/hallmark"

WORK="$(mktemp -d)"
. scripts/lib/serve.sh
cleanup() {
    hm_stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
hm_setup_keys

# Checks: every one schemathesis has except positive_data_acceptance, which
# expects any schema-valid body to succeed; the schema cannot say "exactly one
# target" or "a date that exists", so the service rightly answers 400 there.
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,ignored_auth,use_after_free,ensure_resource_availability"

fuzz_backend() {
    local name="$1" db="$2"
    echo "--- fuzzing the API on $name"
    local status_token batches_token scans_token service_token reports_token
    status_token="$("$HALLMARK" token create --db "$db" --name "fuzz-status-$$" --scope status)"
    batches_token="$("$HALLMARK" token create --db "$db" --name "fuzz-batches-$$" --scope batches)"
    scans_token="$("$HALLMARK" token create --db "$db" --name "fuzz-scans-$$" --scope scans)"
    service_token="$("$HALLMARK" token create --db "$db" --name "fuzz-service-$$" --scope service)"
    reports_token="$("$HALLMARK" token create --db "$db" --name "fuzz-reports-$$" --scope reports)"
    # A generous rate limit: the fuzzer is one client sending as fast as it can.
    # The demo claim key turns registrations on (without one they answer 503).
    hm_start_server "$db" "$WORK/serve-$name.log" --rate-limit 100000 \
        --claim-key keys.example/claim-demo-TEST-ONLY.key
    local url="http://127.0.0.1:$PORT/openapi.json" rc=0
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --exclude-path /v1/batches --exclude-path /v1/scans \
        -H "Authorization: Bearer $status_token" || rc=1
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --include-path /v1/batches -H "Authorization: Bearer $batches_token" || rc=1
    # Scans: from an authenticated scanner (a scans token), then anonymously.
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --include-path /v1/scans -H "Authorization: Bearer $scans_token" || rc=1
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --include-path /v1/scans || rc=1
    # Service history with a service token, reports with a reports token.
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --include-path-regex '/events$' -H "Authorization: Bearer $service_token" || rc=1
    "$VENV/bin/st" run "$url" --checks "$CHECKS" -n "$EXAMPLES" --generation-deterministic \
        --include-path /v1/reports -H "Authorization: Bearer $reports_token" || rc=1
    hm_stop_server
    if grep -q "internal error" "$WORK/serve-$name.log"; then
        echo "the server logged internal errors:"
        grep "internal error" "$WORK/serve-$name.log" | head -20
        rc=1
    fi
    return $rc
}

failed=0
fuzz_backend sqlite "$WORK/hallmark.db" || failed=1
if hm_pg_up; then
    schema="api_fuzz_$$"
    fuzz_backend postgresql "$(hm_pg_schema_url "$schema")" || failed=1
    hm_pg_drop_schema "$schema"
elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL at $PG is unreachable (CI is set)"
    failed=1
else
    echo "--- skipping PostgreSQL: no server at $PG"
fi
exit $failed
