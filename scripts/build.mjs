#!/usr/bin/env node
// `npm run build`: emits dist/ from src/ with tsc (tsconfig.build.json: no tests, .ts specifiers
// rewritten to .js). Dependencies stay in node_modules (etcd3 reads its proto/ folder from there).
//   --if-stale   do nothing when dist/ is current (scripts/setup.sh)
// tsc writes into a temporary directory that replaces dist/ only once complete, and the stamp is
// written last, so an agent starting meanwhile never runs a half-written build (bin/dist-state.js).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, distState } from '../bin/dist-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv.includes('--if-stale')) {
  const state = distState(root);
  if (state === 'current') process.exit(0);
  console.log(`build: dist/ is ${state}, building`);
}
const tmp = join(root, `dist.tmp-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const started = Date.now();
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', tmp], {
  stdio: 'inherit',
});
if (r.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  console.error('build: tsc failed (see above); dist/ left as it was');
  process.exit(1);
}
// Files tsc does not emit (a template, a JSON read at run time) are copied as they are, so the build
// runs like the sources.
for (const f of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!f.isFile() || f.name.endsWith('.ts')) continue;
  const from = join(f.parentPath ?? f.path, f.name);
  cpSync(from, join(tmp, from.slice(join(root, 'src').length + 1)));
}
// The stamp carries the time tsc started reading: a source saved during the build makes it stale.
writeFileSync(join(tmp, STAMP), `${new Date(started).toISOString()}\n`);
utimesSync(join(tmp, STAMP), new Date(started), new Date(started));
// Another build (another engineer's test run) may put its dist/ in place between these two renames:
// move that one aside too and try again.
for (let attempt = 1; ; attempt++) {
  try {
    if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), `${old}-${attempt}`);
    renameSync(tmp, join(root, 'dist'));
    break;
  } catch (err) {
    if (attempt >= 5) throw err;
  }
}
for (const f of readdirSync(root)) {
  if (f.startsWith(`dist.old-${process.pid}`)) rmSync(join(root, f), { recursive: true, force: true });
}
console.log(`build: dist/ written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
