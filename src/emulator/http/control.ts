/**
 * The emulator's own control API under `/emulator` (JSON, no auth): create groups, change capacity,
 * launch / interrupt / terminate instances, add faults and rate limits, read events and stats.
 * Bad input → 400 `{ error, code, issues }` where every issue names its field.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import { EmulatorError } from '../errors.ts';
import {
  capacitySchema,
  faultRouteSchema,
  faultSpecSchema,
  formatIssues,
  groupPatchSchema,
  groupSpecSchema,
  interruptOptionsSchema,
  launchOptionsSchema,
  completeActionSchema,
  healthSchema,
  instanceRefreshSchema,
  limitRouteSchema,
  lifecycleHookSpecSchema,
  protectionSchema,
  rateLimitSchema,
  terminateInGroupSchema,
} from '../schemas.ts';
import type { CloudState } from '../state.ts';
import type { FaultSpec } from '../types.ts';
import { bodyLimit } from 'hono/body-limit';
import { MAX_BODY_BYTES } from './common.ts';

class BadInput extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(issues.join('; '));
    this.issues = issues;
  }
}

async function body(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadInput(['(body): not valid JSON']);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new BadInput(formatIssues(r.error, prefix));
  return r.data;
}

const sinceSchema = z.coerce.number().int().min(0);
const faultBodySchema = z.looseObject({ route: faultRouteSchema });

/** Routes: see docs/emulator.md. Calls `state.advance()` before every request. */
export function createControlApp(state: CloudState): Hono {
  const app = new Hono().basePath('/emulator');

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          {
            error: `request body is larger than ${MAX_BODY_BYTES} bytes`,
            code: 'EMULATOR_PAYLOAD_TOO_LARGE',
          },
          413,
        ),
    }),
  );

  app.use('*', async (_c, next) => {
    state.advance();
    await next();
  });

  app.get('/state', (c) => c.json(state.snapshot()));

  app.post('/groups', async (c) => {
    const spec = parse(groupSpecSchema, await body(c));
    const group = state.createGroup(spec);
    return c.json({ group, instances: state.listInstances({ groupId: group.id }) }, 201);
  });

  app.get('/groups', (c) => c.json({ groups: state.listGroups() }));

  app.get('/groups/:id', (c) => {
    const id = c.req.param('id');
    const group = state.getGroup(id);
    if (!group) throw new EmulatorError(`group ${id} does not exist`, 404);
    return c.json({
      group,
      instances: state.listInstances({ groupId: id, includeTerminated: c.req.query('all') === 'true' }),
    });
  });

  app.put('/groups/:id/capacity', async (c) => {
    const { target } = parse(capacitySchema, await body(c));
    const group = state.setTargetCapacity(c.req.param('id'), target);
    return c.json({ group, instances: state.listInstances({ groupId: group.id }) });
  });

  app.patch('/groups/:id', async (c) => {
    const patch = parse(groupPatchSchema, await body(c));
    return c.json({ group: state.updateGroup(c.req.param('id'), patch) });
  });

  app.post('/groups/:id/instances', async (c) => {
    const opts = parse(launchOptionsSchema, await body(c));
    return c.json({ instance: state.launchInstance(c.req.param('id'), opts) }, 201);
  });

  app.get('/instances', (c) =>
    c.json({ instances: state.listInstances({ includeTerminated: c.req.query('all') === 'true' }) }),
  );

  app.get('/instances/:id', (c) => {
    const id = c.req.param('id');
    const instance = state.getInstance(id);
    if (!instance) throw new EmulatorError(`instance ${id} does not exist`, 404);
    return c.json({ instance });
  });

  app.post('/instances/:id/interrupt', async (c) => {
    const opts = parse(interruptOptionsSchema, await body(c));
    return c.json({ instance: state.interruptInstance(c.req.param('id'), opts) });
  });

  app.post('/instances/:id/rebalance', (c) =>
    c.json({ instance: state.recommendRebalance(c.req.param('id')) }),
  );

  app.post('/instances/:id/terminate', (c) =>
    c.json({ instance: state.terminateInstance(c.req.param('id')) }),
  );

  // ---- Auto Scaling (groups created with provider 'asg')

  app.post('/instances/:id/terminate-in-group', async (c) => {
    const o = parse(terminateInGroupSchema, await body(c));
    const { instance, group } = state.terminateInAutoScalingGroup(
      c.req.param('id'),
      o.shouldDecrementDesiredCapacity ?? false,
    );
    return c.json({ instance, group });
  });

  app.post('/instances/:id/lifecycle-action', async (c) => {
    const o = parse(completeActionSchema, await body(c));
    return c.json({ instance: state.completeInstanceAction(c.req.param('id'), o) });
  });

  app.post('/instances/:id/protection', async (c) => {
    const o = parse(protectionSchema, await body(c));
    const id = c.req.param('id');
    const inst = state.getInstance(id);
    if (!inst) throw new EmulatorError(`instance ${id} does not exist`, 404);
    state.setInstanceProtection(inst.groupId, [id], o.protected);
    return c.json({ instance: state.getInstance(id) });
  });

  app.post('/instances/:id/health', async (c) => {
    const o = parse(healthSchema, await body(c));
    return c.json({ instance: state.setInstanceHealth(c.req.param('id'), o.healthStatus) });
  });

  app.post('/instances/:id/standby', async (c) => {
    const o = parse(terminateInGroupSchema, await body(c));
    const id = c.req.param('id');
    const inst = state.getInstance(id);
    if (!inst) throw new EmulatorError(`instance ${id} does not exist`, 404);
    const [moved] = state.enterStandby(inst.groupId, [id], o.shouldDecrementDesiredCapacity ?? false);
    return c.json({ instance: moved });
  });

  app.post('/instances/:id/exit-standby', (c) => {
    const id = c.req.param('id');
    const inst = state.getInstance(id);
    if (!inst) throw new EmulatorError(`instance ${id} does not exist`, 404);
    const [moved] = state.exitStandby(inst.groupId, [id]);
    return c.json({ instance: moved });
  });

  app.post('/instances/:id/enter-service', (c) =>
    c.json({ instance: state.enterServiceFromWarmPool(c.req.param('id')) }),
  );

  app.post('/groups/:id/instance-refresh', async (c) => {
    const o = parse(instanceRefreshSchema, await body(c));
    return c.json({ instanceRefresh: state.startInstanceRefresh(c.req.param('id'), o) }, 201);
  });

  app.get('/groups/:id/instance-refresh', (c) => {
    const id = c.req.param('id');
    if (!state.getGroup(id)) throw new EmulatorError(`group ${id} does not exist`, 404);
    return c.json({ instanceRefreshes: state.instanceRefreshes(id) });
  });

  app.delete('/groups/:id/instance-refresh', (c) =>
    c.json({ instanceRefresh: state.cancelInstanceRefresh(c.req.param('id')) }),
  );

  app.put('/groups/:id/lifecycle-hooks/:name', async (c) => {
    const raw = await body(c);
    const spec = parse(lifecycleHookSpecSchema, {
      ...(typeof raw === 'object' && raw !== null ? raw : {}),
      name: c.req.param('name'),
    });
    return c.json({ lifecycleHook: state.putLifecycleHook(c.req.param('id'), spec) });
  });

  app.delete('/groups/:id/lifecycle-hooks/:name', (c) => {
    state.deleteLifecycleHook(c.req.param('id'), c.req.param('name'));
    return c.json({ deleted: c.req.param('name') });
  });

  app.get('/faults', (c) => c.json({ faults: state.faults() }));

  app.post('/faults', async (c) => {
    const raw = parse(faultBodySchema, await body(c));
    const { route, ...rest } = raw;
    const fault = parse(faultSpecSchema, rest) as FaultSpec;
    const id = state.addFault(route, fault);
    return c.json({ id }, 201);
  });

  app.delete('/faults', (c) => c.json({ cleared: state.clearFaults() }));

  app.delete('/faults/:id', (c) => {
    const id = c.req.param('id');
    const cleared = state.clearFaults(id);
    if (cleared === 0) throw new EmulatorError(`fault ${id} does not exist`, 404);
    return c.json({ cleared });
  });

  app.get('/rate-limits', (c) => c.json({ rateLimits: state.rateLimits() }));

  app.put('/rate-limits/:route', async (c) => {
    const route = parse(limitRouteSchema, c.req.param('route'), 'route');
    const spec = parse(rateLimitSchema, await body(c));
    state.setRateLimit(route, spec);
    return c.json({ route, limit: spec.limit, windowMs: spec.windowMs ?? 60_000 });
  });

  app.delete('/rate-limits/:route', (c) => {
    const route = parse(limitRouteSchema, c.req.param('route'), 'route');
    state.setRateLimit(route, null);
    return c.json({ route, limit: null });
  });

  app.get('/events', (c) => {
    const q = c.req.query('since');
    const since = q === undefined ? 0 : parse(sinceSchema, q, 'since');
    return c.json({ events: state.events(since), lastSeq: state.lastSeq() });
  });

  app.get('/stats', (c) => c.json(state.stats()));

  app.post('/stats/reset', (c) => {
    state.resetStats();
    return c.json(state.stats());
  });

  app.notFound((c) =>
    c.json(
      { error: `no control route ${c.req.method} ${new URL(c.req.url).pathname}`, code: 'NOT_FOUND' },
      404,
    ),
  );

  app.onError((err, c) => {
    if (err instanceof BadInput)
      return c.json(
        { error: `invalid input: ${err.message}`, code: 'EMULATOR_INVALID', issues: err.issues },
        400,
      );
    if (err instanceof EmulatorError) return c.json({ error: err.message, code: err.code }, err.status);
    return c.json({ error: err instanceof Error ? err.message : String(err), code: 'INTERNAL_ERROR' }, 500);
  });

  return app;
}
