// The package as a user installs it (issue 9 §1): `npm pack` of the built dist/, then
// `npm install -g --prefix <tmp> <tgz> --omit=dev` (no tsx, no typescript), and the installed
// `etcd-spot` runs: --version, agent --help, plan --help, and a real `plan` against the emulator,
// which loads the agent's whole runtime (agent/wiring.js) from the package. Also checks, in a node
// that loads the installed agent's modules, that neither the simulator nor the emulator is loaded.
//
// Cost: builds dist/ only when it is missing or older than src/ (~10 s), packs (<1 s), installs from
// the npm cache or the registry (~5 s cached, ~30 s cold; one install), then a few CLI runs (~3 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const TOKEN = 'package-install-token-7f3a';
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
let dir: string;
let prefix: string;
let installed: string;
let emu: RunningEmulator;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed `etcd-spot` (the npm bin link) with a minimal environment. */
function etcdSpot(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      join(prefix, 'bin', 'etcd-spot'),
      args,
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-package-'));
  prefix = join(dir, 'prefix');
  const npm = (args: string[]) =>
    execFileSync('npm', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'ignore' });
  // prepack would build again unconditionally; the build above is current.
  npm(['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error']);
  const tgz = join(dir, `${pkg.name}-${pkg.version}.tgz`);
  assert.ok(existsSync(tgz), `npm pack wrote ${tgz}`);
  npm([
    'install',
    '-g',
    '--prefix',
    prefix,
    tgz,
    '--omit=dev',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ]);
  installed = join(prefix, 'lib', 'node_modules', pkg.name);
  emu = await startEmulator({
    listen: '127.0.0.1:0',
    token: TOKEN,
    instanceImds: false,
    ipPrefix: '127.0.63',
  });
});

after(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the package holds the build, not the sources, and installs without dev dependencies', () => {
  assert.ok(existsSync(join(installed, 'dist', 'cli', 'main.js')), 'dist/cli/main.js shipped');
  assert.ok(existsSync(join(installed, 'etcd-spot.example.yaml')), 'example config shipped');
  assert.ok(!existsSync(join(installed, 'src')), 'sources not shipped');
  assert.ok(!existsSync(join(installed, 'test')), 'tests not shipped');
  const shipped = readdirSync(join(installed, 'dist'), { recursive: true }).map(String);
  assert.deepEqual(
    shipped.filter((f) => f.endsWith('.ts') || f.includes('.test.')),
    [],
  );
  const deps = readdirSync(join(installed, 'node_modules'));
  for (const dev of ['tsx', 'typescript', 'eslint', 'prettier', 'fast-check', 's3rver']) {
    assert.ok(!deps.includes(dev), `${dev} (a dev dependency) installed`);
  }
  assert.ok(Object.hasOwn(pkg.devDependencies, 'tsx'), 'tsx is a dev dependency');
  assert.ok(deps.includes('etcd3'), 'runtime dependencies installed');
});

test('etcd-spot --version prints the package version', async () => {
  const r = await etcdSpot(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('etcd-spot agent --help and plan --help', async () => {
  const agent = await etcdSpot(['agent', '--help']);
  assert.equal(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, /^Usage: etcd-spot agent \[options\]/);
  assert.match(agent.stdout, /--config <file>/);
  const plan = await etcdSpot(['plan', '--help']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^Usage: etcd-spot plan \[options\]/);
});

test("the installed agent's runtime runs: plan against the emulator", async () => {
  const g = emu.state.createGroup({ name: 'package', targetCapacity: 0, autoReplace: false });
  const inst = emu.state.launchInstance(g.id, {});
  const r = await etcdSpot(
    [
      'plan',
      '--api-url',
      emu.url,
      '--group-id',
      g.id,
      '--metadata-url',
      emu.imdsUrl(inst.id),
      '--set',
      `agent.stateDir=${join(dir, 'state')}`,
      '--set',
      `etcd.dataDir=${join(dir, 'data')}`,
      '--set',
      'etcd.callTimeout=1s',
      '--set',
      'group.requestTimeout=2s',
    ],
    { SPOTINST_TOKEN: TOKEN },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#\s+WHEN\s+ACTION\s+TARGET\s+REASON\n1\s+now\s+/);
});

test("loading the installed agent's modules loads neither the simulator nor the emulator", () => {
  // A loader hook lists every module the process loads; the process imports what `etcd-spot agent`
  // imports: the CLI with every command registered, then the agent's composition root.
  const log = join(dir, 'loaded.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function load(url, context, next) {\n' +
      '  appendFileSync(process.env.LOADED_LOG, `${url}\\n`);\n' +
      '  return next(url, context);\n' +
      '}\n',
  );
  const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
  const dist = pathToFileURL(join(installed, 'dist')).href;
  const script = `await import('${dist}/cli/commands/index.js'); await import('${dist}/agent/wiring.js');`;
  execFileSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script],
    { env: { PATH: process.env.PATH ?? '', LOADED_LOG: log }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const ours = loaded.filter((u) => u.startsWith(dist));
  assert.ok(ours.includes(`${dist}/agent/wiring.js`), 'the hook saw the agent load');
  assert.ok(ours.includes(`${dist}/cli/commands/agent.js`), 'the hook saw the commands load');
  assert.deepEqual(
    ours.filter((u) => /\/dist\/(sim|emulator)\//.test(u) || u.includes('report-html')),
    [],
  );
  assert.deepEqual(
    loaded.filter((u) => /\/node_modules\/(tsx|typescript)\//.test(u)),
    [],
  );
});
