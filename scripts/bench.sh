#!/usr/bin/env bash
# End-to-end benchmark: ofswitch vs the Linux bridge vs Open vSwitch's userspace datapath, two
# hosts on veths in namespaces (root needed). Installs and builds first (scripts/setup.sh).
#   bash scripts/bench.sh            full run (~15 min), rewrites docs/performance.md "## End to end"
#   bash scripts/bench.sh --quick    ~3 min, one run per figure, docs left alone
#   bash scripts/bench.sh --help     peers/figures selection, repeats, --cpu-prof DIR, ...
# The harness tears down its namespaces and stops its processes on exit, error and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/bench/e2e/main.js "$@"
