/**
 * Output formats, the way kubectl and etcdctl users expect them (issue 13 §1): `-o table|wide|json|yaml`
 * on every command that prints data (`--json` is an alias of `-o json`), `--no-headers` for tables,
 * one stable document with a `schemaVersion` for json and yaml, and colour only on a TTY without
 * NO_COLOR. Pure apart from reading the environment in {@link colourEnabled}.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ExitError } from '../core/errors.ts';
import { EXIT } from './exit-codes.ts';
import { cliRun, JSON_SCHEMA_VERSION } from './output.ts';

export const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof FORMATS)[number];

export interface OutputFlags {
  output?: string;
  json?: boolean;
  /** Commander's `--no-headers` sets `headers: false`. */
  headers?: boolean;
}

/** Adds `-o/--output`, `--json` and `--no-headers` to a command. */
export function withOutputOptions(cmd: Command): Command {
  return cmd
    .option('-o, --output <format>', `output format: ${FORMATS.join(', ')} (default: table)`)
    .option('--json', 'same as -o json (a failure is a JSON document too)')
    .option('--no-headers', 'print tables without their header line (for scripts)');
}

/** The format the flags ask for; a usage error names the flag and the choices. Marks JSON runs. */
export function outputFormat(flags: OutputFlags): OutputFormat {
  const raw = flags.output ?? (flags.json === true ? 'json' : 'table');
  const format = FORMATS.find((f) => f === raw.trim().toLowerCase());
  if (format === undefined)
    throw new ExitError(
      `-o ${JSON.stringify(raw.slice(0, 40))}: unknown output format; use one of ${FORMATS.join(', ')}`,
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  if (flags.json === true && format !== 'json')
    throw new ExitError(`--json and -o ${format} contradict each other; give one of them`, EXIT.badArgs, {
      code: 'USAGE',
    });
  if (format === 'json') cliRun.json = true;
  return format;
}

/** A json or yaml document: `schemaVersion` first, then the command's fields. */
export function renderDocument(format: 'json' | 'yaml', body: object): string {
  const doc = { schemaVersion: JSON_SCHEMA_VERSION, ...body };
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc);
}

/** Columns padded to the widest cell, two spaces apart, no trailing blanks; header unless `noHeaders`. */
export function renderTable(header: readonly string[], rows: readonly string[][], noHeaders = false): string {
  const all = noHeaders ? rows : [header as string[], ...rows];
  const widths = header.map((_, i) => Math.max(0, ...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}

/** Colour only when stdout is a terminal and NO_COLOR is unset or empty (https://no-color.org). */
export function colourEnabled(
  stream: { isTTY?: boolean } = process.stdout,
  env: Record<string, string | undefined> = process.env,
): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** `paint('red', s)` with colour on, `s` with colour off. */
export function painter(on: boolean): (colour: keyof typeof CODES, text: string) => string {
  return (colour, text) => (on && text !== '' ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}

/** etcdctl's sizes: SI units (kB, MB, GB), one decimal from MB on. */
export function siBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${Math.round(n / 1000)} kB`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(1)} MB`;
  return `${(n / 1_000_000_000).toFixed(1)} GB`;
}
