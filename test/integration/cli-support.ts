/**
 * Runs `etcd-spot` as a user does (`node bin/etcd-spot.js …`) with a minimal environment: no HOME
 * credentials, the given Spot.io token in SPOTINST_TOKEN. Output and exit code come back whole.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in ms. */
  ms: number;
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/etcd-spot.js', ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** A loopback TCP port nothing listens on (bound once to get it, then closed). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const s = await listenOn(host, 0);
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function listenOn(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((sock) => sock.destroy());
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** The lines of stderr that are neither pino JSON log lines nor config `warning:` lines. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{') && !l.startsWith('warning: '));
}
