#!/usr/bin/env bash
# Installs everything etcd-spot's tests, demo and benchmarks need on a fresh Debian machine (root):
# Debian's etcd-server/etcd-client (and jq, curl, openssl, the render validators, headless Chromium) when missing, the npm dependencies, and dist/ (npm run build).
# Idempotent: a second run does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v jq >/dev/null 2>&1 || missing+=(jq)     # the seed baseline and the emulator's wire tests use jq, like the 2017 scripts
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # `etcd-spot certs`, the TLS demo and tests (OpenSSL >= 3.0)
# `etcd-spot render` tests validate their output with the real tools: cloud-init's schema, systemd-analyze verify,
# and ignition-validate (Butane output, translated to Ignition in the test).
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v ignition-validate >/dev/null 2>&1 || missing+=(ignition)
# The HTML report's screenshot test (test/integration/report-screenshot.test.ts) draws it in headless Chromium.
command -v chromium-headless-shell >/dev/null 2>&1 || missing+=(chromium-headless-shell)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the etcd package from starting a system etcd that would hold 127.0.0.1:2379 (policy-rc.d is honoured by invoke-rc.d).
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    policy_created=1
  fi
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$policy_created" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

# A system etcd (systemd host) would hold 127.0.0.1:2379; ours never binds it, but stop it so nothing surprises a user.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  if systemctl is-active --quiet etcd 2>/dev/null; then
    echo "setup: stopping and disabling the system etcd.service"
    as_root systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# dist/ (the emitted JavaScript bin/etcd-spot.js runs) when missing or older than src/. A failed build
# (a type error) does not stop the tests: bin/etcd-spot.js then runs the sources through tsx.
node scripts/build.mjs --if-stale || echo "setup: build failed; bin/etcd-spot.js runs the TypeScript sources through tsx"

echo "setup: $(etcd --version | head -1), $(node --version)"
