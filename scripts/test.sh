#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, lints, then the whole vitest suite
# (unit, golden tests against ovs-ofctl, fuzzing, and integration tests on namespaces and veths).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: lint"
npx eslint . && npx prettier --check . >/dev/null
echo "test: vitest"
status=0
npx vitest run --reporter=default --reporter=json --outputFile=dist/vitest-report.json "$@" || status=$?
node scripts/summary.mjs dist/vitest-report.json || true
exit $status
