/**
 * Spot.io credentials, following the official SDKs' convention: the config file's token, else the file
 * named by `group.tokenFile`, else `SPOTINST_TOKEN`, else the credentials file (`SPOTINST_CREDENTIALS_FILE` or `~/.spotinst/credentials`,
 * INI `[profile] token=… account=…` or JSON `{"token":…,"account":…}`, profile from
 * `SPOTINST_CREDENTIALS_PROFILE`, default `default`). Also the agents' shared peer secret
 * ({@link resolvePeerSecret}). No message here ever quotes a file's content.
 */
import { join } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { readFailure, readRegularFile } from './read-file.ts';
import { PEER_SECRET_MIN_LENGTH } from './schema.ts';
import type { Config } from './schema.ts';

export interface SpotCredentials {
  token: string;
  account?: string;
  /** Where the token came from, for logs: `config`, `tokenFile <path>`, `SPOTINST_TOKEN` or `file <path> [profile]`. */
  tokenSource: string;
}

/** Reads a text file; returns undefined when it does not exist and throws on any other error. */
export type ReadTextFile = (path: string) => string | undefined;

/** Reads a regular file of at most 1 MiB (a FIFO or device is refused, never waited on). */
export const readTextFileIfExists: ReadTextFile = (path) => {
  try {
    return readRegularFile(path);
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

/**
 * `{ profile: { key: value } }` from INI text; keys are lower-cased. A bad line is named by its number
 * only: it may hold the token (S2).
 */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1] as string;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`line ${i + 1} is neither a [profile] header nor key=value`);
    if (!current) throw new Error(`line ${i + 1} sets a key before any [profile] header`);
    current.set(line.slice(0, eq).trim().toLowerCase(), unquote(line.slice(eq + 1)));
  }
  return sections;
}

/**
 * Where JSON.parse stopped, as a line number. Its message is not used: V8 quotes the text around the
 * error, which may be the token.
 */
function jsonErrorLine(text: string, err: unknown): string {
  const pos = /at position (\d+)/.exec((err as Error).message)?.[1];
  if (pos === undefined) return '';
  return ` (line ${text.slice(0, Number(pos)).split('\n').length})`;
}

function fromFile(text: string, profile: string): { token?: string; account?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (err) {
      // No cause: the SyntaxError's message quotes the file's text (see jsonErrorLine).
      throw new Error(`is not valid JSON${jsonErrorLine(trimmed, err)}`);
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
  config:
    Config | { token?: string | undefined; tokenFile?: string | undefined; account?: string | undefined },
  env: Record<string, string | undefined>,
  readFile: ReadTextFile = readTextFileIfExists,
): SpotCredentials {
  const group = 'group' in config ? (config.group.provider === 'elastigroup' ? config.group : {}) : config;
  const cfgToken = nonEmpty((group as { token?: unknown }).token);
  const tokenFile = nonEmpty((group as { tokenFile?: unknown }).tokenFile);
  const account = nonEmpty((group as { account?: unknown }).account) ?? nonEmpty(env.SPOTINST_ACCOUNT);
  if (cfgToken) return { token: cfgToken, tokenSource: 'config', ...(account ? { account } : {}) };
  if (tokenFile) {
    const token = readSecretFile('group.tokenFile', tokenFile, 'the Spot.io token', readFile);
    return { token, tokenSource: `tokenFile ${tokenFile}`, ...(account ? { account } : {}) };
  }
  const envToken = nonEmpty(env.SPOTINST_TOKEN);
  if (envToken) return { token: envToken, tokenSource: 'SPOTINST_TOKEN', ...(account ? { account } : {}) };

  const explicitFile = nonEmpty(env.SPOTINST_CREDENTIALS_FILE);
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE);
  const file = explicitFile ?? (home ? join(home, '.spotinst', 'credentials') : undefined);
  const profile = nonEmpty(env.SPOTINST_CREDENTIALS_PROFILE) ?? 'default';
  const places =
    'set group.tokenFile (a file holding the token) or group.token in the config file (or ETCD_SPOT_GROUP_TOKEN), or set SPOTINST_TOKEN, or put ' +
    `token=… under [${profile}] in ${file ?? '~/.spotinst/credentials'}` +
    (explicitFile
      ? ' (path from SPOTINST_CREDENTIALS_FILE)'
      : ' (SPOTINST_CREDENTIALS_FILE names another file)');
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

/**
 * Reads a file that holds one secret and returns it trimmed.
 * @throws ConfigError naming `key` and the path (never the content) when the file is missing,
 * unreadable or empty.
 */
function readSecretFile(key: string, path: string, what: string, readFile: ReadTextFile): string {
  let text: string | undefined;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError(
      [`${key}: cannot read ${path} (${readFailure(err)}); check the path and that the agent may read it`],
      err,
    );
  }
  if (text === undefined)
    throw new ConfigError([`${key}: ${path} does not exist; create it with ${what} or leave ${key} out`]);
  const secret = text.trim();
  if (secret === '') throw new ConfigError([`${key}: ${path} is empty; put ${what} in it`]);
  return secret;
}

/**
 * The secret the agents of a group share to authenticate their bootstrap votes and status endpoint:
 * the content of `agent.peerSecretFile` (trimmed), else `agent.peerSecret`, else undefined (the caller
 * then derives one from the Spot.io token and the group id).
 * @throws ConfigError naming the key and the path, never the value, when the file is missing,
 * unreadable, empty or holds fewer than 16 characters.
 * @example resolvePeerSecret(config) // 'c2f1…' or undefined
 */
export function resolvePeerSecret(
  config: Config,
  readFile: ReadTextFile = readTextFileIfExists,
): string | undefined {
  const { peerSecret, peerSecretFile } = config.agent;
  if (peerSecretFile !== undefined) {
    const secret = readSecretFile('agent.peerSecretFile', peerSecretFile, 'the peer secret', readFile);
    if (secret.length < PEER_SECRET_MIN_LENGTH)
      throw new ConfigError([
        `agent.peerSecretFile: the secret in ${peerSecretFile} is too short (${secret.length} characters, at least ${PEER_SECRET_MIN_LENGTH}); generate one with 'openssl rand -hex 32 > ${peerSecretFile}'`,
      ]);
    return secret;
  }
  return peerSecret;
}
