#!/usr/bin/env bash
# `npm run demo`: installs what is missing (etcd, npm deps), then runs the demo scenario of the local
# fleet simulator: 3 instances and a writer; a follower and then the leader get a 15 s spot notice;
# one instance is kill -9'd and never comes back. Ends with the verdict (lost / failed writes, timings).
# It runs over TLS (--tls): a CA and a certificate per instance are made for the run, etcd's client and
# peer ports and the agents' endpoints require them (`etcd-spot sim --scenario demo` alone runs it over plain HTTP).
# Extra arguments go to `etcd-spot sim`, e.g. `npm run demo -- --seed 42 --report demo.json`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/etcd-spot.js sim --scenario demo --tls "$@"
