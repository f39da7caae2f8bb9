#!/usr/bin/env bash
# `npm run footprint`: installs what is missing (etcd, npm deps, dist/), then measures the agent's
# footprint (RSS, idle CPU, start → first decision, each dependency's cost) and writes the
# "Agent footprint" section of BENCHMARKS.md. About 2 minutes; arguments go to bench/footprint.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build.mjs --if-stale
exec node --import tsx bench/footprint.ts "$@"
