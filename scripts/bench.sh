#!/usr/bin/env bash
# `npm run bench`: installs what is missing (etcd, jq, curl, npm deps), then runs etcd-spot's agent and
# the seed baseline side by side on the simulator's standard scenarios and writes BENCHMARKS.md.
# Arguments go to bench/run.ts, e.g. `npm run bench -- --quick` or `npm run bench -- --repeats 5`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx bench/run.ts "$@"
