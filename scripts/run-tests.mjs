#!/usr/bin/env node
// Runs one tier (or all) of the test suite with node's test runner through tsx, then prints one
// closing line for the whole run: "tests: N passed, N failed, N skipped".
//   unit         src/**/*.test.ts            pure code and in-process HTTP, files in parallel
//   contract     test/contract/**/*.test.ts  adapters against real etcd processes, one file at a time
//   integration  test/integration/**         adapters and CLI against the emulator over HTTP (+ real etcd)
//   e2e          test/e2e/**                 fleets of real etcd + agents, one file at a time
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const tiers = {
  unit: { dir: 'src', concurrency: 2 },
  contract: { dir: 'test/contract', concurrency: 1 },
  integration: { dir: 'test/integration', concurrency: 1 },
  e2e: { dir: 'test/e2e', concurrency: 1 },
};

function findTests(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function runTier(name, files) {
  const { concurrency } = tiers[name];
  return new Promise((resolve) => {
    const args = [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      ...files,
    ];
    console.log(`\n=== ${name}: ${files.length} file(s)`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const counts = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      for (const key of Object.keys(counts)) {
        const m = tail.match(new RegExp(`[ℹ#] ${key} (\\d+)`));
        if (m) counts[key] = Number(m[1]);
      }
      // A runner that died before its summary still counts as a failure.
      if (code !== 0 && counts.fail === 0 && counts.cancelled === 0) counts.fail = 1;
      resolve(counts);
    });
  });
}

const wanted = process.argv.slice(2);
const selected = wanted.length === 0 || wanted.includes('all') ? Object.keys(tiers) : wanted;
for (const t of selected) {
  if (!tiers[t]) {
    console.error(`unknown tier ${t}; expected one of ${Object.keys(tiers).join(', ')}, all`);
    process.exit(2);
  }
}
const total = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
for (const t of selected) {
  const files = findTests(tiers[t].dir);
  if (files.length === 0) continue;
  const c = await runTier(t, files);
  for (const k of Object.keys(total)) total[k] += c[k];
}
// Static checks run by scripts/test.sh (lint, format, typecheck) count in the closing line too.
const checksFailed = (process.env.CHECKS_FAILED ?? '').split(' ').filter(Boolean);
total.pass += Number(process.env.CHECKS_PASSED ?? 0);
if (checksFailed.length > 0)
  console.log(`\nfailed checks: ${checksFailed.join(', ')} (see their output above)`);
const failed = total.fail + total.cancelled + checksFailed.length;
console.log(`\ntests: ${total.pass} passed, ${failed} failed, ${total.skipped + total.todo} skipped`);
process.exit(failed > 0 || total.pass === 0 ? 1 : 0);
