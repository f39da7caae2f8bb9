#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install (etcd, npm deps), lint, format check,
# typecheck, then every tier. Ends with "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

# Static checks count as tests in the closing line, so a lint failure can't hide behind "0 failed".
checks_failed=()
echo "=== lint"; npx eslint . || checks_failed+=(lint)
echo "=== format"; npx prettier --check . >/dev/null 2>&1 || { npx prettier --list-different .; echo "format: run 'npm run format'"; checks_failed+=(format); }
echo "=== typecheck"; npx tsc --noEmit || checks_failed+=(typecheck)
CHECKS_PASSED=$((3 - ${#checks_failed[@]})) CHECKS_FAILED="${checks_failed[*]}" node scripts/run-tests.mjs "$@"
