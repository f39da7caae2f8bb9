/**
 * What `etcd.extraArgs` may not contain (pure). The agent owns etcd's identity, data dir, listeners and
 * cluster formation: an extra flag that sets one of them again is taken by etcd (the last value of a
 * repeated flag wins), and the agent then reasons about a data dir or an address etcd does not use
 * (campaign H4). Listening on a wildcard address would expose etcd on every interface.
 *
 * etcd parses its command line with Go's `flag` package, so `-flag`, `--flag`, `-flag=value`,
 * `--flag=value` and `--flag value` all set the same flag; every form is checked.
 */

/** Flags etcd-spot sets itself (or must not be set at all), with why and what to do instead. */
const MANAGED: ReadonlyMap<string, string> = new Map([
  ['name', 'etcd-spot sets --name itself (the instance id)'],
  ['data-dir', 'etcd-spot sets --data-dir itself; use etcd.dataDir instead'],
  [
    'wal-dir',
    "a separate WAL dir is not supported: etcd-spot finds etcd's data by its write-ahead log under etcd.dataDir/member/wal",
  ],
  [
    'listen-client-urls',
    "etcd-spot sets --listen-client-urls itself (the instance's private IP); use etcd.clientPort for the port",
  ],
  [
    'advertise-client-urls',
    "etcd-spot sets --advertise-client-urls itself (the instance's private IP); use etcd.clientPort for the port",
  ],
  [
    'listen-peer-urls',
    "etcd-spot sets --listen-peer-urls itself (the instance's private IP); use etcd.peerPort for the port",
  ],
  [
    'initial-advertise-peer-urls',
    "etcd-spot sets --initial-advertise-peer-urls itself (the instance's private IP); use etcd.peerPort for the port",
  ],
  ['initial-cluster', 'etcd-spot sets --initial-cluster itself (from the group and the member list)'],
  ['initial-cluster-state', 'etcd-spot sets --initial-cluster-state itself (new or existing, as it decides)'],
  ['initial-cluster-token', 'etcd-spot sets --initial-cluster-token itself; use etcd.clusterToken instead'],
  ['force-new-cluster', 'never: forcing a new cluster throws away the membership etcd-spot manages'],
  ['config-file', 'not supported: etcd ignores every other flag when it reads a config file'],
  ['discovery', 'not supported: etcd-spot forms the cluster by a vote among the group'],
  ['discovery-srv', 'not supported: etcd-spot forms the cluster by a vote among the group'],
  ['cert-file', 'etcd-spot sets --cert-file itself; use etcd.tls.certFile instead'],
  ['key-file', 'etcd-spot sets --key-file itself; use etcd.tls.keyFile instead'],
  ['trusted-ca-file', 'etcd-spot sets --trusted-ca-file itself; use etcd.tls.caFile instead'],
  ['client-cert-auth', 'etcd-spot sets --client-cert-auth itself; use etcd.tls.clientCertAuth instead'],
  ['peer-cert-file', 'etcd-spot sets --peer-cert-file itself; use etcd.tls.peerCertFile instead'],
  ['peer-key-file', 'etcd-spot sets --peer-key-file itself; use etcd.tls.peerKeyFile instead'],
  ['peer-trusted-ca-file', 'etcd-spot sets --peer-trusted-ca-file itself; use etcd.tls.peerCaFile instead'],
  [
    'peer-client-cert-auth',
    'etcd-spot sets --peer-client-cert-auth itself; use etcd.tls.peerClientCertAuth instead',
  ],
  [
    'auto-tls',
    'not supported: self-signed certificates that no peer can verify; use etcd.tls with the group CA (etcd-spot certs)',
  ],
  [
    'peer-auto-tls',
    'not supported: self-signed certificates that no peer can verify; use etcd.tls with the group CA (etcd-spot certs)',
  ],
  ['logger', "etcd-spot sets --logger itself: it reads etcd's zap log for removals and start errors"],
  [
    'log-outputs',
    "etcd-spot sets --log-outputs itself: it reads etcd's log from stderr (etcd.log in agent.stateDir)",
  ],
]);

/** Managed flags that take no separate value (Go's bool flags). */
const BOOL_FLAGS: ReadonlySet<string> = new Set([
  'force-new-cluster',
  'client-cert-auth',
  'peer-client-cert-auth',
  'auto-tls',
  'peer-auto-tls',
]);

const MAX_SHOWN = 80;

function show(arg: string): string {
  const s = arg.length > MAX_SHOWN ? `${arg.slice(0, MAX_SHOWN - 3)}...` : arg;
  return JSON.stringify(s);
}

/** `--flag=value` / `-flag value` → name and value (value undefined when absent); undefined for a non-flag. */
function parseFlag(arg: string): { name: string; value: string | undefined } | undefined {
  const m = /^--?([^-=][^=]*)(?:=(.*))?$/s.exec(arg);
  if (m === null) return undefined;
  return { name: m[1] as string, value: m[2] };
}

/** Whether a flag takes a URL list (etcd's `--*-urls`, `--discovery`, `--*-proxy`). */
function takesUrls(name: string): boolean {
  return /(^|-)urls?$/.test(name) || name === 'discovery' || /-proxy$/.test(name);
}

/** An IPv4 literal in any form `inet_aton` accepts (`0`, `0.0`, `000.0.0.0`, `0x0`): its parts, or undefined. */
function ipv4Parts(host: string): number[] | undefined {
  const parts = host.split('.');
  if (parts.length > 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (/^0x[0-9a-f]*$/i.test(p)) out.push(p.length === 2 ? 0 : parseInt(p.slice(2), 16));
    else if (/^0[0-7]*$/.test(p)) out.push(parseInt(p, 8));
    else if (/^[1-9][0-9]*$/.test(p)) out.push(Number(p));
    else return undefined;
  }
  return out;
}

/** The eight 16-bit groups of an IPv6 literal (no brackets, zone dropped), or undefined. */
function ipv6Groups(host: string): number[] | undefined {
  let h = host.replace(/%.*$/s, '');
  const tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4) {
    const octets = (v4[2] as string).split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    const [a, b, c, d] = octets as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    h = (v4[1] as string).endsWith('::') ? (v4[1] as string) : (v4[1] as string).slice(0, -1);
  }
  const halves = h.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1) return known === 8 ? [...head, ...tail] : undefined;
  if (known > 7) return undefined;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest, ...tail];
}

/**
 * Whether `host` (as Go's `url.URL.Hostname()` gives it: brackets removed) makes etcd listen on every
 * interface: empty, an all-zero IPv4 in any `inet_aton` spelling, the IPv6 unspecified address in any
 * spelling, or its IPv4-mapped form `::ffff:0.0.0.0`.
 */
export function isWildcardHost(host: string): boolean {
  if (host === '') return true;
  const v4 = ipv4Parts(host);
  if (v4 !== undefined) return v4.every((p) => p === 0);
  const v6 = ipv6Groups(host);
  if (v6 === undefined) return false;
  const allZero = (gs: number[]) => gs.every((g) => g === 0);
  return allZero(v6) || (allZero(v6.slice(0, 5)) && v6[5] === 0xffff && allZero(v6.slice(6)));
}

/** The host of `scheme://[user@]host[:port][/path]` the way Go's url.Parse reads it, or undefined for a non-URL. */
export function urlHost(url: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url.trim());
  if (m === null) return undefined;
  const authority = (m[1] as string).replace(/^.*@/s, '');
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? undefined : authority.slice(1, end);
  }
  // Go splits the port at the last colon, so `http://:::2379` has host "::".
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/**
 * Problems with `etcd.extraArgs`, one sentence each naming the argument and the fix; [] when they are
 * fine. Refuses flags the agent sets itself and any URL with a wildcard host.
 *
 * @example
 * extraArgsIssues(['--data-dir=/x']) // ['"--data-dir=/x": etcd-spot sets --data-dir itself; use etcd.dataDir instead']
 */
export function extraArgsIssues(args: readonly string[]): string[] {
  const issues: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const flag = parseFlag(arg);
    if (flag === undefined) continue;
    const managed = MANAGED.get(flag.name);
    // `--flag value`: the value is the next argument (Go's flag package; bool flags take no separate value).
    let value = flag.value;
    let shown = arg;
    if (value === undefined && (managed !== undefined || takesUrls(flag.name)) && i + 1 < args.length) {
      const next = args[i + 1] as string;
      if (parseFlag(next) === undefined && !BOOL_FLAGS.has(flag.name)) {
        value = next;
        shown = `${arg} ${next}`;
        i++;
      }
    }
    if (managed !== undefined) {
      issues.push(`${show(shown)}: ${managed}`);
      continue;
    }
    if (value === undefined || !takesUrls(flag.name)) continue;
    for (const url of value.split(',')) {
      const host = urlHost(url);
      if (host !== undefined && isWildcardHost(host)) {
        issues.push(
          `${show(shown)}: never listen on a wildcard address (${host === '' ? 'an empty host' : host} means every interface); name a concrete IP such as the instance's private IP`,
        );
        break;
      }
    }
  }
  return issues;
}
