/**
 * The agent loads only what it needs (issue 9 §2): the simulator, the emulator and the HTML report
 * are development tools reached only through dynamic `import()` inside their own commands. This
 * walks the static import graph of the sources (type-only imports are erased and do not count) from
 * the CLI entry point and from the agent's composition root, which `agent` imports dynamically.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '..');

interface Graph {
  /** Source files reached, relative to src/. */
  files: Set<string>;
  /** Bare specifiers (packages) reached. */
  packages: Set<string>;
}

/** Static, value-carrying imports and re-exports of one file (not `import type`, not `import()`). */
export function staticImports(text: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      if (st.importClause?.isTypeOnly) continue;
      if (ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(st)) {
      if (st.isTypeOnly || st.moduleSpecifier === undefined) continue;
      if (ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
    }
  }
  return out;
}

function walk(entries: string[]): Graph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = entries.map((e) => join(SRC, e));
  while (todo.length > 0) {
    const file = todo.pop() as string;
    const rel = relative(SRC, file);
    if (files.has(rel)) continue;
    files.add(rel);
    for (const spec of staticImports(readFileSync(file, 'utf8'), file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files, packages };
}

const DEV_TOOLS = /^(sim|emulator)\//;

test('staticImports sees values and re-exports, not type-only imports nor import()', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from './b.ts';",
    "import { type C, d } from './cd.ts';",
    "import './side-effect.ts';",
    "export { e } from './e.ts';",
    "export type { F } from './f.ts';",
    "const g = await import('./g.ts');",
  ].join('\n');
  assert.deepEqual(staticImports(text).sort(), ['./a.ts', './cd.ts', './e.ts', './side-effect.ts']);
});

test('the CLI entry point (every command registered) loads neither the simulator nor the emulator', () => {
  const g = walk(['cli/main.ts']);
  assert.ok(g.files.has('cli/commands/agent.ts'), 'the walk reaches the agent command');
  assert.ok(g.files.has('cli/commands/sim.ts'), 'the walk reaches the sim command module');
  assert.deepEqual(
    [...g.files].filter((f) => DEV_TOOLS.test(f)),
    [],
    'statically imported by the CLI: use import() inside the command',
  );
  // --help, --version and every command pay for what the CLI imports statically: the etcd client,
  // the status server's framework, the S3 client and prom-client are imported by the commands that use them.
  assert.ok(g.packages.has('commander'), 'the walk sees packages');
  assert.deepEqual(
    [...g.packages].filter((p) => ['etcd3', 'hono', 'prom-client'].includes(p) || p.startsWith('@aws-sdk/')),
    [],
  );
});

test("the agent's runtime (cli + agent/wiring.ts) loads neither the simulator, the emulator nor the HTML report", () => {
  const g = walk(['cli/main.ts', 'agent/wiring.ts']);
  assert.ok(g.files.has('agent/agent.ts'), 'the walk reaches the agent loop');
  assert.ok(g.packages.has('etcd3'), 'the walk sees packages');
  assert.deepEqual(
    [...g.files].filter((f) => DEV_TOOLS.test(f) || f.includes('report-html')),
    [],
  );
  // The S3 client (~20 MB, ~150 ms to import) only with an S3 snapshot store, prom-client only with
  // agent.metrics: both through import() where they are configured (BENCHMARKS.md, agent footprint).
  assert.deepEqual(
    [...g.packages].filter((p) => p.startsWith('@aws-sdk/') || p === 'prom-client'),
    [],
  );
  // Development-only packages are not installed with --omit=dev: the agent must not need them.
  const devOnly = Object.keys(
    (JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as { devDependencies: object })
      .devDependencies,
  );
  assert.deepEqual(
    [...g.packages].filter((p) => devOnly.some((d) => p === d || p.startsWith(`${d}/`))),
    [],
  );
});
