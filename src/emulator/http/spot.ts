/**
 * The Spot.io Elastigroup REST API (cloud-apis.md §1) over a {@link CloudState}: envelope on every
 * reply, bearer-token auth, X-RateLimit-* headers, the documented 429 body, GROUP_DOESNT_EXIST, and
 * the route's faults. Always JSON, never HTML.
 */
import { STATUS_CODES } from 'node:http';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { EmulatorError } from '../errors.ts';
import type { ActiveFault, CloudState } from '../state.ts';
import type { RateLimitDecision } from '../rate-limit.ts';
import type { GroupView, InstanceView, SpotRoute } from '../types.ts';
import { bodyLimit } from 'hono/body-limit';
import { MAX_BODY_BYTES, dropConnection, hold, isoMs } from './common.ts';

export interface SpotRequestInfo {
  id: string;
  url: string;
  method: string;
  timestamp: string;
}

export interface SpotError {
  code: string;
  message: string;
  field?: string;
}

const KIND_GROUP = 'spotinst:aws:ec2:group';
const KIND_INSTANCE = 'spotinst:aws:ec2:instance';

function statusObject(code: number): { code: number; message: string } {
  return { code, message: STATUS_CODES[code] ?? 'Unknown' };
}

export function okEnvelope(req: SpotRequestInfo, kind: string, items: unknown[]): unknown {
  return { request: req, response: { status: statusObject(200), kind, items, count: items.length } };
}

export function errorEnvelope(req: SpotRequestInfo, status: number, errors: SpotError[]): unknown {
  return { request: req, response: { status: statusObject(status), errors } };
}

/** The 429 body from the Spot help docs: `data` instead of `items`. */
export function rateLimitedEnvelope(req: SpotRequestInfo): unknown {
  return { request: req, response: { status: statusObject(429), data: 'Rate limit exceeded' } };
}

/** A group as `GET /aws/ec2/group[/{id}]` shows it (a plausible subset of the real group object). */
export function spotGroup(g: GroupView): unknown {
  return {
    id: g.id,
    name: g.name,
    description: 'emulated by etcd-spot',
    capacity: { minimum: g.minimum, maximum: g.maximum, target: g.targetCapacity, unit: 'instance' },
    strategy: {
      risk: 100,
      availabilityVsCost: 'balanced',
      fallbackToOd: true,
      drainingTimeout: Math.round(g.signalTimeoutMs / 1000),
      signals: g.shutdownSignal
        ? [{ name: 'INSTANCE_READY_TO_SHUTDOWN', timeout: Math.round(g.signalTimeoutMs / 1000) }]
        : [],
    },
    compute: {
      product: 'Linux/UNIX',
      instanceTypes: { ondemand: g.instanceType, spot: [g.instanceType] },
      availabilityZones: g.availabilityZones.map((name) => ({ name })),
      launchSpecification: {
        metadataOptions: {
          httpTokens: g.imds.requireV2 ? 'required' : 'optional',
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: g.imds.tagsEnabled ? 'enabled' : 'disabled',
        },
        tags: [{ tagKey: 'Name', tagValue: g.name }],
      },
    },
    createdAt: isoMs(g.createdAt),
    updatedAt: isoMs(g.updatedAt),
  };
}

/** One item of `GET /aws/ec2/group/{id}/status` (exactly the §1.5 fields). */
export function spotStatusItem(i: InstanceView): unknown {
  return {
    instanceId: i.id,
    spotInstanceRequestId: i.spotInstanceRequestId,
    instanceType: i.instanceType,
    product: 'Linux/UNIX',
    groupId: i.groupId,
    availabilityZone: i.availabilityZone,
    privateIp: i.privateIp,
    createdAt: isoMs(i.launchedAt),
    status: 'fulfilled',
  };
}

interface Produced {
  status: number;
  body: unknown;
}

interface Modifiers {
  snapshot: ReadonlyMap<string, InstanceView> | undefined;
  partial: Extract<ActiveFault['fault'], { kind: 'partial' }>[];
  empty: boolean;
}

function rateHeaders(d: RateLimitDecision): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(d.limit),
    'X-RateLimit-Remaining': String(d.remaining),
    'X-RateLimit-Reset': String(d.resetSec),
  };
}

function json(body: unknown, status: number, headers: Record<string, string>, malformed = false): Response {
  let text = JSON.stringify(body);
  if (malformed) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  return new Response(text, { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function authorised(state: CloudState, c: Context): SpotError | undefined {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return { code: 'UNAUTHORIZED', message: 'Missing bearer token (Authorization: Bearer <token>)' };
  if (m[1] !== state.token) return { code: 'UNAUTHORIZED', message: 'Invalid token' };
  const account = c.req.query('accountId');
  if (state.account !== undefined && account !== undefined && account !== state.account) {
    return { code: 'UNAUTHORIZED', message: `Token has no access to account ${account}` };
  }
  return undefined;
}

function requestInfo(state: CloudState, c: Context): SpotRequestInfo {
  const u = new URL(c.req.url);
  return {
    id: state.newRequestId(),
    url: u.pathname + u.search,
    method: c.req.method,
    timestamp: isoMs(state.now()),
  };
}

/** The common path of every Spot route: faults → auth → rate limit → handler → malformed. */
async function pipeline(
  state: CloudState,
  c: Context,
  route: SpotRoute,
  instanceId: string | undefined,
  produce: (req: SpotRequestInfo, mods: Modifiers) => Produced | Promise<Produced>,
): Promise<Response> {
  state.advance();
  const req = requestInfo(state, c);
  const faults = state.takeFaults(route, instanceId === undefined ? {} : { instanceId });
  const faulted = faults.length > 0;
  const done = (res: Response): Response => {
    state.recordCall(route, { status: res.status, faulted });
    return res;
  };
  const signal = c.req.raw.signal;

  const latency = faults.reduce((ms, f) => ms + (f.fault.kind === 'latency' ? f.fault.ms : 0), 0);
  if (latency > 0 && !(await hold(latency, signal))) {
    state.recordCall(route, { dropped: true, faulted });
    return dropConnection(c.env);
  }
  state.advance();

  const terminal = faults.find(
    (f) => f.fault.kind === 'timeout' || f.fault.kind === 'status' || f.fault.kind === 'rate-limit',
  );
  if (terminal) {
    const f = terminal.fault;
    if (f.kind === 'timeout') {
      await hold(f.ms, signal);
      state.recordCall(route, { dropped: true, faulted });
      return dropConnection(c.env);
    }
    if (f.kind === 'status') {
      const err: SpotError = { code: String(f.status), message: STATUS_CODES[f.status] ?? 'Error' };
      return done(
        json(errorEnvelope(req, f.status, [err]), f.status, rateHeaders(state.peekRateLimit(route))),
      );
    }
    if (f.kind === 'rate-limit') {
      const d = state.peekRateLimit(route);
      const headers: Record<string, string> = {
        'X-RateLimit-Limit': String(d.limit),
        'X-RateLimit-Remaining': '0',
      };
      if (f.resetSec !== undefined) headers['X-RateLimit-Reset'] = String(f.resetSec);
      return done(json(rateLimitedEnvelope(req), 429, headers));
    }
  }

  const authError = authorised(state, c);
  if (authError)
    return done(json(errorEnvelope(req, 401, [authError]), 401, rateHeaders(state.peekRateLimit(route))));

  const limit = state.takeRateLimit(route);
  if (!limit.allowed) return done(json(rateLimitedEnvelope(req), 429, rateHeaders(limit)));

  const mods: Modifiers = { snapshot: undefined, partial: [], empty: false };
  for (const f of faults) {
    if (f.fault.kind === 'stale' && mods.snapshot === undefined) mods.snapshot = f.snapshot;
    if (f.fault.kind === 'partial') mods.partial.push(f.fault);
    if (f.fault.kind === 'empty') mods.empty = true;
  }
  const malformed = faults.some((f) => f.fault.kind === 'malformed');
  const out = await produce(req, mods);
  return done(json(out.body, out.status, rateHeaders(limit), malformed && out.status === 200));
}

function groupMissing(req: SpotRequestInfo, id: string): Produced {
  return {
    status: 400,
    body: errorEnvelope(req, 400, [{ code: 'GROUP_DOESNT_EXIST', message: `Group ${id} doesn't exist` }]),
  };
}

function instanceMissing(req: SpotRequestInfo, id: string): Produced {
  return {
    status: 400,
    body: errorEnvelope(req, 400, [
      { code: 'INSTANCE_DOESNT_EXIST', message: `Instance ${id} doesn't exist` },
    ]),
  };
}

function validation(req: SpotRequestInfo, field: string, message: string): Produced {
  return { status: 400, body: errorEnvelope(req, 400, [{ code: 'ValidationError', message, field }]) };
}

/** The Spot API app. Routes: GET /aws/ec2/group, /aws/ec2/group/{id}, /aws/ec2/group/{id}/status, /aws/ec2/instance/{id}; POST /aws/ec2/instance/signal. */
export function createSpotApp(state: CloudState): Hono {
  const app = new Hono();

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        json(
          errorEnvelope(requestInfo(state, c), 413, [
            {
              code: 'PAYLOAD_TOO_LARGE',
              message: `Request body is larger than ${MAX_BODY_BYTES} bytes`,
              field: 'body',
            },
          ]),
          413,
          {},
        ),
    }),
  );

  app.get('/aws/ec2/group', (c) =>
    pipeline(state, c, 'group-list', undefined, (req, mods) => ({
      status: 200,
      body: okEnvelope(req, KIND_GROUP, mods.empty ? [] : state.listGroups().map(spotGroup)),
    })),
  );

  app.get('/aws/ec2/group/:groupId', (c) =>
    pipeline(state, c, 'group-get', undefined, (req, mods) => {
      const id = c.req.param('groupId');
      const g = state.getGroup(id);
      if (!g) return groupMissing(req, id);
      return { status: 200, body: okEnvelope(req, KIND_GROUP, mods.empty ? [] : [spotGroup(g)]) };
    }),
  );

  app.get('/aws/ec2/group/:groupId/status', (c) =>
    pipeline(state, c, 'group-status', undefined, (req, mods) => {
      const id = c.req.param('groupId');
      if (!state.getGroup(id)) return groupMissing(req, id);
      const source = mods.snapshot ? [...mods.snapshot.values()] : state.listInstances({ groupId: id });
      let items = source
        .filter((i) => i.groupId === id && (i.state === 'running' || i.state === 'terminating'))
        .sort((a, b) => a.launchedAt - b.launchedAt);
      for (const p of mods.partial) {
        const drop = new Set(p.drop ?? []);
        if (p.dropRandom) for (const i of state.sample(items, p.dropRandom)) drop.add(i.id);
        items = items.filter((i) => !drop.has(i.id));
      }
      if (mods.empty) items = [];
      return { status: 200, body: okEnvelope(req, KIND_GROUP, items.map(spotStatusItem)) };
    }),
  );

  app.post('/aws/ec2/instance/signal', async (c) => {
    const raw = await c.req.text().catch(() => '');
    return pipeline(state, c, 'signal', undefined, (req) => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return validation(req, 'body', 'Request body must be a JSON object');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return validation(req, 'body', 'Request body must be a JSON object');
      const { instanceId, signal } = body as { instanceId?: unknown; signal?: unknown };
      if (typeof instanceId !== 'string' || instanceId === '')
        return validation(req, 'body:instanceId', '"instanceId" is required');
      if (signal !== 'INSTANCE_READY' && signal !== 'INSTANCE_READY_TO_SHUTDOWN') {
        return validation(
          req,
          'body:signal',
          '"signal" must be one of [INSTANCE_READY, INSTANCE_READY_TO_SHUTDOWN]',
        );
      }
      try {
        state.signal(instanceId, signal);
      } catch (err) {
        if (err instanceof EmulatorError && err.status === 404) return instanceMissing(req, instanceId);
        throw err;
      }
      return { status: 200, body: okEnvelope(req, KIND_INSTANCE, []) };
    });
  });

  app.get('/aws/ec2/instance/:instanceId', (c) => {
    const id = c.req.param('instanceId');
    return pipeline(state, c, 'instance-status', id, (req, mods) => {
      const inst = mods.snapshot ? mods.snapshot.get(id) : state.getInstance(id);
      if (!inst || inst.state === 'terminated') return instanceMissing(req, id);
      const items = mods.empty ? [] : [{ instanceId: inst.id, lifeCycleState: inst.lifeCycleState }];
      return { status: 200, body: okEnvelope(req, KIND_INSTANCE, items) };
    });
  });

  app.notFound((c) => {
    const u = new URL(c.req.url);
    const req: SpotRequestInfo = {
      id: state.newRequestId(),
      url: u.pathname + u.search,
      method: c.req.method,
      timestamp: isoMs(state.now()),
    };
    return json(
      errorEnvelope(req, 404, [{ code: 'NOT_FOUND', message: `No route ${c.req.method} ${u.pathname}` }]),
      404,
      {},
    );
  });

  app.onError((err, c) => {
    const u = new URL(c.req.url);
    const req: SpotRequestInfo = {
      id: state.newRequestId(),
      url: u.pathname + u.search,
      method: c.req.method,
      timestamp: isoMs(state.now()),
    };
    return json(errorEnvelope(req, 500, [{ code: 'INTERNAL_ERROR', message: err.message }]), 500, {});
  });

  return app;
}
