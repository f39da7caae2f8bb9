/**
 * One instance's metadata service (AWS IMDS, cloud-apis.md §2) over a {@link CloudState}: IMDSv2
 * token PUT with TTL validation, optional v2-only mode, token-PUT failure modes for the v1 fallback,
 * `//latest` normalisation, HTML-ish error pages, text/plain values, and the instance's notices.
 */
import { STATUS_CODES } from 'node:http';
import { Hono } from 'hono';
import type { CloudState } from '../state.ts';
import { instanceTags } from '../tags.ts';
import type { GroupView, InstanceView } from '../types.ts';
import { dropConnection, hold, isoSec, normalisePath } from './common.ts';

export const TOKEN_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'X-aws-ec2-metadata-token';
const MAX_TTL = 21_600;
const AMI_ID = 'ami-0e7d5c1a9f3b2d4c6';

export interface ImdsRequest {
  method: string;
  /** The request path as received (may start with `//`). */
  path: string;
  headers: Headers;
  signal?: AbortSignal;
  /** @hono/node-server bindings, when served over a socket (lets the timeout fault drop the connection). */
  env?: unknown;
}

/** An error page in the style of real IMDS / AEMM. Clients must look at the status, never the body. */
export function errorPage(status: number, extraHeaders: Record<string, string> = {}): Response {
  const title = `${status} - ${STATUS_CODES[status] ?? 'Error'}`;
  const body =
    '<?xml version="1.0" encoding="iso-8859-1"?>\n' +
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n' +
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n' +
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n' +
    ` <head>\n  <title>${title}</title>\n </head>\n <body>\n  <h1>${title}</h1>\n </body>\n</html>\n`;
  return new Response(body, { status, headers: { 'Content-Type': 'text/html', ...extraHeaders } });
}

function regionOf(az: string): string {
  return az.replace(/[a-z]$/, '');
}

/** Every leaf the instance's metadata service serves now, keyed by path under `/latest/`. */
export function metadataLeaves(
  state: CloudState,
  inst: InstanceView,
  group: GroupView | undefined,
): Map<string, string> {
  const region = regionOf(inst.availabilityZone);
  const host = `ip-${inst.privateIp.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
  const m = new Map<string, string>();
  const md = (k: string, v: string): void => void m.set(`meta-data/${k}`, v);
  md('ami-id', AMI_ID);
  md('hostname', host);
  md('instance-id', inst.id);
  md('instance-life-cycle', group?.asg?.market ?? 'spot');
  md('instance-type', inst.instanceType);
  md('local-hostname', host);
  md('local-ipv4', inst.privateIp);
  md('placement/availability-zone', inst.availabilityZone);
  md('placement/region', region);
  md('autoscaling/target-lifecycle-state', inst.targetLifecycleState);
  if (group?.imds.tagsEnabled ?? true) {
    for (const [k, v] of Object.entries(instanceTags(inst, group))) md(`tags/instance/${k}`, v);
  }
  if (group?.asg) {
    // The instance profile, so that the AWS SDK's default credential chain works through IMDS.
    const c = state.instanceCredentials();
    const role = group.asg.iamRole;
    md(
      'iam/info',
      JSON.stringify(
        {
          Code: 'Success',
          LastUpdated: isoSec(c.lastUpdated),
          InstanceProfileArn: `arn:aws:iam::${state.awsAccountId}:instance-profile/${role}`,
          InstanceProfileId: 'AIPAEMULATEDPROFILE01',
        },
        null,
        2,
      ),
    );
    md(
      `iam/security-credentials/${role}`,
      JSON.stringify(
        {
          Code: 'Success',
          LastUpdated: isoSec(c.lastUpdated),
          Type: 'AWS-HMAC',
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.token,
          // always hours ahead of the emulator's clock, so a long run never sees them expire
          Expiration: isoSec(Math.max(c.expiration, state.now() + 3600_000)),
        },
        null,
        2,
      ),
    );
  }
  if (inst.spotNotice && inst.state !== 'terminated') {
    md(
      'spot/instance-action',
      JSON.stringify({ action: inst.spotNotice.action, time: isoSec(inst.spotNotice.time) }),
    );
    md('spot/termination-time', isoSec(inst.spotNotice.time));
  }
  if (inst.rebalanceNoticeTime !== undefined) {
    md('events/recommendations/rebalance', JSON.stringify({ noticeTime: isoSec(inst.rebalanceNoticeTime) }));
  }
  const doc = {
    accountId: state.awsAccountId,
    architecture: 'x86_64',
    availabilityZone: inst.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: AMI_ID,
    instanceId: inst.id,
    instanceType: inst.instanceType,
    kernelId: null,
    pendingTime: isoSec(inst.launchedAt),
    privateIp: inst.privateIp,
    ramdiskId: null,
    region,
    version: '2017-09-30',
  };
  m.set('dynamic/instance-identity/document', JSON.stringify(doc, null, 2));
  return m;
}

/** A leaf's value, a directory listing (children, sub-directories with a trailing `/`), or undefined. */
function lookup(leaves: Map<string, string>, rel: string): string | undefined {
  const leaf = leaves.get(rel);
  if (leaf !== undefined) return leaf;
  const prefix = rel === '' ? '' : `${rel}/`;
  const children = new Set<string>();
  for (const key of leaves.keys()) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    children.add(slash === -1 ? rest : `${rest.slice(0, slash + 1)}`);
  }
  if (children.size === 0) return undefined;
  return [...children].sort().join('\n');
}

function decodePath(p: string): string | undefined {
  try {
    return p
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    return undefined;
  }
}

const VERSION = /^(latest|\d{4}-\d{2}-\d{2})$/;

/** The leaves an instance polls for a notice: a 404 there means "no notice", not an error. */
const NOTICE_LEAVES = new Set([
  'meta-data/spot/instance-action',
  'meta-data/spot/termination-time',
  'meta-data/events/recommendations/rebalance',
]);

/** Serves one request to instance `instanceId`'s metadata service. */
export async function handleImds(state: CloudState, instanceId: string, req: ImdsRequest): Promise<Response> {
  state.advance();
  const current = state.getInstance(instanceId);
  if (!current || current.state === 'terminated') {
    // Only reachable in the instant between termination and the listener closing, or via the main
    // listener's /emulator/instances/{id}/imds/ path: the VM (and its metadata) is gone.
    state.recordCall('imds', { status: 502 });
    return errorPage(502);
  }
  const faults = state.takeFaults('imds', { instanceId });
  const faulted = faults.length > 0;
  let noticePoll = false;
  const done = (res: Response): Response => {
    state.recordCall('imds', { status: res.status, faulted, ...(noticePoll ? { noNotice: true } : {}) });
    return res;
  };

  const latency = faults.reduce((ms, f) => ms + (f.fault.kind === 'latency' ? f.fault.ms : 0), 0);
  if (latency > 0 && !(await hold(latency, req.signal))) {
    state.recordCall('imds', { dropped: true, faulted });
    return dropConnection(req.env);
  }
  state.advance();
  const terminal = faults.find(
    (f) => f.fault.kind === 'timeout' || f.fault.kind === 'status' || f.fault.kind === 'rate-limit',
  );
  if (terminal?.fault.kind === 'timeout') {
    await hold(terminal.fault.ms, req.signal);
    state.recordCall('imds', { dropped: true, faulted });
    return dropConnection(req.env);
  }
  if (terminal?.fault.kind === 'status') return done(errorPage(terminal.fault.status));
  if (terminal?.fault.kind === 'rate-limit') return done(errorPage(429));

  const live = state.getInstance(instanceId);
  if (!live || live.state === 'terminated') return done(errorPage(502));
  const group = state.getGroup(live.groupId);
  if (group?.imds.down) return done(errorPage(503));

  const decoded = decodePath(normalisePath(req.path));
  if (decoded === undefined) return done(errorPage(400));
  const segments = decoded.split('/').filter((s) => s !== '');
  const method = req.method.toUpperCase();

  if (method === 'PUT') {
    if (segments.length !== 3 || segments[1] !== 'api' || segments[2] !== 'token')
      return done(errorPage(405, { Allow: 'GET, HEAD' }));
    if (segments[0] !== 'latest') return done(errorPage(403));
    if (req.headers.has('x-forwarded-for')) return done(errorPage(403));
    const mode = group?.imds.tokenPut ?? 'ok';
    if (mode !== 'ok') return done(errorPage(mode));
    const ttlText = req.headers.get(TOKEN_TTL_HEADER)?.trim() ?? '';
    const ttl = /^\d{1,6}$/.test(ttlText) ? Number(ttlText) : NaN;
    if (!(ttl >= 1 && ttl <= MAX_TTL)) return done(errorPage(400));
    const token = state.issueImdsToken(instanceId, ttl);
    return done(
      new Response(token, {
        status: 200,
        headers: { 'Content-Type': 'text/plain', [TOKEN_TTL_HEADER]: String(ttl) },
      }),
    );
  }
  if (method !== 'GET' && method !== 'HEAD') return done(errorPage(405, { Allow: 'GET, HEAD, PUT' }));

  const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
  const token = req.headers.get(TOKEN_HEADER);
  if (token !== null) {
    const check = state.checkImdsToken(instanceId, token);
    if (!check.ok) return done(errorPage(401));
    headers[TOKEN_TTL_HEADER] = String(check.remainingSec);
  } else if (group?.imds.requireV2) {
    return done(errorPage(401));
  }

  let value: string | undefined;
  if (segments.length === 0) value = 'latest';
  else if (!VERSION.test(segments[0] as string)) value = undefined;
  else if (segments.length >= 3 && segments[1] === 'api' && segments[2] === 'token')
    return done(errorPage(405, { Allow: 'PUT' }));
  else {
    const stale = faults.find((f) => f.fault.kind === 'stale')?.snapshot?.get(instanceId);
    const view = stale ?? live;
    const rel = segments.slice(1).join('/');
    value = lookup(metadataLeaves(state, view, group), rel);
    noticePoll = value === undefined && NOTICE_LEAVES.has(rel);
  }
  if (value === undefined) return done(errorPage(404));
  if (faults.some((f) => f.fault.kind === 'empty')) value = '';
  else if (faults.some((f) => f.fault.kind === 'malformed'))
    value = value.slice(0, Math.max(1, Math.floor(value.length / 2)));
  return done(new Response(method === 'HEAD' ? null : value, { status: 200, headers }));
}

/** The metadata service of one instance, as served on `http://<privateIp>:<imdsPort>`. */
export function createImdsApp(state: CloudState, instanceId: string): Hono {
  const app = new Hono();
  app.all('*', (c) =>
    handleImds(state, instanceId, {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      headers: c.req.raw.headers,
      signal: c.req.raw.signal,
      env: c.env,
    }),
  );
  app.onError(() => errorPage(500));
  return app;
}
