/**
 * How the CLI reports a failure: one line per error on stderr naming what failed and the fix, the cause
 * chain only with --verbose (or log.level=debug), and, when the command was asked for --json, one JSON
 * error document on stdout so that a script always gets JSON. Only src/cli/main.ts calls `reportError`.
 */
import { ConfigError, ExitError, errorChain, errorCode, errorMessage } from '../core/errors.ts';
import { EXIT } from './exit-codes.ts';

/** The JSON contract's version, in every document `plan --json` and `status --json` print. */
export const JSON_SCHEMA_VERSION = 1;

/** What the running command asked for; set by main.ts (--verbose) and by the commands (--json, log level). */
export const cliRun = {
  /** Print the cause chain of errors. */
  verbose: false,
  /** The command was asked for --json: a failure is reported as a JSON document on stdout too. */
  json: false,
  /** The command already wrote its JSON document (with the error in it): main writes no second one. */
  jsonWritten: false,
};

/** log.level=debug (or trace) asks for the same detail as --verbose. */
export function noteLogLevel(level: string): void {
  if (level === 'debug' || level === 'trace') cliRun.verbose = true;
}

/** A user-facing line is never longer than this: a quoted 100 MB YAML scalar must not reach the terminal. */
const MAX_LINE = 2000;

function clip(line: string): string {
  return line.length <= MAX_LINE
    ? line
    : `${line.slice(0, MAX_LINE)}… (${line.length - MAX_LINE} more characters)`;
}

function findConfigError(err: unknown): ConfigError | undefined {
  let e: unknown = err;
  for (let i = 0; e instanceof Error && i < 8; i++) {
    if (e instanceof ConfigError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The exit code for any error: ExitError's own, 2 for a configuration error, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ExitError) return err.exitCode;
  if (findConfigError(err) !== undefined || errorCode(err) === 'CONFIG_INVALID') return EXIT.badArgs;
  return EXIT.failure;
}

const CODE_BY_EXIT: Record<number, string> = {
  [EXIT.failure]: 'FAILED',
  [EXIT.badArgs]: 'USAGE',
  [EXIT.cloudUnavailable]: 'CLOUD_UNAVAILABLE',
  [EXIT.etcdUnavailable]: 'ETCD_UNREACHABLE',
  [EXIT.clusterNotHealthy]: 'CLUSTER_NOT_HEALTHY',
  [EXIT.refused]: 'REFUSED',
};

/** A stable machine-readable name for the failure, for JSON documents. */
export function failureCodeOf(err: unknown, exitCode: number): string {
  const own = errorCode(err);
  if (own !== undefined && own !== 'EXIT') return own;
  if (findConfigError(err) !== undefined || errorMessage(err).startsWith('invalid configuration'))
    return 'CONFIG_INVALID';
  return CODE_BY_EXIT[exitCode] ?? 'FAILED';
}

/** What stderr shows: `Error: <message>`, then with `verbose` one `caused by:` line per cause. */
export function formatErrorText(err: unknown, verbose: boolean): string {
  const [first = 'unknown error', ...causes] = errorChain(err);
  const lines = first.split('\n').map(clip);
  lines[0] = `Error: ${lines[0]}`;
  if (verbose) {
    for (const c of causes)
      lines.push(...c.split('\n').map((l, i) => clip(i === 0 ? `  caused by: ${l}` : `    ${l}`)));
  }
  return lines.join('\n') + '\n';
}

export interface ErrorDocument {
  schemaVersion: number;
  error: { code: string; message: string; exitCode: number; issues?: string[]; causes?: string[] };
}

/** The JSON error document of `--json` commands. Causes only with `verbose`, like the text. */
export function errorDocument(err: unknown, exitCode: number, verbose: boolean): ErrorDocument {
  const [message = 'unknown error', ...causes] = errorChain(err);
  const doc: ErrorDocument = {
    schemaVersion: JSON_SCHEMA_VERSION,
    error: { code: failureCodeOf(err, exitCode), message: clip(message), exitCode },
  };
  const config = findConfigError(err);
  if (config !== undefined) doc.error.issues = config.issues.map(clip);
  else if (message.startsWith('invalid configuration:\n  - '))
    // The loader's ExitError carries ConfigError's text without the error itself.
    doc.error.issues = message.split('\n  - ').slice(1).map(clip);
  if (verbose && causes.length > 0) doc.error.causes = causes.map(clip);
  return doc;
}

/**
 * Writes the error (stderr, and the JSON document on stdout when asked for) and returns the exit code.
 * An ExitError with an empty message was already reported by its command (e.g. the status table).
 */
export function reportError(
  err: unknown,
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): number {
  const exitCode = exitCodeOf(err);
  if (err instanceof ExitError && err.message === '') return exitCode;
  if (cliRun.json && !cliRun.jsonWritten) {
    io.stdout(JSON.stringify(errorDocument(err, exitCode, cliRun.verbose), null, 2) + '\n');
  }
  io.stderr(formatErrorText(err, cliRun.verbose));
  return exitCode;
}
