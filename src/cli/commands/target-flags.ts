/**
 * The flags `status` and `plan` share to point at a group from any machine: --api-url, --group-id,
 * --endpoints, and (plan) --metadata-url. Each is a shorthand for a `--set` key, except --endpoints.
 */
import type { Command } from 'commander';
import { ExitError } from '../../core/errors.ts';
import { EXIT } from '../exit-codes.ts';

export interface TargetFlags {
  set: string[];
  endpoints?: string;
  groupId?: string;
  apiUrl?: string;
  metadataUrl?: string;
}

/** Adds --group-id and --api-url, and when asked --endpoints and --metadata-url, to a command. */
export function withTargetOptions(
  cmd: Command,
  opts: { endpoints?: boolean; metadataUrl?: boolean },
): Command {
  if (opts.endpoints) {
    cmd.option(
      '--endpoints <urls>',
      "comma-separated etcd client URLs to ask (default: every instance's private IP at etcd.clientPort)",
    );
  }
  cmd
    .option(
      '--group-id <sig-…>',
      'Elastigroup id (same as --set group.groupId=…); with --set group.provider=asg, the Auto Scaling group name',
    )
    .option('--api-url <url>', 'Spot.io API base URL, e.g. the emulator (same as --set group.apiUrl=…)');
  if (opts.metadataUrl) {
    cmd.option(
      '--metadata-url <url>',
      "instance metadata base URL, e.g. an emulated instance's (same as --set metadata.url=…)",
    );
  }
  return cmd;
}

/** The `--set` list with the shorthand flags appended (so they win, as flags do). */
export function targetSets(flags: TargetFlags): string[] {
  const set = [...flags.set];
  // An Auto Scaling group is named, not numbered: --group-id gives its name.
  const asg = set.some((kv) => kv.replace(/\s+/g, '') === 'group.provider=asg');
  if (flags.groupId) set.push(`group.${asg ? 'groupName' : 'groupId'}=${flags.groupId}`);
  if (flags.apiUrl) set.push(`group.apiUrl=${flags.apiUrl}`);
  if (flags.metadataUrl) set.push(`metadata.url=${flags.metadataUrl}`);
  return set;
}

/**
 * `--endpoints a,b` → `['http://a:2379', …]`, each an http(s) URL with a host and nothing after the port.
 * A malformed one is a usage error (exit 2) naming --endpoints, not "etcd unreachable".
 */
export function parseEndpoints(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad: string[] = [];
  const urls = list.map((s) => {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
      bad.push(JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s));
      return s;
    }
    return `${u.protocol}//${u.host}`;
  });
  if (list.length === 0) {
    throw new ExitError(
      '--endpoints: no URL given; expected comma-separated etcd client URLs, e.g. http://10.0.0.5:2379',
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  }
  if (bad.length > 0) {
    throw new ExitError(
      `--endpoints: ${bad.join(', ')} ${bad.length === 1 ? 'is not an etcd client URL' : 'are not etcd client URLs'}; expected http://host:port, e.g. http://10.0.0.5:2379`,
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  }
  return [...new Set(urls)];
}

/**
 * The fix to add to a cloud API failure whose message has none: a transport failure or a timeout means
 * the API URL is wrong or not reachable from here (the adapter's 401/403/404 messages name their fix).
 */
export function cloudApiHint(message: string): string {
  return /cannot reach|did not answer within/.test(message) && !/; check /.test(message)
    ? '; check group.apiUrl (--api-url) and that the API is reachable from here'
    : '';
}
