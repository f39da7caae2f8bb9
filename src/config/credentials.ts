/**
 * Spot.io credentials, following the official SDKs' convention: the config file's token, else
 * `SPOTINST_TOKEN`, else the credentials file (`SPOTINST_CREDENTIALS_FILE` or `~/.spotinst/credentials`,
 * INI `[profile] token=… account=…` or JSON `{"token":…,"account":…}`, profile from
 * `SPOTINST_CREDENTIALS_PROFILE`, default `default`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { Config } from './schema.ts';

export interface SpotCredentials {
  token: string;
  account?: string;
  /** Where the token came from, for logs: `config`, `SPOTINST_TOKEN` or `file <path> [profile]`. */
  tokenSource: string;
}

/** Reads a text file; returns undefined when it does not exist and throws on any other error. */
export type ReadTextFile = (path: string) => string | undefined;

export const readTextFileIfExists: ReadTextFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function unquote(v: string): string {
  const t = v.trim();
  return (t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))
    ? t.slice(1, -1)
    : t;
}

/** `{ profile: { key: value } }` from INI text; keys are lower-cased. */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1] as string;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !current)
      throw new Error(`has a line that is neither [profile] nor key=value: ${JSON.stringify(rawLine)}`);
    current.set(line.slice(0, eq).trim().toLowerCase(), unquote(line.slice(eq + 1)));
  }
  return sections;
}

function fromFile(text: string, profile: string): { token?: string; account?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`is not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const scoped = json[profile];
    const obj = scoped && typeof scoped === 'object' ? (scoped as Record<string, unknown>) : json;
    const token = nonEmpty(obj.token);
    const account = nonEmpty(obj.account);
    return { ...(token ? { token } : {}), ...(account ? { account } : {}) };
  }
  const sections = parseIni(trimmed);
  const section = sections.get(profile);
  if (!section) {
    const names = [...sections.keys()];
    throw new Error(
      `has no [${profile}] profile${names.length ? ` (profiles: ${names.join(', ')}; set SPOTINST_CREDENTIALS_PROFILE)` : ''}`,
    );
  }
  const token = nonEmpty(section.get('token'));
  const account = nonEmpty(section.get('account'));
  return { ...(token ? { token } : {}), ...(account ? { account } : {}) };
}

/**
 * Finds the Spot.io token and account. The account is taken from the config, else `SPOTINST_ACCOUNT`,
 * else (only when the token itself comes from the credentials file) the same file profile, so a token
 * and an account from different places are never mixed up with a file's.
 * @throws ConfigError naming all three places when no token is found, or the file when it is unreadable.
 */
export function resolveSpotCredentials(
  config: Config | { token?: string | undefined; account?: string | undefined },
  env: Record<string, string | undefined>,
  readFile: ReadTextFile = readTextFileIfExists,
): SpotCredentials {
  const group = 'group' in config ? (config.group.provider === 'elastigroup' ? config.group : {}) : config;
  const cfgToken = nonEmpty((group as { token?: unknown }).token);
  const account = nonEmpty((group as { account?: unknown }).account) ?? nonEmpty(env.SPOTINST_ACCOUNT);
  if (cfgToken) return { token: cfgToken, tokenSource: 'config', ...(account ? { account } : {}) };
  const envToken = nonEmpty(env.SPOTINST_TOKEN);
  if (envToken) return { token: envToken, tokenSource: 'SPOTINST_TOKEN', ...(account ? { account } : {}) };

  const explicitFile = nonEmpty(env.SPOTINST_CREDENTIALS_FILE);
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE);
  const file = explicitFile ?? (home ? join(home, '.spotinst', 'credentials') : undefined);
  const profile = nonEmpty(env.SPOTINST_CREDENTIALS_PROFILE) ?? 'default';
  const places =
    'set group.token in the config file (or ETCD_SPOT_GROUP_TOKEN), or set SPOTINST_TOKEN, or put ' +
    `token=… under [${profile}] in ${file ?? '~/.spotinst/credentials'} (path from SPOTINST_CREDENTIALS_FILE)`;
  if (!file) throw new ConfigError([`no Spot.io token found (and HOME is not set): ${places}`]);

  let text: string | undefined;
  try {
    text = readFile(file);
  } catch (err) {
    throw new ConfigError(
      [`cannot read the Spot.io credentials file ${file}: ${(err as Error).message}`],
      err,
    );
  }
  if (text === undefined) {
    const why = explicitFile
      ? `SPOTINST_CREDENTIALS_FILE names ${file}, which does not exist`
      : 'no Spot.io token found';
    throw new ConfigError([`${why}: ${places}`]);
  }
  let creds: { token?: string; account?: string };
  try {
    creds = fromFile(text, profile);
  } catch (err) {
    throw new ConfigError(
      [
        `the Spot.io credentials file ${file} ${(err as Error).message}; expected INI ([${profile}] token=…) or JSON ({"token": …})`,
      ],
      err,
    );
  }
  if (!creds.token)
    throw new ConfigError([
      `the Spot.io credentials file ${file} has no token in profile '${profile}': ${places}`,
    ]);
  const acct = account ?? creds.account;
  return { token: creds.token, tokenSource: `file ${file} [${profile}]`, ...(acct ? { account: acct } : {}) };
}
