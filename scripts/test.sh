#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install (etcd, npm deps), lint, format check,
# typecheck, then every tier. Ends with "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

status=0
echo "=== lint"; npx eslint . || status=1
echo "=== format"; npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "format: files above need 'npm run format'"; status=1; }
echo "=== typecheck"; npx tsc --noEmit || status=1
node scripts/run-tests.mjs "$@" || status=1
if [ "$status" != 0 ]; then echo "(lint, format or typecheck failed: see above)"; fi
exit $status
