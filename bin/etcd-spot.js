#!/usr/bin/env node
// Runs the emitted JavaScript in dist/ (`npm run build`; an installed package always has it). In a
// source checkout whose dist/ is missing or older than src/, it runs the TypeScript sources through
// tsx (a dev dependency) instead, so an edit is never shadowed by an old build.
import { fileURLToPath } from 'node:url';
import { distState } from './dist-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const state = distState(root);
if (state === 'current') {
  await import('../dist/cli/main.js');
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `Error: dist/ is ${state === 'missing' ? 'missing' : 'older than src/'} and tsx is not installed; run npm run build (or npm install for tsx)\n`,
    );
    process.exitCode = 1;
  }
  if (register) {
    register();
    await import('../src/cli/main.ts');
  }
}
