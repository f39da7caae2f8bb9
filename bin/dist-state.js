// Whether dist/ (the emitted JavaScript) can run instead of the TypeScript sources. Shared by
// bin/etcd-spot.js (which to run) and scripts/build.mjs --if-stale (whether to build), so both agree.
// An installed package has no src/: its dist/ is current by definition.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The stamp scripts/build.mjs writes last, after tsc emitted every file. */
export const STAMP = '.build-stamp';

/** Newest modification time (ms) of the build's inputs under dir: every file but the tests. */
function newestInput(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestInput(p));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * 'current' (run dist/), 'missing' (never built, or a build was interrupted) or 'stale' (a source
 * or the build's tsconfig changed since the last build).
 * @param {string} root the package's directory
 * @returns {'current' | 'missing' | 'stale'}
 */
export function distState(root) {
  const stamp = join(root, 'dist', STAMP);
  if (!existsSync(stamp)) return 'missing';
  const src = join(root, 'src');
  if (!existsSync(src)) return 'current';
  const built = statSync(stamp).mtimeMs;
  const inputs = [newestInput(src)];
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) {
    if (existsSync(join(root, f))) inputs.push(statSync(join(root, f)).mtimeMs);
  }
  return Math.max(...inputs) > built ? 'stale' : 'current';
}
