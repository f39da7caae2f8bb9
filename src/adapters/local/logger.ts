/**
 * The process logger: pino JSON lines, on stderr unless told otherwise (stdout is for CLI results).
 * Levels are written by name (`"level":"info"`) and times as ISO strings, so the lines read well
 * without pino-pretty; errors go under `err` with pino's standard serializer.
 */
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../ports/logger.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface CreateLoggerOptions {
  level: LogLevel;
  /** A file path (appended to, directories created) or a writable stream; default stderr. */
  destination?: string | Writable;
  /** Fields on every line, e.g. `{ instanceId }`. */
  base?: Record<string, unknown>;
}

/** What replaces a secret in a log line. */
export const REDACTED = '[redacted]';

const SECRET_KEYS = [
  'token',
  'secret',
  'peerSecret',
  'password',
  'apiKey',
  'accessKey',
  'secretAccessKey',
  'sessionToken',
  'credentials',
  'SPOTINST_TOKEN',
  'ETCD_SPOT_GROUP_TOKEN',
  'ETCD_SPOT_AGENT_PEER_SECRET',
];
const SECRET_HEADERS = [
  'authorization',
  'Authorization',
  'x-aws-ec2-metadata-token',
  'x-etcd-spot-signature',
  'cookie',
];

/**
 * Paths pino blanks out before a line is written: secret keys at the top of a log object and up to
 * three levels down (`config.group.token`, `env.SPOTINST_TOKEN`), and authorization headers wherever a
 * `headers` object is logged. A secret must never reach a log file, whoever logs it.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  ...SECRET_HEADERS.flatMap((h) => {
    const key = `headers[${JSON.stringify(h)}]`;
    return [key, `*.${key}`, `*.*.${key}`];
  }),
];

/** A pino logger that also satisfies the Logger port. Call `flush()` before exiting when writing to a file. */
export type ProcessLogger = Logger & { flush(): void; level: string };

/**
 * @example
 * const logger = createLogger({ level: 'info' });
 * logger.child({ component: 'agent' }).info({ cycle: 1 }, 'cycle done');
 */
export function createLogger(opts: CreateLoggerOptions): ProcessLogger {
  const dest =
    opts.destination === undefined
      ? pino.destination({ dest: 2, sync: true })
      : typeof opts.destination === 'string'
        ? pino.destination({ dest: opts.destination, mkdir: true, append: true, sync: true })
        : opts.destination;
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    dest,
  );
}
